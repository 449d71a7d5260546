"""The built-in sandbox store: fixed segments and a few hundred shopper profiles, no token needed.

Imported only by the composition root (`__main__`) when `--sandbox` is on, so a real server never loads the fake.
"""

import uuid

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


def profile_id(customer_id: int) -> uuid.UUID:
    """The sandbox's fixed shopper profile ID for customer `customer_id`."""
    return uuid.uuid5(_NAMESPACE, f"profile-{customer_id}")


def build_store(store_hash: str = "sandbox") -> FakeBigCommerce:
    """A fresh sandbox store, the same every time; it accepts any token."""
    store = FakeBigCommerce(store_hash=store_hash, token=None, quota=450, window_seconds=30.0)
    for n in range(1, PROFILE_COUNT + 1):
        first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
        store.customers[n] = Customer(n, first, last, f"{first.lower()}.{last.lower()}{n}@example.com")
        if n not in CUSTOMERS_WITHOUT_PROFILE:
            store.add_profile(customer_id=n, profile_id=profile_id(n))
    for segment_id, name, description, members in SEGMENTS:
        store.add_segment(name, description, segment_id)
        store.add_members(segment_id, [profile_id(n) for n in range(1, members + 1)])
    return store


def transport(store_hash: str = "sandbox") -> Transport:
    """An httpx2 transport to a fresh sandbox store."""
    return build_store(store_hash).transport()


def describe() -> str:
    """The sandbox's segments, for the server's instructions."""
    lines = [f"- {name}: segment_id {sid}" for sid, name, _, _ in SEGMENTS]
    return (
        "SANDBOX MODE: this is a built-in practice store held in memory, not a real BigCommerce store; changes "
        "vanish when the server stops. Its segments:\n" + "\n".join(lines) + "\n"
        "Customers 201 to 290 have shopper profiles in no segment (e.g. customer_ids=[201, 202]); customers 291 to 300 "
        "have no shopper profile yet."
    )
