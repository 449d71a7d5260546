"""The record of changes: what was added and removed, when, and undoing it.

Every write records an intent (before its first request) and an outcome (after its last) in the audit log, under
a `change_id`. `list_recent_changes` reads them back; `undo_change` reverses one: a removal is undone by adding back
exactly what it removed (done at once: adding is not destructive); an add is undone by removing what it added,
which is a removal like any other: a pinned preview to approve.
"""

import contextlib
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field, ValidationError

from ..errors import BigCommerceError
from ..people import SHOWN
from ..results import Change, ChangesResult, UndoResult
from ..state import AppState
from ..words import call, plural
from .arguments import MAX_IDS
from .context import Ctx, app_state, tool_errors
from .membership import add_selection
from .plan import pin_removal
from .resolve import Selection
from .text import tool_result
from .undo_segments import segment_note, undo_segment_change

ChangeId = Annotated[str, Field(pattern=r"^c[0-9a-f]{10}$", description="A change_id from a write's result.")]


def _change(change_id: str, records: dict[str, Any], undone_by: str | None = None) -> Change | None:
    """A change as listed, or None when its records do not make one (a field that does not parse)."""
    outcome = records.get("outcome")
    intent = records.get("intent") or outcome or {}
    done = outcome or {}
    try:
        return Change(
            change_id=change_id,
            time=str(intent.get("time", "")),
            tool=str(intent.get("tool", "")),
            segment_id=done.get("segment_id") or intent.get("segment_id"),
            status=_status(outcome),
            note=segment_note(intent, done),
            added=len(done.get("added") or []),
            removed=len(done.get("removed") or []),
            unchanged=len(done.get("already_members") or done.get("not_members") or []),
            failed=sum(len(group.get("ids") or []) for group in done.get("failed") or []),
            undoes=intent.get("undoes"),
            undone_by=undone_by,
        )
    except (ValidationError, TypeError, AttributeError):
        return None


def _status(outcome: dict[str, Any] | None) -> str:
    """done, cancelled, failed (a segment change that did not happen), unknown (its answer was lost), or
    interrupted (no outcome recorded)."""
    if outcome is None:
        return "interrupted"
    if outcome.get("cancelled"):
        return "cancelled"
    if "done" in outcome and outcome["done"] is None:
        return "unknown"
    return "failed" if outcome.get("done") is False else "done"


def _skipped(count: int, partial: bool = False) -> str:
    """The sentences for records that were not listed or obeyed (not ours, altered, or not parseable), and for a
    record read only in part (the shared record unreachable)."""
    said = " The shared change record (Redis) is unreachable: only this replica's changes were read." if partial else ""
    if not count:
        return said
    return (
        f" {plural(count, 'record was', 'records were')} skipped (unsigned, altered or unreadable; never obeyed).{said}"
    )


async def list_recent_changes(
    ctx: Ctx,
    limit: Annotated[int, Field(ge=1, le=50, description="How many of the latest changes, 1 to 50.")] = 10,
    segment_id: Annotated[UUID | None, Field(description="Only changes to this segment.")] = None,
) -> Annotated[CallToolResult, ChangesResult]:
    """List the latest adds and removals this server made (newest first), from its audit log; `segment_id` keeps
    one segment's.

    Each change has its `change_id`, time, tool, segment and its name, status (done, cancelled, or interrupted: the
    process stopped mid-call), counts, `undoes` and `undone_by`. undo_change(change_id) reverses one.
    """
    app = app_state(ctx)
    with tool_errors():
        scan = await app.audit.recent(app.store_key, limit, segment_id)
    listed = [_change(change_id, records, scan.undone_by.get(change_id)) for change_id, records in scan.changes.items()]
    latest = [change for change in listed if change is not None]
    skipped = scan.skipped + len(listed) - len(latest)
    with contextlib.suppress(BigCommerceError):  # names are a courtesy: the record is the answer
        names = await app.client.segment_names({c.segment_id for c in latest if c.segment_id is not None})
        latest = [
            c.model_copy(update={"segment_name": names.get(c.segment_id) if c.segment_id else None}) for c in latest
        ]
    where = ""
    if segment_id is not None:
        name = next((c.segment_name for c in latest if c.segment_name), None)
        where = f" to segment '{name}'" if name else f" to segment {segment_id}"
    summary = (
        f"The latest {plural(len(latest), 'change')}{where}, newest first."
        if latest
        else f"No changes{where} recorded yet."
    )
    if latest:
        summary += " undo_change(change_id=...) reverses one."
    summary += _skipped(skipped, scan.partial)
    return tool_result(ChangesResult(summary=app.tag + summary, changes=latest, sandbox=app.settings.sandbox))


