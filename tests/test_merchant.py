"""Working in the merchant's terms: sources the server resolves, pinned previews named as people, changes and undo."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer

from .conftest import MakeClient, approve, last_outcome, preview_removal, remove, strs, structured, text_of

pytestmark = pytest.mark.anyio


def people(store: FaultyStore, n: int, *, start: int = 1) -> list[uuid.UUID]:
    """`n` customers with shopper profiles, named 'First{k} Last{k}'."""
    ids = []
    for k in range(start, start + n):
        store.customers[k] = Customer(k, f"First{k}", f"Last{k}", f"c{k}@example.com", company="Acme" if k % 2 else "")
        ids.append(store.add_profile(customer_id=k))
    return ids


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    return structured(
        await mcp.call_tool(tool, {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in arguments.items()})
    )


# --- sources ----------------------------------------------------------------------------------------------------


async def test_copy_a_segment_into_another_in_one_call(mcp: Client, store: FaultyStore, audit_path: Path) -> None:
    """One add call copies every member of one segment into another, answering a short summary with names."""
    members = people(store, 120)
    newsletter, friday = store.add_segment("Newsletter"), store.add_segment("Black Friday")
    store.add_members(newsletter, members)

    result = await mcp.call_tool(
        "add_profiles_to_segment", {"segment_id": str(friday), "from_segment_id": str(newsletter)}
    )

    data = structured(result)
    assert (data["added"], data["member_count"]) == (120, 120)
    assert data["added_people"][0] == "First1 Last1 <c1@example.com> (customer 1)"
    assert len(data["added_people"]) == 20
    assert "every member of segment 'Newsletter'" in data["summary"]
    assert len(text_of(result)) < 2_000
    assert store.members(friday) == members
    assert last_outcome(audit_path)["added"] == strs(members)


async def test_take_everyone_in_one_segment_out_of_another(mcp: Client, store: FaultyStore) -> None:
    """Removing another segment's members previews and removes only those who are in both segments."""
    everyone = people(store, 50)
    newsletter, wholesale = store.add_segment("Newsletter"), store.add_segment("Wholesale")
    store.add_members(newsletter, everyone[:40])
    store.add_members(wholesale, everyone[30:])  # 10 in both, 10 only in Wholesale

    preview = await preview_removal(mcp, newsletter, from_segment_id=str(wholesale))
    done = structured(await approve(mcp, newsletter, preview["preview_id"]))

    assert (preview["would_remove"], preview["not_members"], preview["membership_checked"]) == (10, 10, True)
    assert preview["people"][0] == "First31 Last31 <c31@example.com> (customer 31)"
    assert done["removed"] == 10
    assert store.members(newsletter) == everyone[:30]
    assert store.members(wholesale) == everyone[30:]


