"""Reading the change record from its newest end, in bounded memory.

The audit log only grows (a bulk change of 10,000 IDs is two lines of about 400 kB), so no call reads it whole:
`list_recent_changes` reads backwards until it has the latest N changes, and `undo_change` reads backwards until it
finds the one change (and, on the way, every newer change that undid it). The file is read in blocks of 64 kB from
its end, the shared stream (Redis) in pages of 100 entries; a line over `MAX_RECORD_BYTES` in the file is skipped.
Memory per call: one block or page, the records of the N changes asked for, and the short links of the undos seen.

A record that does not parse, or whose integrity tag does not verify, is skipped and counted, never obeyed.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

_CHANGE_ID = re.compile(rb'"change_id":"([^"]{1,40})"')
_SEGMENT_ID = re.compile(rb'"segment_id":"([^"]{1,60})"')
BLOCK_BYTES = 1 << 16
MAX_RECORD_BYTES = 1 << 23  # 8 MB: an intent of 10,000 IDs is about 400 kB

#: Parses and checks one raw record: the record, or None when it is not one of ours (torn, foreign, forged).
Reader = Callable[[bytes | str | None], dict[str, Any] | None]


def reversed_lines(path: Path, block: int = BLOCK_BYTES, max_line: int = MAX_RECORD_BYTES) -> Iterator[bytes]:
    """The lines of `path`, last first, read in `block`-sized pieces from the end; a line longer than `max_line` is
    skipped whole (without holding it)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        position = handle.seek(0, 2)
        tail = b""
        skipping = False
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            pieces = (handle.read(step) + tail).split(b"\n")
            if skipping:  # the end of this block belongs to the line being skipped
                pieces[-1] = b""
                skipping = len(pieces) == 1
            tail = pieces[0]
            yield from (line for line in reversed(pieces[1:]) if line and len(line) <= max_line)
            if len(tail) > max_line:
                tail, skipping = b"", True
        if tail and not skipping and len(tail) <= max_line:
            yield tail


@dataclass
class Scan:
    """Records fed newest first; keeps those of the changes wanted and every undo link, and says when to stop.

    `limit`: the latest `limit` changes of `store` (optionally of one segment). `change_id`: that one change.
    """

    store: str
    limit: int = 0
    change_id: str | None = None
    segment_id: UUID | None = None
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # newest first, each {event: record}
    undone_by: dict[str, str] = field(default_factory=dict)  # change -> the change that undid it whole
    skipped: int = 0
    partial: bool = False  # only this replica's file was read (the shared record was unreachable)

    def wants(self, raw: bytes | str | None) -> bool:
        """Whether a raw record may matter, judged without parsing it (a bulk record is 400 kB of JSON): its change_id
        (written near the start of every record) is one wanted, or it links an undo. When in doubt, yes."""
        line = raw.encode() if isinstance(raw, str) else raw or b""
        if b'"undoes":' in line:
            return True
        found = _CHANGE_ID.search(line, 0, 400)
        if found is None:
            return True
        change_id = found.group(1).decode(errors="replace")
        if self.change_id is not None:
            return change_id == self.change_id
        if change_id in self.changes:
            return True
        segment = _SEGMENT_ID.search(line, 0, 600) if self.segment_id is not None else None
        if segment is not None and segment.group(1).decode(errors="replace") != str(self.segment_id):
            return False  # another segment's change: not read at all
        return len(self.changes) < self.limit

    def feed(self, record: dict[str, Any] | None) -> bool:
        """Take one record (None: one that did not parse or verify); True once nothing older can matter."""
        if record is None:
            self.skipped += 1
            return False
        if record.get("store") != self.store or not isinstance(record.get("change_id"), str):
            return False
        change_id, event = record["change_id"], str(record.get("event"))
        _link_undo(record, self.undone_by)
        if self._wanted(change_id, record):
            self.changes.setdefault(change_id, {})[event] = record
        return self._done()

    def _wanted(self, change_id: str, record: dict[str, Any]) -> bool:
        if self.change_id is not None:
            return change_id == self.change_id
        if change_id in self.changes:
            return True
        if self.segment_id is not None and str(record.get("segment_id")) != str(self.segment_id):
            return False
        return len(self.changes) < self.limit

    def _done(self) -> bool:
        """Every change wanted has its intent (its oldest record): older records cannot add to them."""
        if self.change_id is not None:
            return "intent" in self.changes.get(self.change_id, {})
        return len(self.changes) >= self.limit and all("intent" in c for c in self.changes.values())


def _link_undo(record: dict[str, Any], undone_by: dict[str, str]) -> None:
    """An outcome that undid a change whole (done, not cancelled, nothing failed, something changed; `done` for a
    segment created, updated or deleted) links it."""
    undoes = record.get("undoes")
    if record.get("event") != "outcome" or not isinstance(undoes, str) or undoes in undone_by:
        return
    whole = not record.get("cancelled") and not record.get("failed")
    if whole and (record.get("added") or record.get("removed") or record.get("done")):
        undone_by[undoes] = record["change_id"]


def scan_file(path: Path, scan: Scan, read: Reader) -> Scan:
    """Feed `scan` the file's records, newest first, until it has what it wants (run it off the event loop)."""
    for line in reversed_lines(path):
        if scan.wants(line) and scan.feed(read(line)):
            break
    return scan
