"""The reads behind a selection by criteria: customers by the Customers API's own filters, the store's customer
groups, and orders in a date window (the V2 APIs: bare JSON arrays, `204 No Content` for an empty page, no totals
but `/v2/orders/count`)."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, TypeAdapter, ValidationError

from .answer import Answer
from .endpoints import MAX_PAGE_SIZE, Collected, Endpoints
from .errors import ResponseShapeError
from .models import Customer, CustomerGroup, CustomerPage, Order

M = TypeVar("M", bound=BaseModel)

#: The most customer groups read (a store has a handful; BigCommerce documents no limit).
MAX_GROUPS = 1_000
#: Pages of orders read at once (the client's own limit of 10 concurrent requests still applies).
ORDER_PAGES_AT_ONCE = 8


async def gather(calls: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run `calls` at once; the first error any of them raised is raised as itself (not wrapped in an
    `ExceptionGroup`), so that callers catch `BigCommerceError`s as they do for one request."""
    errors: list[Exception] = []

    async def run(call: Callable[[], Awaitable[None]]) -> None:
        try:
            await call()
        except Exception as exc:  # collected: re-raised below, after the others finished
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(run, call)
    if errors:
        raise errors[0]


def parse_list(answer: Answer, model: type[M], what: str) -> list[M]:
    """A V2 list answer: a bare JSON array, or nothing at all (204) for an empty page.

    Raises:
        ResponseShapeError: the body is not an array of such items.
    """
    if answer.status == 204 or not answer.body.strip():
        return []
    try:
        return TypeAdapter(list[model]).validate_python(answer.json())  # type: ignore[valid-type]
    except ValidationError as exc:
        raise ResponseShapeError(
            f"BigCommerce's answer for {what} is not the list the API promises; nothing was changed. Retry in a minute."
        ) from exc


class ShopperReads(Endpoints):
    """Customers, customer groups and orders, read for a selection by criteria."""

    async def _v2_page(self, path: str, model: type[M], what: str, params: Mapping[str, Any], page: int) -> list[M]:
        query = {**params, "page": page, "limit": MAX_PAGE_SIZE}
        return parse_list(await self._request("GET", path, what=what, params=query), model, what)

    async def probe(self, path: str) -> None:
        """One small read of `path` (a page of one), for `--check` to learn whether the token may read it.

        Raises:
            PermissionDeniedError: the token lacks the scope.
        """
        await self._request("GET", path, what=path.strip("/"), params={"limit": 1})

    async def customer_groups(self) -> list[CustomerGroup]:
        """Every customer group of the store, by ID."""
        groups: dict[int, CustomerGroup] = {}
        for page in range(1, MAX_GROUPS // MAX_PAGE_SIZE + 1):
            read = await self._v2_page("/v2/customer_groups", CustomerGroup, "customer groups", {}, page)
            before = len(groups)
            groups.update({g.id: g for g in read})
            if len(read) < MAX_PAGE_SIZE or len(groups) == before:
                break
        return sorted(groups.values(), key=lambda g: g.id)

    async def order_count(self, window: Mapping[str, str]) -> int:
        """How many orders (of every status) were created in the window (`GET /v2/orders/count`).

        Raises:
            ResponseShapeError: the answer has no count.
        """
        body = (await self._request("GET", "/v2/orders/count", what="orders", params=window)).lenient_json()
        count = body.get("count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int | float):
            raise ResponseShapeError("BigCommerce's count of orders has no count; nothing was changed. Retry later.")
        return int(count)

    async def orders_page(self, window: Mapping[str, str], page: int) -> list[Order]:
        """One page of 250 orders created in the window."""
        return await self._v2_page("/v2/orders", Order, "orders", window, page)

    async def orders_in(
        self, window: Mapping[str, str], *, expected: int, first: list[Order] | None = None, limit: int = 10**9
    ) -> list[Order]:
        """Every order created in the window, each once: the `expected` pages at once (after `first`, page 1 when
        already read), then page by page while pages come back full (orders placed meanwhile shift the pages);
        more than `limit` stops the reading (the caller refuses what is too large)."""
        found: dict[int, Order] = {o.id: o for o in first or []}
        pages = max(1, -(-expected // MAX_PAGE_SIZE))
        last: list[Order] = first or []
        if first is not None and len(first) < MAX_PAGE_SIZE:
            return list(found.values())

        for start in range(1 if first is None else 2, pages + 1, ORDER_PAGES_AT_ONCE):
            wave: dict[int, list[Order]] = {}

            def read(page: int, into: dict[int, list[Order]] = wave) -> Callable[[], Awaitable[None]]:
                async def one() -> None:
                    into[page] = await self.orders_page(window, page)

                return one

            await gather([read(page) for page in range(start, min(pages, start + ORDER_PAGES_AT_ONCE - 1) + 1)])
            for page in sorted(wave):
                found.update({o.id: o for o in wave[page]})
                last = wave[page]
        page = pages
        while len(last) == MAX_PAGE_SIZE and len(found) <= limit:
            page += 1
            last = await self.orders_page(window, page)
            before = len(found)
            found.update({o.id: o for o in last})
            if len(found) == before:
                break
        return list(found.values())

    async def customers_matching(self, params: Mapping[str, str], *, max_items: int) -> "Collected[Customer]":
        """Customers the Customers API's filters select, with their shopper profile and segments (beta includes);
        nothing past the first page when it says there are more than `max_items`."""
        query = {**params, "include": "shopper_profile_id,segment_ids"}
        return await self.collect(
            "customers", CustomerPage, what="customers", params=query, max_items=max_items, only_if_whole=True
        )
