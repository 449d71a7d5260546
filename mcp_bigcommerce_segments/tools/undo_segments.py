"""Undoing a change to a segment itself: a creation is deleted while the segment is empty (else a `delete_segment`
preview), an update is reversed, and a deletion is recreated with the same name and description and its members put
back (a new segment_id: the promotions that named the old one are named so that they can be pointed at it)."""

import contextlib
from typing import Any
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

from ..errors import BigCommerceError, ConflictError
from ..lifecycle import SegmentChange
from ..promotions import deletion_sentence, gates, promotions_of
from ..results import UndoResult
from ..state import AppState
from ..words import call, plural
from .context import Ctx, tool_errors
from .deletion import pin_deletion, read_segment, send_deletion
from .lifecycle import name_taken
from .membership import add_selection
from .resolve import Selection
from .text import tool_result

#: How many of the latest changes are searched for an earlier, cut-short recreation of a deleted segment.
RECENT = 50


def segment_note(intent: dict[str, Any], outcome: dict[str, Any]) -> str | None:
    """A segment-level change in words, for `list_recent_changes` (None for a membership change)."""
    kind = intent.get("kind") or outcome.get("kind")
    if kind == "create_segment":
        return f"created segment '{intent.get('name', '')}'"
    if kind == "update_segment":
        before, after = intent.get("before") or {}, intent.get("after") or {}
        if before.get("name") != after.get("name"):
            return f"renamed '{before.get('name', '')}' to '{after.get('name', '')}'"
        return f"changed the description of '{after.get('name', '')}'"
    if kind == "delete_segment":
        return f"deleted segment '{intent.get('name', '')}' ({plural(len(intent.get('ids') or []), 'member')})"
    return None


async def undo_segment_change(app: AppState, ctx: Ctx, change_id: str, records: dict[str, Any]) -> CallToolResult:
    """Reverse a segment's creation, update or deletion.

    Raises:
        ToolError: it failed, there is nothing to reverse, or reversing it would clash (a name taken meanwhile).
    """
    intent, outcome = records.get("intent") or {}, records.get("outcome") or {}
    kind = outcome.get("kind")
    if outcome.get("done") is False:
        raise ToolError(f"Change {change_id} did not happen (it failed), so there is nothing to undo.")
    if outcome.get("done") is None and kind != "delete_segment":  # a deletion's undo checks the segment is gone
        raise ToolError(
            f"Whether change {change_id} happened is not known (its answer was lost); list_segments shows the "
            "segment as it is now. Nothing was changed."
        )
    with tool_errors():
        if kind == "create_segment":
            return await _undo_create(app, change_id, UUID(str(outcome["segment_id"])))
        if kind == "update_segment":
            return await _undo_update(app, change_id, UUID(str(outcome["segment_id"])), intent)
        return await _undo_delete(app, ctx, change_id, UUID(str(outcome["segment_id"])), intent)


def _result(app: AppState, segment_id: UUID, undoes: str, status: Any, summary: str, **fields: Any) -> CallToolResult:
    return tool_result(
        UndoResult(
            summary=app.tag + summary,
            segment_id=segment_id,
            undoes=undoes,
            status=status,
            sandbox=app.settings.sandbox,
            **fields,
        )
    )


