"""Thousands of IDs per call: chunking, concurrency, rate limits, faults, progress, and every ID accounted for."""

import json
import re
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
from mcp import Client

from mcp_bigcommerce_segments.bulk import BulkOutcome, chunks, dedupe
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore

from .conftest import MakeClient, audit_lines, last_outcome, remove, structured, text_of

pytestmark = pytest.mark.anyio


def test_chunks_are_full_and_never_empty() -> None:
    """IDs are split into chunks of 50 with only the last one partial, and no IDs give no chunks at all."""
    ids = [uuid.uuid4() for _ in range(101)]

    sizes = [len(c) for c in chunks(ids)]

    assert sizes == [50, 50, 1]
    assert list(chunks([])) == []


def test_dedupe_keeps_first_order() -> None:
    """Duplicate IDs are dropped while keeping each ID at the place it first appeared."""
    a, b = uuid.uuid4(), uuid.uuid4()
    assert dedupe([a, b, a, b, a]) == [a, b]


async def test_ten_thousand_ids_take_200_posts_within_the_concurrency_limit(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, clock: VirtualClock
) -> None:
    """Adding 10,000 profiles takes 200 POSTs, 10 in flight, waits out the window without 429s and reports it."""
    store.latency = 0.05
    store.quota, store.window_seconds = 150, 30.0
    ids = store.add_profiles(10_000)
    heard: list[tuple[float, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((clock.now(), message or ""))

    async with make_client() as mcp:
        result = await mcp.call_tool(
            "add_profiles_to_segment",
            {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]},
            progress_callback=on_progress,
        )

    data = structured(result)
    assert data["added"] == 10_000
    assert store.stats.count("POST") == 200
    posts = [
        body for (method, _, _), body in zip(store.stats.requests, store.stats.bodies, strict=True) if method == "POST"
    ]
    assert all(1 <= len(json.loads(body)) <= 50 for body in posts)
    assert store.stats.peak_in_flight == 10
    assert store.stats.rate_limited == 0  # throttled before the quota ran out
    assert set(store.members(segment)) == set(ids)
    assert 30.0 <= clock.now() - 1000.0 < 31.0  # one window wait: 150 in the first window, 50 in the second
    waits = [message for _, message in heard if "waiting" in message]
    assert re.fullmatch(r"Added [\d,]+ of 10,000 profiles; waiting 29 s for BigCommerce's rate-limit window", waits[0])
    assert len(waits) == 6  # announced every 5 s while the window runs out, once for all 10 workers
    assert max(later - earlier for (earlier, _), (later, _) in pairwise(heard)) <= 5.0


async def test_concurrency_setting_lowers_in_flight(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, settings: Settings
) -> None:
    """A lower max_concurrency setting caps how many requests are in flight at once."""
    store.latency = 0.05
    ids = store.add_profiles(500)
    async with make_client(settings_=settings.model_copy(update=dict(max_concurrency=3))) as mcp:
        await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        )

    assert store.stats.peak_in_flight == 3


async def test_duplicates_are_sent_once(make_client: MakeClient, store: FaultyStore, segment: uuid.UUID) -> None:
    """Profile IDs given twice are counted and sent to BigCommerce only once."""
    ids = store.add_profiles(60)
    async with make_client() as mcp:
        data = structured(
            await mcp.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids + ids]}
            )
        )

    assert data["requested"] == 60
    assert store.stats.count("POST") == 2


