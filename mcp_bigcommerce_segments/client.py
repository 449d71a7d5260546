"""BigCommerceClient: the only module that speaks HTTP, through one request function.

`_request` is the choke point: headers, the shared concurrency limit, the rate-limit governor, retries and error
mapping all happen there. Public methods take and return typed values, never responses or dicts.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
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
    RateLimitError,
    ResponseShapeError,
    body_detail,
    error_from_response,
)
from .models import CustomerPage, ProfilePage, SegmentPage
from .throttle import RateGovernor, RetryPolicy, wait

logger = logging.getLogger(__name__)

PageT = TypeVar("PageT", ProfilePage, SegmentPage, CustomerPage)

# BigCommerce: "Limit of Shopper Profiles per request is 50." DELETE's `id:in` has no documented limit; the same
# 50 keeps URLs short (50 UUIDs are about 1.9 kB).
CHUNK_SIZE = 50
# BigCommerce's largest page (a larger `limit` answers 413 on v3 endpoints).
MAX_PAGE_SIZE = 250


@dataclass
class ChunkOutcome:
    """What BigCommerce did with one chunk of IDs; every ID of the chunk lands in exactly one bucket."""

    done: list[UUID] = field(default_factory=list)
    already: list[UUID] = field(default_factory=list)
    failed: dict[str, list[UUID]] = field(default_factory=dict)

    def fail(self, reason: str, ids: Sequence[UUID]) -> None:
        if ids:
            self.failed.setdefault(reason, []).extend(ids)

    def merge(self, other: "ChunkOutcome") -> None:
        self.done.extend(other.done)
        self.already.extend(other.already)
        for reason, ids in other.failed.items():
            self.fail(reason, ids)


class BigCommerceClient:
    """An async client for the segment endpoints of one store.

    Use as an async context manager. `transport` is the seam for the emulator (sandbox and tests).
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
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._token = access_token
        self._clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._governor = RateGovernor(self._clock)
        self._slots = anyio.Semaphore(max_concurrency)
        self._http_options: dict[str, Any] = {
            "base_url": base_url.rstrip("/") + "/",
            "headers": {
                "X-Auth-Token": access_token.get_secret_value(),
                "Accept": "application/json",
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
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(**self._http_options)
        return self._client

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout_seconds: float | None = None,
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

    def _redact(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx2.Response:
        """Send one request, within the concurrency limit and the rate limit, retrying what is safe to retry.

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
        """
        headers = {"Content-Type": "application/json"} if body is not None else None
        started = self._clock.now()
        attempt = 0
        while True:
            attempt += 1
            error: BigCommerceError
            async with self._slots:
                await self._governor.acquire()
                response: httpx2.Response | None = None
                try:
                    response = await self._http.request(method, path, params=params, content=body, headers=headers)
                except httpx2.TimeoutException as exc:
                    error = APITimeoutError(
                        f"BigCommerce did not answer {method} {what} in time. It may be slow or the network may be "
                        "down; retry in a minute."
                    )
                    error.__cause__ = exc
                except httpx2.TransportError as exc:
                    error = APIConnectionError(
                        f"Could not reach BigCommerce for {what} ({type(exc).__name__}). Check the network and "
                        "BIGCOMMERCE_API_URL; retry in a minute."
                    )
                    error.__cause__ = exc
                finally:
                    self._governor.release(response.headers if response is not None else None)
                if response is not None:
                    status = response.status_code
                    if 200 <= status < 300 or status in accept:
                        logger.debug("%s %s -> %d (attempt %d)", method, path, status, attempt)
                        return response
                    error = error_from_response(status, response.content, response.headers, what=what)
                    error.args = (self._redact(str(error)),)
            retryable = isinstance(error, APIConnectionError) or (isinstance(error, APIStatusError) and error.retryable)
            delay = self._delay(error, attempt)
            spent = self._clock.now() - started
            if not retryable or attempt >= self._retry.max_attempts or spent + delay > self._retry.max_seconds:
                if retryable and attempt > 1:
                    error.args = (f"{error} (gave up after {attempt} attempts over {spent:.0f} s)",)
                raise error
            logger.info("%s %s failed (%s); retrying in %.2f s", method, path, type(error).__name__, delay)
            if isinstance(error, RateLimitError):
                self._governor.pause(delay)
            await wait(self._clock, delay)

    def _delay(self, error: BigCommerceError, attempt: int) -> float:
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        return self._retry.backoff(attempt)

    @staticmethod
    def _json(response: httpx2.Response, what: str) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            kind = response.headers.get("content-type", "unknown content type").split(";")[0]
            raise ResponseShapeError(
                f"BigCommerce answered {what} with something that is not JSON ({kind}, status "
                f"{response.status_code}); a proxy or an outage page may be in the way. Retry in a minute."
            ) from exc

    # --- operations -----------------------------------------------------------------------------------------

    async def _get_page(self, path: str, model: type[PageT], *, what: str, params: Mapping[str, str | int]) -> PageT:
        """GET a paginated collection and check it has the `{data, meta: {pagination}}` shape the spec promises."""
        response = await self._request("GET", path, what=what, params=params)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            if exc.error_count() and exc.errors()[0]["type"] == "json_invalid":
                self._json(response, what)  # raises the "not JSON" error
            raise ResponseShapeError(
                f"BigCommerce's answer for {what} lacks the data or pagination the API promises; "
                "nothing was changed. Retry in a minute."
            ) from exc

    async def list_segment_profiles(self, segment_id: UUID, *, page: int = 1, limit: int = 50) -> ProfilePage:
        """GET one page of a segment's shopper profiles."""
        return await self._get_page(
            f"segments/{segment_id}/shopper-profiles",
            ProfilePage,
            what=f"segment {segment_id}",
            params={"page": page, "limit": limit},
        )

    async def list_segments(self, *, page: int = 1, limit: int = 50) -> SegmentPage:
        """GET one page of the store's segments."""
        return await self._get_page("segments", SegmentPage, what="segments", params={"page": page, "limit": limit})

    async def customers(self, ids: Sequence[int]) -> CustomerPage:
        """GET up to 250 customers by ID (one page), with their shopper profile and segments (beta includes)."""
        if not ids or len(ids) > MAX_PAGE_SIZE:
            raise ValueError("customers() takes 1 to 250 IDs")
        return await self._get_page(
            "customers",
            CustomerPage,
            what="customers",
            params={
                "id:in": ",".join(str(i) for i in ids),
                "include": "shopper_profile_id,segment_ids",
                "limit": len(ids),  # one page holds them all
            },
        )

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

    async def add_chunk(self, segment_id: UUID, ids: Sequence[UUID]) -> ChunkOutcome:
        """POST up to 50 IDs; sort them into added, already members, failed.

        BigCommerce answers 201 when all were added, and 409 with a batch envelope whose `errors` are keyed by the
        index of each conflicting ID. Whether the other IDs of a 409 batch were added is not documented, so IDs
        neither confirmed nor reported are sent once more on their own: repeating an add is safe.
        """
        outcome = ChunkOutcome()
        await self._add_into(outcome, segment_id, list(ids), rounds=2)
        return outcome

    async def _add_into(self, outcome: ChunkOutcome, segment_id: UUID, ids: list[UUID], *, rounds: int) -> None:
        if not ids or len(ids) > CHUNK_SIZE:  # BigCommerce: max 50 per POST; never an empty body
            raise ValueError("a POST takes 1 to 50 profile IDs")
        what = f"segment {segment_id}"
        body = json.dumps([str(i) for i in ids], separators=(",", ":")).encode()
        response = await self._request(
            "POST", f"segments/{segment_id}/shopper-profiles", what=what, body=body, accept=frozenset({404, 409, 422})
        )
        if response.status_code == 404:
            await self._require_segment(segment_id, response)
            payload = _lenient_json(response.content)
            if not _indexed_errors(payload, ids):
                # The segment exists, so BigCommerce rejects some of the profiles without saying which: halve.
                if len(ids) == 1:
                    outcome.fail(f"BigCommerce does not know this shopper profile (404){_detail(response)}", ids)
                    return
                for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
                    await self._add_into(outcome, segment_id, half, rounds=rounds)
                return
        else:
            payload = self._json(response, what) if response.content else {}
        if response.status_code < 300 and not (isinstance(payload, dict) and payload.get("errors")):
            outcome.done.extend(ids)  # 201: BigCommerce added the whole batch
            return
        confirmed = _ids_in_data(payload) & set(ids)
        indexed = _indexed_errors(payload, ids)
        if response.status_code in (404, 422) and not indexed:
            outcome.fail(str(error_from_response(422, response.content, response.headers, what=what)), ids)
            return
        unresolved: list[UUID] = []
        for position, profile_id in enumerate(ids):
            if profile_id in confirmed:
                outcome.done.append(profile_id)
            elif position in indexed:
                status, message = indexed[position]
                if status == 409 or "already" in message.lower():
                    outcome.already.append(profile_id)
                else:
                    outcome.fail(f"BigCommerce rejected it: {message}", [profile_id])
            else:
                unresolved.append(profile_id)
        if not unresolved:
            return
        meta = payload.get("meta") if isinstance(payload, dict) else None
        success = meta.get("success") if isinstance(meta, dict) else None
        if response.status_code < 300 or (
            isinstance(success, int | float) and success >= len(confirmed) + len(unresolved)
        ):
            outcome.done.extend(unresolved)
        elif rounds > 1:
            await self._add_into(outcome, segment_id, unresolved, rounds=rounds - 1)
        else:
            outcome.fail("BigCommerce neither added nor rejected it; adding again is safe", unresolved)

    async def remove_chunk(self, segment_id: UUID, ids: Sequence[UUID]) -> ChunkOutcome:
        """DELETE up to 50 IDs by `id:in`. BigCommerce answers 204 and says nothing about non-members."""
        # Without `id:in`, BigCommerce empties the whole segment: this guard must never be removed.
        if not ids or len(ids) > CHUNK_SIZE:
            raise ValueError("remove_chunk needs 1 to 50 profile IDs")
        response = await self._request(
            "DELETE",
            f"segments/{segment_id}/shopper-profiles",
            what=f"segment {segment_id}",
            params={"id:in": ",".join(str(i) for i in ids)},
            accept=frozenset({404}),
        )
        outcome = ChunkOutcome()
        if response.status_code != 404:
            outcome.done.extend(ids)
            return outcome
        # BigCommerce documents only 204. A 404 while the segment exists means some IDs are not members: halve
        # until each is placed; a lone ID that still gets 404 was not a member ("already" out of the segment).
        await self._require_segment(segment_id, response)
        if len(ids) == 1:
            outcome.already.extend(ids)
            return outcome
        for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
            outcome.merge(await self.remove_chunk(segment_id, half))
        return outcome

    async def _require_segment(self, segment_id: UUID, response: httpx2.Response) -> None:
        """After a 404 on a write, tell a missing segment (which stops the call) from IDs the store rejects.

        Raises:
            NotFoundError: the segment does not exist.
        """
        try:
            await self.list_segment_profiles(segment_id, limit=1)
        except NotFoundError:
            raise error_from_response(404, response.content, response.headers, what=f"segment {segment_id}") from None


def _lenient_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}


def _detail(response: httpx2.Response) -> str:
    """BigCommerce's words from an error body, as a parenthesis; empty when it said nothing."""
    said = body_detail(response.content)
    return f" (BigCommerce said: {said})" if said else ""


def _ids_in_data(payload: Any) -> set[UUID]:
    """The profile IDs listed in a batch answer's `data` (entries that are not profiles are skipped)."""
    found: set[UUID] = set()
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list):
        for item in data:
            raw = item.get("id") if isinstance(item, dict) else None
            if isinstance(raw, str):
                try:
                    found.add(UUID(raw))
                except ValueError:
                    continue
    return found


def _indexed_errors(payload: Any, ids: Sequence[UUID]) -> dict[int, tuple[int, str]]:
    """Per-ID errors of a batch answer: position in the request -> (status, message).

    Accepts both shapes BigCommerce uses: the batch envelope (`errors` is a list of `{status, errors: {index: msg}}`)
    and the plain error body (`errors` is `{index: msg}`). A key that is not an index is matched by the UUID the
    message names.
    """
    found: dict[int, tuple[int, str]] = {}
    if not isinstance(payload, dict):
        return found
    top_status = payload.get("status")
    groups: list[tuple[Any, Any]] = []
    errors = payload.get("errors")
    if isinstance(errors, list):
        groups = [(g.get("status"), g.get("errors")) for g in errors if isinstance(g, dict)]
    elif isinstance(errors, dict):
        groups = [(top_status, errors)]
    if not groups:
        return found
    positions = {str(profile_id): n for n, profile_id in enumerate(ids)}
    for status, items in groups:
        if not isinstance(items, dict):
            continue
        code = int(status) if isinstance(status, int | float) else 0
        for key, message in items.items():
            text = str(message)
            position: int | None = None
            if str(key).isdigit() and int(key) < len(ids):
                position = int(key)
            else:
                position = next((n for uid, n in positions.items() if uid in text), None)
            if position is not None:
                found[position] = (code, text)
    return found
