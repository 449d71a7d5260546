"""customers_where against an oracle: random stores (groups, companies, sign-ups at day boundaries, segments, orders in
every status, guests, deleted customers) and random criteria; the server's selection, read through the real client
from the stateful fake, is exactly what the rule says, customer by customer."""

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from mcp_bigcommerce_segments.client import BigCommerceClient
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.criteria import COUNTED_STATUSES, CustomersWhere
from mcp_bigcommerce_segments.emulator.store import Customer, FakeBigCommerce
from mcp_bigcommerce_segments.retry import RetryPolicy
from mcp_bigcommerce_segments.tools.where import select_where

from .support.stdio import STORE, TOKEN

START = date(2026, 1, 1)
DAYS = [START + timedelta(days=n) for n in range(0, 60, 6)]  # few days, so that boundaries are hit often
GROUPS = {1: "Retail", 2: "Wholesale", 3: "Trade"}
COMPANIES = ["", "Acme", "Globex"]
DOMAINS = ["acme.com", "example.com"]
NAMES = ["Ada Smith", "Ben Jones", "Cy Smithers"]

moments = st.builds(
    lambda d, h: datetime(d.year, d.month, d.day, h, tzinfo=UTC), st.sampled_from(DAYS), st.sampled_from([0, 12, 23])
)
customers = st.lists(
    st.fixed_dictionaries(
        {
            "group": st.sampled_from(list(GROUPS)),
            "company": st.sampled_from(COMPANIES),
            "domain": st.sampled_from(DOMAINS),
            "name": st.sampled_from(NAMES),
            "created": moments,
            "profile": st.booleans(),
            "segments": st.sets(st.sampled_from(["A", "B"])),
        }
    ),
    min_size=1,
    max_size=30,
)
orders = st.lists(
    st.tuples(st.integers(0, 32), moments, st.integers(0, 14), st.integers(1, 500)),  # customer 0: a guest
    max_size=60,
)
# Many small orders of one customer on one day: the window's pages fill, so counts, pages and per-customer reads run.
bulk = st.tuples(st.integers(1, 32), st.sampled_from([0, 0, 120, 300, 700]))
days = st.sampled_from(DAYS)
FIELDS = {
    "customer_group": st.sampled_from(["wholesale", "Retail", "3"]),
    "company": st.sampled_from(["Acme", "globex"]),
    "name_contains": st.sampled_from(["smith", "jo"]),
    "email_domain": st.sampled_from(DOMAINS),
    "signed_up_after": days,
    "signed_up_before": days,
    "ordered_after": days,
    "ordered_before": days,
    "min_orders": st.integers(1, 3),
    "min_spent": st.sampled_from([0, 100, 400.5]),
    "no_order_since": days,
    "in_segments": st.sets(st.sampled_from(["A", "B"]), min_size=1),
    "not_in_segments": st.sets(st.sampled_from(["A", "B"]), min_size=1),
}
# One to three fields: more would AND most examples down to nobody.
criteria = st.lists(st.sampled_from(list(FIELDS)), min_size=1, max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: FIELDS[name] for name in names})
)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def expected(
    world: list[dict[str, Any]], sales: list[Any], where: CustomersWhere, segment_ids: dict[str, Any]
) -> tuple[set[int], set[int]]:
    """The rule, written out plainly: (customers with a profile, customers without one) that match."""
    group = {"wholesale": 2, "retail": 1, "3": 3}.get((where.customer_group or "").casefold())
    matched: set[int] = set()
    for n, c in enumerate(world, start=1):
        first, last = c["name"].split()
        counted = [
            (moment, total)
            for who, moment, status, total in sales
            if who == n and status in COUNTED_STATUSES and who <= len(world)
        ]
        window = [
            total
            for moment, total in counted
            if (where.ordered_after is None or moment >= midnight(where.ordered_after))
            and (where.ordered_before is None or moment < midnight(where.ordered_before))
        ]
        segments = {segment_ids[s] for s in c["segments"]} if c["profile"] else set()
        checks = [
            group is None or c["group"] == group,
            where.company is None or c["company"].casefold() == where.company.casefold(),
            where.name_contains is None or where.name_contains in f"{first} {last}".casefold(),
            where.email_domain is None or c["domain"] == where.email_domain,
            where.signed_up_after is None or c["created"] >= midnight(where.signed_up_after),
            where.signed_up_before is None or c["created"] < midnight(where.signed_up_before),
            not where.order_fields
            or (len(window) >= (where.min_orders or 1) and sum(window) >= Decimal(str(where.min_spent or 0))),
            where.no_order_since is None or all(m < midnight(where.no_order_since) for m, _ in counted),
            all(s in segments for s in where.in_segments or ()),
            not any(s in segments for s in where.not_in_segments or ()),
        ]
        if all(checks):
            matched.add(n)
    with_profile = {n for n in matched if world[n - 1]["profile"]}
    return with_profile, matched - with_profile


