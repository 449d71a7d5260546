"""customers_where: each field alone and combined, against the stateful fake; the filters pushed to BigCommerce; the
bounds checked before the long reads; the Orders scope; and the writes it drives."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from mcp import Client

from bench.tasks import SELECTING, measure
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.tools import tally, where

from .conftest import MakeClient, audit_lines, structured, text_of

pytestmark = pytest.mark.anyio

RETAIL, WHOLESALE, TRADE = 1, 2, 3


def day(text: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(text).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def shop(store: FaultyStore) -> dict[str, Any]:
    """Ten customers (9 with a profile), three groups, segments VIP (1-4) and Newsletter (1-8), and orders."""
    for group_id, name in ((RETAIL, "Retail"), (WHOLESALE, "Wholesale"), (TRADE, "Trade")):
        store.add_group(group_id, name, is_default=group_id == RETAIL)
    profiles = {}
    for n in range(1, 11):
        group = WHOLESALE if n in (2, 4, 6, 10) else TRADE if n == 9 else RETAIL
        company = "Acme Supply" if n in (2, 4) else "Globex" if n == 6 else ""
        email = f"c{n}@acme.com" if n in (2, 3) else f"c{n}@example.com"
        created = day(f"2026-{n:02d}-01", hour=0)  # customer n signed up at midnight on the 1st of month n
        store.customers[n] = Customer(n, f"Ada{n}", "Smith" if n < 5 else "Jones", email, company, group, created)
        if n != 10:
            profiles[n] = store.add_profile(customer_id=n)
    vip, newsletter = store.add_segment("VIP"), store.add_segment("Newsletter")
    store.add_members(vip, [profiles[n] for n in range(1, 5)])
    store.add_members(newsletter, [profiles[n] for n in range(1, 9)])
    # Orders: customer 2 spent 600 in two counted orders since September; customer 4 one counted order of 250 and a
    # cancelled one of 900; customer 6 a counted order on 2026-10-01 (the `before` day); a guest order; customer 5 an
    # order in spring only.
    store.add_order(2, day("2026-09-03"), "400.00", status_id=10)
    store.add_order(2, day("2026-09-20"), "200.00", status_id=2)
    store.add_order(4, day("2026-09-05"), "250.00", status_id=11)
    store.add_order(4, day("2026-09-06"), "900.00", status_id=5)
    store.add_order(6, day("2026-10-01", hour=0), "700.00", status_id=10)
    store.add_order(0, day("2026-09-10"), "999.00", status_id=10)
    store.add_order(5, day("2026-04-02"), "80.00", status_id=10)
    return {"profiles": profiles, "vip": vip, "newsletter": newsletter}


@pytest.fixture
async def mcp1(make_client: MakeClient) -> AsyncIterator[Client]:
    """One protocol era is enough here: the criteria do not touch the transport."""
    async with make_client(mode="auto") as client:
        yield client


async def find(mcp: Client, **criteria: Any) -> dict[str, Any]:
    return structured(await mcp.call_tool("find_shopper_profiles", {"customers_where": criteria}))


def customers_found(data: dict[str, Any]) -> list[int]:
    return [f["customer_id"] for f in data["found"]]


def queries(store: FaultyStore, path_end: str) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(q).items()} for m, p, q in store.stats.requests if p.endswith(path_end)]


async def test_group_by_name_any_case_pushes_the_group_filter(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """A group named in any case is found among the store's groups and pushed as customer_group_id:in."""
    data = await find(mcp1, customer_group="wholesale")

    assert customers_found(data) == [2, 4, 6]
    assert data["without_profile"] == [10]
    assert data["matched"] == 4
    assert data["summary"].startswith("4 customers in group 'Wholesale' (1 has no shopper profile yet)")
    assert queries(store, "/customers")[0]["customer_group_id:in"] == str(WHOLESALE)
    assert len(queries(store, "/customer_groups")) == 1


async def test_group_by_number(mcp1: Client, shop: dict[str, Any]) -> None:
    """A group given as digits is the group with that number."""
    assert customers_found(await find(mcp1, customer_group="3")) == [9]


