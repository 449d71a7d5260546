"""Words are product surface: segments named by name (the UUID beside it in the structured result), the change
record with names, a filter and both directions of an undo, and the errors that name their fix."""

import uuid

import pytest
from mcp import Client
from pydantic import SecretStr

from mcp_bigcommerce_segments import sandbox
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.server import build_server

from .conftest import BoundedClient, MakeClient, approve, preview_removal, strs, structured, text_of
from .test_safety import answering

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


async def test_an_add_by_customer_numbers_names_each_customer_by_what_happened(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Added customers are named as added and a member already as such: never four customers for three adds."""
    for n in (1, 201, 202, 203):
        store.customers[n] = Customer(n, "Ada", f"Smith{n}", f"ada{n}@example.com")
    profiles = {n: store.add_profile(customer_id=n) for n in (1, 201, 202, 203)}
    store.add_members(segment, [profiles[1]])

    data = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": [201, 202, 203, 1]})
    )

    assert data["summary"].startswith(
        "Added 3 profiles (customers 201, 202, 203) to segment 'VIP'; customer 1 was already a member."
    )


@pytest.mark.parametrize(
    ("tool", "arguments", "said"),
    [
        (
            "remove_profiles_from_segment",
            {"confirm": True},
            "confirm=true approves a preview: pass its preview_id too (segment_id, preview_id, confirm=true).",
        ),
        (
            "remove_profiles_from_segment",
            {"preview_id": "nope", "confirm": True},
            "preview_id takes the preview_id a removal preview gave (like p0123456789), not 'nope'; call the removal "
            "with a source",
        ),
        (
            "undo_change",
            {"change_id": "x1"},
            "change_id takes a change_id from a write's result or list_recent_changes",
        ),
        (
            "find_shopper_profiles",
            {"name_contains": "ada", "in_segment_id": "VIP"},
            "in_segment_id takes a segment's UUID, not 'VIP'; to find a segment by name call list_segments(",
        ),
    ],
)
async def test_errors_name_their_fix(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, tool: str, arguments: dict[str, object], said: str
) -> None:
    """A mistaken argument is answered with what to pass instead, and nothing is sent to the store."""
    if tool != "find_shopper_profiles" and tool != "undo_change":
        arguments = {"segment_id": str(segment), **arguments}

    result = await mcp.call_tool(tool, arguments)

    assert result.is_error
    assert said in text_of(result)
    assert store.stats.requests == []


async def test_an_empty_answer_to_the_question_removes_nothing_and_says_so(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An accepted question with an empty form is no: nothing removed, 'did not approve', no internal names."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)

    async with make_client(elicitation_callback=answering("accept", {})) as mcp:
        data = structured(
            await mcp.call_tool("remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )

    assert data["status"] == "declined"
    assert data["summary"] == "The user did not approve: nothing was removed from segment 'VIP'."
    assert store.members(segment) == ids


async def test_sandbox_errors_are_marked_like_its_summaries(settings: Settings) -> None:
    """In the sandbox an error result starts with [SANDBOX] too, so nobody mistakes it for the real store."""
    sandboxed = settings.model_copy(update={"sandbox": True, "access_token": SecretStr("anything"), "audit_log": None})
    async with BoundedClient(build_server(sandboxed, transport=sandbox.transport(sandboxed.store_hash))) as mcp:
        result = await mcp.call_tool("undo_change", {"change_id": "c0123456789"})

    assert result.is_error
    assert text_of(result).startswith("[SANDBOX] ")


async def test_an_all_members_preview_says_it_empties_the_segment_and_one_is_one(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Emptying a segment is said in capitals in its preview; a one-person preview speaks of one, not 'the first 1'."""
    only = store.add_profiles(1)
    store.add_members(segment, only)
    stranger = store.add_profile()

    emptying = await preview_removal(mcp, segment, all_members=True)
    one = await preview_removal(mcp, segment, profile_ids=strs([only[0], stranger]))

    assert "This EMPTIES the segment." in emptying["summary"]
    assert "the first 1" not in one["summary"]
    assert "it is in `people`" in one["summary"]
    assert "1 profile of the source is not a member." in one["summary"]


async def test_nothing_to_remove_and_a_cancelled_question_are_said_as_they_are(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A source with no members is 'nothing_to_remove' (not 'removed'); a cancelled question is not a 'decline'."""
    member = store.add_profiles(1)
    store.add_members(segment, member)
    stranger = store.add_profile()

    async with make_client(elicitation_callback=answering("cancel")) as mcp:
        nothing = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(stranger)]}
            )
        )
        cancelled = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": strs(member)}
            )
        )

    assert nothing["status"] == "nothing_to_remove"
    assert nothing["summary"] == "Nothing to remove: none of them is a member of segment 'VIP'."
    assert cancelled["status"] == "declined"
    assert cancelled["summary"] == "The user cancelled the question: nothing was removed from segment 'VIP'."
    assert store.members(segment) == member
