"""Requests per merchant request: what a result needs is read once per call chain (issue 23). The approval of a
removal re-reads membership (no correctness trade) and then sends only its DELETEs: the member count follows from the
segment it read whole, and the people were named by the preview."""

import uuid

import pytest
from mcp import Client

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer

from .conftest import approve, preview_removal, structured

pytestmark = pytest.mark.anyio


@pytest.fixture
def wholesale(store: FaultyStore) -> uuid.UUID:
    segment = store.add_segment("Wholesale")
    for n in range(1, 31):
        store.customers[n] = Customer(n, f"Ada{n}", "Smith", f"ada{n}@example.com")
        store.add_members(segment, [store.add_profile(customer_id=n)])
    return segment


async def test_approving_a_removal_reads_membership_once_and_nothing_else(
    mcp: Client, store: FaultyStore, wholesale: uuid.UUID
) -> None:
    """ "Empty Wholesale": at approval one membership read and the DELETEs; the count (0) is computed, the names are
    the preview's."""
    preview = await preview_removal(mcp, wholesale, all_members=True)
    before = len(store.stats.requests)

    done = structured(await approve(mcp, wholesale, preview["preview_id"]))

    sent = [(method, path.rsplit("/", 1)[-1]) for method, path, _ in store.stats.requests[before:]]
    assert sent == [("GET", "shopper-profiles"), ("DELETE", "shopper-profiles")]
    assert done["member_count"] == 0
    assert done["people"] == preview["people"]
    assert store.members(wholesale) == []


async def test_a_partial_removal_counts_what_is_left(mcp: Client, store: FaultyStore, wholesale: uuid.UUID) -> None:
    """Removing 2 of 30 answers 28 members without reading the count again."""
    preview = await preview_removal(mcp, wholesale, customer_ids=[1, 2])

    done = structured(await approve(mcp, wholesale, preview["preview_id"]))

    assert done["member_count"] == 28 == len(store.members(wholesale))
    assert not [q for _, _, q in store.stats.requests if q == "page=1&limit=1"]


async def test_a_copy_names_both_segments_in_one_read(mcp: Client, store: FaultyStore, wholesale: uuid.UUID) -> None:
    """Copying a segment reads both segments' names in one request (the target's is then reused)."""
    target = store.add_segment("Black Friday")

    data = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(target), "from_segment_id": str(wholesale)})
    )

    name_reads = [q for m, p, q in store.stats.requests if p.endswith("/segments") and "id%3Ain" in q]
    assert len(name_reads) == 1
    assert "to segment 'Black Friday'" in data["summary"]
    assert data["member_count"] == 30
