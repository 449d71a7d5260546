"""A segment's whole life against the stateful fake: create, update, delete (in two steps, with elicitation, with
the operator's flag), each undone; the promotions a segment gates, in list_segments and in previews."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import SecretStr

from mcp_bigcommerce_segments.client import BigCommerceClient
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.promotions import named_segments
from mcp_bigcommerce_segments.tools import lifecycle

from .conftest import MakeClient, audit_lines, preview_removal, structured, text_of
from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def vip(store: FaultyStore) -> uuid.UUID:
    """Segment VIP with three named members, and promotions that name it (one under `not`)."""
    segment = store.add_segment("VIP", "Top spenders")
    for n in (1, 2, 3):
        store.customers[n] = Customer(n, f"Ada{n}", "Smith", f"ada{n}@example.com")
        store.add_members(segment, [store.add_profile(customer_id=n)])
    store.add_promotion("VIP 20% off", {"id": [str(segment)]})
    store.add_promotion("Welcome 10%", {"not": {"id": [str(segment)]}}, status="DISABLED")
    store.add_promotion("Unrelated", {"id": [str(uuid.uuid4())]})
    return segment


def requests_of(store: FaultyStore, method: str) -> list[tuple[str, str, str]]:
    return [r for r in store.stats.requests if r[0] == method]


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    return structured(await mcp.call_tool(tool, arguments))


async def test_create_segment_posts_a_bare_array_and_undo_deletes_it_while_empty(
    mcp: Client, store: FaultyStore, audit_path: Path
) -> None:
    """create_segment POSTs [{name, description}], answers the segment_id and a change_id; undo_change deletes the
    still empty segment by id:in."""
    data = await call(mcp, "create_segment", name="Holiday  2026", description="Gift guide")

    created = uuid.UUID(data["segment_id"])
    assert (store.segments[created].name, store.segments[created].description) == ("Holiday 2026", "Gift guide")
    assert json.loads(store.stats.bodies[-1]) == [{"name": "Holiday 2026", "description": "Gift guide"}]
    assert data["summary"].startswith(f"Created segment 'Holiday 2026' (segment_id {created}), empty.")
    assert [line["kind"] for line in audit_lines(audit_path)] == ["create_segment", "create_segment"]

    undo = await call(mcp, "undo_change", change_id=data["change_id"])

    assert undo["status"] == "deleted"
    assert created not in store.segments
    assert requests_of(store, "DELETE")[-1][2] == f"id%3Ain={created}"


async def test_a_taken_name_is_refused_with_that_segment_id(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """A name another segment has, in any case, is refused with its ID and nothing is POSTed."""
    result = await mcp.call_tool("create_segment", {"name": "  vip "})

    assert result.is_error
    assert f"A segment named 'VIP' already exists (segment_id {vip})" in text_of(result)
    assert requests_of(store, "POST") == []


async def test_bigcommerce_409_on_create_is_one_sentence(
    mcp: Client, store: FaultyStore, vip: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another app takes the name between the check and the POST, BigCommerce's 409 is one sentence and the
    change is recorded as failed."""

    async def nobody(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(lifecycle, "name_taken", nobody)  # the race: the check saw no such segment
    result = await mcp.call_tool("create_segment", {"name": "VIP"})

    assert result.is_error
    assert "BigCommerce says a segment named 'VIP' exists already (409); nothing was created" in text_of(result)
    changes = await call(mcp, "list_recent_changes")
    assert changes["changes"][0]["status"] == "failed"


async def test_undo_of_a_filled_creation_is_a_deletion_preview(mcp: Client, store: FaultyStore) -> None:
    """Undoing the creation of a segment that has members since answers a delete_segment preview; approving it
    deletes the segment."""
    created = await call(mcp, "create_segment", name="Campaign")
    segment = uuid.UUID(created["segment_id"])
    store.add_members(segment, [store.add_profile(customer_id=9)])

    undo = await call(mcp, "undo_change", change_id=created["change_id"])

    assert undo["status"] == "preview"
    assert segment in store.segments
    done = await call(mcp, "delete_segment", segment_id=str(segment), preview_id=undo["preview_id"], confirm=True)
    assert done["status"] == "deleted"
    assert segment not in store.segments


async def test_update_renames_and_undo_restores(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """update_segment PUTs [{id, name, description}]; undo_change puts the old name and description back."""
    data = await call(mcp, "update_segment", segment_id=str(vip), name="VIP 2027")

    assert store.segments[vip].name == "VIP 2027"
    assert json.loads(store.stats.bodies[-1]) == [{"id": str(vip), "name": "VIP 2027", "description": "Top spenders"}]
    assert data["summary"].startswith("Renamed segment 'VIP' to 'VIP 2027'")

    undo = await call(mcp, "undo_change", change_id=data["change_id"])

    assert undo["status"] == "restored"
    assert (store.segments[vip].name, store.segments[vip].description) == ("VIP", "Top spenders")


async def test_update_to_a_taken_name_is_refused(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """Renaming to another segment's name (any case) is refused with its ID; nothing is PUT."""
    other = store.add_segment("Newsletter")

    result = await mcp.call_tool("update_segment", {"segment_id": str(other), "name": "vip"})

    assert result.is_error
    assert str(vip) in text_of(result)
    assert requests_of(store, "PUT") == []


async def test_delete_previews_then_deletes_by_id_in_and_undo_recreates(
    mcp: Client, store: FaultyStore, vip: uuid.UUID, audit_path: Path
) -> None:
    """Step 1 deletes nothing and names the members and promotions; step 2 sends DELETE /segments?id:in=<the ID>,
    having recorded name, description and every member; undo recreates it with its members (a new ID) and names the
    promotions to point at it."""
    members = set(store.members(vip))

    preview = await call(mcp, "delete_segment", segment_id=str(vip))

    assert preview["status"] == "preview"
    assert requests_of(store, "DELETE") == []
    assert preview["members"] == 3
    assert preview["people"][0].startswith("Ada1 Smith")
    assert [p["name"] for p in preview["promotions"]] == ["VIP 20% off", "Welcome 10%"]
    assert (
        "'VIP 20% off' (enabled) selects members of 'VIP'; 'Welcome 10%' (disabled) excludes them: once the segment "
        "is deleted, no longer" in preview["summary"]
    )
    assert preview["name"] == "VIP"

    done = await call(mcp, "delete_segment", segment_id=str(vip), preview_id=preview["preview_id"], confirm=True)

    assert done["status"] == "deleted"
    assert vip not in store.segments
    assert requests_of(store, "DELETE") == [("DELETE", f"/stores/{STORE}/v3/segments", f"id%3Ain={vip}")]
    assert len(store.profiles) == 3  # the profiles themselves are kept
    intent = [line for line in audit_lines(audit_path) if line["event"] == "intent"][-1]
    assert (intent["name"], intent["description"], set(intent["ids"])) == (
        "VIP",
        "Top spenders",
        set(map(str, members)),
    )

    undo = await call(mcp, "undo_change", change_id=done["change_id"])

    recreated = uuid.UUID(undo["segment_id"])
    assert undo["status"] == "recreated"
    assert recreated != vip
    assert (store.segments[recreated].name, store.segments[recreated].description) == ("VIP", "Top spenders")
    assert set(store.members(recreated)) == members
    assert (
        f"Promotions that named the old segment_id {vip} must be pointed at the new one: 'VIP 20% off'"
        in (undo["summary"])
    )


async def test_a_removal_preview_cannot_approve_a_deletion(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """A removal's preview_id given to delete_segment is refused, and nothing is deleted (and the other way)."""
    removal = await preview_removal(mcp, vip, customer_ids=[1])
    deletion = await call(mcp, "delete_segment", segment_id=str(vip))

    wrong = await mcp.call_tool(
        "delete_segment", {"segment_id": str(vip), "preview_id": removal["preview_id"], "confirm": True}
    )
    other = await mcp.call_tool(
        "remove_profiles_from_segment",
        {"segment_id": str(vip), "preview_id": deletion["preview_id"], "confirm": True},
    )

    assert wrong.is_error
    assert "is a removal of profiles; nothing was changed. Approve it with remove_profiles_from_segment" in text_of(
        wrong
    )
    assert other.is_error
    assert "is a deletion of the segment" in text_of(other)
    assert vip in store.segments
    assert len(store.members(vip)) == 3


@pytest.mark.parametrize("answer", [True, False])
async def test_delete_asks_the_user_when_the_client_can(
    make_client: MakeClient, store: FaultyStore, vip: uuid.UUID, answer: bool
) -> None:
    """A client that can ask is asked in the one call, with the name, the members and the promotions; a yes deletes,
    a no deletes nothing."""
    asked: list[str] = []

    async def ask(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        asked.append(request.message)
        return ElicitResult(action="accept", content={"approve": answer})

    async with make_client(mode="auto", elicitation_callback=ask) as mcp:
        data = await call(mcp, "delete_segment", segment_id=str(vip))

    assert asked[0].startswith("Delete segment 'VIP' (3 members: Ada1 Smith")
    assert "'VIP 20% off' (enabled)" in asked[0]
    assert data["status"] == ("deleted" if answer else "declined")
    assert (vip in store.segments) is not answer


async def test_operator_flag_deletes_with_confirm_alone(
    make_client: MakeClient, settings: Settings, store: FaultyStore, vip: uuid.UUID
) -> None:
    """With BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW, confirm=true without a preview_id deletes at once; without the flag
    it answers the preview."""
    async with make_client(mode="auto") as mcp:
        held = await call(mcp, "delete_segment", segment_id=str(vip), confirm=True)
    assert held["status"] == "preview"
    assert held["summary"].startswith("confirm=true needs the preview_id")

    flagged = settings.model_copy(update={"confirm_without_preview": True})
    async with make_client(mode="auto", settings_=flagged) as mcp:
        done = await call(mcp, "delete_segment", segment_id=str(vip), confirm=True)

    assert done["status"] == "deleted"
    assert vip not in store.segments


async def test_read_only_mode_offers_none_of_the_three(make_client: MakeClient, settings: Settings) -> None:
    """Read-only mode lists no create, update or delete."""
    read_only = settings.model_copy(update={"read_only": True})
    async with make_client(mode="auto", settings_=read_only) as mcp:
        names = {t.name for t in (await mcp.list_tools()).tools}

    assert names.isdisjoint({"create_segment", "update_segment", "delete_segment"})


async def test_no_code_path_sends_a_delete_without_id_in(store: FaultyStore, clock: VirtualClock) -> None:
    """The client's one request path refuses a DELETE without id:in before anything is sent (the `store` fixture
    also fails any test whose store saw one)."""
    async with BigCommerceClient(
        base_url=f"http://127.0.0.1:9/stores/{STORE}/v3",
        access_token=SecretStr(TOKEN),
        user_agent="t",
        transport=store.transport(),
        clock=clock,
    ) as client:
        for path, params in (("segments", None), ("segments", {"id:in": ""}), (f"segments/{uuid.uuid4()}/x", {})):
            with pytest.raises(ValueError, match="without id:in"):
                await client._request("DELETE", path, what="x", params=params)

    assert store.stats.requests == []


async def test_list_segments_names_each_segments_promotions(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """list_segments gives each segment the promotions that name it, in id, not, and or."""
    other = store.add_segment("Wholesale")
    store.add_promotion("Trade", {"or": [{"id": [str(other)]}, {"and": [{"id": [str(vip)]}, {"id": [str(other)]}]}]})

    data = await call(mcp, "list_segments")

    promotions = {s["name"]: [p["name"] for p in s["promotions"]] for s in data["segments"]}
    assert promotions == {"VIP": ["VIP 20% off", "Welcome 10%", "Trade"], "Wholesale": ["Trade"]}
    assert data["segments"][0]["promotions"][1] == {"id": 2, "name": "Welcome 10%", "status": "DISABLED"}


async def test_without_the_marketing_scope_promotions_are_left_out_in_one_sentence(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """Without the Marketing read scope, promotions are left out, the summary says why, and removals still work."""
    store.missing_scopes.add("marketing")

    data = await call(mcp, "list_segments")
    preview = await preview_removal(mcp, vip, customer_ids=[1])

    assert data["segments"][0].get("promotions") is None
    assert "lacks the Marketing read scope (store_v2_marketing_read_only)" in data["summary"]
    assert "get 'VIP" not in preview["summary"]


async def test_a_removal_preview_says_what_changes_in_the_promotions(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """The removal preview names the promotions the removed lose, and those that no longer exclude them."""
    preview = await preview_removal(mcp, vip, customer_ids=[1, 2])

    assert "Members of 'VIP' get 'VIP 20% off' (enabled): the 2 removed lose it" in preview["summary"]
    assert (
        "'Welcome 10%' (disabled) excludes members of 'VIP': the 2 removed are no longer excluded"
        in (preview["summary"])
    )


def test_named_segments_follows_not_and_or_nesting() -> None:
    """A segment under an odd number of `not`s is excluded; ids in and/or are found; junk is ignored."""
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    condition = {"and": [{"id": [str(a)]}, {"not": {"or": [{"id": [str(b)]}, {"not": {"id": [str(c), "x"]}}]}}]}

    assert named_segments(condition) == {a: False, b: True, c: False}
    assert named_segments(None) == {}
    assert named_segments({"id": "not a list"}) == {}


async def test_a_segment_changed_since_the_preview_is_not_deleted(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """A member who joined after the preview was never shown to the user: the approval is refused, nothing deleted."""
    preview = await call(mcp, "delete_segment", segment_id=str(vip))
    store.add_members(vip, [store.add_profile(customer_id=42)])

    result = await mcp.call_tool(
        "delete_segment", {"segment_id": str(vip), "preview_id": preview["preview_id"], "confirm": True}
    )

    assert result.is_error
    assert "changed since the preview (1 joined and 0 left); nothing was deleted" in text_of(result)
    assert vip in store.segments


async def test_a_lost_delete_answer_is_read_back_and_undo_still_recreates(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """When the DELETE's answer is an error but the segment went, the record says it was done, and undo recreates
    it with its members."""
    store.inject(Fault("drop-after", "DELETE", times=50))  # the store deletes; every answer is lost, retries too
    members = set(store.members(vip))
    preview = await call(mcp, "delete_segment", segment_id=str(vip))

    failed = await mcp.call_tool(
        "delete_segment", {"segment_id": str(vip), "preview_id": preview["preview_id"], "confirm": True}
    )
    changes = await call(mcp, "list_recent_changes")

    assert failed.is_error
    assert vip not in store.segments
    assert changes["changes"][0]["status"] == "done"
    undo = await call(mcp, "undo_change", change_id=changes["changes"][0]["change_id"])
    assert set(store.members(uuid.UUID(undo["segment_id"]))) == members


async def test_undo_of_a_deletion_is_done_once_and_listed_with_notes(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """A whole undo links the deletion (a second undo is refused), and list_recent_changes notes each change."""
    await call(mcp, "update_segment", segment_id=str(vip), description="Best customers")
    preview = await call(mcp, "delete_segment", segment_id=str(vip))
    done = await call(mcp, "delete_segment", segment_id=str(vip), preview_id=preview["preview_id"], confirm=True)
    await call(mcp, "undo_change", change_id=done["change_id"])

    again = await mcp.call_tool("undo_change", {"change_id": done["change_id"]})
    listed = (await call(mcp, "list_recent_changes"))["changes"]

    assert again.is_error
    assert "already undone" in text_of(again)
    notes = [c.get("note") for c in listed]
    assert "deleted segment 'VIP' (3 members)" in notes
    assert "changed the description of 'VIP'" in notes
    assert "created segment 'VIP'" in notes


async def test_undo_of_an_update_overwritten_since_is_refused(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """Undoing a rename that a later rename replaced would lose the later one: refused, nothing changed."""
    first = await call(mcp, "update_segment", segment_id=str(vip), name="VIP 2027")
    await call(mcp, "update_segment", segment_id=str(vip), name="VIP 2028")

    result = await mcp.call_tool("undo_change", {"change_id": first["change_id"]})

    assert result.is_error
    assert "was changed again since" in text_of(result)
    assert store.segments[vip].name == "VIP 2028"


async def test_a_blank_new_name_is_refused(mcp: Client, store: FaultyStore, vip: uuid.UUID) -> None:
    """update_segment with a name of spaces is refused; nothing is PUT."""
    result = await mcp.call_tool("update_segment", {"segment_id": str(vip), "name": "   "})

    assert result.is_error
    assert requests_of(store, "PUT") == []


async def test_a_missing_marketing_scope_is_not_asked_about_on_every_call(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """Without the Marketing scope, listing segments twice asks for promotions once (the 403 is kept for 60 s)."""
    store.missing_scopes.add("marketing")

    await call(mcp, "list_segments")
    second = await call(mcp, "list_segments")

    assert sum(1 for _, path, _ in store.stats.requests if path.endswith("/promotions")) == 1
    assert "lacks the Marketing read scope" in second["summary"]


async def test_create_and_update_read_back_when_the_answer_says_nothing(
    mcp: Client, store: FaultyStore, vip: uuid.UUID
) -> None:
    """A store whose POST and PUT answer 200 with an empty body: the segment is read back (by name, by ID), and the
    results are right."""
    store.segment_answers = "bare"

    created = await call(mcp, "create_segment", name="Holiday 2026")
    renamed = await call(mcp, "update_segment", segment_id=str(vip), name="VIP 2027")

    assert store.segments[uuid.UUID(created["segment_id"])].name == "Holiday 2026"
    assert renamed["name"] == "VIP 2027"
    assert store.segments[vip].name == "VIP 2027"


async def test_undoing_the_deletion_of_an_empty_segment_answers_its_change_id(mcp: Client, store: FaultyStore) -> None:
    """Recreating a deleted empty segment answers the change_id of the recreation, as the audit log records it."""
    empty = store.add_segment("Black Friday")
    preview = await call(mcp, "delete_segment", segment_id=str(empty))
    done = await call(mcp, "delete_segment", segment_id=str(empty), preview_id=preview["preview_id"], confirm=True)

    undo = await call(mcp, "undo_change", change_id=done["change_id"])

    assert undo["status"] == "recreated"
    assert undo["change_id"]
    listed = (await call(mcp, "list_recent_changes"))["changes"]
    assert listed[0]["change_id"] == undo["change_id"]
