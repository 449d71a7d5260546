"""`delete_segment`: a pinned preview first (name, member count, the first 20 members, the promotions that name it),
the human's approval, then `DELETE /v3/segments?id:in=<that one ID>`, recorded so that `undo_change` recreates it.

The audit log records the name, the description and every member ID before the request; a segment of more than
10,000 members is not deleted here (its undo could not put them back in one call).
"""

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ..errors import BigCommerceError
from ..lifecycle import SegmentChange
from ..people import SHOWN, and_more, name_profiles
from ..previews import TTL_SECONDS, Preview
from ..promotions import Gate, deletion_sentence, gates, promotions_of, refs
from ..redact import redact
from ..results import DeleteResult
from ..state import AppState
from ..words import call, plural
from .approval import call_key, can_ask, set_digest, verdict
from .arguments import MAX_IDS, SegmentId
from .context import Ctx, app_state, tool_errors
from .text import tool_result

TOOL = "delete_segment"
#: Promotions listed in a deletion's result (the sentence names 3 and counts the rest).
SHOWN_PROMOTIONS = 10

PreviewId = Annotated[
    str | None, Field(pattern=r"^p[0-9a-f]{10}$", description="Step 1's preview_id, once the user approved it.")
]
Confirm = Annotated[bool, Field(strict=True, description="true deletes, with the approved preview_id.")]


class DeletionApproval(BaseModel):
    """The human's answer to "delete this segment?"."""

    approve: bool = Field(default=False, title="Delete this segment", description="Check to delete it.")


class NotAsked(DeletionApproval):
    """No approval, and no question: the client cannot ask the human."""


@dataclass
class DeletionPlan:
    """A deletion, pinned: the segment as it is now, its members, and the promotions that name it (None: unknown)."""

    preview: Preview
    from_preview: bool
    gates: list[Gate] | None
    promotions_note: str = ""
    via_app: bool = False  # approved with the alias only the MCP App view holds: the human clicked Delete


async def read_segment(app: AppState, segment_id: UUID, missing: str = "") -> tuple[Any, list[Any]]:
    """The segment and its members (up to 10,000); `missing` says what its absence means to the caller.

    Raises:
        ToolError: it does not exist, has more than 10,000 members, or could not be read reliably.
    """
    segment = (await app.client.segments_by_id({segment_id})).get(segment_id)
    if segment is None:
        raise ToolError(
            missing or f"This store has no segment {segment_id}; nothing was deleted. list_segments finds segments."
        )
    members = await app.client.segment_members(segment_id, max_items=MAX_IDS, only_if_whole=True)
    if members.total is not None and members.total > MAX_IDS:
        raise ToolError(
            f"Segment '{segment.name}' has {members.total:,} members; this server deletes segments of up to "
            f"{MAX_IDS:,}, so that undo_change can put every member back. Nothing was deleted. Empty it first "
            "(remove_profiles_from_segment, all_members=true, in calls of 10,000) or delete it in the control panel."
        )
    if not members.complete:
        raise ToolError(
            f"Segment '{segment.name}' could not be read reliably (its pages repeated or made no sense); nothing was "
            "deleted. Retry in a minute."
        )
    return segment, list(members.items)


async def pin_deletion(app: AppState, segment_id: UUID, *, undoes: str = "", keep: bool = False) -> DeletionPlan:
    """A deletion preview of the segment as it is now (kept for approval when `keep`).

    Raises:
        ToolError: the segment cannot be deleted here, or BigCommerce failed.
    """
    with tool_errors():
        segment, members = await read_segment(app, segment_id)
        customer_of = {p.id: p.customer_id for p in members}
        ids = [p.id for p in members]
        people = await name_profiles(app.client, ids[:SHOWN], customer_of, hide_emails=app.settings.hide_emails)
        promotions, why = await promotions_of(app.client)
        preview = Preview(
            preview_id=app.previews.new_id(),
            store=app.store_key,
            segment_id=segment_id,
            profile_ids=tuple(ids),
            customer_of=customer_of,
            people=tuple(people),
            membership_checked=True,
            expires_at=app.client.clock.now() + TTL_SECONDS,
            source="the segment itself",
            segment_name=segment.name,
            undoes=undoes,
            action="delete",
            segment_description=segment.description,
        )
        if keep:
            await app.previews.put(preview)
    found = None if promotions is None else gates(promotions, segment_id)
    return DeletionPlan(preview, False, found, why)