async def test_empty_a_segment_by_explicit_filters_only(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """Emptying a segment removes every member through id-filtered deletes, never an unfiltered one."""
    members = people(store, 130)
    store.add_members(segment, members)

    done = await remove(mcp, segment, all_members=True)

    assert (done["removed"], done["member_count"]) == (130, 0)
    deletes = [q for method, _, q in store.stats.requests if method == "DELETE"]
    assert len(deletes) == 3
    assert all(q.startswith("id%3Ain=") for q in deletes)
    assert store.stats.unfiltered_deletes == 0


async def test_a_source_larger_than_one_call_is_refused_before_any_write(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A source segment of more than 10,000 members is refused before any write, saying the limit."""
    big = store.add_segment("Everyone")
    store.add_members(big, store.add_profiles(10_001))

    result = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "from_segment_id": str(big)})

    assert result.is_error
    assert "has 10,001 members; one call moves at most 10,000" in text_of(result)
    assert store.stats.count("POST") == store.stats.count("DELETE") == 0


# --- pinned previews --------------------------------------------------------------------------------------------


async def test_confirm_without_a_preview_id_returns_the_preview_and_removes_nothing(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A confirmed removal without a preview ID removes nothing and answers a preview asking for one."""
    members = people(store, 3)
    store.add_members(segment, members)

    data = await call(mcp, "remove_profiles_from_segment", segment_id=segment, all_members=True, confirm=True)

    assert data["status"] == "preview"
    assert data["summary"].startswith("confirm=true needs the preview_id of a preview the user approved")
    assert store.stats.count("DELETE") == 0
    assert store.members(segment) == members


async def test_a_preview_is_single_use(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """A removal preview can be approved once; a second approval is refused and nothing more is deleted."""
    store.add_members(segment, people(store, 3))
    preview = await preview_removal(mcp, segment, all_members=True)

    first = await approve(mcp, segment, preview["preview_id"])
    second = await approve(mcp, segment, preview["preview_id"])

    assert structured(first)["removed"] == 3
    assert second.is_error
    assert "already approved and used" in text_of(second)
    assert store.stats.count("DELETE") == 1


async def test_an_expired_preview_removes_nothing(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, clock: VirtualClock
) -> None:
    """Approving a preview older than 15 minutes removes nothing and says the preview expired."""
    members = people(store, 3)
    store.add_members(segment, members)
    preview = await preview_removal(mcp, segment, all_members=True)

    clock.advance(15 * 60 + 1)
    result = await approve(mcp, segment, preview["preview_id"])

    assert result.is_error
    assert "expired (previews last 15 minutes)" in text_of(result)
    assert store.members(segment) == members


@pytest.mark.parametrize("preview_id", ["p0123456789", "other-segment"])
async def test_an_unknown_or_foreign_preview_removes_nothing(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, preview_id: str
) -> None:
    """Approving an unknown preview or one made for another segment removes nothing and says why."""
    members = people(store, 3)
    store.add_members(segment, members)
    other = store.add_segment("Other")
    store.add_members(other, members)
    foreign = preview_id == "other-segment"
    if foreign:
        preview_id = (await preview_removal(mcp, other, all_members=True))["preview_id"]

    result = await approve(mcp, segment, preview_id)

    assert result.is_error
    why = f"was made for segment {other}, not {segment}" if foreign else f"Preview {preview_id} is unknown (or expired)"
    assert why in text_of(result)
    assert store.stats.count("DELETE") == 0
    assert (store.members(segment), store.members(other)) == (members, members)


async def test_an_approved_preview_removes_exactly_the_pinned_profiles_still_members(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """An approved preview removes only its pinned profiles that are still members, leaving newcomers alone."""
    members = people(store, 4)
    store.add_members(segment, members)
    preview = await preview_removal(mcp, segment, profile_ids=strs(members[:3]))
    store.segments[segment].members.pop(members[0])  # someone else took one out meanwhile
    store.add_members(segment, people(store, 1, start=50))  # and added another, not in the preview

    done = structured(await approve(mcp, segment, preview["preview_id"]))

    assert (done["removed"], done["not_members"]) == (2, 1)
    assert last_outcome(audit_path)["removed"] == strs(members[1:3])
    assert members[3] in store.members(segment)
    assert len(store.members(segment)) == 2


async def test_the_operator_may_allow_removals_without_a_preview(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID
) -> None:
    """When the operator allows it, a confirmed removal goes ahead without a preview."""
    store.add_members(segment, people(store, 2))

    async with make_client(settings_=settings.model_copy(update={"confirm_without_preview": True})) as mcp:
        assert mcp.server_info is not None
        data = await call(mcp, "remove_profiles_from_segment", segment_id=segment, all_members=True, confirm=True)

    assert data["status"] == "removed"
    assert store.members(segment) == []


async def test_the_operators_leave_is_in_the_instructions(make_client: MakeClient, settings: Settings) -> None:
    """The server instructions mention BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW only when the operator has enabled it."""
    leave = settings.model_copy(update={"confirm_without_preview": True})
    async with make_client(settings_=leave, mode="legacy") as mcp, make_client(mode="legacy") as plain:
        assert "BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW" in (mcp.instructions or "")
        assert "BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW" not in (plain.instructions or "")


async def test_emails_can_be_kept_from_the_model(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID
) -> None:
    """With emails hidden, listings and previews show names and customer numbers but never email addresses."""
    store.add_members(segment, people(store, 2))

    async with make_client(settings_=settings.model_copy(update={"hide_emails": True})) as mcp:
        listed = await call(mcp, "list_segment_profiles", segment_id=segment)
        preview = await preview_removal(mcp, segment, all_members=True)

    assert [p["name"] for p in listed["profiles"]] == ["First1 Last1", "First2 Last2"]
    assert all(p.get("email") is None for p in listed["profiles"])
    assert preview["people"] == ["First1 Last1 (customer 1)", "First2 Last2 (customer 2)"]


# --- readable people --------------------------------------------------------------------------------------------


async def test_a_segment_lists_its_people_by_name_in_one_call(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Listing a segment gives each member's name, email and company in one call, in a short answer."""
    members = people(store, 12)
    store.add_members(segment, members)

    result = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)})

    data = structured(result)
    assert len(data["profiles"]) == 12
    assert data["profiles"][0] == {
        "id": str(members[0]),
        "customer_id": 1,
        "name": "First1 Last1",
        "email": "c1@example.com",
        "company": "Acme",
    }
    assert len(text_of(result)) < 2_000


async def test_id_only_paging_skips_the_customer_look_up(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """Listing a segment without names skips the customer look-up, returns IDs only, and is the smaller page."""
    store.add_members(segment, people(store, 120))

    named = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment), "limit": 120})
    looked_up = len([p for _, p, _ in store.stats.requests if p.endswith("/customers")])
    bare = await mcp.call_tool(
        "list_segment_profiles", {"segment_id": str(segment), "limit": 120, "include_names": False}
    )

    assert set(structured(bare)["profiles"][0]) == {"id", "customer_id"}
    assert len([p for _, p, _ in store.stats.requests if p.endswith("/customers")]) == looked_up
    assert len(text_of(bare)) < len(text_of(named))
    assert len(json.dumps(bare.structured_content)) < len(json.dumps(named.structured_content))


