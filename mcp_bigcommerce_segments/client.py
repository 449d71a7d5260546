"""BigCommerceClient: the only module that speaks HTTP, through one request function.

`_request` is the choke point: headers, the shared concurrency limit, the rate-limit governor, retries, error mapping,
and reading each answer within its size and time bounds all happen there. The typed operations it serves live in
`endpoints.py`. `Transport` is re-exported so that no other module imports httpx2.
"""

import copy
import logging
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any, Self

import anyio
import httpx2
from pydantic import SecretStr

from . import __version__
from .answer import Answer
from .clock import Clock, SystemClock
from .config import APP_NAME, Settings
from .endpoints import CHUNK_SIZE, MAX_PAGE_SIZE, SMALL_PAGE, Collected
from .errors import (
    APIConnectionError,
    APITimeoutError,
    BigCommerceError,
    ConnectFailedError,
    RateLimitError,
    ResponseShapeError,
    quote_store_text,
)
from .ratelimit import Governor, RateGovernor, WaitReporter, wait
from .redact import keep_secret
from .retry import RetryPolicy
from .segment_admin import SegmentAdmin

logger = logging.getLogger(__name__)

#: What `transport=` takes: the seam for the sandbox store and the tests.
Transport = httpx2.AsyncBaseTransport

# The largest answer read (decompressed). A page of 250 profiles is about 60 kB: this is generous.
MAX_BODY_BYTES = 8 * 2**20


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


class BigCommerceClient(SegmentAdmin):
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
        self._reserve = 0.0  # the share of a window this client leaves to others (see `within`)
        self._names  # noqa: B018 - made now, so that `within` views share the names they read
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
        if base_url.startswith("http://"):
            # Plain HTTP: no CA bundle to load (~30 ms). Verification stays required: with no trust anchor, a TLS
            # connection (an https proxy in the environment) fails instead of going unverified.
            self._http_options["verify"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # `/stores/{hash}/`: the V2 endpoints (customer groups, orders) hang below it, beside v3.
        self._store_root = base_url.rstrip("/").rsplit("/", 1)[0] + "/"
        # Made on first use: building its TLS context costs ~50 ms that a server start need not pay.
        self._client: httpx2.AsyncClient | None = None

    def _now(self) -> float:
        return self._clock.now()

    def within(self, seconds: float, *, reserve: float = 0.0) -> Self:
        """This client (connections, quota and caches shared) with each request's waits and retries bounded by
        `seconds`, sent only while `reserve` of the window's quota would be left, else not (`RateLimitWaitTooLong`)."""
        self._http  # noqa: B018 - made now, so that the view uses the same connections
        view = copy.copy(self)
        view._retry, view._reserve = replace(self._retry, max_seconds=seconds), reserve
        return view

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

    async def __aexit__(self, *exc: object) -> None:
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
        on_wait: WaitReporter | None = None,
    ) -> Answer:
        """Send one request, within the concurrency limit and the rate limit, retrying what is safe to retry for its
        method (`retry.is_retryable`: a POST only when nothing was sent, or after a 429).

        Every wait (for the rate limit, or before a retry) counts against the request's budget
        (`RetryPolicy.max_seconds`); each attempt, from connecting to the last byte, against the timeout.

        Args:
            method: HTTP method.
            path: Path below `/stores/{hash}/v3/`, or below `/stores/{hash}/` when it starts with `/` (`/v2/orders`);
                every variable part is a UUID or number the caller has parsed.
            what: Names the resource in error messages.
            params: Query parameters, encoded by httpx2.
            body: A JSON body (sent with `Content-Type: application/json`).
            accept: Error statuses the caller interprets itself (returned, not raised).
            on_wait: Told the seconds left whenever the request waits (for the quota, or before a retry).

        Raises:
            APIStatusError: (a subclass per status) for an error answer that retrying cannot fix, or after retries.
            APIConnectionError: when BigCommerce could not be reached in the retry budget.
            ResponseShapeError: the answer was larger than `MAX_BODY_BYTES` or in an encoding we do not read.
        """
        if method == "DELETE" and not any(part.strip() for part in str((params or {}).get("id:in", "")).split(",")):
            # Without `id:in` BigCommerce deletes everything the path names (a segment's members, every segment).
            raise ValueError(f"refused: a DELETE of {path} without id:in")
        started = self._clock.now()
        deadline = started + self._retry.max_seconds
        attempt = 0
        while True:
            attempt += 1
            answer, error = await self._attempt(method, path, what, params, body, accept, deadline, on_wait)
            if error is None and answer is not None:
                logger.debug("%s %s -> %d (attempt %d)", method, path, answer.status, attempt)
                return answer
            assert error is not None
            spent = self._clock.now() - started
            delay = self._retry.next_wait(error, attempt, spent, method)
            if delay is None:
                if attempt > 1:
                    error.args = (f"{error} (gave up after {attempt} attempts over {spent:.0f} s)",)
                raise error
            logger.info("%s %s failed (%s); retrying in %.2f s", method, path, type(error).__name__, delay)
            if isinstance(error, RateLimitError):
                await self._governor.pause(delay)
            await wait(self._clock, delay, report=on_wait)

    async def _attempt(
        self,
        method: str,
        path: str,
        what: str,
        params: Mapping[str, str | int] | None,
        body: bytes | None,
        accept: frozenset[int],
        deadline: float,
        on_wait: WaitReporter | None,
    ) -> tuple[Answer | None, BigCommerceError | None]:
        """One attempt, within the concurrency limit and the quota: the answer, or the error to retry or raise."""
        async with self._slots:
            sent_at = await self._governor.acquire(deadline, on_wait, self._reserve)
            answer: Answer | None = None
            error: BigCommerceError | None
            try:
                # A shared slot of BigCommerce's 10 is held only for the exchange, never while waiting for quota.
                async with self._leases():
                    answer = await self._exchange(method, path, what=what, params=params, body=body)
                error = None if answer.status < 300 or answer.status in accept else answer.error()
            except (APIConnectionError, ResponseShapeError) as exc:
                error = exc
            finally:
                with anyio.CancelScope(shield=True):
                    await self._governor.release(answer.headers if answer is not None else None, sent_at)
        return answer, error

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
                url = self._store_root + path[1:] if path.startswith("/") else path  # "/v2/...": below the store
                async with self._http.stream(method, url, params=params, content=body, headers=headers) as response:
                    content = await _read_body(response, what)
        except TimeoutError as exc:
            raise APITimeoutError(
                f"BigCommerce did not answer {method} {what} within {self._timeout:g} s. It may be slow or the network "
                "may be down; retry in a minute."
            ) from exc
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise ConnectFailedError(
                f"Could not connect to BigCommerce for {what} ({type(exc).__name__}); nothing was sent. Check the "
                "network and BIGCOMMERCE_API_URL; retry in a minute."
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


__all__ = [
    "CHUNK_SIZE",
    "MAX_BODY_BYTES",
    "MAX_PAGE_SIZE",
    "SMALL_PAGE",
    "Answer",
    "BigCommerceClient",
    "Collected",
    "Transport",
]
