"""`remove_profiles_from_segment`: a preview first, the human's approval (by `confirm` or elicitation), and an
exact removal that never sends a DELETE without `id:in`."""

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ..batch import Outcome, remove_chunk
from ..bulk import BulkOutcome, dedupe, run_chunks
from ..client import MAX_PAGE_SIZE, BigCommerceClient
from ..errors import NotFoundError, PayloadTooLargeError
from ..results import RemoveResult
from .common import (
    Ctx,
    ProfileIds,
    SegmentId,
    app_state,
    audit_intent,
    audit_outcome,
    first_few,
    plural,
    progress_reporter,
    tool_errors,
    tool_result,
)

# Membership is looked up before a removal when the segment has at most this many profiles.
MEMBERSHIP_LIMIT = 1_000
# A shopper is in at most 1,000 segments: 4 pages of 250.
MEMBERSHIP_PAGES = 4
# ...or, in a larger segment, by looking up at most this many profiles one by one.
MEMBERSHIP_LOOKUPS = 5


class RemovalApproval(BaseModel):
    """The human's answer to "remove these profiles?"."""

    approve: bool = Field(title="Remove these profiles", description="Check to remove them from the segment.")


class NotAsked(RemovalApproval):
    """No approval: `confirm` was not set and the client cannot ask the human."""


async def ask_removal(
    segment_id: SegmentId, profile_ids: ProfileIds, ctx: Ctx, confirm: bool = False
) -> RemovalApproval | Elicit[RemovalApproval]:
    """Approval for a removal: the `confirm` argument, else the human (if the client can ask), else none."""
    if confirm:
        return RemovalApproval(approve=True)
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return NotAsked(approve=False)
    ids = dedupe(profile_ids)
    return Elicit(
        f"Remove {plural(len(ids), 'shopper profile')} from BigCommerce segment {segment_id}? "
        f"({first_few(ids)}). The profiles themselves are kept; only their membership ends.",
        RemovalApproval,
    )


