"""Shopper profiles named as a merchant knows them: "Ada Smith <ada@example.com> (customer 4812)".

Previews, the question put to the human, and write results name up to `SHOWN` profiles this way and say how many
more there are. Emails are left out when the operator set `BIGCOMMERCE_HIDE_EMAILS=true`.
"""

from collections.abc import Mapping, Sequence
from uuid import UUID

from .client import BigCommerceClient
from .errors import BigCommerceError, RateLimitWaitTooLong
from .models import Customer
from .redact import redact

#: Profiles named in a preview, a question to the human, or a write result.
SHOWN = 20


def person(customer: Customer, *, hide_emails: bool) -> str:
    """'First Last <email> (customer N)', or as much of it as the store has."""
    name = " ".join(f"{customer.first_name} {customer.last_name}".split())[:80] or "(no name)"
    email = f" <{customer.email[:120]}>" if customer.email and not hide_emails else ""
    return redact(f"{name}{email} (customer {customer.id})")


async def name_profiles(
    client: BigCommerceClient | None,
    profile_ids: Sequence[UUID],
    customer_of: Mapping[UUID, int],
    *,
    hide_emails: bool,
    known: Mapping[int, Customer] | None = None,
    unread: list[float] | None = None,
) -> list[str]:
    """The first `SHOWN` of `profile_ids` as people (one customer look-up at most); a profile whose customer is
    unknown is named by its ID (without `client`, no look-up is made). Never fails: names are a courtesy, the IDs
    are the truth. When the quota stopped the look-up, the seconds it stays spent are added to `unread`."""
    shown = list(profile_ids[:SHOWN])
    customers = dict(known or {})
    missing = sorted({customer_of[p] for p in shown if p in customer_of and customer_of[p] not in customers})
    if missing:
        customers.update(await _look_up(client, missing, [] if unread is None else unread))
    named: list[str] = []
    for profile_id in shown:
        customer = customers.get(customer_of.get(profile_id, -1))
        named.append(person(customer, hide_emails=hide_emails) if customer else f"shopper profile {profile_id}")
    return named


async def _look_up(client: BigCommerceClient | None, ids: list[int], unread: list[float]) -> dict[int, Customer]:
    """The customers of `ids` that can be read now (none without a client, or when the quota stops the read: then
    `unread` is told the seconds it stays spent)."""
    if client is None:
        unread.append(0.0)
        return {}
    try:
        return {c.id: c for c in await client.customers(ids)}
    except RateLimitWaitTooLong as exc:
        unread.append(exc.retry_after or 0.0)
    except BigCommerceError:  # not found: named by ID
        pass
    return {}


def and_more(named: Sequence[str], total: int) -> str:
    """The named people as one line, and how many more."""
    more = total - len(named)
    return "; ".join(named) + (f"; and {more:,} more" if more > 0 else "")
