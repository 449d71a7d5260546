"""The results our tools return: pydantic models, so each tool publishes an output schema.

Results are read by a model, so they are small: counts, up to 20 profiles named as people, and a handle to
server-side state (`change_id`, `preview_id`) instead of long lists of IDs. The full per-ID record of every write is
in the audit log (see `list_recent_changes`).
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .models import Customer, Pagination, Segment, ShopperProfile
from .words import first_few, plural, were

if TYPE_CHECKING:
    from .bulk import BulkOutcome
    from .tools.resolve import Selection


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FailedIds(_Model):
    """Profiles that could not be processed, with the reason they share."""

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

    summary: str = Field(description="One sentence: what this page holds and how to get the next.")
    total: int = Field(description="Items in the whole collection.")
    count: int = Field(description="Items on this page.")
    per_page: int
    current_page: int
    total_pages: int
    next_page: int | None = Field(description="Pass as `page` to get the next page; null on the last page.")
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


class ProfileEntry(_Model):
    """One member of a segment."""

    id: UUID = Field(description="The shopper profile ID.")
    customer_id: int
    name: str | None = None
    email: str | None = None
    company: str | None = None

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Fields the store did not give are left out, so that a page of IDs alone is the smallest form."""
        return {key: value for key, value in handler(self).items() if value is not None}

    @classmethod
    def named(cls, profile: ShopperProfile, customer: Customer | None, *, hide_emails: bool) -> "ProfileEntry":
        """A member with its customer's name, email (unless hidden) and company."""
        if customer is None:
            return cls(id=profile.id, customer_id=profile.customer_id)
        return cls(
            id=profile.id,
            customer_id=profile.customer_id,
            name=f"{customer.first_name} {customer.last_name}".strip(),
            email=None if hide_emails else customer.email or None,
            company=customer.company or None,
        )

    @classmethod
    def bare(cls, profile: ShopperProfile) -> "ProfileEntry":
        """A member by its IDs alone."""
        return cls(id=profile.id, customer_id=profile.customer_id)


class ListResult(PagedResult):
    """Result of `list_segment_profiles`."""

    segment_id: UUID
    segment_name: str | None = None
    profiles: list[ProfileEntry]


class WriteResult(_Model):
    """What every add and removal result says."""

    summary: str = Field(description="What happened, the segment's member count now, and the next step.")
    segment_id: UUID
    change_id: str | None = Field(
        default=None, description="This change in the audit log: undo_change(change_id) reverses it."
    )
    failed: list[FailedIds] = Field(
        default=[], description="Profiles not done, by reason (the first 3 reasons; `retry` retries them all)."
    )
    retry: str | None = Field(default=None, description="The exact call that retries what failed.")
    member_count: int | None = Field(default=None, description="Members of the segment after the change.")
    sandbox: bool = False


def _customers_text(customer_of: Mapping[UUID, int], profiles: Sequence[UUID]) -> str:
    """'customer 7' or 'customers 7, 9 and 2 more' for the customers of `profiles`; '' for none."""
    customers = sorted({customer_of[p] for p in profiles if p in customer_of})
    if not customers:
        return ""
    return f"customer {customers[0]}" if len(customers) == 1 else f"customers {first_few(customers)}"


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


class AddResult(WriteResult):
    """Result of `add_profiles_to_segment`: counts, and the first 20 added profiles named."""

    requested: int = Field(description="Distinct profiles the source resolved to.")
    added: int
    already_members: int
    added_people: list[str] = Field(default=[], description="The first 20 added, as 'Name <email> (customer N)'.")
    customers_without_profile: list[int] = Field(
        default=[], description="customer_ids given that have no shopper profile yet (the first 20)."
    )
    customers_not_found: list[int] = Field(default=[], description="customer_ids the store does not have (first 20).")

    @classmethod
    def of(
        cls,
        segment_id: UUID,
        name: str | None,
        *,
        selection: "Selection",
        outcome: "BulkOutcome",
        change_id: str | None,
        people: list[str],
        member_count: int | None,
        retry: str | None,
        tag: str,
        sandbox: bool,
    ) -> "AddResult":
        """The result of an add: counts, the people added, and the sentence that says it all."""
        label = f"'{name}'" if name else str(segment_id)
        already = len(outcome.unchanged)
        source, members = (
            selection.source,
            ("1 was already a member" if already == 1 else f"{already:,} were already members"),
        )
        if selection.customers:  # name the customers by what happened to each
            source = _customers_text(selection.customer_of, outcome.changed) or "none of the customers given"
            if already:
                members = _customers_text(selection.customer_of, outcome.unchanged) + (
                    " was already a member" if already == 1 else " were already members"
                )
        parts = [f"Added {plural(len(outcome.changed), 'profile')} ({source}) to segment {label}; {members}"]
        if outcome.reread:
            parts.append(
                f"{were(len(outcome.reread))} found in the segment after BigCommerce's answer was lost, and are "
                "counted as added (any that were members before cannot be told apart)"
            )
        if outcome.failed_count:
            parts.append(
                f"{outcome.failed_count:,} FAILED ({outcome.failure_sentence()}); `retry` is the call that retries"
            )
        parts += customer_notes(selection.without_profile, selection.not_found)
        summary = "; ".join(parts)
        if member_count is not None:
            summary += f". The segment now has {plural(member_count, 'member')}"
        if change_id:
            summary += f". undo_change(change_id={change_id!r}) reverses this"
        return cls(
            summary=tag + summary + ".",
            segment_id=segment_id,
            change_id=change_id,
            requested=len(selection.ids),
            added=len(outcome.changed),
            already_members=already,
            added_people=people,
            failed=failure_groups(outcome.failed),
            retry=retry,
            member_count=member_count,
            customers_without_profile=selection.without_profile[:20],
            customers_not_found=selection.not_found[:20],
            sandbox=sandbox,
        )


