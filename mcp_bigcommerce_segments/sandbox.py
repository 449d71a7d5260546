"""The built-in sandbox store: fixed segments and a few hundred shopper profiles, no token needed.

Imported only by the composition root (`__main__`) when `--sandbox` is on, so a real server never loads the fake.
"""

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .client import Transport
from .emulator.store import Customer, FakeBigCommerce

_NAMESPACE = uuid.UUID("6f1c2a9e-5b7d-4c3e-9a21-0d8e4f6b7a10")

#: (segment ID, name, description, how many of the first profiles are members)
SEGMENTS = (
    (uuid.UUID("5e9a1c00-0000-4000-8000-000000000001"), "VIP customers", "Top spenders of the last year", 12),
    (uuid.UUID("5e9a1c00-0000-4000-8000-000000000002"), "Newsletter subscribers", "Opted in to the newsletter", 120),
    (uuid.UUID("5e9a1c00-0000-4000-8000-000000000003"), "Black Friday 2026", "Early access to the sale", 0),
    (uuid.UUID("5e9a1c00-0000-4000-8000-000000000004"), "Wholesale", "Trade accounts with net-30 terms", 30),
)
PROFILE_COUNT = 300
# Customers 291-300 have no shopper profile yet, like guests who registered but never got one.
CUSTOMERS_WITHOUT_PROFILE = range(291, 301)

_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Erin", "Farid", "Grace", "Hugo", "Iris", "Jonas", "Kemi", "Liam")
_LAST = ("Smith", "Garcia", "Chen", "Okafor", "Novak", "Patel", "Jensen", "Rossi", "Kim", "Dubois")


#: Customer groups: (ID, name). Every customer is in one; Retail is the default.
GROUPS = ((1, "Retail"), (2, "Wholesale"), (3, "Trade"))
_COMPANIES = ("Acme Supply", "Northwind Traders", "Globex")
#: Sign-ups run from this day, one customer every 2 days and a bit: customer 300 signed up in November 2026.
FIRST_SIGN_UP = datetime(2025, 1, 3, 10, 0, tzinfo=UTC)
ORDER_COUNT = 600
# Every status, the counted ones most often (Completed, Shipped, Awaiting Fulfillment lead).
_STATUSES = (10,) * 10 + (2,) * 6 + (11,) * 4 + (3, 8, 9, 14, 0, 1, 4, 5, 6, 7, 12, 13)


def group_of(customer_id: int) -> int:
    """Customer `n`'s group: Wholesale every 7th, Trade every 11th (that is not a 7th), else Retail."""
    return 2 if customer_id % 7 == 0 else 3 if customer_id % 11 == 0 else 1


def _customer(n: int) -> Customer:
    first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
    group = group_of(n)
    company = _COMPANIES[n % len(_COMPANIES)] if group != 1 else ""
    domain = company.split()[0].lower() + ".com" if company else "example.com"
    created = FIRST_SIGN_UP + timedelta(days=n * 2.3)
    return Customer(
        n,
        first,
        last,
        f"{first.lower()}.{last.lower()}{n}@{domain}",
        company,
        customer_group_id=group,
        date_created=created,
    )


def _seed_orders(store: FakeBigCommerce) -> None:
    """600 orders across 2026 in every status, from registered customers (most) and guests (customer 0)."""
    pick = random.Random(2026)  # noqa: S311 - a fixed, repeatable practice store
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    for _ in range(ORDER_COUNT):
        customer = 0 if pick.random() < 0.05 else pick.randint(1, PROFILE_COUNT)
        created = start + timedelta(minutes=pick.randint(0, 334 * 24 * 60))  # up to 2026-12-01
        total = Decimal(pick.randint(1_500, 90_000)) / 100
        store.add_order(customer, created, total, pick.choice(_STATUSES))


def profile_id(customer_id: int) -> uuid.UUID:
    """The sandbox's fixed shopper profile ID for customer `customer_id`."""
    return uuid.uuid5(_NAMESPACE, f"profile-{customer_id}")


def build_store(store_hash: str = "sandbox", missing_scopes: Iterable[str] = ()) -> FakeBigCommerce:
    """A fresh sandbox store, the same every time; it accepts any token (`missing_scopes`: optional scopes it
    answers 403 for, "orders" and "marketing")."""
    store = FakeBigCommerce(
        store_hash=store_hash, token=None, quota=450, window_seconds=30.0, missing_scopes=missing_scopes
    )
    for group_id, name in GROUPS:
        store.add_group(group_id, name, is_default=group_id == 1)
    for n in range(1, PROFILE_COUNT + 1):
        store.customers[n] = _customer(n)
        if n not in CUSTOMERS_WITHOUT_PROFILE:
            store.add_profile(customer_id=n, profile_id=profile_id(n))
    for segment_id, name, description, members in SEGMENTS:
        store.add_segment(name, description, segment_id)
        store.add_members(segment_id, [profile_id(n) for n in range(1, members + 1)])
    _seed_orders(store)
    _seed_promotions(store)
    return store


def _seed_promotions(store: FakeBigCommerce) -> None:
    """A promotion for each segment, one that names two (`or`), and one that excludes VIPs (`not`)."""
    vip, newsletter, friday, wholesale = (str(segment[0]) for segment in SEGMENTS)
    store.add_promotion("VIP 20% off", {"id": [vip]})
    store.add_promotion("Newsletter free shipping", {"id": [newsletter]})
    store.add_promotion("Black Friday early access", {"id": [friday]}, status="DISABLED")
    store.add_promotion("Trade price list", {"or": [{"id": [wholesale]}, {"id": [vip]}]})
    store.add_promotion("Welcome 10% (not for VIPs)", {"not": {"id": [vip]}})


def transport(store_hash: str = "sandbox", missing_scopes: Iterable[str] = ()) -> Transport:
    """An httpx2 transport to a fresh sandbox store."""
    return build_store(store_hash, missing_scopes).transport()


def describe() -> str:
    """The sandbox's segments, for the server's instructions."""
    lines = [f"- {name}: segment_id {sid}" for sid, name, _, _ in SEGMENTS]
    return (
        "SANDBOX MODE: this is a built-in practice store held in memory, not a real BigCommerce store; changes "
        "vanish when the server stops. Its segments:\n" + "\n".join(lines) + "\n"
        "Customers 201 to 290 have shopper profiles in no segment (e.g. customer_ids=[201, 202]); customers 291 to 300 "
        "have no shopper profile yet. Customer groups: Retail, Wholesale, Trade; sign-ups from January 2025 to "
        "November 2026; 600 orders across 2026 in every status (try customers_where)."
    )
