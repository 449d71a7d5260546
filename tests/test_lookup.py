"""Acting on names: find segments, a profile's segments, and shopper profiles from customer IDs."""

import sys
import uuid
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from mcp_bigcommerce_segments import sandbox
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.sandbox import SEGMENTS
from mcp_bigcommerce_segments.server import build_server

from .conftest import BoundedClient, last_outcome, structured, text_of
from .support.stdio import STORE, TOKEN, server_env

pytestmark = pytest.mark.anyio


def seed_customers(store: FaultyStore, with_profile: range, without_profile: range) -> dict[int, uuid.UUID]:
    profiles = {}
    for n in [*with_profile, *without_profile]:
        store.customers[n] = Customer(n, "Ada", f"Smith{n}", f"ada{n}@example.com", company="Acme")
    for n in with_profile:
        profiles[n] = store.add_profile(customer_id=n)
    return profiles


async def test_list_segments_pages_with_totals(mcp: Client, store: FaultyStore) -> None:
    """Listing segments returns the asked page with totals, the next page and each segment's fields."""
    for n in range(7):
        store.add_segment(f"Segment {n}", "desc")

    data = structured(await mcp.call_tool("list_segments", {"page": 2, "limit": 3}))

    assert [s["name"] for s in data["segments"]] == ["Segment 3", "Segment 4", "Segment 5"]
    assert (data["total"], data["total_pages"], data["next_page"]) == (7, 3, 3)
    assert set(data["segments"][0]) == {"id", "name", "description", "created_at", "updated_at", "promotions"}
    assert data["segments"][0]["promotions"] == []  # none name it
    assert store.stats.requests[0] == ("GET", f"/stores/{STORE}/v3/segments", "page=2&limit=3")


async def test_name_contains_searches_every_page_case_insensitively(mcp: Client, store: FaultyStore) -> None:
    """A segment name search reads every page in pages of 250 and matches the name regardless of case."""
    for n in range(600):
        store.add_segment("VIP customers" if n in (10, 520) else f"Other {n}")

    data = structured(await mcp.call_tool("list_segments", {"name_contains": "vip"}))

    assert [s["name"] for s in data["segments"]] == ["VIP customers", "VIP customers"]
    assert data["total"] == 2
    assert data["searched_all"] is True
    queries = [q for m, p, q in store.stats.requests if p.endswith("/segments")]
    assert queries == ["page=1&limit=250", "page=2&limit=250", "page=3&limit=250"]


async def test_name_search_says_when_it_stopped_early(mcp: Client, store: FaultyStore) -> None:
    """A segment name search stops after 1,000 segments and says there may be more."""
    for n in range(1_100):
        store.add_segment(f"Promo {n}")

    data = structured(await mcp.call_tool("list_segments", {"name_contains": "promo", "limit": 10}))

    assert data["searched_all"] is False
    assert data["total"] == 1_000
    assert "there may be more" in data["summary"]
    assert sum(1 for _, path, _ in store.stats.requests if path.endswith("/segments")) == 4


async def test_get_profile_segments(mcp: Client, store: FaultyStore) -> None:
    """Asking for a profile's segments lists every segment the profile belongs to, with the total."""
    profile = store.add_profile()
    a, b, _ = store.add_segment("A"), store.add_segment("B"), store.add_segment("C")
    store.add_members(a, [profile])
    store.add_members(b, [profile])

    data = structured(await mcp.call_tool("get_profile_segments", {"profile_id": str(profile)}))

    assert [s["id"] for s in data["segments"]] == [str(a), str(b)]
    assert data["total"] == 2
    assert store.stats.requests[-1][1] == f"/stores/{STORE}/v3/shopper-profiles/{profile}/segments"


async def test_get_profile_segments_of_unknown_profile_is_404(mcp: Client) -> None:
    """Asking for the segments of an unknown profile answers a 404 tool error."""
    result = await mcp.call_tool("get_profile_segments", {"profile_id": str(uuid.uuid4())})

    assert result.is_error
    assert "404" in text_of(result)


