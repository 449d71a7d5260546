"""Membership tools: list a segment's profiles (with names), and add profiles to it from any source."""

import contextlib
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..batch import add_chunk
from ..bulk import BulkOutcome
from ..errors import BigCommerceError
from ..people import name_profiles
from ..results import AddResult, ListResult, ProfileEntry
from .common import (
    AppState,
    Ctx,
    PageNumber,
    ProfileIds,
    ProfileLimit,
    SegmentId,
    app_state,
    audit_intent,
    call,
    failure_groups,
    first_few,
    member_count,
    next_page,
    page_fields,
    plural,
    tool_errors,
    tool_result,
    write_in_chunks,
)
from .resolve import CustomerIds, Selection, one_source, select

FromSegmentId = Annotated[
    UUID | None,
    Field(description="Another segment's UUID: its current members are the profiles (the server reads them)."),
]


async def list_segment_profiles(
    segment_id: SegmentId,
    ctx: Ctx,
    page: PageNumber = 1,
    limit: ProfileLimit = 50,
    include_names: Annotated[
        bool, Field(description="Name, email and company of each profile (one customer look-up a page).")
    ] = True,
) -> Annotated[CallToolResult, ListResult]:
    """List one page of the shopper profiles in a BigCommerce customer segment, with each customer's name.

    Each profile has its `id` (a shopper profile UUID), `customer_id`, and the customer's `name`, `email` and
    `company`; `include_names=false` gives IDs and timestamps only, for paging through IDs. A page holds `limit`
    profiles (1 to 250, default 50); when `next_page` is not null, call again with `page` set to it. Needs the
    Customers 'modify' API scope (BigCommerce requires it even for this read).
    """
    app = app_state(ctx)
    with tool_errors():
        fetched = await app.client.list_segment_profiles(segment_id, page=page, limit=limit)
        customers = {}
        if include_names and fetched.data:
            customers = {c.id: c for c in await app.client.customers([p.customer_id for p in fetched.data])}
    hide = app.settings.hide_emails
    profiles = [
        ProfileEntry(
            id=p.id,
            customer_id=p.customer_id,
            name=f"{c.first_name} {c.last_name}".strip() if c else None,
            email=(c.email or None) if c and not hide else None,
            company=(c.company or None) if c else None,
        )
        if include_names
        else ProfileEntry(id=p.id, customer_id=p.customer_id, created_at=p.created_at, updated_at=p.updated_at)
        for p in fetched.data
        for c in [customers.get(p.customer_id)]
    ]
    p = fetched.pagination
    following = next_page(p.current_page, p.total_pages)
    if not fetched.data and p.total and page > p.total_pages:
        summary = (
            f"Page {page} is past the end: segment {segment_id} has {plural(p.total, 'profile')} on "
            f"{plural(p.total_pages, 'page')} of {p.per_page}. Call again with page=1."
        )
    elif not p.total:
        summary = f"Segment {segment_id} has no shopper profiles."
    else:
        first = (p.current_page - 1) * p.per_page + 1
        summary = (
            f"Profiles {first:,}-{first + p.count - 1:,} of {p.total:,} in segment {segment_id} "
            f"(page {p.current_page} of {p.total_pages})."
        )
        summary += f" Call again with page={following} for more." if following else " This is the last page."
    return tool_result(
        ListResult(
            summary=app.tag + summary,
            segment_id=segment_id,
            profiles=profiles,
            **page_fields(p, app.settings.sandbox),
        )
    )


async def add_profiles_to_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
    from_segment_id: FromSegmentId = None,
) -> Annotated[CallToolResult, AddResult]:
    """Add shopper profiles to a BigCommerce customer segment; give exactly one source of profiles.

    Sources: `profile_ids` (shopper profile UUIDs), `customer_ids` (customer numbers, looked up by the server), or
    `from_segment_id` (copy every current member of another segment; the server reads it). Up to 10,000 profiles per
    call, 50 per request, as fast as the store's rate limit allows (a Standard plan: 10,000 in about 30 s).
    Profiles already in the segment are counted in `already_members`, not errors. The result gives counts, the
    first 20 added by name, the segment's member count now, and a `change_id` (undo_change reverses it). Safe to
    repeat.
    """
    app = app_state(ctx)
    source = one_source(
        "add_profiles_to_segment",
        {"profile_ids": profile_ids, "customer_ids": customer_ids, "from_segment_id": from_segment_id},
        ("profile_ids", "customer_ids", "from_segment_id"),
    )
    with tool_errors():
        selection = await select(
            app.client, source, profile_ids=profile_ids, customer_ids=customer_ids, from_segment_id=from_segment_id
        )
    return await add_selection(app, ctx, segment_id, selection, tool="add_profiles_to_segment")


