"""`SegmentChange`: the audit record of one change to a segment itself (created, updated, deleted), as
`SegmentWrite` is for its members: the intent on disk before the request, the outcome after it whatever happens.

Each record carries `kind` (`create_segment`, `update_segment`, `delete_segment`) beside the tool that made it
(the tool itself, or `undo_change`), and what undoing it needs: the name and description before, and a deletion's
every member ID.
"""

import logging
from typing import Any
from uuid import UUID

import anyio

from .audit import new_change_id
from .errors import BigCommerceError
from .state import AppState

logger = logging.getLogger(__name__)


class SegmentChange:
    """One change to a segment, recorded: `change_id` once the intent is on disk (None: the log is off)."""

    def __init__(
        self, app: AppState, *, tool: str, kind: str, segment_id: UUID | None = None, undoes: str | None = None
    ) -> None:
        self.app, self.tool, self.kind, self.segment_id, self.undoes = app, tool, kind, segment_id, undoes
        self.change_id: str | None = None

    def _identity(self) -> dict[str, Any]:
        identity = {
            "change_id": self.change_id,
            "tool": self.tool,
            "kind": self.kind,
            "store": self.app.store_key,
            "segment_id": self.segment_id,
        }
        return identity | ({"undoes": self.undoes} if self.undoes else {})

    async def intent(self, **fields: Any) -> None:
        """Record the intent before the request.

        Raises:
            AuditLogError: it could not be written, so nothing may be sent.
        """
        if not self.app.audit.on:
            return
        self.change_id = new_change_id()
        await self.app.audit.write("intent", **self._identity(), **fields)

    async def outcome(self, *, done: bool | None, **fields: Any) -> None:
        """Record the outcome (`done`: None when it is not known whether the change happened), shielded from
        cancellation; a failure to write it is logged (the change happened)."""
        if self.change_id is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.app.audit.write("outcome", **self._identity(), done=done, **fields)
            except BigCommerceError as exc:
                logger.error("%s", exc)