def build(world: list[dict[str, Any]], sales: list[Any]) -> tuple[FakeBigCommerce, dict[str, Any]]:
    store = FakeBigCommerce(store_hash=STORE, token=TOKEN, clock=VirtualClock(), quota=None)
    store.max_limit = 50  # pages of 50: the reads page
    for group_id, name in GROUPS.items():
        store.add_group(group_id, name)
    segment_ids = {"A": store.add_segment("A"), "B": store.add_segment("B")}
    for n, c in enumerate(world, start=1):
        first, last = c["name"].split()
        store.customers[n] = Customer(
            n, first, last, f"c{n}@{c['domain']}", c["company"], customer_group_id=c["group"], date_created=c["created"]
        )
        if c["profile"]:
            profile = store.add_profile(customer_id=n)
            for s in c["segments"]:
                store.add_members(segment_ids[s], [profile])
    for who, moment, status, total in sales:
        store.add_order(who, moment, Decimal(total), status_id=status)  # customers past the world: deleted ones
    return store, segment_ids


ORACLE = settings(
    max_examples=int(os.environ.get("SIM_EXAMPLES", "20")) * 5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@ORACLE
@given(world=customers, sales=orders, extra=bulk, raw=criteria, within=st.none() | st.sampled_from(["A", "B"]))
def test_the_selection_is_exactly_the_rule(
    world: list[dict[str, Any]], sales: list[Any], extra: tuple[int, int], raw: dict[str, Any], within: str | None
) -> None:
    """For any store and any criteria (within a segment, as a removal selects), the customers selected (with and
    without a profile) are those the rule selects: groups, companies, names, domains, sign-up and order windows at
    day boundaries, counted statuses, guests and deleted customers, segments in and out, orders over many pages."""
    sales = [*sales, *[(extra[0], datetime(2026, 1, 19, 12, tzinfo=UTC), 10, 1)] * extra[1]]
    store, segment_ids = build(world, sales)
    for key in ("in_segments", "not_in_segments"):
        if key in raw:
            raw[key] = [str(segment_ids[s]) for s in sorted(raw[key])]
    raw = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in raw.items() if v is not None}
    try:
        where = raw_where = CustomersWhere.model_validate(raw)
    except ValidationError:
        assume(False)
        return
    if within is not None:  # a removal: only the segment's members
        where = where.model_copy(update={"in_segments": [*(where.in_segments or []), segment_ids[within]]})
    with_profile, without = expected(world, sales, where, segment_ids)
    event("some customers match" if with_profile or without else "no customer matches")

    async def run() -> Any:
        async with BigCommerceClient(
            base_url=f"http://127.0.0.1:9/stores/{STORE}/v3",
            access_token=SecretStr(TOKEN),
            user_agent="oracle",
            transport=store.transport(),
            clock=VirtualClock(),
            retry=RetryPolicy(jitter=0.0),
        ) as client:
            inside = segment_ids[within] if within is not None else None
            plain = where.model_copy(update={"in_segments": raw_where.in_segments})
            return await select_where(client, plain, inside)

    matched = anyio.run(run)

    assert set(matched.profiles) == with_profile
    assert set(matched.without_profile) == without
    assert store.stats.unfiltered_deletes == 0
