"""The rate governor on its own: what it believes is left, and when it holds requests back."""

from functools import partial

import pytest

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.ratelimit import RateGovernor
from mcp_bigcommerce_segments.retry import RetryPolicy

from .conftest import rate_headers

pytestmark = pytest.mark.anyio


headers = partial(rate_headers, quota=20)  # a small store quota, so that a few requests spend it


async def test_holds_requests_once_the_window_is_spent_and_resumes_at_the_reset() -> None:
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.acquire()
    await governor.release(headers(left=1, reset_ms=30_000))
    await governor.acquire()  # the last one in this window
    await governor.release(headers(left=0, reset_ms=29_000))

    await governor.acquire()

    assert clock.now() == pytest.approx(29.02)  # the latest reset the server stated, plus the margin


async def test_requests_in_flight_are_not_counted_twice_in_a_window_it_counts_itself() -> None:
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.acquire()
    await governor.release(headers(left=19, reset_ms=30_000))
    for _ in range(10):
        await governor.acquire()  # 10 in flight; the server counted them on arrival
    await governor.release(headers(left=9, reset_ms=29_900))

    for _ in range(9):
        await governor.acquire()

    assert clock.now() == 0.0  # 9 more fit: no wait


async def test_other_apps_spending_the_quota_lower_what_is_left() -> None:
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.acquire()
    await governor.release(headers(left=19, reset_ms=30_000))
    await governor.acquire()
    await governor.release(headers(left=2, reset_ms=30_000))  # someone else spent 16

    for _ in range(3):
        await governor.acquire()

    assert clock.now() == pytest.approx(30.02)  # the third had to wait for the reset


async def test_pause_holds_everyone_back() -> None:
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.pause(5.0)

    await governor.acquire()

    assert clock.now() == pytest.approx(5.0)


async def test_no_headers_means_no_pacing() -> None:
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    for _ in range(100):
        await governor.acquire()
        await governor.release({})

    assert clock.now() == 0.0


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0, jitter=0.0)

    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