async def remove_profiles_from_segment(
    segment_id: SegmentId,
    profile_ids: ProfileIds,
    ctx: Ctx,
    approval: Annotated[ElicitationResult[RemovalApproval], Resolve(ask_removal)],
    confirm: Annotated[
        bool,
        Field(
            strict=True,  # a destructive approval is the JSON boolean true, never "yes", 1 or "true"
            description="Set to true only after the user has seen the preview and approved this exact removal.",
        ),
    ] = False,
) -> Annotated[CallToolResult, RemoveResult]:
    """Remove shopper profiles from a BigCommerce customer segment (the profiles themselves are kept).

    DESTRUCTIVE. Without `confirm=true` nothing is removed: the result is a preview of what would be removed and
    which IDs are not members. Show the preview to the user, and call again with the same IDs and `confirm=true`
    only after the user has approved it. Takes 1 to 10,000 shopper profile UUIDs; duplicates are ignored. The
    result lists `removed`, `not_members` and `failed` (with the reason; safe to retry). Every removal is recorded
    in the audit log, and removed profiles can be put back with add_profiles_to_segment.
    """
    app = app_state(ctx)
    ids = dedupe(profile_ids)
    approved = isinstance(approval, AcceptedElicitation) and approval.data.approve
    asked = not (isinstance(approval, AcceptedElicitation) and isinstance(approval.data, NotAsked))
    with tool_errors():
        members = await members_of(app.client, segment_id, ids)
    not_members = [] if members is None else [i for i in ids if i not in members]
    targets = ids if members is None else [i for i in ids if i in members]

    def answer(status: Literal["preview", "declined", "removed"], summary: str, **lists: Any) -> CallToolResult:
        return tool_result(
            RemoveResult(
                summary=app.tag + summary,
                segment_id=segment_id,
                status=status,
                requested=len(ids),
                not_members=not_members,
                membership_checked=members is not None,
                sandbox=app.settings.sandbox,
                **lists,
            ),
            long_lists=("would_remove", "removed", "not_members"),
        )

    if not approved and asked:
        return answer(
            "declined", f"The user declined: nothing was removed from segment {segment_id}.", would_remove=targets
        )
    if not approved:
        if members is None:
            checked = " Membership was not checked (the segment is too large to read, or its pages made no sense)."
        elif not_members:
            checked = f" {len(not_members):,} of the IDs are not members."
        else:
            checked = ""
        return answer(
            "preview",
            f"PREVIEW, nothing removed: {plural(len(targets), 'profile')} would be removed from segment "
            f"{segment_id}.{checked} Show this to the user; if they approve, call remove_profiles_from_segment "
            "again with the same profile_ids and confirm=true.",
            would_remove=targets,
        )
    if not targets:
        return answer("removed", f"Nothing to remove: none of the {len(ids):,} profiles is in segment {segment_id}.")
    await audit_intent(app, "remove_profiles_from_segment", segment_id, targets)

    async def send(chunk: list[UUID]) -> Outcome:
        return await remove_chunk(app.client, segment_id, chunk)

    async def record(outcome: BulkOutcome) -> None:
        await audit_outcome(
            app,
            "remove_profiles_from_segment",
            segment_id,
            removed=outcome.changed,
            not_members=outcome.unchanged,
            failed=outcome.failure_groups(),
            cancelled=outcome.cancelled,
        )

    outcome = await run_chunks(
        targets,
        send,
        workers=app.settings.max_concurrency,
        progress=progress_reporter(ctx, "Removed"),
        finish=record,
        shutdown=app.shutdown,
    )
    not_members += outcome.unchanged  # BigCommerce said so (404) where membership was not looked up first
    failed = outcome.failure_groups()
    if not outcome.changed and outcome.failed:
        raise ToolError(f"No profiles were removed from segment {segment_id}: {outcome.failure_sentence()}")
    summary = f"Removed {plural(len(outcome.changed), 'profile')} from segment {segment_id}"
    if not_members:
        summary += f"; {len(not_members):,} {'was not a member' if len(not_members) == 1 else 'were not members'}"
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({outcome.failure_sentence()}). "
            "Call again with just the IDs in `failed` and confirm=true to retry them"
        )
    summary += ". To undo, add the removed IDs back with add_profiles_to_segment."
    return answer("removed", summary, removed=outcome.changed, failed=failed)


async def members_of(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> set[UUID] | None:
    """Which of `ids` are members, when a few requests can tell; None when unknown.

    A segment of up to 1,000 profiles is read whole; for a larger one, up to 5 IDs are looked up one by one through
    the segments each profile belongs to. Pagination that makes no sense leaves membership unknown, never "not a
    member".
    """
    try:
        members = await client.segment_members(segment_id, max_items=MEMBERSHIP_LIMIT, only_if_whole=True)
    except PayloadTooLargeError:
        return None  # a store that caps pages lower: membership stays unchecked rather than the removal failing
    if members.complete:
        wanted = set(ids)
        return {p.id for p in members.items if p.id in wanted}
    if len(ids) > MEMBERSHIP_LOOKUPS or members.total is None or members.total <= MEMBERSHIP_LIMIT:
        return None
    return {profile_id for profile_id in ids if await is_member(client, segment_id, profile_id)}


async def is_member(client: BigCommerceClient, segment_id: UUID, profile_id: UUID) -> bool:
    for page in range(1, MEMBERSHIP_PAGES + 1):
        try:
            result = await client.profile_segments(profile_id, page=page, limit=MAX_PAGE_SIZE)
        except NotFoundError:
            return False  # no such profile: certainly not a member
        if any(s.id == segment_id for s in result.data):
            return True
        if result.pagination.current_page != page or result.pagination.total_pages < 0:
            return True  # pagination that makes no sense: unknown, so the removal is still sent
        if page >= result.pagination.total_pages:
            return False
    return True  # a shopper in over 1,000 segments: assume member, so the removal is still sent
