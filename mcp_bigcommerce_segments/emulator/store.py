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

This module is what `--sandbox` needs. Scripted faults (tests and benchmarks only) live in `faults.py`, which
overrides `fault_for()`, and serving over real HTTP in `serve.py`.
"""

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..clock import Clock, SystemClock

STATUS_DOC = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
MAX_LIMIT = 250
MAX_ADD = 50

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


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    company: str = ""


@dataclass
class Segment:
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    members: dict[uuid.UUID, None] = field(default_factory=dict)  # insertion-ordered set


@dataclass
class Profile:
    id: uuid.UUID
    customer_id: int
    created_at: datetime
    updated_at: datetime
    rendered: dict[str, Any] = field(default_factory=dict)  # the JSON form, made once (benchmarks count the fake)

    def __post_init__(self) -> None:
        self.rendered = {
            "id": str(self.id),
            "customer_id": self.customer_id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeBigCommerce:
    """A stateful BigCommerce store: segments, shopper profiles, customers, quota and faults."""

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
        conflict_mode: Literal["partial", "atomic"] = "partial",
        include_shopper_profile: bool = True,
        unknown_profile_status: Literal[404, 422] = 422,
        strict_delete: bool = False,
    ) -> None:
        self.store_hash = store_hash
        self.token = token
        self.scope = scope
        self.clock: Clock = clock or SystemClock()
        self.quota = quota
        self.window_seconds = window_seconds
        self.latency = latency
        self.conflict_mode = conflict_mode
        self.include_shopper_profile = include_shopper_profile
        # The spec leaves these undocumented; tests try the other plausible answers too.
        self.unknown_profile_status = unknown_profile_status  # unknown profile in a POST: 422 by index, or bare 404
        self.strict_delete = strict_delete  # DELETE naming a non-member: 404 and nothing removed
        self.max_limit = MAX_LIMIT  # larger pages answer 413
        self.segments: dict[uuid.UUID, Segment] = {}
        self.profiles: dict[uuid.UUID, Profile] = {}
        self.customers: dict[int, Customer] = {}
        self.stats = Stats()
        self._window_start: float | None = None
        self._used = 0
        self._epoch = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        base = f"/stores/{store_hash}/v3"
        self.app = Starlette(
            routes=[
                Route(f"{base}/segments", self._segments, methods=["GET"]),
                Route(
                    f"{base}/segments/{{segment_id}}/shopper-profiles",
                    self._segment_profiles,
                    methods=["GET", "POST", "DELETE"],
                ),
                Route(f"{base}/shopper-profiles/{{profile_id}}/segments", self._profile_segments, methods=["GET"]),
                Route(f"{base}/customers", self._customers, methods=["GET"]),
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

    def fault_for(self, method: str) -> HttpFault | None:
        """The misbehaviour to show for this request; none here (tests script some through `faults.py`)."""
        return None

    # --- protocol helpers ---------------------------------------------------------------------------------------

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

    async def _handle(self, request: Request, needs: Literal["read", "modify"], body: Callable[[], Any]) -> Response:
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
            if needs == "modify" and self.scope != "modify":
                return self._error(403, "You don't have a required scope to access the endpoint")
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

    def _profile_json(self, pid: uuid.UUID) -> dict[str, Any]:
        return self.profiles[pid].rendered

    def _segment_json(self, s: Segment) -> dict[str, Any]:
        return {
            "id": str(s.id),
            "name": s.name,
            "description": s.description,
            "created_at": _iso(s.created_at),
            "updated_at": _iso(s.updated_at),
        }

    def _find_segment(self, raw: str) -> Segment | Response:
        try:
            sid = uuid.UUID(raw)
        except ValueError:
            return self._error(422, "The segment ID is not a valid UUID.", {"segmentId": raw[:60]})
        segment = self.segments.get(sid)
        if segment is None:
            return self._error(404, "The requested segment was not found.")
        return segment

    # --- endpoints ----------------------------------------------------------------------------------------------

    async def _segment_profiles(self, request: Request) -> Response:
        needs: Literal["read", "modify"] = "modify"  # all three need the modify scope
        return await self._handle(request, needs, lambda: self._segment_profiles_body(request))

    async def _segment_profiles_body(self, request: Request) -> Response:
        segment = self._find_segment(request.path_params["segment_id"])
        if isinstance(segment, Response):
            return segment
        if request.method == "GET":
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            page, limit = args
            return self._json(200, self._paged(list(segment.members), page, limit, self._profile_json))
        if request.method == "DELETE":
            raw_ids = request.query_params.get("id:in")
            if raw_ids is None:
                # The documented hazard: no filter empties the segment.
                self.stats.unfiltered_deletes += 1
                segment.members.clear()
                return Response(status_code=204, headers=self._rate_headers())
            named = []
            for raw in raw_ids.split(","):
                try:
                    named.append(uuid.UUID(raw.strip()))
                except ValueError:
                    continue
            if self.strict_delete and any(pid not in segment.members for pid in named):
                return self._error(404, "Shopper profile not found in segment.")
            for pid in named:
                segment.members.pop(pid, None)
            return Response(status_code=204, headers=self._rate_headers())
        return self._add(segment, request.state.body)

    def _add(self, segment: Segment, raw: bytes) -> Response:
        try:
            ids = json.loads(raw) if raw else None
        except ValueError:
            return self._error(400, "The request body is not valid JSON.")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self._error(422, "The request body must be an array of shopper profile IDs.")
        if not ids:
            return self._error(422, "At least one shopper profile ID is required.")
        if len(ids) > MAX_ADD:
            return self._error(422, f"Limit of shopper profiles per request is {MAX_ADD}.")
        invalid: dict[str, str] = {}
        parsed: list[uuid.UUID] = []
        for n, raw_id in enumerate(ids):
            try:
                pid = uuid.UUID(raw_id)
            except ValueError:
                invalid[str(n)] = f"`{raw_id[:60]}` is not a valid shopper profile ID."
                continue
            if pid not in self.profiles:
                invalid[str(n)] = f"Shopper profile `{pid}` does not exist."
            parsed.append(pid)
        if invalid and self.unknown_profile_status == 404:
            return self._error(404, "Shopper profile not found.")
        if invalid:
            return self._error(422, "Unable to add shopper profiles to segment.", invalid)
        conflicts = {
            str(n): f"Shopper profile `{pid}` already exists for segment `{segment.id}`."
            for n, pid in enumerate(parsed)
            if pid in segment.members
        }
        fresh = [pid for pid in dict.fromkeys(parsed) if pid not in segment.members]
        if not conflicts:
            segment.members.update(dict.fromkeys(fresh))
            return self._json(201, {"data": [self._profile_json(p) for p in fresh]})
        added = fresh if self.conflict_mode == "partial" else []
        segment.members.update(dict.fromkeys(added))
        return self._json(
            409,
            {
                "data": [self._profile_json(p) for p in added],
                "errors": [
                    {
                        "status": 409,
                        "title": "Unable to add shopper profiles to segment due to conflicts.",
                        "type": STATUS_DOC,
                        "errors": conflicts,
                    }
                ],
                "meta": {"total": len(parsed), "success": len(added), "failed": len(conflicts)},
            },
        )

    async def _segments(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            page, limit = args
            items = list(self.segments.values())
            id_filter = request.query_params.get("id:in")
            if id_filter:
                wanted = {part.strip() for part in id_filter.split(",")}
                items = [s for s in items if str(s.id) in wanted]
            return self._json(200, self._paged(items, page, limit, self._segment_json))

        return await self._handle(request, "read", _async(body))

    async def _profile_segments(self, request: Request) -> Response:
        def body() -> Response:
            try:
                pid = uuid.UUID(request.path_params["profile_id"])
            except ValueError:
                return self._error(422, "The shopper profile ID is not a valid UUID.")
            if pid not in self.profiles:
                return self._error(404, "The requested shopper profile was not found.")
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            items = [s for s in self.segments.values() if pid in s.members]
            return self._json(200, self._paged(items, *args, self._segment_json))

        return await self._handle(request, "read", _async(body))

    async def _customers(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            customers = list(self.customers.values())
            raw_ids = request.query_params.get("id:in")
            if raw_ids:
                try:
                    wanted = {int(part) for part in raw_ids.split(",") if part.strip()}
                except ValueError:
                    return self._error(422, "id:in must be a list of integers.")
                customers = [c for c in customers if c.id in wanted]
            name_like = request.query_params.get("name:like")
            if name_like:  # a substring of "first last", any of the comma-separated values
                needles = [n.strip().casefold() for n in name_like.split(",") if n.strip()]
                customers = [
                    c for c in customers if any(n in f"{c.first_name} {c.last_name}".casefold() for n in needles)
                ]
            emails = request.query_params.get("email:in")
            if emails:
                wanted_emails = {e.strip().casefold() for e in emails.split(",")}
                customers = [c for c in customers if c.email.casefold() in wanted_emails]
            includes = set(request.query_params.get("include", "").split(","))
            by_customer = {p.customer_id: p.id for p in self.profiles.values()}
            rows: list[dict[str, Any]] = []
            for c in customers:
                row: dict[str, Any] = {
                    "id": c.id,
                    "first_name": c.first_name,
                    "last_name": c.last_name,
                    "email": c.email,
                    "company": c.company,
                }
                pid = by_customer.get(c.id)
                if self.include_shopper_profile and "shopper_profile_id" in includes:
                    row["shopper_profile_id"] = str(pid) if pid else None
                if self.include_shopper_profile and "segment_ids" in includes:
                    row["segment_ids"] = [str(s.id) for s in self.segments.values() if pid in s.members]
                rows.append(row)
            return self._json(200, self._paged(rows, *args, lambda row: row))

        return await self._handle(request, "read", _async(body))


def _async(fn: Callable[[], Response]) -> Callable[[], Any]:
    async def run() -> Response:
        return fn()

    return run
