"""One write, one object: what the store did is what the result says, and what the human approved is what goes."""

import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore

from .conftest import MakeClient, last_outcome, structured

pytestmark = pytest.mark.anyio


async def test_an_add_whose_answer_is_lost_after_the_store_applied_it_is_added_and_undoable(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A POST whose answer is lost is not sent again blindly: membership is read back, and undo can reverse it."""
    ids = store.add_profiles(3)
    store.inject(Fault("drop-after", method="POST"))  # the store adds them; the answer never arrives

    async with make_client() as mcp:
        with anyio.fail_after(10):
            data = structured(
                await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": _ids(ids)})
            )
            undo = structured(await mcp.call_tool("undo_change", {"change_id": data["change_id"]}))

    assert (data["added"], data["already_members"], data["failed"]) == (3, 0, [])
    assert "found in the segment after BigCommerce's answer was lost" in data["summary"]
    assert store.stats.count("POST") == 1  # never sent again: a second POST would be answered 409
    assert sorted(last_outcome(audit_path)["reread"]) == sorted(str(i) for i in ids)
    assert (undo["status"], undo["count"]) == ("preview", 3)


async def test_an_add_whose_answer_is_lost_before_the_store_saw_it_is_sent_again_once(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """When the read-back finds them not members, the POST is sent once more and its answer is the truth."""
    ids = store.add_profiles(3)
    store.inject(Fault("drop", method="POST"))  # dropped before the store saw it

    async with make_client() as mcp:
        with anyio.fail_after(10):
            data = structured(
                await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": _ids(ids)})
            )

    assert (data["added"], data["already_members"]) == (3, 0)
    assert "answer was lost" not in data["summary"]
    assert set(store.members(segment)) == set(ids)


async def test_a_removal_preview_in_a_large_segment_on_a_store_that_caps_pages_at_50(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Every page read is clamped to the store's learnt page cap: membership look-ups in a segment of 1,050 too."""
    store.max_limit = 50  # pages above 50 answer 413
    members = store.add_profiles(1_050)
    store.add_members(segment, members)

    async with make_client() as mcp:
        with anyio.fail_after(10):
            data = structured(
                await mcp.call_tool(
                    "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": _ids(members[:3])}
                )
            )

    assert (data["status"], data["would_remove"], data["membership_checked"]) == ("preview", 3, True)
    limits = [q for m, _, q in store.stats.requests if m == "GET" and "limit=250" in q]
    assert len(limits) == 1  # the first page read learnt the cap; no other page asked for more than 50


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_removal_removes_exactly_the_set_the_human_was_asked_about(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, mode: str
) -> None:
    """A member who joins while the human is being asked is not removed by the approval of the question before."""
    first = store.add_profiles(3)
    store.add_members(segment, first)
    late = store.add_profile()
    asked: list[str] = []

    async def approve_and_let_one_join(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        store.add_members(segment, [late])  # joins while the question is open
        return ElicitResult(action="accept", content={"approve": True})

    async with make_client(mode=mode, elicitation_callback=approve_and_let_one_join) as mcp:
        with anyio.fail_after(10):
            data = structured(
                await mcp.call_tool("remove_profiles_from_segment", {"segment_id": str(segment), "all_members": True})
            )

    shown = int(asked[-1].split()[1])  # "Remove N shopper profiles ..."
    assert data["status"] == "removed"
    assert data["removed"] == shown  # exactly what the last question named
    if mode == "legacy":  # one round: the question named 3, and the one who joined meanwhile stays
        assert (shown, store.members(segment)) == (3, [late])


def _ids(values: Any) -> list[str]:
    return [str(v) for v in values]
