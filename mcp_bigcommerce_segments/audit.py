"""An append-only JSON-lines record of every write, so no removal is unrecoverable.

For each write call the intent (tool, segment, IDs) is written and flushed to disk before the first request, and
the outcome per ID after the last. A crash in between leaves the intent line: the IDs can be added back with
`add_profiles_to_segment`.
"""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic_core

from .errors import AuditLogError


class AuditLog:
    """Appends one JSON object a line to `path`; `path=None` turns the log off."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, event: str, **fields: Any) -> None:
        """Append a record and force it to disk.

        Raises:
            AuditLogError: the record could not be written; the caller must not send the write.
        """
        if self.path is None:
            return
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
        line = pydantic_core.to_json(record).decode() + "\n"  # UUIDs as strings, result models as objects
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise AuditLogError(
                f"The audit log {self.path} cannot be written ({exc.strerror or type(exc).__name__}), so nothing was "
                "sent to BigCommerce. Fix the file's permissions or set BIGCOMMERCE_AUDIT_LOG to another path "
                "(or 'off'), then restart the server."
            ) from exc
