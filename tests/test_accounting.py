"""Nothing unsaid: every customer number of a removal accounted for, undo previews of what is there now, and an
undo that is not repeated."""

import tempfile
import uuid
from pathlib import Path

import pytest
from mcp import Client
from pydantic import SecretStr

from mcp_bigcommerce_segments import sandbox
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.sandbox import SEGMENTS
from mcp_bigcommerce_segments.server import build_server

from .conftest import BoundedClient, MakeClient, approve, audit_lines, preview_removal, strs, structured, text_of
from .test_safety import answering

pytestmark = pytest.mark.anyio


def seed(store: FaultyStore, segment: uuid.UUID) -> dict[int, uuid.UUID]:
    """Customers 10 and 50 with profiles (10 a member of `segment`, 50 not), 295 without a profile; 4812 unknown."""
    for n, first in ((10, "Ada"), (50, "Bob"), (295, "Cy")):
        store.customers[n] = Customer(n, first, "Smith", f"{first.lower()}@example.com")
    profiles = {n: store.add_profile(customer_id=n) for n in (10, 50)}
    store.add_members(segment, [profiles[10]])
    return profiles


async def test_a_removal_by_customer_numbers_accounts_for_every_customer(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Preview and result name only the customers removed, and say which are not members, have no profile or are
    not in the store."""
    seed(store, segment)

    preview = await preview_removal(mcp, segment, customer_ids=[10, 50, 295, 4812])
    data = structured(await approve(mcp, segment, preview["preview_id"]))

    for result in (preview, data):
        assert result["customers_not_found"] == [4812]
        assert result["customers_without_profile"] == [295]
        assert "(customer 10)" in result["summary"]
        assert (
            "Customer 50 is not a member: 50." in result["summary"]
            or "customer is not a member: 50" in (result["summary"])
        )
        assert "customer has no shopper profile yet (cannot be in a segment): 295" in result["summary"]
        assert "customer is not in the store: 4812" in result["summary"]
        assert "customers 10, 50" not in result["summary"]
    assert data["removed"] == 1
    assert store.members(segment) == []


async def test_an_undo_preview_names_only_the_profiles_still_members(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An add's undo previews only the profiles that are members now; none left is 'nothing to undo', not a promise."""
    ids = store.add_profiles(3)
    added = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
    )
    store.segments[segment].members.pop(ids[0])  # someone took one out meanwhile

    undo = structured(await mcp.call_tool("undo_change", {"change_id": added["change_id"]}))
    store.segments[segment].members.clear()
    again = structured(await mcp.call_tool("undo_change", {"change_id": added["change_id"]}))

    assert (undo["status"], undo["count"]) == ("preview", 2)
    assert "removes 2 profiles it added from segment 'VIP'" in undo["summary"]
    assert "1 was no longer a member." in undo["summary"]
    assert (again["status"], again["count"]) == ("nothing_to_undo", 0)
    assert again["summary"] == (
        f"Nothing to undo: none of the 3 profiles change {added['change_id']} added is still a member of segment 'VIP'."
    )


