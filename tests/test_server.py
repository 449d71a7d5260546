"""The three tools through a real MCP client, in both protocol eras, against the fake store."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from mcp_bigcommerce_segments.emulator.faults import FaultyStore

from .conftest import audit_lines, last_outcome, remove, strs, structured, text_of

pytestmark = pytest.mark.anyio


async def test_list_returns_one_page_with_totals_and_next_page(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Listing a segment returns the asked page with totals and a summary pointing to the next page."""
    members = store.add_profiles(120)
    store.add_members(segment, members)

    result = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment), "page": 2, "limit": 50})

    data = structured(result)
    assert [p["id"] for p in data["profiles"]] == [str(m) for m in members[50:100]]
    assert (data["total"], data["count"], data["per_page"], data["current_page"], data["total_pages"]) == (
        120,
        50,
        50,
        2,
        3,
    )
    assert data["next_page"] == 3
    assert "page=3" in data["summary"]
    listing = [r for r in store.stats.requests if r[1].endswith("/shopper-profiles")]
    assert listing[-1][2] == "page=2&limit=50"


async def test_list_last_page_has_no_next_page(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """The last page of a listing has no next page and its summary says it is the last."""
    store.add_members(segment, store.add_profiles(3))

    data = structured(await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)}))

    assert data["next_page"] is None
    assert data["total"] == 3
    assert "last page" in data["summary"]


async def test_list_text_content_is_summary_then_compact_json(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A listing's text is a one-line summary followed by compact single-line JSON."""
    store.add_members(segment, store.add_profiles(2))

    text = text_of(await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)}))

    summary, body = text.split("\n", 1)
    assert summary.startswith("Profiles 1-2 of 2")
    assert "\n" not in body
    assert ": " not in body


async def test_add_reports_added_and_already_members(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """An add reports which profiles were added and which were already members, with the new member count."""
    old, new = store.add_profiles(2), store.add_profiles(3)
    store.add_members(segment, old)

    result = await mcp.call_tool(
        "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in old + new]}
    )

    data = structured(result)
    assert (data["added"], data["already_members"], data["failed"]) == (3, 2, [])
    assert data["member_count"] == 5
    assert set(store.members(segment)) == set(old + new)
    assert data["summary"].startswith("Added 3 profiles")
    assert "The segment now has 5 members" in data["summary"]
    outcome = last_outcome(audit_path)
    assert outcome["added"] == strs(new)
    assert outcome["already_members"] == strs(old)
    assert outcome["change_id"] == data["change_id"]


async def test_add_sends_a_bare_json_array(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """An add sends the profile IDs as one bare JSON array with a JSON content type."""
    ids = store.add_profiles(2)

    await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]})

    post = [n for n, r in enumerate(store.stats.requests) if r[0] == "POST"]
    assert len(post) == 1
    assert store.stats.bodies[post[0]] == f'["{ids[0]}","{ids[1]}"]'.encode()
    assert store.stats.headers[post[0]]["content-type"] == "application/json"


async def test_remove_without_confirm_sends_no_delete(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """A removal without confirm removes nothing and answers a preview with its ID and how to confirm."""
    members = store.add_profiles(3)
    store.add_members(segment, members)

    result = await mcp.call_tool(
        "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(members[0])]}
    )

    data = structured(result)
    assert data["status"] == "preview"
    assert data["would_remove"] == 1
    assert data["preview_id"] in data["summary"]
    assert "confirm=true" in data["summary"]
    assert store.stats.count("DELETE") == 0
    assert store.members(segment) == members


async def test_remove_preview_names_non_members(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """A removal preview separates members to remove from non-members and names the people affected."""
    member, stranger = store.add_profiles(2)
    store.add_members(segment, [member])

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(member), str(stranger)]}
        )
    )

    assert (data["would_remove"], data["not_members"]) == (1, 1)
    assert data["people"] == [f"shopper profile {member}"]  # the store has no customer record for it
    assert data["membership_checked"] is True


