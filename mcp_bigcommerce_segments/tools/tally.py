"""Customers' counted orders in a date window, read the cheaper way: the whole window in pages of 250 (after one
count that checks the bound), or one read per customer when there are fewer candidates than pages."""

from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from mcp.server.mcpserver.exceptions import ToolError

from ..client import MAX_PAGE_SIZE, BigCommerceClient
from ..criteria import COUNTED_STATUSES
from ..errors import PermissionDeniedError
from ..models import Order
from ..shoppers import gather

#: The most orders (or customers, or members of one segment) a selection reads.
MAX_READ = 50_000

ORDERS_SCOPE = (
    "The order fields of customers_where (ordered_after, ordered_before, min_orders, min_spent, no_order_since) need "
    "the Orders read scope (store_v2_orders_read_only), which this API account lacks; nothing was changed. Grant "
    "Orders 'read-only' to the account in the control panel (Settings > API > Store-level API accounts) and use the "
    "new token, or select without the order fields."
)


@dataclass
class OrderTally:
    """A customer's counted orders in a window."""

    orders: int = 0
    spent: Decimal = Decimal(0)


def _moment(raw: str | None) -> datetime | None:
    """A timestamp as BigCommerce writes it (ISO-8601 in V3, RFC-2822 in V2), or None."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        try:  # RFC-2822 as V2 writes it; strptime, not email.utils (20 ms more at every start)
            moment = datetime.strptime(raw.strip(), "%a, %d %b %Y %H:%M:%S %z")
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe_window(after: date | None, before: date | None) -> str:
    if after and before:
        return f"from {after} to before {before}"
    return f"since {after}" if after else (f"before {before}" if before else "in the store's whole history")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def within(raw: str | None, after: date | None, before: date | None) -> bool:
    """Whether a timestamp is on or after `after` and before `before` (UTC days); an unreadable one is trusted to the
    API's own filter."""
    moment = _moment(raw)
    if moment is None:
        return True
    return (after is None or moment >= _midnight(after)) and (before is None or moment < _midnight(before))


async def tallies(
    client: BigCommerceClient, after: date | None, before: date | None, *, among: Collection[int] | None
) -> dict[int, OrderTally]:
    """Each customer's counted orders created on or after `after` and before `before` (see `_read`).

    Raises:
        ToolError: the token lacks the Orders read scope, or the window holds more than 50,000 orders.
    """
    window: dict[str, str] = {}
    if after:
        window["min_date_created"] = f"{after.isoformat()}T00:00:00+00:00"
    if before:
        window["max_date_created"] = f"{(before - timedelta(days=1)).isoformat()}T23:59:59+00:00"
    try:
        orders = await _read(client, window, among, after, before)
    except PermissionDeniedError as exc:
        raise ToolError(ORDERS_SCOPE) from exc
    tallies: dict[int, OrderTally] = {}
    for order in orders:
        if order.customer_id and order.status_id in COUNTED_STATUSES and within(order.date_created, after, before):
            tally = tallies.setdefault(order.customer_id, OrderTally())
            tally.orders += 1
            tally.spent += order.total_inc_tax
    return tallies


#: Candidates whose orders are read one by one without a look at the window first (a first page and a count would
#: cost as much).
FEW = 2


async def _read(
    client: BigCommerceClient,
    window: dict[str, str],
    among: Collection[int] | None,
    after: date | None,
    before: date | None,
) -> list[Order]:
    """The orders in the window, read the cheaper way: per candidate when there are at most as many candidates as
    pages left to read; else the whole window, its first page first (a short one is all of it), then the count that
    checks the bound before the rest is read.

    Raises:
        ToolError: the window holds more than 50,000 orders.
    """
    if among is not None and len(among) <= FEW:
        return await _orders_of(client, among, window)
    first = await client.orders_page(window, 1)
    if len(first) < MAX_PAGE_SIZE:
        return first
    count = await client.order_count(window)
    if among is not None and len(among) <= -(-count // MAX_PAGE_SIZE) - 1:
        return await _orders_of(client, among, window)
    if count > MAX_READ:
        raise ToolError(
            f"{count:,} orders were created {describe_window(after, before)}: a selection reads at most {MAX_READ:,} "
            "orders; nothing was changed. Narrow the window (a later ordered_after or no_order_since, or an "
            "ordered_before), or add in_segments or customer_group so that orders are read per customer."
        )
    return await client.orders_in(window, expected=count, first=first)


async def _orders_of(client: BigCommerceClient, customers: Iterable[int], window: dict[str, str]) -> list[Order]:
    """The orders of each customer in the window, read at once; more than 50,000 in all is refused.

    Raises:
        ToolError: the customers have more than 50,000 orders in the window.
    """
    found: list[Order] = []

    def read(customer: int) -> Callable[[], Awaitable[None]]:
        async def one() -> None:
            query = {**window, "customer_id": str(customer)}
            found.extend(await client.orders_in(query, expected=1, limit=MAX_READ - len(found)))
            if len(found) > MAX_READ:
                raise ToolError(
                    f"The candidates have more than {MAX_READ:,} orders in the window: a selection reads at most "
                    f"{MAX_READ:,} orders; nothing was changed. Narrow the window or the customers."
                )

        return one

    await gather([read(customer) for customer in customers])
    return found