async def add_selection(
    app: AppState, ctx: Ctx, segment_id: UUID, selection: Selection, *, tool: str, undoes: str | None = None
) -> CallToolResult:
    """Add a resolved selection, recording it, and answer with counts, names and the next step.

    The whole call counts as running for a shutdown, so that its answer goes out before the process exits.
    """
    with app.shutdown.running():
        return await _add(app, ctx, segment_id, selection, tool=tool, undoes=undoes)


async def _add(
    app: AppState, ctx: Ctx, segment_id: UUID, selection: Selection, *, tool: str, undoes: str | None
) -> CallToolResult:
    if not selection.ids:
        raise ToolError(f"Nothing to add: {selection.source} resolved to no shopper profiles.")
    ids = selection.ids
    extra: dict[str, Any] = {"undoes": undoes} if undoes else {}
    change_id = await audit_intent(app, tool, segment_id, ids, source=selection.source, **extra)
    customer_of = dict(selection.customer_of)

    outcome = await write_in_chunks(
        app,
        ctx,
        segment_id,
        ids,
        send=add_chunk,
        verb="Added",
        change_id=change_id,
        tool=tool,
        outcome_fields=lambda outcome: {
            "added": outcome.changed,
            "already_members": outcome.unchanged,
            "customer_of": {str(k): v for k, v in {**customer_of, **outcome.customer_of}.items() if v > 0},
            **extra,
        },
    )
    if not outcome.changed and not outcome.unchanged:
        recorded = f" Change {change_id} records it." if change_id else ""
        again = call(tool, segment_id=str(segment_id), **selection.retry_args) if selection.retry_args else ""
        raise ToolError(
            f"No profiles were added to segment {segment_id}: {outcome.failure_sentence()}.{recorded}"
            + (f" When the cause is fixed, {again} retries them (adding again is safe)." if again else "")
        )
    customer_of.update(outcome.customer_of)
    people = await name_profiles(
        app.client,
        outcome.changed,
        customer_of,
        hide_emails=app.settings.hide_emails,
        known=selection.customers,
    )
    count = await member_count(app, segment_id)
    name = None
    if not app.shutdown.requested.is_set():  # the write is done: a failing read must not turn it into an error
        with contextlib.suppress(BigCommerceError):
            name = (await app.client.segment_names({segment_id})).get(segment_id)
    label = f"'{name}'" if name else str(segment_id)
    return tool_result(
        AddResult(
            summary=app.tag + _add_summary(label, selection, outcome, count, change_id),
            segment_id=segment_id,
            change_id=change_id,
            requested=len(ids),
            added=len(outcome.changed),
            already_members=len(outcome.unchanged),
            added_people=people,
            failed=failure_groups(outcome.failed),
            retry=call(tool, segment_id=str(segment_id), **selection.retry_args) if outcome.failed else None,
            member_count=count,
            customers_without_profile=selection.without_profile[:20],
            customers_not_found=selection.not_found[:20],
            sandbox=app.settings.sandbox,
        )
    )


def _add_summary(
    segment: str, selection: Selection, outcome: BulkOutcome, count: int | None, change_id: str | None
) -> str:
    already = len(outcome.unchanged)
    summary = f"Added {plural(len(outcome.changed), 'profile')} ({selection.source}) to segment {segment}; " + (
        f"{already:,} was already a member" if already == 1 else f"{already:,} were already members"
    )
    if outcome.failed_count:
        summary += f"; {outcome.failed_count:,} FAILED ({outcome.failure_sentence()}); `retry` is the call that retries"
    if selection.without_profile:
        summary += (
            f"; {plural(len(selection.without_profile), 'customer has', 'customers have')} no shopper profile yet "
            f"(cannot be in a segment): {_few(selection.without_profile)}"
        )
    if selection.not_found:
        summary += (
            f"; {plural(len(selection.not_found), 'customer is', 'customers are')} not in the store: "
            f"{_few(selection.not_found)}"
        )
    if count is not None:
        summary += f". The segment now has {plural(count, 'member')}"
    if change_id:
        summary += f". undo_change(change_id={change_id!r}) reverses this"
    return summary + "."


def _few(items: Sequence[object]) -> str:
    return first_few(items)