async def _undo_create(app: AppState, change_id: str, segment_id: UUID) -> CallToolResult:
    """Delete the created segment at once while it is empty; else answer a deletion preview to approve."""
    gone = f"The segment change {change_id} created ({segment_id}) no longer exists: nothing to undo."
    segment, members = await read_segment(app, segment_id, missing=gone)
    if members:
        plan = await pin_deletion(app, segment_id, undoes=change_id, keep=True)
        approve = call("delete_segment", segment_id=str(segment_id), preview_id=plan.preview.preview_id, confirm=True)
        promotions = deletion_sentence(plan.gates or [], plan.preview.segment_label) or plan.promotions_note
        return _result(
            app,
            segment_id,
            change_id,
            "preview",
            f"PREVIEW, nothing deleted: segment '{segment.name}' (created by {change_id}) has "
            f"{plural(len(plan.preview.profile_ids), 'member')} now, so undoing its creation deletes them from it "
            f"too. {promotions} Show this to the user; if they approve, call {approve} within 15 minutes.",
            preview_id=plan.preview.preview_id,
            count=len(plan.preview.profile_ids),
            people=list(plan.preview.people),
        )
    change = SegmentChange(app, tool="undo_change", kind="delete_segment", segment_id=segment_id, undoes=change_id)
    await change.intent(name=segment.name, description=segment.description, ids=[], customer_of={}, promotions=[])
    await send_deletion(app, change, segment_id, name=segment.name, members=0)
    return _result(
        app,
        segment_id,
        change_id,
        "deleted",
        f"Deleted the empty segment '{segment.name}' that change {change_id} created.",
        undone=change_id,
        change_id=change.change_id,
        count=0,
    )


async def _undo_update(app: AppState, change_id: str, segment_id: UUID, intent: dict[str, Any]) -> CallToolResult:
    """Put the name and description back as they were before the update."""
    before = intent.get("before") or {}
    name, description = str(before.get("name", "")), str(before.get("description", ""))
    if (other := await name_taken(app, name, besides=segment_id)) is not None:
        raise ToolError(
            f"Segment {other.id} is named '{other.name}' now, so the old name cannot be restored; nothing was "
            "changed. Rename that one first (update_segment)."
        )
    current = (await app.client.segments_by_id({segment_id})).get(segment_id)
    if current is None:
        raise ToolError(f"Segment {segment_id} no longer exists: there is nothing to rename back.")
    after = intent.get("after") or {}
    if (current.name, current.description) != (after.get("name"), after.get("description")):
        raise ToolError(
            f"Segment {segment_id} was changed again since change {change_id} (it is '{current.name}' now); "
            "undoing that change would overwrite the later one. Nothing was changed; update_segment sets the name "
            "and description directly."
        )
    change = SegmentChange(app, tool="undo_change", kind="update_segment", segment_id=segment_id, undoes=change_id)
    await change.intent(
        before={"name": current.name, "description": current.description},
        after={"name": name, "description": description},
    )
    try:
        await app.client.update_segment(segment_id, name=name, description=description)
    except BaseException:
        await change.outcome(done=False, error="the request failed or was cancelled")
        raise
    await change.outcome(done=True)
    return _result(
        app,
        segment_id,
        change_id,
        "restored",
        f"Restored segment {segment_id}'s name '{name}' and its description (change {change_id} undone).",
        undone=change_id,
        change_id=change.change_id,
        count=0,
    )


async def _undo_delete(app: AppState, ctx: Ctx, change_id: str, old_id: UUID, intent: dict[str, Any]) -> CallToolResult:
    """Recreate the deleted segment (same name and description) and add its members back; a repeat (after a re-add
    cut short) adds the rest to the segment the first attempt recreated. The deletion counts as undone once every
    member is back (the re-add links it)."""
    name = str(intent.get("name", ""))
    if old_id in await app.client.segments_by_id({old_id}):
        raise ToolError(
            f"Segment '{name}' ({old_id}) still exists: it was not deleted, so there is nothing to recreate."
        )
    ids = [UUID(str(i)) for i in intent.get("ids") or []]
    recreated: tuple[UUID, str | None] | None = None
    target = await _earlier_recreation(app, old_id)
    if target is None:
        recreated = await _recreate(app, change_id, old_id, intent, bool(ids))
        target = recreated[0]
    added, problem = await _put_back(app, ctx, change_id, target, ids, intent)
    retry = call("undo_change", change_id=change_id) if problem or added.get("failed") else None
    return _result(
        app,
        target,
        change_id,
        "recreated",
        f"Recreated segment '{name}' as segment_id {target} (the old one was {old_id}) and put back "
        f"{plural(int(added.get('added', 0)) + int(added.get('already_members', 0)), 'member')} of {len(ids):,}."
        f"{problem}{' ' + retry + ' puts back the rest.' if retry else ''}{await _repoint(app, old_id, intent)}",
        undone=change_id if not retry else None,
        change_id=added.get("change_id") or (recreated[1] if recreated else None),
        count=int(added.get("added", 0)),
        people=added.get("added_people", []),
        failed=added.get("failed", []),
        retry=retry,
        member_count=added.get("member_count"),
    )


