"""One chunk of a write against the answers BigCommerce may give per ID: bare 404s, strict DELETEs, isolation."""

import uuid

import httpx2
import pytest

from mcp_bigcommerce_segments.batch import remove_chunk
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.emulator.faults import FaultyStore

from .conftest import MakeClient, structured, text_of
from .test_client import make

pytestmark = pytest.mark.anyio


async def test_bare_404_for_an_unknown_profile_isolates_it_and_adds_the_rest(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A bare 404 caused by one unknown profile fails only that profile and the rest of its chunk is added."""
    store.unknown_profile_status = 404
    good = store.add_profiles(120)
    ghost = uuid.uuid4()

    async with make_client() as mcp:
        data = structured(
            await mcp.call_tool(
                "add_profiles_to_segment",
                {"segment_id": str(segment), "profile_ids": [str(i) for i in [*good[:30], ghost, *good[30:]]]},
            )
        )

    assert data["added"] == len(good)
    assert [group["ids"] for group in data["failed"]] == [[str(ghost)]]
    assert "does not know this shopper profile (404)" in data["failed"][0]["reason"]
    assert set(store.members(segment)) == set(good)


async def test_bare_404_for_a_missing_segment_still_stops_the_call(make_client: MakeClient, store: FaultyStore) -> None:
    """A bare 404 for a missing segment stops the add after the first requests with a no-segment error."""
    store.unknown_profile_status = 404
    ids = store.add_profiles(500)

    async with make_client() as mcp:
        result = await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(uuid.uuid4()), "profile_ids": [str(i) for i in ids]}
        )

    assert result.is_error
    assert "found no segment" in text_of(result)
    assert store.stats.count("POST") <= 10


async def test_strict_delete_404s_are_sorted_into_removed_and_not_members(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A store that answers 404 to a DELETE naming a non-member: the chunk is split until each ID is placed, members
    removed, strangers not members, nothing failed, and no DELETE without its filter."""
    store.strict_delete = True
    members = store.add_profiles(60)
    store.add_members(segment, members)
    strangers = store.add_profiles(3)
    asked = members[:20] + strangers + members[20:47]

    async with make(store.transport(), clock) as client:
        outcome = await remove_chunk(client, segment, asked)

    assert sorted(outcome.changed) == sorted(members[:47])
    assert sorted(outcome.unchanged) == sorted(strangers)
    assert outcome.failed == {}
    assert store.members(segment) == members[47:]
    deletes = [query for method, _, query in store.stats.requests if method == "DELETE"]
    assert any(str(stranger) in query for stranger in strangers for query in deletes)  # each 404 was earned
    assert store.stats.unfiltered_deletes == 0


async def test_a_207_to_a_delete_is_read_per_id(clock: VirtualClock) -> None:
    """A 207 whose body lists an error object per ID: those IDs are not counted as removed (404: not a member; other
    statuses: failed, with the store's words); only the IDs it does not name are removed."""
    ids = [uuid.uuid4() for _ in range(3)]
    body = {
        "errors": [
            {"id": str(ids[1]), "status": 404, "title": "Shopper profile not found in segment."},
            {"id": str(ids[2]), "status": 500, "title": "Could not remove."},
        ]
    }

    def store(request: httpx2.Request) -> httpx2.Response:
        assert request.method == "DELETE"
        assert "id%3Ain=" in str(request.url) or "id:in=" in str(request.url)
        return httpx2.Response(207, json=body)

    async with make(httpx2.MockTransport(store), clock) as client:
        outcome = await remove_chunk(client, uuid.uuid4(), ids)

    assert outcome.changed == [ids[0]]
    assert outcome.unchanged == [ids[1]]
    assert [i for group in outcome.failed.values() for i in group] == [ids[2]]
    assert "Could not remove." in next(iter(outcome.failed))
