"""Creating and updating segments: `create_segment` and `update_segment`, each recorded for `undo_change`.

A name another segment already has, in any case, is refused with that segment's ID before anything is sent
(BigCommerce itself refuses only exact duplicates, with a 409).
"""

import contextlib
from typing import Annotated
from uuid import UUID

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..endpoints import MAX_SEGMENTS
from ..errors import BigCommerceError, ConflictError
from ..lifecycle import SegmentChange
from ..models import Segment
from ..results import SegmentResult
from ..state import AppState
from .arguments import SegmentId
from .context import Ctx, app_state, tool_errors
from .text import tool_result

Name = Annotated[str, Field(min_length=1, max_length=255, description="The segment's name, as merchants see it.")]
Description = Annotated[str | None, Field(max_length=1_000, description="What the segment is for.")]


async def name_taken(app: AppState, name: str, *, besides: UUID | None = None) -> Segment | None:
    """The segment that already has `name` (any case), other than `besides`."""
    wanted = " ".join(name.split()).casefold()
    segments = await app.client.all_segments(max_items=MAX_SEGMENTS)
    return next((s for s in segments.items if " ".join(s.name.split()).casefold() == wanted and s.id != besides), None)


async def _settle_create(app: AppState, change: SegmentChange, name: str) -> None:
    """Record what a POST whose answer was an error or was lost did: the segment of that name, if it exists now."""
    with anyio.CancelScope(shield=True):
        done: bool | None = None
        with contextlib.suppress(BigCommerceError):
            found = await name_taken(app, name)
            done = found is not None
            change.segment_id = found.id if found is not None else None
        await change.outcome(done=done, error="the answer was an error or was lost")


def _taken(name: str, other: Segment) -> ToolError:
    return ToolError(
        f"A segment named '{other.name}' already exists (segment_id {other.id}); nothing was created or changed. "
        "Use that segment, or choose another name."
    )


async def create_segment(
    name: Name, ctx: Ctx, description: Description = None
) -> Annotated[CallToolResult, SegmentResult]:
    """Create a customer segment and answer its `segment_id`.

    A name another segment has (any case) is refused with that segment's ID. Fill it with add_profiles_to_segment
    (e.g. `customers_where` or `from_segment_id`). undo_change(change_id) deletes it again while it is empty.
    """
    app = app_state(ctx)
    name = " ".join(name.split())
    if not name:
        raise ToolError("name needs at least one letter or digit; nothing was created.")
    with tool_errors():
        if other := await name_taken(app, name):
            raise _taken(name, other)
        change = SegmentChange(app, tool="create_segment", kind="create_segment")
        await change.intent(name=name, description=description or "")
        try:
            segment = await app.client.create_segment(name, description or "")
        except ConflictError as exc:
            await change.outcome(done=False)
            raise ToolError(
                f"BigCommerce says a segment named '{name}' exists already (409); nothing was created. "
                "list_segments(name_contains=...) finds it."
            ) from exc
        except BaseException:
            await _settle_create(app, change, name)
            raise
        change.segment_id = segment.id
        await change.outcome(done=True, name=segment.name)
    fill = f'add_profiles_to_segment(segment_id="{segment.id}", customers_where={{...}})'
    undo = f" undo_change(change_id={change.change_id!r}) deletes it while it is empty." if change.change_id else ""
    return tool_result(
        SegmentResult(
            summary=app.tag + f"Created segment '{segment.name}' (segment_id {segment.id}), empty. Fill it with "
            f"{fill} or from_segment_id.{undo}",
            segment_id=segment.id,
            name=segment.name,
            change_id=change.change_id,
            sandbox=app.settings.sandbox,
        )
    )


async def _send_update(
    app: AppState, segment_id: UUID, before: dict[str, str], after: dict[str, str]
) -> tuple[Segment, str | None]:
    """PUT the new name and description, recorded; the updated segment and the change_id.

    Raises:
        ToolError: BigCommerce says another segment has that name.
    """
    change = SegmentChange(app, tool="update_segment", kind="update_segment", segment_id=segment_id)
    await change.intent(before=before, after=after)
    try:
        updated = await app.client.update_segment(segment_id, **after)
    except ConflictError as exc:
        await change.outcome(done=False)
        raise ToolError(
            f"BigCommerce says a segment named '{after['name']}' exists already (409); nothing was changed."
        ) from exc
    except BaseException:
        with anyio.CancelScope(shield=True):
            done: bool | None = None
            with contextlib.suppress(BigCommerceError):
                now = (await app.client.segments_by_id({segment_id})).get(segment_id)
                state = None if now is None else {"name": now.name, "description": now.description}
                done = True if state == after else False if state == before else None
            await change.outcome(done=done, error="the answer was an error or was lost")
        raise
    await change.outcome(done=True)
    return updated, change.change_id


async def update_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    name: Annotated[str | None, Field(min_length=1, max_length=255, description="The new name.")] = None,
    description: Description = None,
) -> Annotated[CallToolResult, SegmentResult]:
    """Rename a segment or change its description (give `name`, `description` or both); its members and ID stay.

    A name another segment has (any case) is refused with that segment's ID. undo_change(change_id) restores the
    old name and description.
    """
    app = app_state(ctx)
    if name is None and description is None:
        raise ToolError("update_segment needs name, description or both; nothing was changed.")
    new_name = " ".join(name.split()) if name is not None else None
    if new_name == "":
        raise ToolError("name needs at least one letter or digit; nothing was changed.")
    with tool_errors():
        segment = (await app.client.segments_by_id({segment_id})).get(segment_id)
        if segment is None:
            raise ToolError(
                f"This store has no segment {segment_id}; nothing was changed. list_segments finds one by name."
            )
        if (
            new_name
            and new_name.casefold() != segment.name.casefold()
            and (other := await name_taken(app, new_name, besides=segment_id))
        ):
            raise _taken(new_name, other)
        after = {
            "name": new_name or segment.name,
            "description": segment.description if description is None else description,
        }
        before = {"name": segment.name, "description": segment.description}
        updated, change_id = await _send_update(app, segment_id, before, after)
    what = (
        f"Renamed segment '{segment.name}' to '{updated.name}'"
        if updated.name != segment.name
        else f"Updated the description of segment '{updated.name}'"
    )
    undo = f" undo_change(change_id={change_id!r}) restores the old name and description." if change_id else ""
    return tool_result(
        SegmentResult(
            summary=app.tag + f"{what}; its members and segment_id {segment_id} are unchanged.{undo}",
            segment_id=segment_id,
            name=updated.name,
            change_id=change_id,
            sandbox=app.settings.sandbox,
        )
    )
