"""An in-memory BigCommerce store that follows the Segments API spec, hazards included.

One piece of code serves three jobs: the `--sandbox` store, the tests' fake, and the benchmarks' server. It is an
ASGI app (Starlette), reached in process through httpx2's `ASGITransport` or served by uvicorn on 127.0.0.1.

What it does, from `segments.v3.yml` and CONTRACT.md:
- `X-Auth-Token` checked (401), the Customers scope checked (403; the segment's profile list needs `modify`).
- Envelopes: `{data, meta: {pagination}}` for lists; `{data}` with 201 for adds; the 409 batch envelope keyed by
  index for profiles already in the segment; 204 with no body for DELETE; `ErrorResponse` for other errors.
- The hazard: a DELETE without `id:in` empties the whole segment (counted in `stats.unfiltered_deletes`).
- Rate limits: a fixed window per store with the four `X-Rate-Limit-*` headers on every answer, and 429 when the
  quota is used up. Time comes from an injected clock.

This module composes the store and seeds it; the protocol every endpoint shares is in `base.py`, the records in
`records.py`, and the endpoints by resource (`segments.py`, `customers.py`). Scripted faults (tests and benchmarks
only) live in `faults.py`, which overrides `fault_for()`, and serving over real HTTP in `serve.py`.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.routing import Route

from ..clock import Clock, SystemClock
from .base import MAX_LIMIT, HttpFault, Stats
from .customers import CustomersAPI
from .orders import OrdersAPI
from .records import EPOCH, Customer, CustomerGroup, Order, Profile, Segment
from .segment_admin import SegmentAdminAPI
from .segments import MAX_ADD, SegmentsAPI

__all__ = ["MAX_ADD", "MAX_LIMIT", "Customer", "CustomerGroup", "FakeBigCommerce", "HttpFault", "Order", "Stats"]


class FakeBigCommerce(SegmentsAPI, SegmentAdminAPI, CustomersAPI, OrdersAPI):
    """A stateful BigCommerce store: segments, shopper profiles, customers, groups, orders, quota and faults."""

    def __init__(
        self,
        *,
        store_hash: str = "abc123",
        token: str | None = "test-token",  # noqa: S107 - a fake store's token
        scope: Literal["modify", "read_only"] = "modify",
        clock: Clock | None = None,
        quota: int | None = 450,
        window_seconds: float = 30.0,
        latency: float = 0.0,
        uplink: float = 0.0,
        conflict_mode: Literal["partial", "atomic"] = "partial",
        include_shopper_profile: bool = True,
        unknown_profile_status: Literal[404, 422] = 422,
        strict_delete: bool = False,
        missing_scopes: Iterable[str] = (),
    ) -> None:
        self.store_hash = store_hash
        self.token = token
        self.scope = scope
        self.clock: Clock = clock or SystemClock()
        self.quota = quota
        self.window_seconds = window_seconds
        self.latency = latency
        self.uplink = uplink
        self.conflict_mode = conflict_mode
        self.include_shopper_profile = include_shopper_profile
        # The spec leaves these undocumented; tests try the other plausible answers too.
        self.unknown_profile_status = unknown_profile_status  # unknown profile in a POST: 422 by index, or bare 404
        self.strict_delete = strict_delete  # DELETE naming a non-member: 404 and nothing removed
        self.max_limit = MAX_LIMIT  # larger pages answer 413
        self.segments: dict[uuid.UUID, Segment] = {}
        self.profiles: dict[uuid.UUID, Profile] = {}
        self.customers: dict[int, Customer] = {}
        self.customer_groups: dict[int, CustomerGroup] = {}
        self.orders: dict[int, Order] = {}
        self.promotions: list[dict[str, Any]] = []
        self.missing_scopes = set(missing_scopes)  # optional scopes the token lacks ("orders", "marketing")
        self.stats = Stats()
        self._window_start: float | None = None
        self._used = 0
        self._epoch = EPOCH
        base = f"/stores/{store_hash}/v3"
        v2 = f"/stores/{store_hash}/v2"
        self.app = Starlette(
            routes=[
                Route(f"{base}/segments", self._segments_route, methods=["GET", "POST", "PUT", "DELETE"]),
                Route(
                    f"{base}/segments/{{segment_id}}/shopper-profiles",
                    self._segment_profiles,
                    methods=["GET", "POST", "DELETE"],
                ),
                Route(f"{base}/shopper-profiles/{{profile_id}}/segments", self._profile_segments, methods=["GET"]),
                Route(f"{base}/customers", self._customers, methods=["GET"]),
                Route(f"{base}/promotions", self._promotions, methods=["GET"]),
                Route(f"{v2}/customer_groups", self._customer_groups, methods=["GET"]),
                Route(f"{v2}/orders", self._orders, methods=["GET"]),
                Route(f"{v2}/orders/count", self._orders_count, methods=["GET"]),
            ]
        )

    # --- seeding ------------------------------------------------------------------------------------------------

    def add_segment(self, name: str, description: str = "", segment_id: uuid.UUID | None = None) -> uuid.UUID:
        sid = segment_id or uuid.uuid4()
        self.segments[sid] = Segment(sid, name, description, self._epoch, self._epoch)
        return sid

    def add_profile(self, customer_id: int | None = None, profile_id: uuid.UUID | None = None) -> uuid.UUID:
        pid = profile_id or uuid.uuid4()
        cid = customer_id if customer_id is not None else len(self.profiles) + 1
        moment = self._epoch + timedelta(minutes=len(self.profiles))
        self.profiles[pid] = Profile(pid, cid, moment, moment)
        return pid

    def add_profiles(self, n: int) -> list[uuid.UUID]:
        return [self.add_profile() for _ in range(n)]

    def add_members(self, segment_id: uuid.UUID, profile_ids: Iterable[uuid.UUID]) -> None:
        for pid in profile_ids:
            self.segments[segment_id].members[pid] = None

    def members(self, segment_id: uuid.UUID) -> list[uuid.UUID]:
        return list(self.segments[segment_id].members)

    def add_promotion(
        self, name: str, segments: dict[str, Any] | None, *, status: str = "ENABLED", promotion_id: int | None = None
    ) -> int:
        """A promotion (`promotions.v3.yml`) whose `customer.segments` condition is `segments`."""
        pid = promotion_id or max((p["id"] for p in self.promotions), default=0) + 1
        customer: dict[str, Any] = {"group_ids": [], "minimum_order_count": 0, "excluded_group_ids": []}
        if segments is not None:
            customer["segments"] = segments
        self.promotions.append(
            {
                "id": pid,
                "redemption_type": "AUTOMATIC",
                "name": name,
                "display_name": name,
                "channels": [],
                "customer": customer,
                "rules": [],
                "current_uses": 0,
                "max_uses": None,
                "status": status,
                "start_date": "2026-01-01T00:00:00+00:00",
                "end_date": None,
                "stop": False,
                "can_be_used_with_other_promotions": True,
                "currency_code": "USD",
                "notifications": [],
                "shipping_address": None,
                "schedule": None,
            }
        )
        return pid

    def add_group(self, group_id: int, name: str, *, is_default: bool = False) -> int:
        self.customer_groups[group_id] = CustomerGroup(group_id, name, is_default)
        return group_id

    def add_order(self, customer_id: int, created: datetime, total: str | Decimal, status_id: int = 10) -> int:
        oid = max(self.orders, default=99) + 1
        self.orders[oid] = Order(oid, customer_id, created, status_id, Decimal(total))
        return oid
