"""Membership tools: list a segment's profiles (with names), and add profiles to it from any source."""

from typing import Annotated, Any
from uuid import UUID

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..results import AddResult, ListResult, ProfileEntry, page_sentence
from ..state import AppState
from ..words import call
from ..writes import SegmentWrite
from .arguments import CustomerIds, FromSegmentId, PageNumber, ProfileIds, ProfileLimit, SegmentId, Where
from .context import Ctx, app_state, progress_reporter, tool_errors
from .resolve import Selection, one_source, select
from .text import page_fields, tool_result


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
    `company`; `include_names=false` gives IDs only (the smallest page). A page holds `limit` profiles (1 to 250,
    default 50); when `next_page` is not null, call again with `page` set to it.
    """
    app = app_state(ctx)
    with tool_errors():
        fetched = await app.client.list_segment_profiles(segment_id, page=page, limit=limit)
        name = (await app.client.segment_names({segment_id})).get(segment_id)
        customers = {}
        if include_names and fetched.data:
            customers = {c.id: c for c in await app.client.customers([p.customer_id for p in fetched.data])}
    hide = app.settings.hide_emails
    profiles = [
        ProfileEntry.named(p, customers.get(p.customer_id), hide_emails=hide) if include_names else ProfileEntry.bare(p)
        for p in fetched.data
    ]
    label = f"'{name}'" if name else str(segment_id)
    summary = page_sentence(fetched.pagination, noun="profile", where=f"in segment {label}", asked=page)
    return tool_result(
        ListResult(
            summary=app.tag + summary,
            segment_id=segment_id,
            segment_name=name,
            profiles=profiles,
            **page_fields(fetched.pagination, app.settings.sandbox),
        )
    )


async def add_profiles_to_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
    from_segment_id: FromSegmentId = None,
    customers_where: Where = None,
) -> Annotated[CallToolResult, AddResult]:
    """Add shopper profiles to a BigCommerce customer segment; give exactly one source of profiles.

    Sources: `profile_ids` (shopper profile UUIDs), `customer_ids` (customer numbers, looked up by the server),
    `from_segment_id` (copy every member of another segment), or `customers_where` (customers by group, company,
    sign-up, orders, spend or segments; the server finds them). Up to 10,000 profiles per call, as fast as the
    store's rate limit allows (Standard plan: 10,000 in about 30 s).
    Profiles already in the segment are counted in `already_members`, not errors. The result gives counts, the
    first 20 added by name, the member count now, and a `change_id` (undo_change reverses it). Safe to repeat.
    """
    app = app_state(ctx)
    source = one_source(
        "add_profiles_to_segment",
        {
            "profile_ids": profile_ids,
            "customer_ids": customer_ids,
            "from_segment_id": from_segment_id,
            "customers_where": customers_where,
        },
        ("profile_ids", "customer_ids", "from_segment_id", "customers_where"),
    )
    with tool_errors():
        selection = await select(
            app.client,
            source,
            profile_ids=profile_ids,
            customer_ids=customer_ids,
            from_segment_id=from_segment_id,
            customers_where=customers_where,
            segment_id=segment_id,
        )
    return await add_selection(app, ctx, segment_id, selection, tool="add_profiles_to_segment")


async def add_selection(
    app: AppState, ctx: Ctx, segment_id: UUID, selection: Selection, *, tool: str, undoes: str | None = None
) -> CallToolResult:
    """Add a resolved selection, recording it, and answer with counts, names and the next step.

    The whole call counts as running for a shutdown, so that its answer goes out before the process exits.
    """
    if not selection.ids:
        raise ToolError(f"Nothing to add: {selection.source} resolved to no shopper profiles.")
    write = SegmentWrite(
        app, tool=tool, segment_id=segment_id, action="add", progress=progress_reporter(ctx, "Added"), undoes=undoes
    )
    with app.shutdown.running():
        with tool_errors():
            outcome = await write.send(selection.ids, source=selection.source, customer_of=selection.customer_of)
        retry = call(tool, segment_id=str(segment_id), **selection.retry_args) if selection.retry_args else None
        if not outcome.changed and not outcome.unchanged:
            recorded = f" Change {write.change_id} records it." if write.change_id else ""
            again = f" When the cause is fixed, {retry} retries them (adding again is safe)." if retry else ""
            name = await write.segment_name()
            label = f"'{name}'" if name else str(segment_id)
            raise ToolError(
                f"No profiles were added to segment {label}: {outcome.failure_sentence()}.{recorded}{again}"
            )
        people, count, name = await _after_add(write, outcome.changed, selection)
    return tool_result(
        AddResult.of(
            segment_id,
            name,
            selection=selection,
            outcome=outcome,
            change_id=write.change_id,
            people=people,
            member_count=count,
            retry=retry if outcome.failed else None,
            tag=app.tag,
            sandbox=app.settings.sandbox,
            unread=write.unread_sentence(),
        )
    )


async def _after_add(
    write: SegmentWrite, added: list[UUID], selection: Selection
) -> tuple[list[str], int | None, str | None]:
    """What an add's result needs after the write, read at once (three round trips would be three latencies): the
    people added, the member count now, the segment's name. None of them fails the call."""
    found: dict[str, Any] = {}

    async def people() -> None:
        found["people"] = await write.people(added, known=selection.customers)

    async def count() -> None:
        found["count"] = await write.member_count()

    async def name() -> None:
        found["name"] = await write.segment_name()

    async with anyio.create_task_group() as group:
        for read in (people, count, name):
            group.start_soon(read)
    return found["people"], found["count"], found["name"]
