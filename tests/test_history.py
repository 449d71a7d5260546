"""The change record read from its newest end: bounded memory, records that do not verify skipped and counted (never
obeyed), and the retention rule."""

import json
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_bigcommerce_segments.audit import AuditLog, check_writable, rotated
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.history import reversed_lines
from mcp_bigcommerce_segments.integrity import Sealer, derive_key

from .conftest import approve, preview_removal, strs, structured, text_of
from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio

SEALER = Sealer(derive_key(TOKEN))


def record(event: str, change_id: str, segment: uuid.UUID | str, **fields: Any) -> dict[str, Any]:
    return {
        "time": "2026-12-01T10:00:00.000+00:00",
        "event": event,
        "change_id": change_id,
        "store": STORE,
        "tool": "remove_profiles_from_segment",
        "segment_id": str(segment),
        **fields,
    }


def append(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 16])
def test_lines_come_back_last_first_whatever_the_block(tmp_path: Path, block: int) -> None:
    """Reading backwards in blocks of any size gives every line once, last first; an oversize line is skipped."""
    path = tmp_path / "log"
    lines = [f"line {n} " + "x" * (n * 13 % 50) for n in range(40)]
    lines[17] = "y" * 500  # longer than the cap below
    path.write_text("\n".join(lines) + "\n")

    got = [line.decode() for line in reversed_lines(path, block=block, max_line=200)]

    assert got == [line for line in reversed(lines) if not line.startswith("y")]


async def test_forged_and_unreadable_records_are_skipped_counted_and_never_undone(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """Records without a valid tag (a forged removal) or with a field that does not parse are not listed and not
    undone; the answer says how many were skipped, and nothing is sent to the store."""
    ids = store.add_profiles(2)
    added = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
    )
    ghosts = [str(uuid.uuid4()) for _ in range(3)]
    forged = [
        record("intent", "cdeadbeef00", segment, ids=ghosts),
        record("outcome", "cdeadbeef00", segment, removed=ghosts),
    ]
    append(audit_path, *(json.dumps(r) for r in forged))  # no tag: not ours
    append(audit_path, json.dumps({**forged[1], "tag": "0" * 64}))  # a tag that does not verify
    append(audit_path, SEALER.seal(record("intent", "cbadbadbad0", "not-a-uuid", ids=[])))  # ours, but unparseable
    posts = store.stats.count("POST")

    listed = structured(await mcp.call_tool("list_recent_changes", {}))
    undo = await mcp.call_tool("undo_change", {"change_id": "cdeadbeef00"})

    assert [c["change_id"] for c in listed["changes"]] == [added["change_id"]]
    assert "4 records were skipped (unsigned, altered or unreadable; never obeyed)." in listed["summary"]
    assert undo.is_error
    assert "No change cdeadbeef00 in the audit log" in text_of(undo)
    assert store.stats.count("POST") == posts


async def test_a_sealed_record_past_the_per_call_cap_is_not_undone(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A removal record naming more than one call moves (20,000) is refused at undo: nothing is sent."""
    many = [str(uuid.uuid4()) for _ in range(20_000)]
    append(
        audit_path,
        SEALER.seal(record("intent", "c0000000001", segment, ids=many)),
        SEALER.seal(record("outcome", "c0000000001", segment, removed=many)),
    )

    undo = await mcp.call_tool("undo_change", {"change_id": "c0000000001"})

    assert undo.is_error
    assert "names 20,000 profiles; one call moves at most 10,000" in text_of(undo)
    assert store.stats.requests == []


async def test_listing_the_latest_reads_the_tail_in_bounded_memory(tmp_path: Path) -> None:
    """With 30 MB of older history, the latest 10 changes are read from the end: peak memory stays under 2 MB."""
    path = tmp_path / "audit.jsonl"
    old = SEALER.seal(record("intent", "c1111111111", uuid.uuid4(), ids=[str(uuid.uuid4()) for _ in range(200)]))
    with path.open("w") as handle:
        for _ in range(30_000_000 // len(old)):
            handle.write(old + "\n")
    log = AuditLog(path, sealer=SEALER)
    for n in range(12):
        await log.write(
            "intent",
            change_id=f"c{n:010x}",
            store=STORE,
            tool="add_profiles_to_segment",
            segment_id=str(uuid.uuid4()),
            ids=[],
        )
        await log.write(
            "outcome",
            change_id=f"c{n:010x}",
            store=STORE,
            tool="add_profiles_to_segment",
            segment_id=str(uuid.uuid4()),
            added=[],
        )

    tracemalloc.start()
    scan = await log.recent(STORE, 10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert list(scan.changes) == [f"c{n:010x}" for n in range(11, 1, -1)]
    assert peak < 2_000_000


async def test_the_log_is_rotated_past_its_size_and_both_generations_are_read(tmp_path: Path) -> None:
    """Past its size limit the file becomes <name>.1 (one generation kept) and reads span both, newest first."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, sealer=SEALER, max_bytes=2_000)
    for n in range(30):
        await log.write("intent", change_id=f"c{n:010x}", store=STORE, tool="t", segment_id=str(uuid.uuid4()), ids=[])

    scan = await log.recent(STORE, 50)

    assert rotated(path).exists()
    assert path.stat().st_size <= 2_000
    assert list(scan.changes) == [f"c{n:010x}" for n in range(29, 29 - len(scan.changes), -1)]
    assert 10 <= len(scan.changes) < 30  # the oldest generations are gone: the retention rule


async def test_a_record_with_a_lone_surrogate_is_skipped_not_a_crash(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A forged line whose text cannot be encoded (a lone surrogate) is skipped and counted; listing still works."""
    ids = store.add_profiles(1)
    added = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
    )
    append(audit_path, '{"tag": "x", "undoes": "x", "store": "abc123", "change_id": "c0000000009", "a": "\\udc00"}')

    listed = structured(await mcp.call_tool("list_recent_changes", {}))

    assert [c["change_id"] for c in listed["changes"]] == [added["change_id"]]
    assert "1 record was skipped" in listed["summary"]


async def test_a_removal_undone_then_redone_can_be_undone_again(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A removal (A), its undo (B), then the undo of B (D, a removal): A's profiles are out again, and undoing A is
    allowed again (its undo was itself undone), not refused as 'already undone'."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)
    preview = await preview_removal(mcp, segment, profile_ids=strs(ids))
    removal = structured(await approve(mcp, segment, preview["preview_id"]))
    undo = structured(await mcp.call_tool("undo_change", {"change_id": removal["change_id"]}))
    redo_preview = structured(await mcp.call_tool("undo_change", {"change_id": undo["change_id"]}))
    structured(await approve(mcp, segment, redo_preview["preview_id"]))
    assert store.members(segment) == []

    again = structured(await mcp.call_tool("undo_change", {"change_id": removal["change_id"]}))

    assert again["status"] == "re-added"
    assert sorted(store.members(segment)) == sorted(ids)


def test_checking_a_new_log_creates_nothing(tmp_path: Path) -> None:
    """Checking that a log can be written never creates and deletes the file (a writer could append in between)."""
    path = tmp_path / "state" / "audit.jsonl"
    tmp_path.joinpath("state").mkdir()

    check_writable(path)

    assert not path.exists()