async def plan_deletion(
    segment_id: SegmentId, ctx: Ctx, preview_id: PreviewId = None, confirm: Confirm = False
) -> DeletionPlan:
    """Resolver: the pinned deletion preview the call names, or a new one."""
    app = app_state(ctx)
    if not preview_id:
        if ctx.input_responses:  # the client answers the question this plan was shown in (see `AskedPlans`)
            asked = app.asked.take(_key(app, segment_id), app.client.clock.now())
            if isinstance(asked, DeletionPlan):
                return asked
        return await pin_deletion(app, segment_id)
    with tool_errors():
        named = await app.previews.resolve(preview_id)  # the MCP App view's alias of a preview, or None
        preview = await app.previews.get(
            named or preview_id, store=app.store_key, segment_id=segment_id, action="delete"
        )
    promotions, why = await promotions_of(app.client)
    found = None if promotions is None else gates(promotions, segment_id)
    return DeletionPlan(preview, True, found, why, via_app=named is not None)


async def ask_deletion(
    ctx: Ctx,
    plan: Annotated[DeletionPlan, Resolve(plan_deletion)],
    preview_id: PreviewId = None,
    confirm: Confirm = False,
) -> DeletionApproval | Elicit[DeletionApproval]:
    """Resolver: the human's answer when the client can ask; else `confirm` with a preview_id, or the operator's
    leave to confirm without one; else none."""
    app = app_state(ctx)
    if confirm and not preview_id and app.settings.confirm_without_preview:
        return DeletionApproval(approve=True)
    if confirm and plan.from_preview and plan.via_app:
        return DeletionApproval(approve=True)  # the human clicked Delete in the view
    if not can_ask(ctx):
        return DeletionApproval(approve=True) if confirm and preview_id else NotAsked(approve=False)
    preview = plan.preview
    digest = set_digest(preview)
    total = len(preview.profile_ids)
    members = f"{plural(total, 'member')}: {and_more(preview.people, total)}" if total else "no members"
    promotions = deletion_sentence(plan.gates or [], preview.segment_label)
    if not plan.from_preview and not ctx.input_responses:  # for the round that brings the answer (2026-07-28)
        app.asked.keep(_key(app, preview.segment_id), plan, app.client.clock.now())
    return Elicit(
        redact(
            f"Delete segment {preview.segment_label} ({members})? The shopper profiles themselves are kept. "
            f"{promotions} (Set {digest}: a yes deletes exactly this.)".replace("  ", " ")
        ),
        DeletionApproval,
    )


async def delete_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    plan: Annotated[DeletionPlan, Resolve(plan_deletion)],
    approval: Annotated[ElicitationResult[DeletionApproval], Resolve(ask_deletion)],
    preview_id: PreviewId = None,
    confirm: Confirm = False,
) -> Annotated[CallToolResult, DeleteResult]:
    """Delete a customer segment. DESTRUCTIVE; the shopper profiles themselves are kept.

    Two steps. 1) Call with `segment_id`: a preview (`preview_id`, member count, the first 20 members by name, the
    promotions that name it); nothing is deleted. Show it to the user. 2) Only after the user approved, call with
    that `preview_id` and `confirm=true` (single use, 15 minutes). undo_change(change_id) recreates it with its
    members (a new segment_id).
    """
    app = app_state(ctx)
    accepted, asked, said = verdict(approval, NotAsked)
    if asked and not plan.from_preview:  # answered in this round: no later one takes the plan
        app.asked.take(_key(app, segment_id), app.client.clock.now())
    label = plan.preview.segment_label
    if asked and not accepted:
        if plan.from_preview:
            await app.previews.discard(plan.preview.preview_id)
        return _answer(app, plan, "declined", f"The user {said}: segment {label} was not deleted.")
    if not accepted:
        if not plan.from_preview:
            with tool_errors():
                await app.previews.put(plan.preview)
        return _answer(app, plan, "preview", _preview_summary(plan, confirm_without_id=confirm))
    with app.shutdown.running():
        return await _delete(app, plan, recheck=asked)


def _preview_summary(plan: DeletionPlan, *, confirm_without_id: bool) -> str:
    preview = plan.preview
    total = len(preview.profile_ids)
    approval = call(TOOL, segment_id=str(preview.segment_id), preview_id=preview.preview_id, confirm=True)
    leading = (
        "confirm=true needs the preview_id of a preview the user approved; this is it. " if confirm_without_id else ""
    )
    shown = f"; the first {min(total, SHOWN)} are in `people`" if total else ""
    promotions = deletion_sentence(plan.gates or [], preview.segment_label) or plan.promotions_note
    return " ".join(
        f"{leading}PREVIEW, nothing deleted: segment {preview.segment_label} and its {plural(total, 'membership')} "
        f"would be deleted (the shopper profiles themselves are kept){shown}. {promotions} Show this to the user; "
        f"if they approve, call {approval} within 15 minutes.".split()
    )