async def test_mixed_new_and_present_across_many_chunks(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """Across many chunks, new profiles count as added and existing ones as already members, in result and audit."""
    ids = store.add_profiles(500)
    present = ids[::3]
    store.add_members(segment, present)

    async with make_client() as mcp:
        data = structured(
            await mcp.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )

    outcome = last_outcome(audit_path)
    assert set(outcome["already_members"]) == {str(i) for i in present}
    assert set(outcome["added"]) == {str(i) for i in ids} - {str(i) for i in present}
    assert (data["added"], data["already_members"]) == (len(ids) - len(present), len(present))
    assert set(store.members(segment)) == set(ids)


async def test_faults_in_the_middle_are_retried_and_the_final_state_is_exact(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Server errors, dropped connections and 429s mid-add are retried until every profile is a member, none failed."""
    ids = store.add_profiles(1_000)
    store.inject(
        Fault("500", method="POST", times=3),
        Fault("drop", method="POST"),
        Fault("drop-after", method="POST"),
        Fault("429-no-headers", method="POST", times=2),
    )

    async with make_client() as mcp:
        data = structured(
            await mcp.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )

    assert data["failed"] == []
    assert data["added"] + data["already_members"] == 1_000
    assert set(store.members(segment)) == set(ids)
    assert store.faults == type(store.faults)()


async def test_persistent_failure_names_exactly_the_failed_ids(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """An add with unknown profiles adds the rest and names exactly the failed IDs with a retry call to make."""
    good, ghosts = store.add_profiles(120), [uuid.uuid4() for _ in range(3)]

    async with make_client() as mcp:
        result = await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in good + ghosts]}
        )

    data = structured(result)
    assert data["added"] == 120
    assert sorted(i for group in data["failed"] for i in group["ids"]) == sorted(str(g) for g in ghosts)
    assert text_of(result).startswith("Added 120 profiles")
    assert "3 FAILED" in data["summary"]
    assert data["retry"] == f'add_profiles_to_segment(segment_id="{segment}", profile_ids="<the same IDs>")'
    outcome = audit_lines(audit_path)[-1]
    assert outcome["event"] == "outcome"
    assert len(outcome["added"]) == 120


async def test_server_down_stops_the_call_and_reports_every_id(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """With BigCommerce down an add stops early, errors that none were added and audits every ID as failed once."""
    ids = store.add_profiles(1_000)
    store.inject(Fault("503", times=10_000))

    async with make_client() as mcp:
        result = await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        )

    assert result.is_error
    assert "No profiles were added" in text_of(result)
    assert f'add_profiles_to_segment(segment_id="{segment}", profile_ids="<the same IDs>") retries' in text_of(result)
    assert store.stats.count("POST") <= 10 * 6  # the workers in flight, each within its attempt budget
    outcome = audit_lines(audit_path)[-1]
    assert outcome["event"] == "outcome"
    failed = [profile for group in outcome["failed"] for profile in group["ids"]]
    assert sorted(failed) == sorted(str(i) for i in ids)  # every ID accounted for, each once
    assert any("Not sent" in group["reason"] for group in outcome["failed"])
    assert outcome["added"] == outcome["already_members"] == []


async def test_progress_notifications_arrive_for_multi_chunk_calls(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An add spanning several chunks sends a progress notification per chunk, ending at the full total."""
    ids = store.add_profiles(230)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    await mcp.call_tool(
        "add_profiles_to_segment",
        {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]},
        progress_callback=on_progress,
    )

    assert len(seen) == 5
    assert seen[-1] == (230, 230)
    assert all(total == 230 for _, total in seen)


async def test_bulk_remove_chunks_deletes_and_never_drops_the_filter(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A bulk removal deletes in chunks of 50 by id filter, never unfiltered, and keeps the other members."""
    ids = store.add_profiles(2_000)
    store.add_members(segment, ids)
    keep = ids[:100]

    async with make_client() as mcp:
        data = await remove(mcp, segment, profile_ids=[str(i) for i in ids[100:]])

    assert data["removed"] == 1_900
    assert store.members(segment) == keep
    deletes = [q for m, _, q in store.stats.requests if m == "DELETE"]
    assert len(deletes) == 38
    assert all(q.startswith("id%3Ain=") for q in deletes)
    assert store.stats.unfiltered_deletes == 0


async def test_a_bulk_result_is_small_and_the_audit_log_has_every_id(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A 5,000-profile add answers a short summary with a 20-person sample while the audit log lists every ID."""
    ids = store.add_profiles(5_000)

    async with make_client() as mcp:
        result = await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        )

    data = structured(result)
    text = text_of(result)
    assert data["added"] == 5_000
    assert len(data["added_people"]) == 20
    assert len(text) < 2_000
    assert text.startswith("Added 5,000 profiles")
    assert len(last_outcome(audit_path)["added"]) == 5_000


async def test_quota_spent_by_another_app_costs_at_most_the_first_burst(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, clock: VirtualClock
) -> None:
    """When another app has spent most of the quota, only the first burst gets 429s and the add still completes."""
    store.latency = 0.05
    store.quota, store.window_seconds = 20, 30.0
    store.use_quota(15)  # another app on the store: 5 requests left in this window
    ids = store.add_profiles(1_000)  # 20 requests

    async with make_client() as mcp:
        data = structured(
            await mcp.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )

    assert data["added"] == 1_000
    assert store.stats.rate_limited <= 5  # only the first burst, sent before any answer told the quota
    assert store.stats.count("POST") == 20 + store.stats.rate_limited
    assert clock.now() - 1000.0 < 31.0  # one window wait, then the rest


@pytest.mark.parametrize(
    ("reasons", "sentence"),
    [
        (1, "reason 0"),
        (2, "reason 0 (1 other reason in `failed`)"),
        (3, "reason 0 (2 other reasons in `failed`)"),
        (1_200, "reason 0 (1,199 other reasons; `failed` has the first 3)"),
    ],
)
def test_the_failure_sentence_counts_the_other_reasons_as_the_result_shows_them(reasons: int, sentence: str) -> None:
    """The failure sentence gives the first reason and counts the others as the failed list shows them."""
    outcome = BulkOutcome(failed={f"reason {n}": [uuid.uuid4()] for n in range(reasons)})

    assert outcome.failure_sentence() == sentence