async def test_unknown_group_lists_the_store_groups(mcp1: Client, store: FaultyStore, shop: dict[str, Any]) -> None:
    """A group name the store does not have is refused with the store's group names; no customer is read."""
    result = await mcp1.call_tool("find_shopper_profiles", {"customers_where": {"customer_group": "VIPs"}})

    assert result.is_error
    assert "no customer group 'VIPs'" in text_of(result)
    assert "'Retail', 'Wholesale', 'Trade'" in text_of(result)
    assert queries(store, "/customers") == []


async def test_company_and_name_are_pushed(mcp1: Client, store: FaultyStore, shop: dict[str, Any]) -> None:
    """company and name_contains become BigCommerce's company:in and name:like filters."""
    assert customers_found(await find(mcp1, company="Acme Supply")) == [2, 4]
    assert customers_found(await find(mcp1, name_contains="jones", company="Globex")) == [6]
    pushed = queries(store, "/customers")
    assert pushed[0]["company:in"] == "Acme Supply"
    assert (pushed[1]["name:like"], pushed[1]["company:in"]) == ("jones", "Globex")


async def test_email_domain_is_matched_here_any_case(mcp1: Client, store: FaultyStore, shop: dict[str, Any]) -> None:
    """email_domain has no API filter: customers are read (narrowed by the other fields) and matched here."""
    assert customers_found(await find(mcp1, email_domain="@ACME.com")) == [2, 3]
    assert customers_found(await find(mcp1, email_domain="acme.com", customer_group="Wholesale")) == [2]
    assert "email" not in str(queries(store, "/customers"))


async def test_sign_up_window_is_exact_at_both_ends(mcp1: Client, store: FaultyStore, shop: dict[str, Any]) -> None:
    """signed_up_after is on or after midnight UTC, signed_up_before strictly before it, whatever the API's own
    boundaries: the filter sent is a day wider on each side, and the window is checked exactly here."""
    data = await find(mcp1, signed_up_after="2026-03-01", signed_up_before="2026-05-01")

    assert customers_found(data) == [3, 4]  # customer 5 signed up at 2026-05-01T00:00:00: not before that day
    assert "who signed up between 2026-03-01 and 2026-04-30" in data["summary"]
    pushed = queries(store, "/customers")[0]
    assert (pushed["date_created:min"], pushed["date_created:max"]) == ("2026-02-28", "2026-05-02")


