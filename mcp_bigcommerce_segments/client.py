"""BigCommerceClient: the only module that speaks HTTP, through one request function.

`_request` is the choke point: headers, the shared concurrency limit, the rate-limit governor, retries and error
mapping all happen there. Public methods take and return typed values, never responses or dicts. `Transport` is
re-exported so that no other module imports httpx2.
"""

import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self
from uuid import UUID

import anyio
import httpx2
from pydantic import SecretStr, ValidationError

from . import __version__
from .clock import Clock, SystemClock
from .config import APP_NAME, Settings
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BigCommerceError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ResponseShapeError,
    body_detail,
    error_from_response,
    quote_store_text,
)
from .models import Customer, CustomerPage, Page, ProfilePage, Segment, SegmentPage, ShopperProfile, T
from .ratelimit import Governor, RateGovernor, wait
from .redact import keep_secret
from .retry import RetryPolicy

logger = logging.getLogger(__name__)

#: What `transport=` takes: the seam for the sandbox store and the tests.
Transport = httpx2.AsyncBaseTransport

# BigCommerce: "Limit of Shopper Profiles per request is 50." DELETE's `id:in` has no documented limit; the same
# 50 keeps URLs short (50 UUIDs are about 1.9 kB).
CHUNK_SIZE = 50
# BigCommerce's largest page (a larger `limit` answers 413 on v3 endpoints).
MAX_PAGE_SIZE = 250
# BigCommerce's documented default page, for a store that answers 413 to pages of 250.
SMALL_PAGE = 50
# The largest answer read (decompressed). A page of 250 profiles is about 60 kB: this is generous.
MAX_BODY_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Collected(Generic[T]):
    """A collection read page by page: each item once, and whether the reading got to a trustworthy end."""

    items: list[T]
    complete: bool
    total: int | None


@dataclass(frozen=True)
class Answer:
    """A complete answer: status, body (read whole, within the size cap) and headers."""

    status: int
    body: bytes
    what: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def error(self) -> APIStatusError:
        """The error this answer's status means."""
        return error_from_response(self.status, self.body, self.headers, what=self.what)

    @property
    def detail(self) -> str:
        """BigCommerce's own words from the body ("" when it said nothing)."""
        return body_detail(self.body)

    def json(self) -> Any:
        """The body as JSON ({} when empty).

        Raises:
            ResponseShapeError: the body is not JSON.
        """
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _not_json(self.what, self.status, self.headers.get("content-type", "")) from exc

    def lenient_json(self) -> Any:
        """The body as JSON, or {} when it is not JSON."""
        try:
            return self.json()
        except ResponseShapeError:
            return {}


def _not_json(what: str, status: int, content_type: str) -> ResponseShapeError:
    kind = quote_store_text(content_type.split(";")[0], 60) or "no content type"
    return ResponseShapeError(
        f"BigCommerce answered {what} with something that is not JSON ({kind}, status {status}); a proxy or an "
        "outage page may be in the way. Retry in a minute."
    )


