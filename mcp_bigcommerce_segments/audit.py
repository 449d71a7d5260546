"""An append-only JSON-lines record of every write, so no removal is unrecoverable.

For each write call the intent (tool, segment, IDs) is written and flushed to disk before the first request, and
the outcome per ID after the last. A crash in between leaves the intent line: the IDs can be added back with
`add_profiles_to_segment`.

Each record is written whole or not at all: one append, cut back if the disk takes only part of it, and started on a
fresh line if an earlier process left a torn one. The file is opened without blocking and must be a regular file (a
FIFO with no reader would freeze the server), and the writing happens off the event loop.
"""

import contextlib
import errno
import logging
import os
import secrets
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import anyio

from .errors import AuditLogError

try:
    import fcntl
except ImportError:  # Windows: one process per log is what the host runs there
    fcntl = None  # type: ignore[assignment]
from .history import Reader, Scan, reversed_lines
from .integrity import Sealer, derive_key

logger = logging.getLogger(__name__)

_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _refusal(path: Path, reason: str) -> AuditLogError:
    return AuditLogError(
        f"The audit log {path} cannot be written ({reason}), so nothing was sent to BigCommerce. Fix the file or set "
        "BIGCOMMERCE_AUDIT_LOG to another path (or 'off'), then restart the server."
    )


def _open(path: Path) -> int:
    """Open `path` for appending, creating it (and its folder) if needed.

    Raises:
        AuditLogError: it cannot be opened, or it is not a regular file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _FLAGS, 0o600)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise _refusal(path, "it is a FIFO with no reader; the audit log must be a regular file") from exc
        raise _refusal(path, exc.strerror or type(exc).__name__) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _refusal(path, "it is not a regular file")
    return fd


def check_writable(path: Path) -> None:
    """Check that records can be appended to `path`, without writing one (for start-up and `--check`).

    Raises:
        AuditLogError: they cannot.
    """
    if path.exists() or path.is_symlink():
        os.close(_open(path))  # opened for appending (created if a dangling link), nothing written
        return
    # Never created here and deleted again: a writer may append to a new file between the two.
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise _refusal(path, f"{parent} is not a writable folder")


def rotated(path: Path) -> Path:
    """Where the previous generation of the log is kept once the log outgrows its limit."""
    return path.with_name(path.name + ".1")


#: One writer at a time in this process: rotating and appending (and cutting back a torn record) must not interleave.
_WRITING = threading.Lock()


def _append(path: Path, line: bytes, max_bytes: int | None = None) -> None:
    with _WRITING:
        if max_bytes is not None:
            with contextlib.suppress(OSError):  # no file yet, or none possible: _open says which
                if path.stat().st_size + len(line) > max_bytes:
                    os.replace(path, rotated(path))  # the retention rule: this generation and the one before
        fd = _open(path)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # and one at a time across processes sharing the file
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # an earlier record was torn: start on a fresh line
            try:
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, "only part of the record was written")
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # whole or not at all (nobody else wrote meanwhile: the lock)
                raise _refusal(path, exc.strerror or str(exc)) from exc
        finally:
            os.close(fd)


def new_change_id() -> str:
    """A short opaque ID for one write, written in its intent and outcome records."""
    return "c" + secrets.token_hex(5)


class ChangeStream(Protocol):
    """The record of changes shared by replicas (hosted mode), written beside the local file."""

    async def append(self, line: str) -> None: ...

    async def scan(self, scan: Scan, read: Reader) -> Scan: ...


class AuditLog:
    """Appends one JSON object a line to `path` (`path=None` turns the file off), and to a shared stream if given."""

    def __init__(
        self,
        path: Path | None,
        stream: ChangeStream | None = None,
        *,
        sealer: Sealer | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.path = path
        self.stream = stream
        self.sealer = sealer or Sealer(derive_key(""))
        self.max_bytes = max_bytes

    @property
    def on(self) -> bool:
        """Whether changes are recorded at all."""
        return self.path is not None or self.stream is not None

    async def write(self, event: str, **fields: Any) -> None:
        """Append a record and force it to disk, off the event loop.

        Raises:
            AuditLogError: the record could not be written; the caller must not send the write.
        """
        if not self.on:
            return
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
        line = self.sealer.seal(record)  # UUIDs as strings, models as objects, secrets out, the integrity tag on
        if event == "intent":  # the shared record first: when it cannot be written, nothing may be sent
            if self.stream is not None:
                await self.stream.append(line)
            if self.path is not None:
                await anyio.to_thread.run_sync(_append, self.path, line.encode() + b"\n", self.max_bytes)
            return
        # An outcome: the change has happened. The local file first, then the shared record as far as it can.
        try:
            if self.path is not None:
                await anyio.to_thread.run_sync(_append, self.path, line.encode() + b"\n", self.max_bytes)
        finally:  # whatever the file did, the shared record gets the outcome as far as it can
            if self.stream is not None:
                try:
                    await self.stream.append(line)
                except AuditLogError as exc:
                    logger.error("the %s record reached only the local audit log: %s", event, exc)

    async def recent(self, store: str, limit: int, segment_id: UUID | None = None) -> Scan:
        """The latest `limit` changes of `store` (of one segment, if given), newest first, read from the newest end.

        Raises:
            AuditLogError: the log is off, or cannot be read.
        """
        return await self._scan(Scan(store, limit=limit, segment_id=segment_id))

    async def find(self, store: str, change_id: str) -> Scan:
        """One change's records, and every newer change that undid one, read from the newest end.

        Raises:
            AuditLogError: the log is off, or cannot be read.
        """
        return await self._scan(Scan(store, change_id=change_id))

    async def _scan(self, scan: Scan) -> Scan:
        if self.stream is not None:  # every replica's changes
            try:
                return await self.stream.scan(scan, self.sealer.open)
            except AuditLogError:
                if self.path is None:
                    raise
                logger.warning("the shared change record is unreachable; reading this replica's audit file")
                scan = Scan(scan.store, scan.limit, scan.change_id, scan.segment_id, partial=True)
        if self.path is None:
            raise AuditLogError(
                "The audit log is off (BIGCOMMERCE_AUDIT_LOG=off), so changes are not recorded and cannot be listed "
                "or undone."
            )
        return await anyio.to_thread.run_sync(self._scan_files, scan)

    def _scan_files(self, scan: Scan) -> Scan:
        assert self.path is not None
        try:
            for path in (self.path, rotated(self.path)):
                for line in reversed_lines(path):
                    if scan.wants(line) and scan.feed(self.sealer.open(line)):
                        return scan
        except OSError as exc:
            raise AuditLogError(
                f"The audit log {self.path} cannot be read ({exc.strerror or type(exc).__name__})."
            ) from exc
        return scan