async def test_spend_counts_only_paid_orders_in_the_window(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """min_spent adds up counted orders in the window: a cancelled order, a guest's order and an order on the
    `before` day do not count."""
    data = await find(mcp1, min_spent=500, ordered_after="2026-09-01", ordered_before="2026-10-01")

    assert customers_found(data) == [2]
    assert data["summary"].startswith("1 customer who spent at least 500.00 between 2026-09-01 and 2026-09-30")
    assert queries(store, "/orders") == [
        {
            "min_date_created": "2026-09-01T00:00:00+00:00",
            "max_date_created": "2026-09-30T23:59:59+00:00",
            "page": "1",
            "limit": "250",
        }
    ]


async def test_min_orders_counts_orders(mcp1: Client, shop: dict[str, Any]) -> None:
    """min_orders needs that many counted orders; any order field alone means at least one."""
    assert customers_found(await find(mcp1, min_orders=2)) == [2]
    assert customers_found(await find(mcp1, ordered_after="2026-09-01")) == [2, 4, 6]


async def test_no_order_since_keeps_who_never_ordered(mcp1: Client, shop: dict[str, Any]) -> None:
    """no_order_since drops customers with a counted order since that day; those who never ordered match, and so
    does a customer whose only recent order was cancelled."""
    data = await find(mcp1, no_order_since="2026-09-01")

    assert customers_found(data) == [1, 3, 5, 7, 8, 9]
    assert data["without_profile"] == [10]


async def test_segments_intersect_and_subtract(mcp1: Client, store: FaultyStore, shop: dict[str, Any]) -> None:
    """in_segments needs every one of them, not_in_segments none; the segments are read, no customer filter is."""
    vip, newsletter = str(shop["vip"]), str(shop["newsletter"])

    assert customers_found(await find(mcp1, in_segments=[vip, newsletter], customer_group="Wholesale")) == [2, 4]
    data = await find(mcp1, in_segments=[newsletter], not_in_segments=[vip])

    assert customers_found(data) == [5, 6, 7, 8]
    assert data["summary"].startswith("4 customers in segment 'Newsletter' not in segment 'VIP'")
    by_id = queries(store, "/customers")[0]
    assert by_id["customer_group_id:in"] == str(WHOLESALE)
    assert by_id["id:in"] == "1,2,3,4"


async def test_orders_are_read_per_customer_when_fewer_than_pages(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """With three candidates and four pages of orders in the window (after the first), each candidate's orders are
    read instead of the other pages."""
    for _ in range(1_000):
        store.add_order(7, day("2026-09-02"), "1.00", status_id=10)

    data = await find(mcp1, in_segments=[str(shop["newsletter"])], customer_group="Wholesale", min_spent=300)

    assert customers_found(data) == [2, 6]
    reads = queries(store, "/orders")
    assert reads[0] == {"page": "1", "limit": "250"}
    assert sorted(q["customer_id"] for q in reads[1:]) == ["2", "4", "6"]
    assert len(queries(store, "/orders/count")) == 1


async def test_two_candidates_are_read_per_customer_at_once(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """Two candidates cost two reads, without a look at the window first."""
    data = await find(mcp1, in_segments=[str(shop["vip"])], company="Acme Supply", min_spent=300)

    assert customers_found(data) == [2]
    assert sorted(q["customer_id"] for q in queries(store, "/orders")) == ["2", "4"]
    assert queries(store, "/orders/count") == []


async def test_an_empty_window_is_a_204_and_matches_nobody(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """A window without orders (V2 answers 204 with no body) matches nobody, without an error."""
    data = await find(mcp1, ordered_after="2027-01-01")

    assert (data["matched"], data["found"]) == (0, [])


@pytest.mark.parametrize(
    "criteria", [{"min_spent": 10}, {"customer_group": "Trade", "min_spent": 10}, {"no_order_since": "2026-01-01"}]
)
async def test_missing_orders_scope_names_it_and_other_fields_still_work(
    make_client: MakeClient, store: FaultyStore, shop: dict[str, Any], criteria: dict[str, Any]
) -> None:
    """Without the Orders read scope an order field answers which scope is missing, whether orders are read for the
    window or per customer (at once); the other fields work."""
    store.missing_scopes.add("orders")
    async with make_client(mode="auto") as mcp:
        refused = await mcp.call_tool("find_shopper_profiles", {"customers_where": criteria})
        fine = await find(mcp, customer_group="Trade")

    assert refused.is_error
    assert text_of(refused).startswith("Error executing tool find_shopper_profiles: The order fields of")
    assert "Orders read scope (store_v2_orders_read_only)" in text_of(refused)
    assert customers_found(fine) == [9]


async def test_customer_bound_is_checked_on_the_first_page(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """More customers to read than the bound is refused from the first page's total, with what narrows it."""
    monkeypatch.setattr(where, "MAX_READ", 5)

    result = await mcp1.call_tool("find_shopper_profiles", {"customers_where": {"name_contains": "ad"}})

    assert result.is_error
    assert "10 customers match the API's filters (named like 'ad'): a selection reads at most 5" in text_of(result)
    assert "Add customer_group or signed_up_after or company to narrow it" in text_of(result)
    assert len(queries(store, "/customers")) == 1


async def test_order_bound_is_checked_on_the_count(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window whose first page is full is counted; more orders than the bound is refused before the other
    pages are read."""
    monkeypatch.setattr(tally, "MAX_READ", 300)
    for _ in range(300):
        store.add_order(7, day("2026-02-02"), "1.00", status_id=10)

    result = await mcp1.call_tool("find_shopper_profiles", {"customers_where": {"ordered_after": "2026-01-01"}})

    assert result.is_error
    assert "307 orders were created since 2026-01-01: a selection reads at most 300 orders" in text_of(result)
    assert [q["page"] for q in queries(store, "/orders")] == ["1"]
    assert len(queries(store, "/orders/count")) == 1


async def test_a_short_first_page_of_orders_needs_no_count(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """A window that fits in one page costs one request: no count."""
    await find(mcp1, ordered_after="2026-01-01")

    assert len(queries(store, "/orders")) == 1
    assert queries(store, "/orders/count") == []


async def test_selection_bound_refuses_a_write(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selection of more profiles than one call moves is refused with the number, and nothing is written."""
    monkeypatch.setattr(where, "MAX_IDS", 3)
    target = store.add_segment("Campaign")

    result = await mcp1.call_tool(
        "add_profiles_to_segment", {"segment_id": str(target), "customers_where": {"no_order_since": "2026-09-01"}}
    )

    assert result.is_error
    assert "6 customers with no order since 2026-09-01: one call takes at most 3 profiles" in text_of(result)
    assert store.stats.count("POST") == 0


async def test_add_by_criteria_adds_exactly_the_match_and_undo_reverses(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], audit_path: Any
) -> None:
    """An add with customers_where adds the matched profiles, says the criteria and count, and undo takes them out."""
    target = store.add_segment("Campaign")
    criteria = {"customer_group": "Wholesale", "ordered_after": "2026-09-01"}

    data = structured(
        await mcp1.call_tool("add_profiles_to_segment", {"segment_id": str(target), "customers_where": criteria})
    )

    assert set(store.members(target)) == {shop["profiles"][n] for n in (2, 4, 6)}
    assert data["summary"].startswith(
        "Added 3 profiles (3 customers in group 'Wholesale' who ordered since 2026-09-01) to segment 'Campaign'"
    )
    intent = next(line for line in audit_lines(audit_path) if line["event"] == "intent")
    assert "in group 'Wholesale'" in intent["source"]
    undo = structured(await mcp1.call_tool("undo_change", {"change_id": data["change_id"]}))
    assert undo["status"] == "preview"
    await mcp1.call_tool(
        "remove_profiles_from_segment", {"segment_id": str(target), "preview_id": undo["preview_id"], "confirm": True}
    )
    assert store.members(target) == []


async def test_remove_everyone_not_in_vip_previews_and_removes_exactly_them(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], audit_path: Any
) -> None:
    """ "Remove from Newsletter everyone not in VIP": one preview (the members who match), then exactly those go;
    VIP's members stay, and no DELETE goes without id:in."""
    newsletter, vip, profiles = shop["newsletter"], shop["vip"], shop["profiles"]
    criteria = {"not_in_segments": [str(vip)]}

    preview = structured(
        await mcp1.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(newsletter), "customers_where": criteria}
        )
    )
    assert preview["status"] == "preview"
    assert preview["would_remove"] == 4
    assert "(4 members not in segment 'VIP')" in preview["summary"]
    assert store.stats.count("DELETE") == 0

    done = structured(
        await mcp1.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(newsletter), "preview_id": preview["preview_id"], "confirm": True},
        )
    )

    assert done["removed"] == 4
    assert store.members(newsletter) == [profiles[n] for n in range(1, 5)]
    assert store.stats.unfiltered_deletes == 0
    assert all("id%3Ain=" in q or "id:in=" in q for m, _, q in store.stats.requests if m == "DELETE")
    intent = next(line for line in audit_lines(audit_path) if line["event"] == "intent")
    assert "not in segment 'VIP'" in intent["source"]


