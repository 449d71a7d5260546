"""What every result shares: the base model, failure groups, page fields and the page sentence, and the notes on
customer numbers that could not take part."""

from collections.abc import Mapping, Sequence
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ..models import Pagination
from ..words import customers, first_few, plural


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)  # built on first use, not at start


# Profiles that could not be processed, with the reason they share. (No docstring: it would be the schema's
# description, repeated in three tools' output schemas; the `failed` fields describe it.)
class FailedIds(_Model):
    reason: str = Field(description="Why these failed, and what to do.")
    count: int
    ids: list[UUID] = Field(description="The first 5 of them (the audit log has every one).")


# A result names at most this many failure reasons, with this many IDs each: it stays small whatever fails (the
# audit log, and `retry`, have them all).
SHOWN_REASONS = 3
SHOWN_FAILED_IDS = 5


def failure_groups(failed: dict[str, list[UUID]], *, every_id: bool = False) -> list[FailedIds]:
    """Failures grouped by reason, with the count of each: every one with every ID for the audit log; for a result
    the first few reasons, each with its first few IDs."""
    if every_id:
        return [FailedIds(reason=reason, count=len(ids), ids=ids) for reason, ids in failed.items()]
    return [
        FailedIds(reason=reason, count=len(ids), ids=ids[:SHOWN_FAILED_IDS])
        for reason, ids in list(failed.items())[:SHOWN_REASONS]
    ]


class PagedResult(_Model):
    """What every one-page result says: a summary, and where this page is in the whole."""

    summary: str = Field(description="What this page holds; how to get the next.")
    total: int = Field(description="Items in the whole collection.")
    count: int = Field(description="Items on this page.")
    per_page: int
    current_page: int
    total_pages: int
    next_page: int | None = Field(description="The next `page`; null on the last.")
    sandbox: bool = Field(default=False, description="True for the built-in practice store.")


def page_sentence(p: Pagination, *, noun: str, where: str, asked: int) -> str:
    """Where a page is in the whole, and the next call: the one sentence every one-page result starts with.

    `noun` is the singular ("profile"), `where` what holds them ("in segment 'VIP'"), `asked` the page asked for.
    """
    if not p.total:
        return f"No {noun}s {where}."
    if not p.count and asked > p.total_pages:
        return (
            f"Page {asked} is past the end: {plural(p.total, noun)} {where} on {plural(p.total_pages, 'page')} of "
            f"{p.per_page}. Call again with page=1."
        )
    first = (p.current_page - 1) * p.per_page + 1
    sentence = (
        f"{noun.capitalize()}s {first:,}-{first + p.count - 1:,} of {p.total:,} {where} "
        f"(page {p.current_page} of {p.total_pages})."
    )
    last = p.current_page >= p.total_pages
    return sentence + (" This is the last page." if last else f" Call again with page={p.current_page + 1} for more.")


def customers_of(customer_of: Mapping[UUID, int], profiles: Sequence[UUID]) -> str:
    """'customer 7' or 'customers 7, 9 and 2 more' for the customers of `profiles`; '' for none."""
    numbers = sorted({customer_of[p] for p in profiles if p in customer_of})
    return customers(numbers) if numbers else ""


def customer_notes(without_profile: Sequence[int], not_found: Sequence[int]) -> list[str]:
    """What became of customer numbers that could not take part: no shopper profile yet, or not in the store."""
    notes = []
    if without_profile:
        who = plural(len(without_profile), "customer has", "customers have")
        notes.append(f"{who} no shopper profile yet (cannot be in a segment): {first_few(without_profile)}")
    if not_found:
        who = plural(len(not_found), "customer is", "customers are")
        notes.append(f"{who} not in the store: {first_few(not_found)}")
    return notes
