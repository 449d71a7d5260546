"""Membership tools: list a segment's profiles, and add profiles to it."""

from typing import Annotated
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

from ..batch import Outcome, add_chunk
from ..bulk import BulkOutcome, dedupe, run_chunks
from ..results import AddResult, ListResult
from .common import (
    Ctx,
    PageNumber,
    ProfileIds,
    ProfileLimit,
    SegmentId,
    app_state,
    audit_intent,
    audit_outcome,
    first_few,
    next_page,
    page_fields,
    plural,
    progress_reporter,
    tool_errors,
    tool_result,
)
from .resolve import CustomerIds, resolve_customers


async def list_segment_profiles(
    segment_id: SegmentId,
    ctx: Ctx,
    page: PageNumber = 1,
    limit: ProfileLimit = 50,
) -> Annotated[CallToolResult, ListResult]:
    """List one page of the shopper profiles in a BigCommerce customer segment.

    Returns each profile's `id` (the UUID that add_profiles_to_segment and remove_profiles_from_segment take) and
    `customer_id`, with the segment's `total` and `total_pages`. A page holds `limit` profiles (1 to 250, default
    50). When `next_page` is not null, call again with `page` set to it for the rest. Needs the Customers 'modify'
    API scope (BigCommerce requires it even for this read).
    """
    app = app_state(ctx)
    with tool_errors():
        fetched = await app.client.list_segment_profiles(segment_id, page=page, limit=limit)
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
            profiles=fetched.data,
            **page_fields(p, app.settings.sandbox),
        )
    )


async def add_profiles_to_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
) -> Annotated[CallToolResult, AddResult]:
    """Add shopper profiles to a BigCommerce customer segment.

    Give either `profile_ids` (1 to 10,000 shopper profile UUIDs) or `customer_ids` (BigCommerce customer numbers,
    looked up first; customers without a shopper profile are listed in `customers_without_profile`). Duplicates are
    ignored. Profiles that are already members are reported in `already_members`, not as errors. Large lists go 50
    per request, as fast as the store's API rate limit allows (a Standard plan allows 150 requests per 30 s, so
    10,000 IDs take about 30 s). The result puts every ID in exactly one of `added`, `already_members` or `failed`
    (with the reason); failed IDs are safe to send again. Safe to repeat. Every call is recorded in the audit log.
    """
    app = app_state(ctx)
    if (profile_ids is None) == (customer_ids is None):
        raise ToolError("Give either profile_ids (shopper profile UUIDs) or customer_ids (customer numbers), not both.")
    without_profile: list[int] = []
    not_found: list[int] = []
    if customer_ids is not None:
        with tool_errors():
            resolved = await resolve_customers(app.client, customer_ids)
        without_profile, not_found = resolved.without_profile, resolved.not_found
        if not resolved.profiles:
            raise ToolError(f"Nothing was added: {resolved.describe()}")
        ids = dedupe(resolved.profiles)
    else:
        ids = dedupe(profile_ids or [])
    await audit_intent(app, "add_profiles_to_segment", segment_id, ids)

    async def send(chunk: list[UUID]) -> Outcome:
        return await add_chunk(app.client, segment_id, chunk)

    async def record(outcome: BulkOutcome) -> None:
        await audit_outcome(
            app,
            "add_profiles_to_segment",
            segment_id,
            added=outcome.changed,
            already_members=outcome.unchanged,
            failed=outcome.failure_groups(),
            cancelled=outcome.cancelled,
        )

    outcome = await run_chunks(
        ids,
        send,
        workers=app.settings.max_concurrency,
        progress=progress_reporter(ctx, "Added"),
        finish=record,
        shutdown=app.shutdown,
    )
    failed = outcome.failure_groups()
    if not outcome.changed and not outcome.unchanged:
        raise ToolError(f"No profiles were added to segment {segment_id}: {outcome.failure_sentence()}")
    summary = f"Added {plural(len(outcome.changed), 'profile')} to segment {segment_id}; " + (
        f"{len(outcome.unchanged):,} was already a member"
        if len(outcome.unchanged) == 1
        else f"{len(outcome.unchanged):,} were already members"
    )
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({outcome.failure_sentence()}). "
            "Call again with just the IDs in `failed` to retry them"
        )
    if without_profile:
        summary += f"; customers without a shopper profile yet (cannot be in a segment): {first_few(without_profile)}"
    if not_found:
        summary += f"; customers not in the store: {first_few(not_found)}"
    return tool_result(
        long_lists=("added", "already_members"),
        model=AddResult(
            summary=app.tag + summary + ".",
            segment_id=segment_id,
            requested=len(ids),
            added=outcome.changed,
            already_members=outcome.unchanged,
            failed=failed,
            customers_without_profile=without_profile,
            customers_not_found=not_found,
            sandbox=app.settings.sandbox,
        ),
    )
