"""A bulk write that is cut short (the client cancels it, or the host stops the server) still accounts for every ID.

The real server runs as a subprocess against a fake store served on 127.0.0.1 whose answers take 20 ms each, so
that the call is still going when it is cut short.
"""

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .conftest import audit_lines, strs
from .support.stdio import STORE, TOKEN, RawStdio, our_argv, server_env

pytestmark = pytest.mark.subprocess


@pytest.fixture
def slow_store() -> FaultyStore:
    return FaultyStore(store_hash=STORE, token=TOKEN, quota=None, latency=0.02)


@pytest.fixture
def slow_url(slow_store: FaultyStore) -> Iterator[str]:
    with serve(slow_store) as url:
        yield url


def start_removal(server: RawStdio, segment: uuid.UUID, ids: list[uuid.UUID]) -> int:
    """Preview the removal, then send its approval (with a progress token) and return that request's id."""
    preview = server.tool("remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
    preview_id = preview["result"]["structuredContent"]["preview_id"]
    return server.send(
        "tools/call",
        {
            "name": "remove_profiles_from_segment",
            "arguments": {"segment_id": str(segment), "preview_id": preview_id, "confirm": True},
            "_meta": {"progressToken": "removal"},
        },
    )


def assert_every_id_accounted_for(store: FaultyStore, segment: uuid.UUID, ids: list[uuid.UUID], audit: Path) -> None:
    lines = audit_lines(audit)
    assert [line["event"] for line in lines] == ["intent", "outcome"]
    outcome: dict[str, Any] = lines[1]
    removed = set(outcome["removed"])
    failed = [i for group in outcome["failed"] for i in group["ids"]]
    assert outcome["cancelled"] is True
    assert removed  # it was cut short after some work was done...
    assert failed  # ...and before all of it
    assert sorted([*removed, *failed, *outcome["not_members"]]) == sorted(str(i) for i in ids)
    # The record is the truth: what it says was removed is gone, what it says was not sent is still there.
    still = {str(i) for i in store.members(segment)}
    assert not removed & still
    not_sent = {i for group in outcome["failed"] if group["reason"].startswith("Not sent") for i in group["ids"]}
    assert not_sent
    assert not_sent <= still


def test_cancelled_removal_writes_its_outcome(slow_store: FaultyStore, slow_url: str, tmp_path: Path) -> None:
    """A removal cancelled mid-way records its outcome for every ID and the server keeps answering requests."""
    segment = slow_store.add_segment("Big")
    ids = slow_store.add_profiles(1_500)
    slow_store.add_members(segment, ids)
    env = server_env(slow_url, tmp_path / "audit.jsonl", BIGCOMMERCE_MAX_CONCURRENCY="2")
    with RawStdio(our_argv(), env) as server:
        server.initialize()
        call = start_removal(server, segment, ids)
        server.wait_for_notification("notifications/progress")
        server.send("notifications/cancelled", {"requestId": call, "reason": "user pressed stop"}, notify=True)
        assert server.call("ping")[0]["result"] == {}  # the server goes on serving
        server.close()

    assert_every_id_accounted_for(slow_store, segment, ids, tmp_path / "audit.jsonl")
    assert slow_store.stats.unfiltered_deletes == 0


def test_sigterm_mid_removal_writes_its_outcome_and_exits(
    slow_store: FaultyStore, slow_url: str, tmp_path: Path
) -> None:
    """SIGTERM during a removal makes the server record every ID's outcome and exit cleanly with code 0."""
    segment = slow_store.add_segment("Big")
    ids = slow_store.add_profiles(1_500)
    slow_store.add_members(segment, ids)
    env = server_env(slow_url, tmp_path / "audit.jsonl", BIGCOMMERCE_MAX_CONCURRENCY="2")
    with RawStdio(our_argv(), env, stderr=True) as server:
        server.initialize()
        start_removal(server, segment, ids)
        server.wait_for_notification("notifications/progress")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
        assert "SIGTERM" in server.stderr

    assert_every_id_accounted_for(slow_store, segment, ids, tmp_path / "audit.jsonl")