async def test_removal_by_criteria_with_no_matching_member(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """A removal whose criteria match no member of the segment answers nothing_to_remove and pins nothing."""
    data = structured(
        await mcp1.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(shop["vip"]), "customers_where": {"customer_group": "Trade"}},
        )
    )

    assert data["status"] == "nothing_to_remove"
    assert data["preview_id"] is None


async def test_unknown_segment_in_criteria_is_refused_before_any_write(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any]
) -> None:
    """A segment ID the store does not have is named in the refusal; nothing is written."""
    target = store.add_segment("Campaign")
    missing = uuid.uuid4()

    result = await mcp1.call_tool(
        "add_profiles_to_segment", {"segment_id": str(target), "customers_where": {"in_segments": [str(missing)]}}
    )

    assert result.is_error
    assert f"names segment {missing}, which this store does not have" in text_of(result)
    assert store.stats.count("POST") == 0


@pytest.mark.parametrize(
    ("criteria", "said"),
    [
        ({}, "customers_where: give at least one field: customer_group, company"),
        ({"except_segment_id": "x"}, "customers_where does not take 'except_segment_id'; nothing was read or changed"),
        ({"min_order": 2}, "'min_order' (did you mean 'min_orders'?)"),
        ({"signed_up_after": "11/01/2026"}, "customers_where.signed_up_after takes a date written YYYY-MM-DD"),
        (
            {"signed_up_after": "2026-11-01", "signed_up_before": "2026-10-01"},
            "signed_up_after 2026-11-01 is not before signed_up_before 2026-10-01",
        ),
        ({"min_spent": -5}, "customers_where.min_spent must be 0 or more (got -5)"),
        ({"name_contains": "a"}, "customers_where.name_contains takes at least 2 characters (got 'a')"),
        ({"email_domain": "not a domain"}, "customers_where.email_domain takes the part of an email after @"),
        ({"in_segments": ["VIP"]}, "customers_where.in_segments takes segment UUIDs (got 'VIP')"),
        ("Wholesale", 'customers_where takes an object of fields, e.g. {"customer_group": "Wholesale"}'),
    ],
)
async def test_bad_criteria_get_one_clear_sentence_and_nothing_is_read(
    mcp1: Client, store: FaultyStore, shop: dict[str, Any], criteria: Any, said: str
) -> None:
    """Each kind of bad customers_where is named in at most three lines, and nothing is sent to the store."""
    result = await mcp1.call_tool("find_shopper_profiles", {"customers_where": criteria})

    assert result.is_error
    assert said in text_of(result)
    assert len(text_of(result).splitlines()) <= 3
    assert store.stats.requests == []