async def _raw_chunks(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The body as it arrives, still compressed; a response made in memory (a mock) is read whole already."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx2.StreamConsumed:
        yield response.content


async def _read_body(response: httpx2.Response, what: str) -> bytes:
    """The body, decompressed as it arrives and never more than `MAX_BODY_BYTES` of it.

    Raises:
        ResponseShapeError: the body is larger than the cap, or compressed in a way we do not read.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    decoder: Any = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    elif encoding not in ("", "identity"):
        raise ResponseShapeError(
            f"BigCommerce answered {what} compressed as {quote_store_text(encoding, 30)}, which this server does not "
            "read; a proxy may be in the way. Check BIGCOMMERCE_API_URL."
        )
    parts: list[bytes] = []
    size = 0
    async for raw in _raw_chunks(response):
        data = raw
        while data:
            if decoder is None:
                piece, data = data, b""
            else:
                # Never inflate more than the cap allows, however small the compressed input.
                try:
                    piece = decoder.decompress(data, MAX_BODY_BYTES - size + 1)
                except zlib.error as exc:
                    raise ResponseShapeError(
                        f"BigCommerce's answer for {what} is not valid {encoding} data; a proxy may be in the way. "
                        "Retry in a minute."
                    ) from exc
                data = decoder.unconsumed_tail
            size += len(piece)
            if size > MAX_BODY_BYTES:
                raise ResponseShapeError(
                    f"BigCommerce's answer for {what} is larger than {MAX_BODY_BYTES // 2**20} MiB (a page of 250 "
                    "profiles is about 60 kB), so reading stopped; a proxy may be in the way. Retry in a minute."
                )
            parts.append(piece)
            if decoder is not None and not piece:
                break
    return b"".join(parts)


class BigCommerceClient:
    """An async client for the segment endpoints of one store.

    Use as an async context manager. `transport` is the seam for the sandbox store and the tests.
    """

    def __init__(
        self,
        *,
        base_url: str,
        access_token: SecretStr,
        user_agent: str,
        timeout_seconds: float = 30.0,
        max_concurrency: int = 10,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        clock: Clock | None = None,
        governor: Governor | None = None,
        leases: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        keep_secret(access_token.get_secret_value())
        self._timeout = timeout_seconds
        self._clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._governor: Governor = governor or RateGovernor(self._clock)
        # BigCommerce's 10 concurrent requests, when replicas share them (the semaphore counts this process's).
        self._leases = leases or nullcontext
        self._slots = anyio.Semaphore(max_concurrency)
        # Learnt from the first 413 to a page of 250: stores that cap pages lower are then read in pages of 50.
        self.page_size = MAX_PAGE_SIZE
        self._http_options: dict[str, Any] = {
            "base_url": base_url.rstrip("/") + "/",
            "headers": {
                "X-Auth-Token": access_token.get_secret_value(),
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": user_agent,
            },
            "timeout": httpx2.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            "limits": httpx2.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            "transport": transport,
            "follow_redirects": False,
        }
        # Made on first use: building its TLS context costs ~50 ms that a server start need not pay.
        self._client: httpx2.AsyncClient | None = None

    @property
    def clock(self) -> Clock:
        """The time source this client paces and retries by."""
        return self._clock

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(**self._http_options)
        return self._client

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout_seconds: float | None = None,
        governor: Governor | None = None,
        leases: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> Self:
        """The client the configuration describes; the keyword arguments override it (tests, `--check`)."""
        return cls(
            base_url=settings.base_url,
            access_token=settings.access_token,
            user_agent=f"{APP_NAME}/{__version__}",
            timeout_seconds=timeout_seconds or settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            retry=retry or RetryPolicy(max_seconds=settings.max_retry_seconds),
            transport=transport,
            clock=clock,
            governor=governor,
            leases=leases,
        )

    def __repr__(self) -> str:
        return f"BigCommerceClient(base_url={self._http_options['base_url']!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> Answer:
        """Send one request, within the concurrency limit and the rate limit, retrying what is safe to retry.

        Every wait (for the rate limit, or before a retry) counts against the request's budget
        (`RetryPolicy.max_seconds`); each attempt, from connecting to the last byte, against the timeout.

        Args:
            method: HTTP method.
            path: Path below `/stores/{hash}/v3/`; every variable part is a UUID the caller has parsed.
            what: Names the resource in error messages.
            params: Query parameters, encoded by httpx2.
            body: A JSON body (sent with `Content-Type: application/json`).
            accept: Error statuses the caller interprets itself (returned, not raised).

        Raises:
            APIStatusError: (a subclass per status) for an error answer that retrying cannot fix, or after retries.
            APIConnectionError: when BigCommerce could not be reached in the retry budget.
            ResponseShapeError: the answer was larger than `MAX_BODY_BYTES` or in an encoding we do not read.
        """
        started = self._clock.now()
        deadline = started + self._retry.max_seconds
        attempt = 0
        while True:
            attempt += 1
            async with self._slots, self._leases():
                sent_at = await self._governor.acquire(deadline)
                answer: Answer | None = None
                error: BigCommerceError | None
                try:
                    answer = await self._exchange(method, path, what=what, params=params, body=body)
                    error = None if answer.status < 300 or answer.status in accept else answer.error()
                except (APIConnectionError, ResponseShapeError) as exc:
                    error = exc
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._governor.release(answer.headers if answer is not None else None, sent_at)
            if error is None and answer is not None:
                logger.debug("%s %s -> %d (attempt %d)", method, path, answer.status, attempt)
                return answer
            assert error is not None
            spent = self._clock.now() - started
            delay = self._retry.next_wait(error, attempt, spent)
            if delay is None:
                if attempt > 1:
                    error.args = (f"{error} (gave up after {attempt} attempts over {spent:.0f} s)",)
                raise error
            logger.info("%s %s failed (%s); retrying in %.2f s", method, path, type(error).__name__, delay)
            if isinstance(error, RateLimitError):
                await self._governor.pause(delay)
            await wait(self._clock, delay)

    async def _exchange(
        self, method: str, path: str, *, what: str, params: Mapping[str, str | int] | None, body: bytes | None
    ) -> Answer:
        """One HTTP exchange, bounded in time (connect to last byte) and in size (decompressed).

        Raises:
            APITimeoutError: no complete answer within the timeout.
            APIConnectionError: the connection failed.
            ResponseShapeError: the body is too large or in an encoding we do not read.
        """
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            with anyio.fail_after(self._timeout):
                async with self._http.stream(method, path, params=params, content=body, headers=headers) as response:
                    content = await _read_body(response, what)
        except TimeoutError as exc:
            raise APITimeoutError(
                f"BigCommerce did not answer {method} {what} within {self._timeout:g} s. It may be slow or the network "
                "may be down; retry in a minute."
            ) from exc
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(
                f"BigCommerce did not answer {method} {what} in time. It may be slow or the network may be down; "
                "retry in a minute."
            ) from exc
        except httpx2.TransportError as exc:
            raise APIConnectionError(
                f"Could not reach BigCommerce for {what} ({type(exc).__name__}). Check the network and "
                "BIGCOMMERCE_API_URL; retry in a minute."
            ) from exc
        return Answer(response.status_code, content, what, response.headers)

    # --- reads ----------------------------------------------------------------------------------------------

    async def _get_page(
        self, path: str, model: type[Page[T]], *, what: str, params: Mapping[str, str | int]
    ) -> Page[T]:
        """GET a paginated collection and check it has the `{data, meta: {pagination}}` shape the spec promises."""
        answer = await self._request("GET", path, what=what, params=params)
        try:
            try:
                return model.model_validate_json(answer.body)
            except ValidationError as exc:
                if not (exc.error_count() and exc.errors()[0]["type"] == "json_invalid"):
                    raise
                # Python's parser reads what pydantic's refuses (lone surrogates, shown escaped by the models).
                return model.model_validate(answer.json())
        except ValidationError as exc:
            raise ResponseShapeError(
                f"BigCommerce's answer for {what} lacks the data or pagination the API promises; "
                "nothing was changed. Retry in a minute."
            ) from exc

    async def collect(
        self,
        path: str,
        model: type[Page[T]],
        *,
        what: str,
        max_items: int,
        params: Mapping[str, str | int] | None = None,
        only_if_whole: bool = False,
    ) -> "Collected[T]":
        """Read a whole collection of at most `max_items`, in the largest pages the store allows (learnt once).

        Takes nothing for granted: each item is kept once (by `id`), and the reading stops, marked incomplete, once
        `max_items` are read (at once, with `only_if_whole`, when the first page says there are more), a page says it
        is not the page asked for, or a page brings nothing new (a server that ignores `page` repeats itself).
        """
        items: dict[Any, T] = {}
        page, total = 1, None
        while True:
            try:
                fetched = await self._get_page(
                    path, model, what=what, params={**(params or {}), "page": page, "limit": self.page_size}
                )
            except PayloadTooLargeError:
                if page > 1 or self.page_size <= SMALL_PAGE:
                    raise
                self.page_size = SMALL_PAGE  # a store that caps pages lower: start again in pages of 50
                continue
            p = fetched.pagination
            total = p.total if p.total >= 0 else None
            if p.current_page != page or p.total_pages < 0 or (only_if_whole and (total or 0) > max_items):
                return Collected(list(items.values()), complete=False, total=total)
            before = len(items)
            for item in fetched.data:
                items.setdefault(item.id, item)
            if page >= p.total_pages or not fetched.data:
                # The end, by the pages' word; trusted only if the count adds up (a page of data says there is one).
                whole = total is not None and len(items) >= total and (p.total_pages >= 1 or not items)
                return Collected(list(items.values()), complete=whole, total=total)
            if len(items) == before or len(items) >= max_items:
                return Collected(list(items.values()), complete=False, total=total)
            page += 1

    async def list_segment_profiles(self, segment_id: UUID, *, page: int = 1, limit: int = 50) -> ProfilePage:
        """GET one page of a segment's shopper profiles."""
        return await self._get_page(
            f"segments/{segment_id}/shopper-profiles",
            ProfilePage,
            what=f"segment {segment_id}",
            params={"page": page, "limit": limit},
        )

    async def segment_members(
        self, segment_id: UUID, *, max_items: int, only_if_whole: bool = False
    ) -> "Collected[ShopperProfile]":
        """The shopper profiles of a segment, up to `max_items` (`complete` says whether that is all of them)."""
        return await self.collect(
            f"segments/{segment_id}/shopper-profiles",
            ProfilePage,
            what=f"segment {segment_id}",
            max_items=max_items,
            only_if_whole=only_if_whole,
        )

    async def list_segments(self, *, page: int = 1, limit: int = 50) -> SegmentPage:
        """GET one page of the store's segments."""
        return await self._get_page("segments", SegmentPage, what="segments", params={"page": page, "limit": limit})

    async def all_segments(self, *, max_items: int) -> "Collected[Segment]":
        """Every segment of the store (a store has at most 1,000)."""
        return await self.collect("segments", SegmentPage, what="segments", max_items=max_items)

    async def segment_names(self, ids: set[UUID]) -> dict[UUID, str]:
        """The names of segments, by ID (one request per 250; none for no IDs)."""
        names: dict[UUID, str] = {}
        wanted = sorted(ids, key=str)
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            batch = wanted[start : start + MAX_PAGE_SIZE]
            page = await self._get_page(
                "segments",
                SegmentPage,
                what="segments",
                params={"id:in": ",".join(str(i) for i in batch), "limit": len(batch), "page": 1},
            )
            names.update({s.id: s.name for s in page.data})
        return names

    async def segment_exists(self, segment_id: UUID) -> bool:
        """Whether the segment exists (one small read)."""
        try:
            await self.list_segment_profiles(segment_id, limit=1)
        except NotFoundError:
            return False
        return True

    async def customers(self, ids: Sequence[int]) -> list[Customer]:
        """GET customers by ID, with their shopper profile and segments (beta includes), a page at a time."""
        wanted = list(dict.fromkeys(ids))
        found: list[Customer] = []
        start = 0
        while start < len(wanted):
            batch = wanted[start : start + self.page_size]
            params: dict[str, str | int] = {
                "id:in": ",".join(str(i) for i in batch),
                "include": "shopper_profile_id,segment_ids",
                "limit": len(batch),  # one page holds them all
            }
            try:
                page = await self._get_page("customers", CustomerPage, what="customers", params=params)
            except PayloadTooLargeError:
                if self.page_size <= SMALL_PAGE:
                    raise
                self.page_size = SMALL_PAGE  # a store that caps pages lower: ask for 50 at a time
                continue
            found += page.data
            start += len(batch)
        return found

    async def search_customers(self, *, name_like: str | None = None, email: str | None = None) -> CustomerPage:
        """GET the first 50 customers whose name contains `name_like` or whose email is `email`."""
        params: dict[str, str | int] = {"include": "shopper_profile_id,segment_ids", "limit": 50, "page": 1}
        if name_like is not None:
            params["name:like"] = name_like
        if email is not None:
            params["email:in"] = email
        return await self._get_page("customers", CustomerPage, what="customers", params=params)

    async def profile_segments(self, profile_id: UUID, *, page: int = 1, limit: int = 50) -> SegmentPage:
        """GET one page of the segments a shopper profile belongs to."""
        return await self._get_page(
            f"shopper-profiles/{profile_id}/segments",
            SegmentPage,
            what=f"shopper profile {profile_id}",
            params={"page": page, "limit": limit},
        )

    # --- writes: the answers are interpreted by `batch` -------------------------------------------------------

    async def post_profiles(self, segment_id: UUID, ids: Sequence[UUID]) -> Answer:
        """POST up to 50 IDs to a segment (a bare JSON array, as the spec says); 201, 404, 409 and 422 are returned."""
        if not ids or len(ids) > CHUNK_SIZE:  # BigCommerce: max 50 per POST; never an empty body
            raise ValueError("a POST takes 1 to 50 profile IDs")
        what = f"segment {segment_id}"
        body = json.dumps([str(i) for i in ids], separators=(",", ":")).encode()
        return await self._request(
            "POST", f"segments/{segment_id}/shopper-profiles", what=what, body=body, accept=frozenset({404, 409, 422})
        )

    async def delete_profiles(self, segment_id: UUID, ids: Sequence[UUID]) -> Answer:
        """DELETE up to 50 IDs from a segment by `id:in`; 204 and 404 are returned."""
        # Without `id:in`, BigCommerce empties the whole segment: this guard must never be removed.
        if not ids or len(ids) > CHUNK_SIZE:
            raise ValueError("a DELETE takes 1 to 50 profile IDs")
        what = f"segment {segment_id}"
        return await self._request(
            "DELETE",
            f"segments/{segment_id}/shopper-profiles",
            what=what,
            params={"id:in": ",".join(str(i) for i in ids)},
            accept=frozenset({404}),
        )


__all__ = [
    "CHUNK_SIZE",
    "MAX_PAGE_SIZE",
    "SMALL_PAGE",
    "Answer",
    "BigCommerceClient",
    "Customer",
    "Segment",
    "ShopperProfile",
    "Transport",
]