def _key(app: AppState, segment_id: UUID) -> str:
    return call_key(app.store_key, segment_id, {"delete_segment": True})


async def _delete(app: AppState, plan: DeletionPlan, *, recheck: bool) -> CallToolResult:
    """Delete the approved segment, recording its name, description and every member first; a segment that changed
    since the preview (or since the question about it, `recheck`) is refused."""
    preview = plan.preview
    segment_id = preview.segment_id
    with tool_errors():
        if plan.from_preview:
            preview = await app.previews.take(
                preview.preview_id, store=app.store_key, segment_id=segment_id, action="delete"
            )
        segment, members = await read_segment(app, segment_id)  # who is in it now is what undo must put back
        if plan.from_preview or recheck:
            _unchanged_since(preview, segment.name, [p.id for p in members])
        change = SegmentChange(
            app, tool=TOOL, kind="delete_segment", segment_id=segment_id, undoes=preview.undoes or None
        )
        await change.intent(
            name=segment.name,
            description=segment.description,
            ids=[p.id for p in members],
            customer_of={str(p.id): p.customer_id for p in members},
            promotions=[{"id": g.promotion.id, "name": g.label} for g in plan.gates or []],
        )
        await send_deletion(app, change, segment_id, name=segment.name, members=len(members))
    named = deletion_sentence(plan.gates or [], preview.segment_label)
    undo = (
        f" undo_change(change_id={change.change_id!r}) recreates it with its name, description and members (a new "
        "segment_id)."
        if change.change_id
        else ""
    )
    summary = (
        f"Deleted segment '{segment.name}' and its {plural(len(members), 'membership')} (the shopper profiles "
        f"themselves are kept). {named}{undo}"
    )
    return _answer(app, plan, "deleted", summary, members=len(members), change_id=change.change_id)


def _unchanged_since(preview: Preview, name: str, ids: list[UUID]) -> None:
    """Refuse a deletion of a segment that changed since the user saw it (a yes deletes exactly what was shown).

    Raises:
        ToolError: members joined or left, or it was renamed.
    """
    joined, left = set(ids) - set(preview.profile_ids), set(preview.profile_ids) - set(ids)
    if joined or left or name != preview.segment_name:
        what = f"{len(joined):,} joined and {len(left):,} left" if joined or left else f"it was renamed '{name}'"
        raise ToolError(
            f"Segment {preview.segment_label} changed since the preview ({what}); nothing was deleted. Call "
            f'delete_segment(segment_id="{preview.segment_id}") again for a new preview and show it to the user.'
        )


async def send_deletion(app: AppState, change: SegmentChange, segment_id: UUID, *, name: str, members: int) -> None:
    """Send the DELETE and record what happened: when the answer is lost (a timeout, a cancellation), whether the
    segment is still there is read back, so that undo can rely on the record.

    Raises:
        BigCommerceError: the request failed (recorded first).
    """
    try:
        await app.client.delete_segment(segment_id)
    except BaseException:
        with anyio.CancelScope(shield=True):
            gone: bool | None = None
            with contextlib.suppress(BigCommerceError):
                gone = segment_id not in await app.client.segments_by_id({segment_id})
            await change.outcome(done=gone, name=name, members=members, error="the answer was an error or was lost")
        raise
    await change.outcome(done=True, name=name, members=members)


def _answer(
    app: AppState, plan: DeletionPlan, status: Literal["preview", "declined", "deleted"], summary: str, **fields: Any
) -> CallToolResult:
    preview = plan.preview
    values: dict[str, Any] = {"members": len(preview.profile_ids), "people": list(preview.people), **fields}
    return tool_result(
        DeleteResult(
            summary=app.tag + " ".join(summary.split()),
            segment_id=preview.segment_id,
            name=preview.segment_name,
            status=status,
            preview_id=preview.preview_id if status == "preview" else None,
            promotions=None if plan.gates is None else refs(plan.gates)[:SHOWN_PROMOTIONS],
            sandbox=app.settings.sandbox,
            **values,
        )
    )