async def test_find_lists_the_first_50_and_counts_all(mcp1: Client, store: FaultyStore) -> None:
    """A selection of 60 lists the first 50 (compact: no segments each) with matched=60."""
    store.add_group(1, "Retail")
    for n in range(1, 61):
        store.customers[n] = Customer(n, "Ada", f"Smith{n}", f"a{n}@example.com", customer_group_id=1)
        store.add_profile(customer_id=n)

    data = await find(mcp1, customer_group="Retail")

    assert (data["matched"], len(data["found"])) == (60, 50)
    assert "the first 50 with a shopper profile are listed" in data["summary"]
    assert "segments" not in data["found"][0] or data["found"][0]["segments"] is None
    assert (
        len(text_of(await mcp1.call_tool("find_shopper_profiles", {"customers_where": {"customer_group": "1"}})))
        < 8_000
    )


@pytest.mark.parametrize("sentence", list(SELECTING))
async def test_the_readme_sentences_work_on_the_sandbox(sentence: str) -> None:
    """Each merchant sentence of "Selecting shoppers" is one call (two with a removal's approval) on the sandbox,
    writes no UUID list the server could resolve, and each result stays under 2,000 characters."""
    request, fewest = SELECTING[sentence]

    agent = await measure(request, asks_the_user=False)

    assert agent.calls == (2 if sentence.startswith(("Remove", "Take")) else 1)
    assert agent.largest < 2_000
    assert agent.uuid_lists == 0
    assert fewest <= agent.store <= 2 * fewest  # the README's figures: within twice the API's own minimum


async def test_too_many_for_one_call_is_refused_from_the_first_page(
    mcp1: Client, store: FaultyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When nothing else narrows what the API's filters select, more customers than one call takes is refused from
    the first page's total: one request, not every page."""
    monkeypatch.setattr(where, "MAX_IDS", 5)
    store.max_limit = 50  # pages of 50: a whole read would take 3 pages
    store.add_group(2, "Wholesale")
    for n in range(1, 121):
        store.customers[n] = Customer(n, "Ada", f"Smith{n}", f"a{n}@example.com", customer_group_id=2)

    result = await mcp1.call_tool("find_shopper_profiles", {"customers_where": {"customer_group": "Wholesale"}})

    assert result.is_error
    assert "120 customers in group 'Wholesale': one call takes at most 5" in text_of(result)
    pages = [q["page"] for q in queries(store, "/customers")]
    assert pages == ["1", "1"]  # the first page (asked again in the store's smaller pages), no other