async def _put_back(
    app: AppState, ctx: Ctx, change_id: str, target: UUID, ids: list[UUID], intent: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Add a deleted segment's members to the segment that replaces it: the add's result, or the sentence that says
    why they could not be put back now (the segment is back either way)."""
    if not ids:
        return {}, ""
    recorded = intent.get("customer_of") or {}
    customer_of = {i: int(recorded[str(i)]) for i in ids if str(i) in recorded}
    selection = Selection(
        ids, f"the {len(ids):,} members of deleted segment '{intent.get('name', '')}'", {}, customer_of
    )
    try:
        result = await add_selection(app, ctx, target, selection, tool="undo_change", undoes=change_id)
    except ToolError as exc:
        return {}, f" {exc}"
    return dict(result.structured_content or {}), ""


async def _recreate(
    app: AppState, change_id: str, old_id: UUID, intent: dict[str, Any], members: bool
) -> tuple[UUID, str | None]:
    """POST the deleted segment's name and description again, recorded (linked as the undo only when it had no
    members: else the re-add of its members is).

    Raises:
        ToolError: another segment has the name now.
    """
    name, description = str(intent.get("name", "")), str(intent.get("description", ""))
    if (other := await name_taken(app, name)) is not None:
        raise ToolError(
            f"A segment named '{other.name}' exists now (segment_id {other.id}), so the deleted one cannot be "
            "recreated under its name; nothing was changed. Rename or delete that one first."
        )
    undoes = None if members else change_id
    change = SegmentChange(app, tool="undo_change", kind="create_segment", undoes=undoes)
    await change.intent(name=name, description=description, recreates=str(old_id))
    try:
        segment = await app.client.create_segment(name, description)
    except ConflictError as exc:
        await change.outcome(done=False)
        raise ToolError(f"BigCommerce says a segment named '{name}' exists (409); nothing was recreated.") from exc
    except BaseException:
        await change.outcome(done=None, error="the answer was an error or was lost")
        raise
    change.segment_id = segment.id
    await change.outcome(done=True, name=segment.name, recreates=str(old_id))
    return segment.id, change.change_id


async def _earlier_recreation(app: AppState, old_id: UUID) -> UUID | None:
    """The segment an earlier undo of this deletion recreated, if it still exists (its re-add was cut short)."""
    with contextlib.suppress(BigCommerceError):
        scan = await app.audit.recent(app.store_key, RECENT)
        for records in scan.changes.values():
            outcome = records.get("outcome") or {}
            if outcome.get("recreates") == str(old_id) and outcome.get("done") and outcome.get("segment_id"):
                segment_id = UUID(str(outcome["segment_id"]))
                if segment_id in await app.client.segments_by_id({segment_id}):
                    return segment_id
    return None


async def _repoint(app: AppState, old_id: UUID, intent: dict[str, Any]) -> str:
    """The promotions that named the deleted segment (as recorded at the deletion; else read now)."""
    named = [str(p.get("name")) for p in intent.get("promotions") or [] if isinstance(p, dict)]
    why = ""
    if "promotions" not in intent:
        promotions, why = await promotions_of(app.client)
        named = [g.label for g in gates(promotions or [], old_id)]
    if not named:
        return f" {why}" if why else ""
    more = f" and {len(named) - 3} more" if len(named) > 3 else ""
    return (
        f" Promotions that named the old segment_id {old_id} must be pointed at the new one: "
        f"{', '.join(named[:3])}{more}."
    )
