"""The V2 endpoints the criteria read: customer groups (`GET /v2/customer_groups`) and orders (`GET /v2/orders`,
`GET /v2/orders/count`), as `customers.v2.yml` and `orders.v2.oas2.yml` describe them.

V2 lists are bare JSON arrays with no pagination envelope; a page with nothing on it is `204 No Content` with no body
(the least convenient of the answers the V2 APIs give), and `limit` above 250 is silently read as 250. Orders need the
Orders read scope: a store made with `missing_scopes={"orders"}` answers 403.
"""

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .base import StoreBase, run_sync
from .records import CustomerGroup, Order, parse_moment, rfc2822

V2_MAX_LIMIT = 250

STATUS_NAMES = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}


def _order_json(order: Order) -> dict[str, Any]:
    total = f"{order.total_inc_tax:.4f}"
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "date_created": rfc2822(order.date_created),
        "date_modified": rfc2822(order.date_created),
        "status_id": order.status_id,
        "status": STATUS_NAMES.get(order.status_id, ""),
        "total_inc_tax": total,
        "total_ex_tax": total,
        "currency_code": "USD",
    }


class OrdersAPI(StoreBase):
    """`/v2/customer_groups`, `/v2/orders` and `/v2/orders/count`; and `/v3/promotions` (Marketing read)."""

    customer_groups: dict[int, CustomerGroup]
    orders: dict[int, Order]
    promotions: list[dict[str, Any]]  # as `promotions.v3.yml` writes them

    async def _promotions(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            return self._json(200, self._paged(self.promotions, *args, lambda p: p))

        return await self._handle(request, "marketing", run_sync(body))

    def _v2_page(self, request: Request, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
        try:
            page = int(float(request.query_params.get("page", "1")))
            limit = min(V2_MAX_LIMIT, int(float(request.query_params.get("limit", "50"))))
        except ValueError:
            return self._error(400, "page and limit must be numbers")
        if page < 1 or limit < 1:
            return self._error(400, "page and limit must be positive")
        chunk = items[(page - 1) * limit : page * limit]
        if not chunk:
            return Response(b"", status_code=204, headers=self._rate_headers())
        return self._json(200, [render(item) for item in chunk])

    async def _customer_groups(self, request: Request) -> Response:
        def body() -> Response:
            groups = sorted(self.customer_groups.values(), key=lambda g: g.id)
            if name := request.query_params.get("name"):
                groups = [g for g in groups if g.name == name]
            return self._v2_page(request, groups, lambda g: {"id": g.id, "name": g.name, "is_default": g.is_default})

        return await self._handle(request, "read", run_sync(body))

    def _matching_orders(self, request: Request) -> list[Order] | Response:
        orders = sorted(self.orders.values(), key=lambda o: o.id)
        query = request.query_params
        for name, after in (("min_date_created", True), ("max_date_created", False)):
            if raw := query.get(name):
                moment = parse_moment(raw)
                if moment is None:
                    return self._error(400, f"{name} must be an RFC-2822 or ISO-8601 date.")
                orders = [o for o in orders if (o.date_created >= moment if after else o.date_created <= moment)]
        for name in ("customer_id", "status_id"):
            if raw := query.get(name):
                try:
                    wanted = int(raw)
                except ValueError:
                    return self._error(400, f"{name} must be an integer.")
                orders = [o for o in orders if getattr(o, name) == wanted]
        return orders

    async def _orders(self, request: Request) -> Response:
        def body() -> Response:
            orders = self._matching_orders(request)
            if isinstance(orders, Response):
                return orders
            return self._v2_page(request, orders, _order_json)

        return await self._handle(request, "orders", run_sync(body))

    async def _orders_count(self, request: Request) -> Response:
        def body() -> Response:
            orders = self._matching_orders(request)
            if isinstance(orders, Response):
                return orders
            statuses = [
                {
                    "id": status,
                    "name": name,
                    "system_label": name,
                    "custom_label": name,
                    "count": sum(1 for o in orders if o.status_id == status),
                    "sort_order": status,
                }
                for status, name in STATUS_NAMES.items()
            ]
            return self._json(200, {"statuses": statuses, "count": len(orders)})

        return await self._handle(request, "orders", run_sync(body))