async def test_find_a_customer_by_name_within_a_segment(mcp: Client, store: FaultyStore) -> None:
    """Finding customers by name within a segment returns only the matches that are members of it."""
    vip = store.add_segment("VIP")
    for k in range(1, 6):
        store.customers[k] = Customer(k, "Kemi", "Smith", f"kemi{k}@example.com")
        store.add_profile(customer_id=k)
    store.add_members(vip, [next(p for p, v in store.profiles.items() if v.customer_id == 3)])

    data = await call(mcp, "find_shopper_profiles", name_contains="smith", in_segment_id=vip)

    assert [(f["customer_id"], f["email"]) for f in data["found"]] == [(3, "kemi3@example.com")]
    assert data["found"][0]["segments"] == [{"id": str(vip), "name": "VIP"}]
    assert "1 of them is in segment" in data["summary"]


# --- changes and undo -------------------------------------------------------------------------------------------


async def test_undoing_a_removal_re_adds_exactly_what_it_removed(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Undoing a removal re-adds exactly the removed profiles and is listed as a change that undoes it."""
    members = people(store, 5)
    store.add_members(segment, members)
    removed = await remove(mcp, segment, profile_ids=strs(members[:3]))

    undone = await call(mcp, "undo_change", change_id=removed["change_id"])
    changes = await call(mcp, "list_recent_changes")

    assert (undone["status"], undone["count"], undone["undone"]) == ("re-added", 3, removed["change_id"])
    assert set(store.members(segment)) == set(members)
    assert [(c["tool"], c["added"], c["removed"], c["undoes"]) for c in changes["changes"]] == [
        ("undo_change", 3, 0, removed["change_id"]),
        ("remove_profiles_from_segment", 0, 3, None),
    ]


async def test_undoing_an_add_is_a_preview_to_approve(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """Undoing an add first answers a preview of the newly added profiles and removes them only once approved."""
    old, new = people(store, 2), people(store, 3, start=10)
    store.add_members(segment, old)
    added = await call(mcp, "add_profiles_to_segment", segment_id=segment, profile_ids=strs(old + new))

    undo = await call(mcp, "undo_change", change_id=added["change_id"])
    assert store.members(segment) == old + new  # nothing removed yet
    done = structured(await approve(mcp, segment, undo["preview_id"]))

    assert (undo["status"], undo["count"]) == ("preview", 3)
    assert undo["people"][0] == "First10 Last10 <c10@example.com> (customer 10)"
    assert done["removed"] == 3
    assert store.members(segment) == old  # the ones that were members before stay


async def test_changes_and_undo_need_the_audit_log(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID
) -> None:
    """With the audit log off, writes carry no change ID and listing recent changes answers an error."""
    async with make_client(settings_=settings.model_copy(update={"audit_log": None})) as mcp:
        added = await call(mcp, "add_profiles_to_segment", segment_id=segment, profile_ids=strs(people(store, 1)))
        listed = await mcp.call_tool("list_recent_changes", {})

    assert added["change_id"] is None
    assert listed.is_error
    assert "audit log is off" in text_of(listed)


# --- errors that say what to do ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"profile_ids": [4812]}, "profile_ids takes shopper profile UUIDs; 4812 looks like a customer number"),
        ({"profile_ids": ["4812"]}, "pass customer_ids=[4812] instead"),
        ({"segment_id": "VIP customers"}, "to find a segment by name call list_segments(name_contains=...)"),
        ({}, "needs one source of profiles: profile_ids, customer_ids, from_segment_id or customers_where"),
        (
            {"profile_ids": [str(uuid.uuid4())], "from_segment_id": str(uuid.uuid4())},
            "not profile_ids and from_segment_id",
        ),
        ({"profile_ids": ["x"] * 10_000}, "10,000 of its items are not UUIDs"),
    ],
)
async def test_argument_errors_name_the_argument_and_the_fix(
    mcp: Client, store: FaultyStore, arguments: dict[str, Any], expected: str
) -> None:
    """Bad add arguments get a short error naming the argument and the fix, with no request sent."""
    result = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(uuid.uuid4()), **arguments})

    assert result.is_error
    assert expected in text_of(result)
    assert len(text_of(result).splitlines()) <= 3
    assert "pydantic.dev" not in text_of(result)
    assert store.stats.requests == []


async def test_a_write_where_many_things_fail_still_answers_in_few_characters(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An add with 2,000 distinct failures still answers under 2,000 characters, naming the first 3 reasons."""
    ghosts = [str(uuid.uuid4()) for _ in range(2_000)]  # unknown profiles, each rejected by name
    members = people(store, 10)

    result = await mcp.call_tool(
        "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [*strs(members), *ghosts]}
    )

    data = structured(result)
    assert (data["requested"], data["added"], data["already_members"]) == (2_010, 10, 0)
    assert "2,000 FAILED" in text_of(result)
    assert "1,999 other reasons; `failed` has the first 3" in text_of(result)
    assert len(data["failed"]) == 3  # 2,000 distinct reasons: the first 3 are named, the audit log has all
    assert all(len(group["ids"]) <= 5 and set(group["ids"]) <= set(ghosts) for group in data["failed"])
    assert len(text_of(result)) < 2_000
