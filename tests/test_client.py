"""The HTTP client against the fake store: wire contract, error mapping, retries, rate limits."""

import json
import ssl
import uuid
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from mcp_bigcommerce_segments.batch import add_chunk, remove_chunk
from mcp_bigcommerce_segments.client import BigCommerceClient
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore
from mcp_bigcommerce_segments.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)
from mcp_bigcommerce_segments.retry import RetryPolicy

from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio


def make(
    transport: httpx2.AsyncBaseTransport, clock: VirtualClock, *, token: str = TOKEN, **retry: float
) -> BigCommerceClient:
    return BigCommerceClient(
        base_url=f"http://127.0.0.1:9/stores/{STORE}/v3",
        access_token=SecretStr(token),
        user_agent="mcp-bigcommerce-segments/test",
        transport=transport,
        clock=clock,
        retry=RetryPolicy(jitter=0.0, **retry),  # type: ignore[arg-type]
    )


async def test_every_request_carries_auth_accept_and_user_agent(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """Every request carries the auth token, a JSON Accept header and the user agent, to the expected URL."""
    async with make(store.transport(), clock) as client:
        await client.list_segment_profiles(segment)

    headers = store.stats.headers[0]
    assert headers["x-auth-token"] == TOKEN
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == "mcp-bigcommerce-segments/test"
    assert store.stats.requests[0] == (
        "GET",
        f"/stores/{STORE}/v3/segments/{segment}/shopper-profiles",
        "page=1&limit=50",
    )


async def test_wrong_token_is_authentication_error_without_the_token(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A rejected token raises an authentication error naming 401, never echoing the token, and is not retried."""
    async with make(store.transport(), clock, token="wrong-token-value") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_segment_profiles(segment)

    assert "401" in str(caught.value)
    assert "wrong-token-value" not in str(caught.value)
    assert len(store.stats.requests) == 1  # 401 is not retried


async def test_read_only_scope_is_permission_error_naming_the_modify_scope(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A read-only API scope raises a permission error that names the modify scope to grant."""
    store.scope = "read_only"
    async with make(store.transport(), clock) as client:
        with pytest.raises(PermissionDeniedError, match="modify"):
            await client.list_segment_profiles(segment)


async def test_unknown_segment_is_not_found(store: FaultyStore, clock: VirtualClock) -> None:
    """Listing an unknown segment raises a not-found error naming the segment ID."""
    missing = uuid.uuid4()
    async with make(store.transport(), clock) as client:
        with pytest.raises(NotFoundError, match=str(missing)):
            await client.list_segment_profiles(missing)


async def test_server_error_is_retried_then_succeeds(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """Server errors are retried with growing backoff until the request succeeds."""
    store.inject(Fault("500", times=2))
    async with make(store.transport(), clock) as client:
        page = await client.list_segment_profiles(segment)

    assert page.pagination.total == 0
    assert len(store.stats.requests) == 3
    assert clock.slept == pytest.approx(0.5 + 1.0)  # exponential backoff, no real sleeping


async def test_persistent_server_error_gives_up_within_the_attempt_budget(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """Persistent server errors end in a server error after exactly the allowed number of attempts."""
    store.inject(Fault("503", times=100))
    async with make(store.transport(), clock, max_attempts=4) as client:
        with pytest.raises(ServerError, match="gave up after 4 attempts"):
            await client.list_segment_profiles(segment)

    assert len(store.stats.requests) == 4


async def test_retry_time_budget_bounds_total_waiting(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """The retry time budget stops retries before total waiting passes it, whatever the attempt limit."""
    store.inject(Fault("503", times=100))
    async with make(store.transport(), clock, max_attempts=100, max_seconds=10.0) as client:
        with pytest.raises(ServerError, match="gave up after"):
            await client.list_segment_profiles(segment)

    # Backoff 0.5, 1, 2, 4 s = 7.5 s; the next wait (8 s) would pass the 10 s budget: 5 attempts, never 100.
    assert len(store.stats.requests) == 5
    assert 7.0 <= clock.slept <= 10.0


async def test_dropped_connection_is_retried(store: FaultyStore, clock: VirtualClock, segment: uuid.UUID) -> None:
    """A dropped connection is retried once and the request then succeeds."""
    store.inject(Fault("drop"))
    async with make(store.transport(), clock) as client:
        await client.list_segment_profiles(segment)

    assert len(store.stats.requests) == 2


async def test_timeouts_exhaust_into_a_timeout_error(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """Repeated timeouts end in a timeout error saying BigCommerce did not answer in time."""
    store.inject(Fault("drop-after", times=10))
    async with make(store.transport(), clock, max_attempts=3) as client:
        with pytest.raises(APITimeoutError, match="in time"):
            await client.list_segment_profiles(segment)


async def test_unreachable_api_is_a_connection_error(clock: VirtualClock) -> None:
    """An unreachable API raises a connection error saying nothing was sent."""
    client = BigCommerceClient(
        base_url="http://127.0.0.1:9/stores/x/v3",
        access_token=SecretStr(TOKEN),
        user_agent="t",
        clock=clock,
        retry=RetryPolicy(max_attempts=2, jitter=0.0),
    )
    async with client:
        with pytest.raises(APIConnectionError, match=r"Could not connect to BigCommerce.*nothing was sent"):
            await client.list_segment_profiles(uuid.uuid4())


async def test_429_waits_for_the_reset_header_then_succeeds(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A 429 makes the client wait out the reset header's window and then succeed."""
    store.quota, store.window_seconds = 1, 30.0
    async with make(store.transport(), clock) as client:
        await client.list_segment_profiles(segment)
        store.use_quota(1)  # another app on the store used up the window
        await client.list_segment_profiles(segment)

    assert clock.slept >= 29.9  # waited for the window, not a fixed backoff


async def test_429_without_headers_backs_off_growing(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A 429 without rate-limit headers is retried with growing backoff."""
    store.inject(Fault("429-no-headers", times=3))
    async with make(store.transport(), clock) as client:
        await client.list_segment_profiles(segment)

    assert clock.slept == pytest.approx(0.5 + 1.0 + 2.0)


async def test_rate_limit_exhausted_is_rate_limit_error_saying_when(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """Rate limiting that outlasts the attempts raises a rate-limit error saying when to retry."""
    store.inject(Fault("429-no-headers", times=100))
    async with make(store.transport(), clock, max_attempts=2) as client:
        with pytest.raises(RateLimitError, match="Retry in"):
            await client.list_segment_profiles(segment)


async def test_malformed_json_is_a_shape_error(store: FaultyStore, clock: VirtualClock, segment: uuid.UUID) -> None:
    """A response that is not valid JSON raises a response-shape error saying so."""
    store.inject(Fault("malformed-json"))
    async with make(store.transport(), clock) as client:
        with pytest.raises(ResponseShapeError, match="not JSON"):
            await client.list_segment_profiles(segment)


async def test_add_chunk_over_50_is_refused_locally(store: FaultyStore, clock: VirtualClock) -> None:
    """Chunks over 50 IDs or empty are refused locally before any request is sent."""
    async with make(store.transport(), clock) as client:
        with pytest.raises(ValueError, match="1 to 50"):
            await add_chunk(client, uuid.uuid4(), [uuid.uuid4() for _ in range(51)])
        with pytest.raises(ValueError, match="1 to 50"):
            await remove_chunk(client, uuid.uuid4(), [])

    assert store.stats.requests == []


@pytest.mark.parametrize("mode", ["partial", "atomic"])
async def test_mixed_batch_ends_exact_whatever_the_409_semantics(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID, mode: str
) -> None:
    """A batch of new and existing members ends with exactly the right changed and unchanged IDs for any 409 style."""
    store.conflict_mode = mode  # type: ignore[assignment]
    old, new = store.add_profiles(2), store.add_profiles(3)
    store.add_members(segment, old)
    async with make(store.transport(), clock) as client:
        outcome = await add_chunk(client, segment, [new[0], old[0], new[1], old[1], new[2]])

    assert sorted(outcome.changed) == sorted(new)
    assert sorted(outcome.unchanged) == sorted(old)
    assert outcome.failed == {}
    assert set(store.members(segment)) == set(old + new)


async def test_unknown_profile_fails_alone_and_the_rest_are_added(
    store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """An unknown profile fails alone as not existing while the other profiles in its chunk are added."""
    good = store.add_profiles(2)
    ghost = uuid.uuid4()
    async with make(store.transport(), clock) as client:
        outcome = await add_chunk(client, segment, [good[0], ghost, good[1]])

    assert outcome.changed == good
    assert list(outcome.failed.values()) == [[ghost]]
    assert "does not exist" in next(iter(outcome.failed))
    assert store.members(segment) == good


# --- answers the spec leaves open, scripted with httpx2.MockTransport -------------------------------------------


def conflict(ids: list[str], conflicting: dict[int, str], success: int) -> httpx2.Response:
    return httpx2.Response(
        409,
        json={
            "data": [],
            "errors": [{"status": 409, "title": "Conflicts", "errors": {str(n): m for n, m in conflicting.items()}}],
            "meta": {"total": len(ids), "success": success, "failed": len(conflicting)},
        },
    )


async def test_409_whose_meta_counts_the_others_as_added_is_believed(clock: VirtualClock) -> None:
    """A 409 whose meta counts the other IDs as added is trusted, with no second request sent."""
    a, b = uuid.uuid4(), uuid.uuid4()
    posts: list[list[str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        posts.append(json.loads(request.content))
        return conflict(posts[-1], {0: f"Shopper profile `{a}` already exists"}, success=1)

    async with make(httpx2.MockTransport(answer), clock) as client:
        outcome = await add_chunk(client, uuid.uuid4(), [a, b])

    assert (outcome.unchanged, outcome.changed, outcome.failed) == ([a], [b], {})
    assert len(posts) == 1  # no second POST needed


async def test_ids_a_409_neither_adds_nor_rejects_are_sent_once_more_then_reported(clock: VirtualClock) -> None:
    """IDs a 409 neither adds nor rejects are sent once more, then reported as failed and safe to add again."""
    a, b = uuid.uuid4(), uuid.uuid4()
    posts: list[list[str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        posts.append(json.loads(request.content))
        return conflict(posts[-1], {0: "already exists"} if len(posts[-1]) == 2 else {}, success=0)

    async with make(httpx2.MockTransport(answer), clock) as client:
        outcome = await add_chunk(client, uuid.uuid4(), [a, b])

    assert posts == [[str(a), str(b)], [str(b)]]
    assert outcome.unchanged == [a]
    assert outcome.failed == {"BigCommerce neither added nor rejected it; adding again is safe": [b]}


async def test_409_keyed_by_uuid_instead_of_index_is_understood(clock: VirtualClock) -> None:
    """A 409 whose errors name the profile UUID rather than its index is still attributed to the right ID."""
    a, b = uuid.uuid4(), uuid.uuid4()

    def answer(request: httpx2.Request) -> httpx2.Response:
        return conflict([str(a), str(b)], {7: f"Shopper profile `{b}` already exists"}, success=1)

    async with make(httpx2.MockTransport(answer), clock) as client:
        outcome = await add_chunk(client, uuid.uuid4(), [a, b])

    assert (outcome.changed, outcome.unchanged) == ([a], [b])


async def test_422_without_per_id_errors_fails_the_chunk_with_bigcommerce_words(clock: VirtualClock) -> None:
    """A 422 without per-ID errors fails the whole chunk, quoting BigCommerce's own message as the reason."""
    ids = [uuid.uuid4(), uuid.uuid4()]

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(422, json={"status": 422, "title": "Segment is archived", "errors": {}})

    async with make(httpx2.MockTransport(answer), clock) as client:
        outcome = await add_chunk(client, uuid.uuid4(), ids)

    ((reason, failed),) = outcome.failed.items()
    assert failed == ids
    assert "Segment is archived" in reason


async def test_a_page_without_pagination_is_a_shape_error(clock: VirtualClock) -> None:
    """A listing page without pagination data raises a response-shape error."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"data": []})

    async with make(httpx2.MockTransport(answer), clock) as client:
        with pytest.raises(ResponseShapeError, match="lacks the data or pagination"):
            await client.list_segment_profiles(uuid.uuid4())


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_tls_trusts_the_ca_bundle_for_https_and_nothing_for_plain_http(scheme: str, clock: VirtualClock) -> None:
    """An https API URL verifies against the CA bundle; a plain-http one loads no bundle, and its TLS context still
    requires verification (with no trust anchor, a TLS connection would fail, never go unverified)."""
    client = BigCommerceClient(
        base_url=f"{scheme}://api.example.com/stores/x/v3", access_token=SecretStr(TOKEN), user_agent="t", clock=clock
    )
    transport: Any = client._http._transport  # httpx2's own: the context it made for its connections
    context = transport._pool._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert (context.cert_store_stats()["x509_ca"] > 0) == (scheme == "https")