async def test_remove_with_confirm_removes_exactly_those(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A confirmed removal deletes exactly the given members with one filtered DELETE and audits intent and outcome."""
    members = store.add_profiles(4)
    store.add_members(segment, members)

    data = await remove(mcp, segment, profile_ids=[str(members[1]), str(members[2])])

    assert data["status"] == "removed"
    assert data["removed"] == 2
    assert data["member_count"] == 2
    assert last_outcome(audit_path)["removed"] == strs(members[1:3])
    assert store.members(segment) == [members[0], members[3]]
    deletes = [r for r in store.stats.requests if r[0] == "DELETE"]
    assert deletes == [
        ("DELETE", f"/stores/abc123/v3/segments/{segment}/shopper-profiles", f"id%3Ain={members[1]}%2C{members[2]}")
    ]
    assert store.stats.unfiltered_deletes == 0
    events = [(line["event"], line["tool"]) for line in audit_lines(audit_path)]
    assert events == [("intent", "remove_profiles_from_segment"), ("outcome", "remove_profiles_from_segment")]


async def test_remove_of_non_members_only_sends_nothing(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """A confirmed removal of non-members only sends no DELETE and says there is nothing to remove."""
    stranger = store.add_profile()

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(segment), "profile_ids": [str(stranger)], "confirm": True},
        )
    )

    assert (data["removed"], data["not_members"]) == (0, 1)
    assert "Nothing to remove" in data["summary"]
    assert store.stats.count("DELETE") == 0


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("list_segment_profiles", {"segment_id": "not-a-uuid"}),
        ("list_segment_profiles", {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "limit": 251}),
        ("list_segment_profiles", {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "page": 0}),
        ("add_profiles_to_segment", {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "profile_ids": []}),
        ("add_profiles_to_segment", {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "profile_ids": ["a,b"]}),
        ("add_profiles_to_segment", {"segment_id": "../x", "profile_ids": ["5e9a1c00-0000-4000-8000-000000000001"]}),
        (
            "remove_profiles_from_segment",
            {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "profile_ids": [""], "confirm": True},
        ),
        (
            "remove_profiles_from_segment",
            {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "profile_ids": [], "confirm": True},
        ),
    ],
)
async def test_invalid_arguments_are_rejected_before_any_request(
    mcp: Client, store: FaultyStore, tool: str, args: dict[str, object]
) -> None:
    """Malformed segment or profile IDs, or an empty list, are refused before any request is sent."""
    result = await mcp.call_tool(tool, args)

    assert result.is_error
    assert store.stats.requests == []


async def test_oversize_id_list_is_rejected_before_any_request(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A list of more than 10,000 profile IDs is refused up front with a short message on how to split it."""
    ids = [str(uuid.uuid4()) for _ in range(10_001)]

    result = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": ids})

    assert result.is_error
    assert "profile_ids takes 1 to 10,000 items; it has 10,001. Split it into calls of at most 10,000." in text_of(
        result
    )
    assert len(text_of(result).splitlines()) <= 3
    assert store.stats.requests == []


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("remove_profiles_from_segment", {"all_members": True, "except_segment_id": "VIP"}, "'except_segment_id'"),
        ("add_profiles_to_segment", {"customer_id": [10]}, "'customer_id' (did you mean 'customer_ids'?)"),
        ("list_segment_profiles", {"page_size": 10}, "'page_size'"),
    ],
)
async def test_an_unknown_argument_is_refused_by_name_before_anything_is_read(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, tool: str, arguments: dict[str, Any], named: str
) -> None:
    """An argument a tool does not take is a tool error naming it and the tool's arguments; no request is sent."""
    members = store.add_profiles(3)
    store.add_members(segment, members)

    result = await mcp.call_tool(tool, {"segment_id": str(segment), **arguments})

    assert result.is_error
    text = text_of(result)
    assert f"{tool} does not take {named}; nothing was read or changed. Its arguments are: segment_id, " in text
    assert store.stats.requests == []
    assert store.members(segment) == members


async def test_every_tool_schema_refuses_other_properties_and_describes_each_argument(mcp: Client) -> None:
    """Each tool's input schema says additionalProperties false, and every argument has a description on itself."""
    for tool in (await mcp.list_tools()).tools:
        schema = tool.input_schema
        assert schema["additionalProperties"] is False, tool.name
        undescribed = [name for name, prop in schema["properties"].items() if not prop.get("description")]
        assert undescribed == [], tool.name


@pytest.mark.parametrize(
    ("name", "arguments", "said"),
    [
        ("no_such_prompt", {}, "Unknown prompt 'no_such_prompt'; the prompts are: review_segment, "),
        ("review_segment", {}, "Prompt 'review_segment' needs the argument(s): segment."),
    ],
)
async def test_a_bad_prompt_request_is_invalid_params_in_one_line(
    mcp: Client, name: str, arguments: dict[str, str], said: str
) -> None:
    """An unknown prompt or a missing prompt argument is JSON-RPC -32602 with one line saying what to send."""
    with pytest.raises(MCPError) as raised:
        await mcp.get_prompt(name, arguments)

    assert raised.value.code == INVALID_PARAMS
    assert raised.value.message.startswith(said)
    assert "\n" not in raised.value.message


async def test_an_extra_prompt_argument_or_a_giant_number_is_a_clear_error(mcp: Client, segment: uuid.UUID) -> None:
    """An argument a prompt does not take is -32602 in one line; a 5,000-digit 'profile ID' gets an argument
    sentence, not a traceback."""
    with pytest.raises(MCPError) as raised:
        await mcp.get_prompt("review_segment", {"segment": "VIP", "extra": "x"})
    giant = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": ["9" * 5000]})
    huge = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": [10**30]})

    assert raised.value.code == INVALID_PARAMS
    assert "does not take extra; it takes: segment" in raised.value.message
    assert giant.is_error
    assert "profile_ids takes shopper profile UUIDs" in text_of(giant)
    assert huge.is_error
    assert "at most 2,147,483,647" in text_of(huge)