async def test_find_shopper_profiles_sorts_every_customer(mcp: Client, store: FaultyStore) -> None:
    """Finding profiles by customer ID sorts customers into found, without profile and not found, in one request."""
    profiles = seed_customers(store, range(1, 4), range(4, 6))
    segment = store.add_segment("VIP")
    store.add_members(segment, [profiles[1]])

    data = structured(await mcp.call_tool("find_shopper_profiles", {"customer_ids": [1, 2, 3, 4, 5, 99, 1]}))

    assert [(f["customer_id"], f["shopper_profile_id"]) for f in data["found"]] == [
        (n, str(profiles[n])) for n in (1, 2, 3)
    ]
    assert data["found"][0]["name"] == "Ada Smith1"
    assert data["found"][0]["segments"] == [{"id": str(segment), "name": "VIP"}]
    assert data["found"][1]["segments"] == []
    assert data["found"][0]["email"] == "ada1@example.com"
    assert data["without_profile"] == [4, 5]
    assert data["not_found"] == [99]
    customer_queries = [q for _, path, q in store.stats.requests if path.endswith("/customers")]
    assert customer_queries == [
        "id%3Ain=1%2C2%2C3%2C4%2C5%2C99&include=shopper_profile_id%2Csegment_ids&page=1&limit=250"
    ]


async def test_missing_beta_include_is_a_clear_error(mcp: Client, store: FaultyStore) -> None:
    """A store without the beta shopper-profile include gives a tool error that mentions the beta."""
    seed_customers(store, range(1, 3), range(0))
    store.include_shopper_profile = False

    result = await mcp.call_tool("find_shopper_profiles", {"customer_ids": [1, 2]})

    assert result.is_error
    assert "beta" in text_of(result)


async def test_add_by_customer_ids_reports_customers_without_profile(
    mcp: Client, store: FaultyStore, audit_path: Path
) -> None:
    """Adding by customer ID adds those with profiles and names customers without a profile or not in the store."""
    profiles = seed_customers(store, range(1, 4), range(4, 5))
    segment = store.add_segment("VIP")

    data = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": [1, 2, 3, 4, 77]})
    )

    assert data["added"] == 3
    assert last_outcome(audit_path)["added"] == [str(profiles[n]) for n in (1, 2, 3)]
    assert data["added_people"][0] == "Ada Smith1 <ada1@example.com> (customer 1)"
    assert data["customers_without_profile"] == [4]
    assert data["customers_not_found"] == [77]
    assert "1 customer has no shopper profile yet (cannot be in a segment): 4" in data["summary"]
    assert "1 customer is not in the store: 77" in data["summary"]
    assert set(store.members(segment)) == set(profiles.values())


async def test_add_by_customer_ids_resolves_in_batches_of_250(mcp: Client, store: FaultyStore) -> None:
    """Adding 600 customers by ID resolves their profiles in three look-ups of up to 250."""
    seed_customers(store, range(1, 601), range(0))
    segment = store.add_segment("VIP")

    data = structured(
        await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": list(range(1, 601))}
        )
    )

    assert data["added"] == 600
    assert sum(1 for _, p, q in store.stats.requests if p.endswith("/customers") and "include" in q) == 3


@pytest.mark.parametrize("args", [{}, {"profile_ids": [str(uuid.uuid4())], "customer_ids": [1]}])
async def test_add_needs_exactly_one_kind_of_id(mcp: Client, store: FaultyStore, args: dict[str, object]) -> None:
    """An add with no source of profiles or more than one is refused before any request is sent."""
    segment = store.add_segment("VIP")

    result = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), **args})

    assert result.is_error
    assert "one source of profiles" in text_of(result)
    assert "profile_ids, customer_ids, from_segment_id or customers_where" in text_of(result)
    assert store.stats.requests == []


async def test_add_by_customers_none_with_a_profile_adds_nothing(mcp: Client, store: FaultyStore) -> None:
    """An add by customer IDs where no customer has a profile sends nothing and answers an error saying so."""
    seed_customers(store, range(0), range(1, 3))
    segment = store.add_segment("VIP")

    result = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": [1, 2]})

    assert result.is_error
    assert "without one yet" in text_of(result)
    assert store.stats.count("POST") == 0


async def test_sandbox_has_named_segments_and_customers(settings: Settings) -> None:
    """The sandbox offers named segments and customers to find, and its summaries are marked [SANDBOX]."""
    sandboxed = settings.model_copy(update=dict(sandbox=True, access_token=SecretStr("anything"), audit_log=None))
    async with BoundedClient(build_server(sandboxed, transport=sandbox.transport(sandboxed.store_hash))) as mcp:
        segments = structured(await mcp.call_tool("list_segments", {"name_contains": "black friday"}))
        customers = structured(await mcp.call_tool("find_shopper_profiles", {"customer_ids": [1, 295]}))

    assert [s["id"] for s in segments["segments"]] == [str(SEGMENTS[2][0])]
    assert customers["found"][0]["customer_id"] == 1
    assert customers["without_profile"] == [295]
    assert customers["summary"].startswith("[SANDBOX]")


