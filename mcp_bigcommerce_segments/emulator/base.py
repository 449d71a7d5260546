"""The protocol every endpoint of the fake shares: the token and scope check, the rate-limit window and its four
headers, scripted faults, latency, envelopes and pagination (`StoreBase._handle`, `_page_args`, `_paged`).

A request is in transit for `uplink` seconds before the store counts it, and its answer takes `latency_for()` seconds
to come back: with both, an answer can report quota that requests already on their way will spend, which is what
the rate governor's in-flight and epoch rules exist for.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..clock import Clock
from .records import Customer, Profile, Segment

#: What an endpoint needs of the token: Customers read or modify, or an optional scope.
Needs = Literal["read", "modify", "orders", "marketing"]
_SCOPE_NAMES = {"orders": "store_v2_orders_read_only", "marketing": "store_v2_marketing_read_only"}

STATUS_DOC = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
MAX_LIMIT = 250

#: What a scripted fault can make the store answer (see `faults.py`).
HttpFault = Literal["500", "503", "429-no-headers", "malformed-json", "html"]


@dataclass
class Stats:
    """What the store saw, for assertions."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, raw query)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    rate_limited: int = 0
    unfiltered_deletes: int = 0

    def count(self, method: str) -> int:
        return sum(1 for m, _, _ in self.requests if m == method)


class StoreBase:
    """The state and the protocol shared by the endpoints; `FakeBigCommerce` sets every attribute."""

    store_hash: str
    token: str | None
    scope: Literal["modify", "read_only"]
    clock: Clock
    quota: int | None
    window_seconds: float
    latency: float
    uplink: float
    max_limit: int
    include_shopper_profile: bool
    segments: dict[uuid.UUID, Segment]
    profiles: dict[uuid.UUID, Profile]
    customers: dict[int, Customer]
    missing_scopes: set[str]  # "orders", "marketing": answered 403
    stats: Stats
    app: Starlette
    _window_start: float | None
    _used: int

    def use_quota(self, requests: int) -> None:
        """Spend quota in the current window as another app on the store would."""
        self._spend()
        self._used = min(self.quota or 0, self._used + requests - 1)

    def transport(self) -> httpx2.AsyncBaseTransport:
        """An httpx2 transport that reaches this store in process."""
        return httpx2.ASGITransport(app=self.app)

    def latency_for(self, method: str) -> float:
        """How long this request takes to answer (tests vary it)."""
        return self.latency

    def uplink_for(self, method: str) -> float:
        """How long this request is in transit before the store counts it (tests vary it)."""
        return self.uplink

    def fault_for(self, method: str) -> HttpFault | None:
        """The misbehaviour to show for this request; none here (tests script some through `faults.py`)."""
        return None

    def _rate_headers(self) -> dict[str, str]:
        if self.quota is None:
            return {}
        now = self.clock.now()
        start = self._window_start if self._window_start is not None else now
        reset_ms = max(0, round((start + self.window_seconds - now) * 1000))
        return {
            "X-Rate-Limit-Time-Window-Ms": str(round(self.window_seconds * 1000)),
            "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(max(0, self.quota - self._used)),
        }

    def _spend(self) -> bool:
        """Count one request against the window; False when the quota is used up."""
        if self.quota is None:
            return True
        now = self.clock.now()
        if self._window_start is None or now >= self._window_start + self.window_seconds:
            self._window_start = now
            self._used = 0
        if self._used >= self.quota:
            return False
        self._used += 1
        return True

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> Response:
        headers = self._rate_headers() | (extra or {})
        return Response(
            json.dumps(payload, separators=(",", ":")),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )

    def _error(self, status: int, title: str, errors: dict[str, str] | None = None) -> Response:
        return self._json(status, {"status": status, "title": title, "type": STATUS_DOC, "errors": errors or {}})

    async def _handle(self, request: Request, needs: Needs, body: Callable[[], Any]) -> Response:
        """Everything that comes before and after an endpoint's own work."""
        stats = self.stats
        stats.requests.append((request.method, request.url.path, request.url.query))
        stats.headers.append({k.lower(): v for k, v in request.headers.items()})
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            raw = await request.body()
            stats.bodies.append(raw)
            fault = self.fault_for(request.method)
            if transit := self.uplink_for(request.method):  # in transit: sent, not yet counted by the store
                await self.clock.sleep(transit)
            within_quota = self._spend()  # counted on arrival; the answer comes back after the latency
            delay = self.latency_for(request.method)
            if delay:
                await self.clock.sleep(delay)
            if self.token is not None and request.headers.get("x-auth-token") != self.token:
                return self._error(401, "You are not authorized to access this resource.")
            if fault in ("500", "503"):
                return self._error(int(fault), "Internal Server Error")
            if fault == "429-no-headers":
                stats.rate_limited += 1
                return Response(b"", status_code=429)
            if not within_quota:
                stats.rate_limited += 1
                reset = self._rate_headers()["X-Rate-Limit-Time-Reset-Ms"]
                return self._json(
                    429,
                    {"status": 429, "title": "Too many requests", "type": STATUS_DOC},
                    {"X-Retry-After": str(max(1, -(-int(reset) // 1000)))},
                )
            if (needs == "modify" and self.scope != "modify") or needs in self.missing_scopes:
                return self._error(
                    403,
                    "You don't have a required scope to access the endpoint",
                    {"scope": _SCOPE_NAMES.get(needs, "store_v2_customers")},
                )
            if fault == "malformed-json":
                return Response(
                    b'{"data": [', status_code=200, media_type="application/json", headers=self._rate_headers()
                )
            if fault == "html":
                return Response(b"<html><body>502 Bad Gateway</body></html>", status_code=502, media_type="text/html")
            request.state.body = raw
            result: Response = await body()
            return result
        finally:
            stats.in_flight -= 1

    def _page_args(self, request: Request) -> tuple[int, int] | Response:
        """`page` and `limit`, or the error BigCommerce answers for them."""
        try:
            page = int(request.query_params.get("page", "1"))
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            return self._error(422, "page and limit must be integers")
        if page < 1 or limit < 1:
            return self._error(422, "page and limit must be positive")
        if limit > self.max_limit:
            return self._error(
                413, "The specified limit exceeds the maximum allowed.", {"limit": f"max {self.max_limit}"}
            )
        return page, limit

    def _paged(
        self, items: list[Any], page: int, limit: int, render: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        start = (page - 1) * limit
        chunk = items[start : start + limit]
        total = len(items)
        return {
            "data": [render(item) for item in chunk],
            "meta": {
                "pagination": {
                    "total": total,
                    "count": len(chunk),
                    "per_page": limit,
                    "current_page": page,
                    "total_pages": max(1, -(-total // limit)) if total else 0,
                }
            },
        }


def run_sync(fn: Callable[[], Response]) -> Callable[[], Any]:
    """An endpoint body without awaits, in the shape `_handle` awaits."""

    async def run() -> Response:
        return fn()

    return run