async def test_undoing_a_change_twice_says_who_undid_it(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A change undone once is not undone again: the answer names the change that undid it, and nothing is sent."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)
    preview = await preview_removal(mcp, segment, profile_ids=strs(ids))
    removed = structured(await approve(mcp, segment, preview["preview_id"]))
    first = structured(await mcp.call_tool("undo_change", {"change_id": removed["change_id"]}))
    requests = len(store.stats.requests)

    second = await mcp.call_tool("undo_change", {"change_id": removed["change_id"]})

    assert second.is_error
    assert f"Change {removed['change_id']} was already undone by {first['change_id']}" in text_of(second)
    assert len(store.stats.requests) == requests
    assert sorted(store.members(segment)) == sorted(ids)


async def test_undoing_an_undone_add_twice_is_refused_after_the_removal(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Once the removal that undoes an add is approved, undoing the add again names that removal."""
    ids = store.add_profiles(2)
    async with make_client() as mcp:
        added = structured(
            await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )
        undo = structured(await mcp.call_tool("undo_change", {"change_id": added["change_id"]}))
        removal = structured(await approve(mcp, segment, undo["preview_id"]))
        again = await mcp.call_tool("undo_change", {"change_id": added["change_id"]})

    assert removal["status"] == "removed"
    assert again.is_error
    assert f"already undone by {removal['change_id']}" in text_of(again)


async def test_finding_by_customer_numbers_gives_no_advice_to_ask_which_one(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Customer numbers name customers exactly: no 'ask the user which one is meant' even when many are found."""
    for n in range(1, 13):
        store.customers[n] = Customer(n, "Ada", f"Smith{n}", f"ada{n}@example.com")
        store.add_members(segment, [store.add_profile(customer_id=n)])

    data = structured(
        await mcp.call_tool(
            "find_shopper_profiles", {"customer_ids": list(range(1, 13)), "in_segment_id": str(segment)}
        )
    )

    assert len(data["found"]) == 12
    assert "ask the user" not in data["summary"]


async def test_a_sandboxs_changes_are_not_offered_after_it_has_gone(settings: Settings, audit_path: Path) -> None:
    """A restarted sandbox, even sharing the audit log, lists none of the old sandbox's changes and undoes none."""
    sandboxed = settings.model_copy(update={"sandbox": True, "access_token": SecretStr("anything")})
    vip = str(SEGMENTS[0][0])

    async with BoundedClient(build_server(sandboxed, transport=sandbox.transport(sandboxed.store_hash))) as first:
        added = structured(await first.call_tool("add_profiles_to_segment", {"segment_id": vip, "customer_ids": [1]}))
        listed_before = structured(await first.call_tool("list_recent_changes", {}))
    async with BoundedClient(build_server(sandboxed, transport=sandbox.transport(sandboxed.store_hash))) as second:
        listed_after = structured(await second.call_tool("list_recent_changes", {}))
        undo = await second.call_tool("undo_change", {"change_id": added["change_id"]})

    assert [c["change_id"] for c in listed_before["changes"]] == [added["change_id"]]
    assert listed_after["changes"] == []
    assert undo.is_error
    assert f"No change {added['change_id']} in the audit log" in text_of(undo)
    assert [line["change_id"] for line in audit_lines(audit_path)][:1] == [added["change_id"]]  # it was recorded


def test_a_sandbox_keeps_its_own_audit_log() -> None:
    """Without BIGCOMMERCE_AUDIT_LOG, a sandbox writes to a file of its own in the temporary directory, never to the
    default log a real store uses; an explicit log is kept."""
    sandboxed = Settings.from_env({"BIGCOMMERCE_SANDBOX": "true"})
    real = Settings.from_env({"BIGCOMMERCE_STORE_HASH": "abc123", "BIGCOMMERCE_ACCESS_TOKEN": "t"})
    explicit = Settings.from_env({"BIGCOMMERCE_SANDBOX": "true", "BIGCOMMERCE_AUDIT_LOG": "/tmp/x.jsonl"})  # noqa: S108

    assert sandboxed.audit_log is not None
    assert sandboxed.audit_log.parent == Path(tempfile.gettempdir())
    assert "sandbox" in sandboxed.audit_log.name
    assert sandboxed.audit_log != real.audit_log
    assert explicit.audit_log == Path("/tmp/x.jsonl")  # noqa: S108


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_undoing_a_removal_never_adds_profiles_that_were_not_known_members(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, mode: str
) -> None:
    """In a segment too large to check (more than 10,000 members, even after the human's answer), a yes removes the
    IDs asked; the undo re-adds only those known to have been members, never the outsiders a 204 cannot tell apart."""
    members = store.add_profiles(10_050)
    store.add_members(segment, members)
    outsiders = store.add_profiles(5)

    async with make_client(mode=mode, elicitation_callback=answering("accept", {"approve": True})) as mcp:
        removal = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(segment), "profile_ids": strs(members[:5] + outsiders)},
            )
        )
        undo = await mcp.call_tool("undo_change", {"change_id": removal["change_id"]})

    assert removal["status"] == "removed"
    assert not set(outsiders) & set(store.members(segment))
    assert undo.is_error  # nothing known to have been removed: nothing re-added
    assert "removed nothing" in text_of(undo)


async def test_approving_when_nobody_is_still_a_member_records_nothing(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A preview whose people all left before approval: 'nothing_to_remove', no DELETE, no empty change recorded."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)
    preview = await preview_removal(mcp, segment, profile_ids=strs(ids))
    store.segments[segment].members.clear()

    data = structured(await approve(mcp, segment, preview["preview_id"]))

    assert data["status"] == "nothing_to_remove"
    assert store.stats.count("DELETE") == 0
    assert [line for line in audit_lines(audit_path) if line["event"] == "intent"] == []


async def test_removing_a_segment_from_itself_says_it_empties_it(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """from_segment_id equal to segment_id takes out everyone: the preview says EMPTIES, as all_members does."""
    store.add_members(segment, store.add_profiles(3))

    preview = await preview_removal(mcp, segment, from_segment_id=str(segment))

    assert "This EMPTIES the segment." in preview["summary"]