@pytest.mark.subprocess
async def test_names_to_membership_end_to_end_over_stdio(tmp_path: Path) -> None:
    """Over stdio, a segment found by name gets a customer added by ID, who then shows in that segment."""
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=450)
    profiles = seed_customers(store, range(4810, 4815), range(0))
    vip = store.add_segment("VIP customers")
    store.add_segment("Newsletter")
    with serve(store) as url:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_bigcommerce_segments"],
            env=server_env(url, tmp_path / "audit.jsonl"),
        )
        async with Client(params) as client:
            found = structured(await client.call_tool("list_segments", {"name_contains": "VIP"}))
            segment_id = found["segments"][0]["id"]
            added = structured(
                await client.call_tool("add_profiles_to_segment", {"segment_id": segment_id, "customer_ids": [4812]})
            )
            where = structured(await client.call_tool("get_profile_segments", {"customer_id": 4812}))

    assert segment_id == str(vip)
    assert added["added"] == 1
    assert added["added_people"] == ["Ada Smith4812 <ada4812@example.com> (customer 4812)"]
    assert where["profile_id"] == str(profiles[4812])
    assert [s["name"] for s in where["segments"]] == ["VIP customers"]


async def test_a_store_capping_pages_at_50_still_finds_and_resolves(mcp: Client, store: FaultyStore) -> None:
    """A store capping pages at 50 still has segments found by name and customers resolved, without 429s."""
    store.max_limit = 50
    for n in range(120):
        store.add_segment("VIP customers" if n == 110 else f"Other {n}")
    profiles = seed_customers(store, range(1, 61), range(0))

    found = structured(await mcp.call_tool("list_segments", {"name_contains": "vip"}))
    resolved = structured(await mcp.call_tool("find_shopper_profiles", {"customer_ids": list(range(1, 61))}))

    assert [s["name"] for s in found["segments"]] == ["VIP customers"]
    assert found["searched_all"] is True
    assert [f["shopper_profile_id"] for f in resolved["found"]] == [str(profiles[n]) for n in range(1, 61)]
    assert store.stats.rate_limited == 0


async def test_a_store_capping_pages_at_50_still_previews_a_removal(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A store capping pages at 50 still gets a removal preview with the membership checked."""
    store.max_limit = 50
    members = store.add_profiles(3)
    store.add_members(segment, members)

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(members[0])]}
        )
    )

    assert data["status"] == "preview"
    assert data["would_remove"] == 1
    # The client learns the store's page cap from the first 413 and reads the segment in pages of 50 instead.
    assert data["membership_checked"] is True


async def test_find_by_name_lists_every_match_for_the_user_to_choose(mcp: Client, store: FaultyStore) -> None:
    """Finding customers by name lists every match with company and asks the user to choose which one is meant."""
    store.customers[1] = Customer(1, "Ada", "Smith", "ada@example.com", company="Acme")
    store.customers[2] = Customer(2, "Bob", "Smithers", "bob@example.com")
    store.customers[3] = Customer(3, "Cy", "Jones", "cy@example.com")
    store.customers[4] = Customer(4, "Di", "Smith", "di@example.com")
    profiles = {n: store.add_profile(customer_id=n) for n in (1, 2, 3)}

    data = structured(await mcp.call_tool("find_shopper_profiles", {"name_contains": "SMITH"}))

    assert [(f["customer_id"], f["shopper_profile_id"]) for f in data["found"]] == [
        (1, str(profiles[1])),
        (2, str(profiles[2])),
    ]
    assert data["without_profile"] == [4]
    assert data["found"][0]["company"] == "Acme"
    assert "ask the user which one is meant" in data["summary"]
    assert store.stats.requests[-1][2] == ("include=shopper_profile_id%2Csegment_ids&name%3Alike=SMITH&page=1&limit=50")


async def test_find_by_email(mcp: Client, store: FaultyStore) -> None:
    """Finding by email returns the shopper profile of the customer with that email."""
    profiles = seed_customers(store, range(1, 4), range(0))

    data = structured(await mcp.call_tool("find_shopper_profiles", {"email": "ada2@example.com"}))

    assert [f["shopper_profile_id"] for f in data["found"]] == [str(profiles[2])]


@pytest.mark.parametrize("args", [{}, {"customer_ids": [1], "email": "a@b.c"}])
async def test_find_needs_exactly_one_way_to_look(mcp: Client, store: FaultyStore, args: dict[str, object]) -> None:
    """A profile search with no criterion or more than one is refused before any request is sent."""
    result = await mcp.call_tool("find_shopper_profiles", args)

    assert result.is_error
    assert "exactly one of customer_ids, name_contains, email or customers_where" in text_of(result)
    assert store.stats.requests == []