class RemoveResult(WriteResult):
    """Result of `remove_profiles_from_segment`: a preview to approve, a declined request, or a done removal."""

    status: Literal["preview", "declined", "removed", "nothing_to_remove"] = Field(
        description="preview: nothing removed; approve with preview_id and confirm=true. declined: the user said "
        "no. removed: done. nothing_to_remove: none is a member."
    )
    preview_id: str | None = Field(
        default=None, description="preview: pass it back with confirm=true to remove exactly these profiles."
    )
    expires_in_minutes: int | None = None
    requested: int = Field(description="Distinct profiles the source resolved to.")
    would_remove: int = Field(default=0, description="preview/declined: how many would be removed.")
    removed: int = 0
    not_members: int = Field(default=0, description="Profiles that are not members (nothing to remove).")
    membership_checked: bool = Field(
        default=False, description="True when membership was looked up, so the counts are exact."
    )
    people: list[str] = Field(default=[], description="The first 20 to remove (or removed), named.")
    customers_without_profile: list[int] = Field(
        default=[], description="customer_ids given that have no shopper profile yet (the first 20)."
    )
    customers_not_found: list[int] = Field(default=[], description="customer_ids the store does not have (first 20).")


class SegmentsResult(PagedResult):
    """Result of `list_segments`; with `name_contains`, the totals count the matching segments."""

    name_contains: str | None = None
    searched_all: bool = Field(
        default=True, description="False when the name search stopped before reading every segment."
    )
    segments: list[Segment]


class SegmentRef(_Model):
    id: UUID
    name: str


class ProfileSegmentsResult(PagedResult):
    """Result of `get_profile_segments`."""

    profile_id: UUID
    customer_id: int | None = None
    segments: list[Segment]


class CustomerProfile(_Model):
    """A customer resolved to its shopper profile."""

    customer_id: int
    shopper_profile_id: UUID = Field(description="What the segment tools take as profile_ids.")
    name: str
    email: str | None = None
    company: str | None = None
    segments: list[SegmentRef] | None = Field(default=None, description="Segments the profile is in, when returned.")

    @classmethod
    def of(cls, customer: Customer, segment_names: Mapping[UUID, str], *, hide_email: bool) -> "CustomerProfile":
        """A customer with a shopper profile, its segments named from `segment_names`."""
        assert customer.shopper_profile_id is not None
        return cls(
            customer_id=customer.id,
            shopper_profile_id=customer.shopper_profile_id,
            name=f"{customer.first_name} {customer.last_name}".strip(),
            email=None if hide_email or not customer.email else customer.email,
            company=customer.company or None,
            segments=None
            if customer.segment_ids is None
            else [SegmentRef(id=s, name=segment_names.get(s, "(unknown segment)")) for s in customer.segment_ids],
        )


class FindProfilesResult(_Model):
    """Result of `find_shopper_profiles`: every customer ID given is in exactly one list."""

    summary: str
    found: list[CustomerProfile]
    without_profile: list[int] = Field(description="Customers that exist but have no shopper profile yet.")
    not_found: list[int] = Field(description="Customer IDs the store does not have.")
    sandbox: bool = False


class Change(_Model):
    """One write, as the audit log recorded it."""

    change_id: str
    time: str
    tool: str
    segment_id: UUID
    segment_name: str | None = None
    status: Literal["done", "cancelled", "interrupted"] = Field(
        description="interrupted: the process stopped before the outcome was recorded (see the intent)."
    )
    added: int = 0
    removed: int = 0
    unchanged: int = Field(default=0, description="Already members (adds), not members (removals).")
    failed: int = 0
    undoes: str | None = Field(default=None, description="The change this one undid.")
    undone_by: str | None = None


class ChangesResult(_Model):
    """Result of `list_recent_changes`."""

    summary: str
    changes: list[Change]
    sandbox: bool = False


class UndoResult(WriteResult):
    """Result of `undo_change`."""

    undoes: str = Field(description="The change_id this call undoes.")
    undone: str | None = Field(default=None, description="Set once the change is undone.")
    status: Literal["re-added", "preview", "nothing_to_undo"] = Field(
        description="re-added: a removal undone at once. preview: undoing an add is a removal preview; approve it with "
        "remove_profiles_from_segment. nothing_to_undo: none of what the add added is still a member."
    )
    preview_id: str | None = None
    count: int = Field(description="Profiles re-added, or in the removal preview.")
    people: list[str] = []
