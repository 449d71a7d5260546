"""Words are product surface: segments named by name (the UUID beside it in the structured result), the change
record with names, a filter and both directions of an undo, and the errors that name their fix."""

import uuid

import pytest
from mcp import Client

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer

from .conftest import approve, preview_removal, strs, structured

pytestmark = pytest.mark.anyio


async def test_a_page_of_members_names_its_segment(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """The page sentence names the segment; the structured result has its ID and name."""
    store.add_members(segment, store.add_profiles(3))

    data = structured(await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)}))

    assert data["summary"].startswith("Profiles 1-3 of 3 in segment 'VIP' (page 1 of 1).")
    assert (data["segment_id"], data["segment_name"]) == (str(segment), "VIP")


async def test_a_search_within_a_segment_names_it(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """find_shopper_profiles with in_segment_id says the segment's name, also when nobody found is in it."""
    store.customers[7] = Customer(7, "Ada", "Smith", "ada@example.com")
    store.add_profile(customer_id=7)

    data = structured(
        await mcp.call_tool("find_shopper_profiles", {"customer_ids": [7], "in_segment_id": str(segment)})
    )

    assert "0 of them are in segment 'VIP'." in data["summary"]


async def test_the_change_record_names_segments_filters_and_links_undos(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """list_recent_changes gives each change its segment's name, keeps one segment's with segment_id, and links an
    undo both ways (undoes on the undo, undone_by on the change)."""
    other = store.add_segment("Newsletter")
    ids = store.add_profiles(2)
    store.add_members(segment, ids)
    removed = structured(
        await approve(mcp, segment, (await preview_removal(mcp, segment, profile_ids=strs(ids)))["preview_id"])
    )
    undo = structured(await mcp.call_tool("undo_change", {"change_id": removed["change_id"]}))
    structured(await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(other), "profile_ids": strs(ids)}))

    everything = structured(await mcp.call_tool("list_recent_changes", {}))
    vip_only = structured(await mcp.call_tool("list_recent_changes", {"segment_id": str(segment)}))

    names = [c["segment_name"] for c in everything["changes"]]
    assert names == ["Newsletter", "VIP", "VIP"]
    by_id = {c["change_id"]: c for c in vip_only["changes"]}
    assert list(by_id) == [undo["change_id"], removed["change_id"]]
    assert by_id[undo["change_id"]]["undoes"] == removed["change_id"]
    assert by_id[removed["change_id"]]["undone_by"] == undo["change_id"]
    assert vip_only["summary"].startswith("The latest 2 changes to segment 'VIP', newest first.")