async def undo_change(change_id: ChangeId, ctx: Ctx) -> Annotated[CallToolResult, UndoResult]:
    """Reverse one change (a change_id from a write's result or list_recent_changes).

    A removal's undo adds back exactly what it removed, at once. An add's undo is a removal preview: show it to
    the user; approve it as its summary says. A created segment is deleted while empty (else: a delete_segment
    preview); an update is reversed; a deleted segment is recreated with its members (a new segment_id).
    """
    app = app_state(ctx)
    with tool_errors():
        scan = await app.audit.find(app.store_key, change_id)
    records = scan.changes.get(change_id)
    if records is None or _change(change_id, records) is None:
        raise ToolError(
            f"No change {change_id} in the audit log; list_recent_changes shows the recorded ones."
            + _skipped(scan.skipped, scan.partial)
        )
    undone_by = scan.undone_by.get(change_id)
    if undone_by is not None and undone_by not in scan.undone_by:  # an undo that was itself undone undoes nothing
        raise ToolError(
            f"Change {change_id} was already undone by {undone_by}; undoing it again would change nothing. "
            f"undo_change(change_id={undone_by!r}) reverses the undo."
        )
    outcome = records.get("outcome")
    if outcome is None:
        raise ToolError(
            f"Change {change_id} has no recorded outcome: it is still in progress, or its process stopped mid-call, so "
            "what it did is not known per profile. Check the segment with list_segment_profiles, or ask again later."
        )
    if outcome.get("kind"):  # a segment created, updated or deleted
        return await undo_segment_change(app, ctx, change_id, records)
    segment_id = UUID(str(outcome["segment_id"]))
    if outcome.get("tool") == "remove_profiles_from_segment":
        return await _undo_removal(app, ctx, change_id, segment_id, outcome)
    return await _undo_add(app, change_id, segment_id, outcome)


async def _undo_removal(
    app: AppState, ctx: Ctx, change_id: str, segment_id: UUID, outcome: dict[str, Any]
) -> CallToolResult:
    """Add back what a removal removed, and what it may have removed (requests that failed after they may have
    been carried out): adding back a profile that is still a member is harmless."""
    failed = outcome.get("failed") or []
    maybe = [i for g in failed if str(g.get("reason", "")).startswith("Unknown") for i in g["ids"]]
    unverified = set(outcome.get("unverified") or [])  # never known to be members: not re-added
    named = [i for i in [*(outcome.get("removed") or []), *maybe] if i not in unverified]
    removed = list(dict.fromkeys(UUID(i) for i in named))
    if len(removed) > MAX_IDS:
        raise ToolError(
            f"Change {change_id} names {len(removed):,} profiles; one call moves at most {MAX_IDS:,}, and a record "
            "that claims more is not one this server wrote. Nothing was changed."
        )
    if not removed:
        raise ToolError(f"Change {change_id} removed nothing, so there is nothing to put back.")
    selection = Selection(removed, f"the {len(removed):,} removed by change {change_id}", {})
    added = await add_selection(app, ctx, segment_id, selection, tool="undo_change", undoes=change_id)
    data: dict[str, Any] = dict(added.structured_content or {})
    return tool_result(
        UndoResult(
            summary=str(data.get("summary", "")),
            segment_id=segment_id,
            undoes=change_id,
            undone=change_id,
            status="re-added",
            change_id=data.get("change_id"),
            count=int(data.get("added", 0)) + int(data.get("already_members", 0)),
            people=data.get("added_people", []),
            failed=data.get("failed", []),
            retry=call("undo_change", change_id=change_id) if data.get("failed") else None,
            member_count=data.get("member_count"),
            sandbox=app.settings.sandbox,
        )
    )


async def _undo_add(app: AppState, change_id: str, segment_id: UUID, outcome: dict[str, Any]) -> CallToolResult:
    """Taking out what an add added is a removal like any other: a pinned preview of those still members, named,
    to approve (a client that can ask the user asks then)."""
    added_ids = [UUID(i) for i in outcome.get("added") or []]  # those read back after a lost answer included
    if not added_ids:
        raise ToolError(f"Change {change_id} added nothing, so there is nothing to take out.")
    recorded = outcome.get("customer_of") or {}
    customer_of = {i: int(recorded[str(i)]) for i in added_ids if str(i) in recorded}
    selection = Selection(added_ids, f"the {len(added_ids):,} added by change {change_id}", {}, customer_of)
    plan = await pin_removal(app, segment_id, selection, "profile_ids", undoes=change_id)
    preview = plan.preview
    label = preview.segment_label
    if not preview.profile_ids:
        return tool_result(
            UndoResult(
                summary=app.tag + f"Nothing to undo: none of the {plural(len(added_ids), 'profile')} change "
                f"{change_id} added is still a member of segment {label}.",
                segment_id=segment_id,
                undoes=change_id,
                status="nothing_to_undo",
                count=0,
                sandbox=app.settings.sandbox,
            )
        )
    total = len(preview.profile_ids)
    gone = plural(plan.not_members, "was no longer a member", "were no longer members")
    gone = f" {gone[0].upper()}{gone[1:]}." if plan.not_members else ""
    approve = call(
        "remove_profiles_from_segment", segment_id=str(segment_id), preview_id=preview.preview_id, confirm=True
    )
    shown = "it is in `people`" if total == 1 else f"the first {min(total, SHOWN)} are in `people`"
    return tool_result(
        UndoResult(
            summary=app.tag + f"PREVIEW, nothing removed: undoing change {change_id} removes "
            f"{plural(total, 'profile')} it added from segment {label} ({shown}).{gone} Show them to the user; if "
            f"they approve, call {approve} within 15 minutes.",
            segment_id=segment_id,
            undoes=change_id,
            status="preview",
            preview_id=preview.preview_id,
            count=total,
            people=list(preview.people),
            sandbox=app.settings.sandbox,
        )
    )
