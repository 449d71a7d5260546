"""The fake store itself follows the spec, hazards included, so the other tests can trust it."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx2
import pytest

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer

from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio


def _client(store: FaultyStore, base_url: str) -> httpx2.AsyncClient:
    headers = {"X-Auth-Token": TOKEN, "Accept": "application/json"}
    return httpx2.AsyncClient(transport=store.transport(), base_url=base_url, headers=headers)


@pytest.fixture
async def http(store: FaultyStore) -> AsyncIterator[httpx2.AsyncClient]:
    async with _client(store, f"http://store.test/stores/{STORE}/v3/") as client:
        yield client


@pytest.mark.hazard
async def test_delete_without_id_filter_empties_the_segment(
    http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """The emulator's unfiltered DELETE empties the segment and counts it as an unfiltered delete."""
    store.add_members(segment, store.add_profiles(5))

    response = await http.delete(f"segments/{segment}/shopper-profiles")

    assert response.status_code == 204
    assert store.members(segment) == []
    assert store.stats.unfiltered_deletes == 1


async def test_delete_by_comma_joined_ids_removes_only_those(
    http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """The emulator's DELETE with an id:in list removes only those members and answers an empty 204."""
    ids = store.add_profiles(3)
    store.add_members(segment, ids)

    response = await http.delete(f"segments/{segment}/shopper-profiles", params={"id:in": f"{ids[0]},{ids[2]}"})

    assert response.status_code == 204
    assert response.content == b""
    assert store.members(segment) == [ids[1]]


async def test_post_conflict_uses_the_batch_envelope_keyed_by_index(
    http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """The emulator answers a POST with existing members as a 409 batch envelope keyed by index, with meta counts."""
    old, new = store.add_profile(), store.add_profile()
    store.add_members(segment, [old])

    response = await http.post(f"segments/{segment}/shopper-profiles", json=[str(new), str(old)])

    body = response.json()
    assert response.status_code == 409
    assert set(body) == {"data", "errors", "meta"}
    assert body["errors"][0]["status"] == 409
    assert list(body["errors"][0]["errors"]) == ["1"]
    assert str(old) in body["errors"][0]["errors"]["1"]
    assert body["meta"] == {"total": 2, "success": 1, "failed": 1}


async def test_post_created_returns_data_without_meta(
    http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """The emulator answers a POST of new members with 201 and the profile data, without meta."""
    pid = store.add_profile(customer_id=7)

    response = await http.post(f"segments/{segment}/shopper-profiles", json=[str(pid)])

    assert response.status_code == 201
    assert response.json() == {
        "data": [
            {
                "id": str(pid),
                "customer_id": 7,
                "created_at": "2026-01-05T09:00:00Z",
                "updated_at": "2026-01-05T09:00:00Z",
            }
        ]
    }


async def test_post_over_fifty_is_rejected(http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID) -> None:
    """The emulator rejects a POST of more than 50 IDs with 422 and adds no one."""
    response = await http.post(f"segments/{segment}/shopper-profiles", json=[str(i) for i in store.add_profiles(51)])

    assert response.status_code == 422
    assert store.members(segment) == []


async def test_get_paginates_with_meta(http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID) -> None:
    """The emulator pages segment members and reports the pagination in meta."""
    store.add_members(segment, store.add_profiles(7))

    body = (await http.get(f"segments/{segment}/shopper-profiles", params={"page": 3, "limit": 3})).json()

    assert len(body["data"]) == 1
    assert body["meta"]["pagination"] == {"total": 7, "count": 1, "per_page": 3, "current_page": 3, "total_pages": 3}


async def test_wrong_token_is_401_and_unknown_segment_404(http: httpx2.AsyncClient, segment: uuid.UUID) -> None:
    """The emulator answers a wrong token with a 401 problem body and an unknown segment with 404."""
    unknown = await http.get(f"segments/{uuid.uuid4()}/shopper-profiles")
    wrong = await http.get(f"segments/{segment}/shopper-profiles", headers={"X-Auth-Token": "nope"})

    assert unknown.status_code == 404
    assert wrong.status_code == 401
    assert set(wrong.json()) >= {"status", "title", "type"}


async def test_rate_limit_headers_count_down_and_429_at_zero(
    http: httpx2.AsyncClient, store: FaultyStore, segment: uuid.UUID, clock: VirtualClock
) -> None:
    """The emulator's rate-limit headers count down, answer 429 when the quota is spent and reset after the window."""
    store.quota, store.window_seconds = 2, 30.0

    first = await http.get(f"segments/{segment}/shopper-profiles")
    clock.advance(10)
    second = await http.get(f"segments/{segment}/shopper-profiles")
    third = await http.get(f"segments/{segment}/shopper-profiles")
    clock.advance(20)
    fourth = await http.get(f"segments/{segment}/shopper-profiles")

    assert first.headers["x-rate-limit-requests-left"] == "1"
    assert first.headers["x-rate-limit-requests-quota"] == "2"
    assert first.headers["x-rate-limit-time-window-ms"] == "30000"
    assert second.headers["x-rate-limit-time-reset-ms"] == "20000"
    assert third.status_code == 429
    assert third.headers["x-rate-limit-requests-left"] == "0"
    assert fourth.status_code == 200
    assert store.stats.rate_limited == 1


async def test_customers_include_shopper_profile(http: httpx2.AsyncClient, store: FaultyStore) -> None:
    """The emulator's customer listing includes the shopper profile ID and segment IDs when asked."""
    store.customers[5] = Customer(5, "Ada", "Smith", "ada@example.com")
    pid = store.add_profile(customer_id=5)

    body = json.loads(
        (await http.get("customers", params={"id:in": "5", "include": "shopper_profile_id,segment_ids"})).content
    )

    assert body["data"][0]["shopper_profile_id"] == str(pid)
    assert body["data"][0]["segment_ids"] == []


@pytest.fixture
async def store_root(store: FaultyStore) -> AsyncIterator[httpx2.AsyncClient]:
    async with _client(store, f"http://store.test/stores/{STORE}/") as client:
        yield client


async def test_v2_orders_are_bare_arrays_filtered_by_date_with_204_past_the_end(
    store_root: httpx2.AsyncClient, store: FaultyStore
) -> None:
    """V2 orders: a bare JSON array filtered by min/max_date_created (ISO-8601 or RFC-2822), RFC-2822 dates and
    decimal-string totals, 204 with no body past the end, and the count by status."""
    store.add_order(5, datetime(2026, 9, 1, 10, tzinfo=UTC), "12.50", status_id=10)
    store.add_order(6, datetime(2026, 10, 1, 10, tzinfo=UTC), "99.00", status_id=5)

    page = await store_root.get("v2/orders", params={"min_date_created": "2026-09-01T00:00:00+00:00", "limit": 1})
    count = await store_root.get("v2/orders/count", params={"max_date_created": "Wed, 30 Sep 2026 23:59:59 +0000"})
    past = await store_root.get("v2/orders", params={"page": 3, "limit": 1})

    assert page.status_code == 200
    assert page.json() == [
        {
            "id": 100,
            "customer_id": 5,
            "date_created": "Tue, 01 Sep 2026 10:00:00 +0000",
            "date_modified": "Tue, 01 Sep 2026 10:00:00 +0000",
            "status_id": 10,
            "status": "Completed",
            "total_inc_tax": "12.5000",
            "total_ex_tax": "12.5000",
            "currency_code": "USD",
        }
    ]
    assert count.json()["count"] == 1
    assert {s["id"]: s["count"] for s in count.json()["statuses"]}[10] == 1
    assert (past.status_code, past.content) == (204, b"")


async def test_orders_need_the_orders_scope(store_root: httpx2.AsyncClient, store: FaultyStore) -> None:
    """A token without the Orders read scope gets 403 naming it; customer groups still answer."""
    store.missing_scopes.add("orders")
    store.add_group(1, "Retail", is_default=True)

    orders = await store_root.get("v2/orders")
    groups = await store_root.get("v2/customer_groups")

    assert orders.status_code == 403
    assert orders.json()["errors"] == {"scope": "store_v2_orders_read_only"}
    assert groups.json() == [{"id": 1, "name": "Retail", "is_default": True}]


async def test_v3_customer_filters(http: httpx2.AsyncClient, store: FaultyStore) -> None:
    """The V3 customer filters: customer_group_id:in, company:in (any case), date_created:min/max; a bad date is 422."""
    store.customers[1] = Customer(1, "Ada", "Smith", "a@x.com", "Acme", 2, datetime(2026, 3, 1, tzinfo=UTC))
    store.customers[2] = Customer(2, "Ben", "Jones", "b@x.com", "Globex", 1, datetime(2026, 5, 1, tzinfo=UTC))

    def ids(response: httpx2.Response) -> list[int]:
        return [c["id"] for c in response.json()["data"]]

    assert ids(await http.get("customers", params={"customer_group_id:in": "2,3"})) == [1]
    assert ids(await http.get("customers", params={"company:in": "globex"})) == [2]
    assert ids(await http.get("customers", params={"date_created:min": "2026-04-01"})) == [2]
    assert ids(await http.get("customers", params={"date_created:max": "2026-04-01"})) == [1]
    row = (await http.get("customers", params={"id:in": "1"})).json()["data"][0]
    assert (row["customer_group_id"], row["date_created"]) == (2, "2026-03-01T00:00:00Z")
    assert (await http.get("customers", params={"date_created:min": "March"})).status_code == 422
