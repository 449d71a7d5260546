"""The rate governor on its own: what it believes is left, and when it holds requests back."""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

import anyio
import anyio.lowlevel
import pytest
import redis.asyncio as redis

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.hosted import scripts, shared
from mcp_bigcommerce_segments.hosted.scripts import ACQUIRE, RELEASE
from mcp_bigcommerce_segments.ratelimit import RateGovernor
from mcp_bigcommerce_segments.retry import RetryPolicy

from .conftest import rate_headers
from .support.hosted import redis_server
from .support.simclock import SimClock

pytestmark = pytest.mark.anyio


headers = partial(rate_headers, quota=20)  # a small store quota, so that a few requests spend it


async def test_holds_requests_once_the_window_is_spent_and_resumes_at_the_reset() -> None:
    """Once the window's quota is spent, the next request waits until the stated reset."""
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.acquire()
    await governor.release(headers(left=1, reset_ms=30_000))
    await governor.acquire()  # the last one in this window
    await governor.release(headers(left=0, reset_ms=29_000))

    await governor.acquire()

    assert clock.now() == pytest.approx(29.02)  # the latest reset the server stated, plus the margin


async def test_requests_in_flight_are_not_counted_twice_in_a_window_it_counts_itself() -> None:
    """Requests already in flight are not counted twice against the quota, so the rest go out without waiting."""
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
    """Quota spent by other apps lowers what is left, so requests beyond it wait for the next window."""
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
    """A pause holds back every request until it has passed."""
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    await governor.pause(5.0)

    await governor.acquire()

    assert clock.now() == pytest.approx(5.0)


async def test_no_headers_means_no_pacing() -> None:
    """Answers without rate-limit headers cause no pacing at all."""
    clock = VirtualClock(start=0.0)
    governor = RateGovernor(clock)
    for _ in range(100):
        await governor.acquire()
        await governor.release({})

    assert clock.now() == 0.0


def test_backoff_grows_and_is_capped() -> None:
    """Retry backoff doubles with each attempt up to its cap."""
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0, jitter=0.0)

    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


# --- the governor's rules as a table of scenarios: headers and times in, decisions out ----------------------------
#
# Each scenario is a list of steps at virtual times: `acquire` asks to send a request (the time it is granted is the
# decision), `release` is that request's answer arriving, with what its headers say. The requests of a scenario
# overlap as on a real clock (SimClock), so the rules that only matter while requests are in transit are exercised:
# an answer that arrives after our own new window began (epoch), a first answer while others are still on their way
# (in-flight compensation), and a reset the server moves earlier while a request waits (early wake-up).


@dataclass(frozen=True)
class Step:
    at: float
    op: Literal["acquire", "release"]
    name: str
    left: int | None = None  # release: X-Rate-Limit-Requests-Left
    reset_ms: int | None = None  # release: X-Rate-Limit-Time-Reset-Ms
    reserve: float = 0.0  # acquire: the share of the quota to leave (a read that only completes a result)


def acquire(at: float, name: str, reserve: float = 0.0) -> Step:
    return Step(at, "acquire", name, reserve=reserve)


def release(at: float, name: str, left: int, reset_ms: int) -> Step:
    return Step(at, "release", name, left, reset_ms)


SCENARIOS: dict[str, tuple[int, list[Step], dict[str, float]]] = {
    # quota 2. r2's answer from the old window arrives after our window of our own began at 30.02: it must not
    # lower the new window's count (epoch), so r4 goes at once and r5 waits for the next window.
    "a late answer from the window before is ignored": (
        2,
        [
            acquire(0.0, "r1"),
            release(0.0, "r1", left=1, reset_ms=30_000),
            acquire(0.0, "r2"),
            acquire(1.0, "r3"),
            release(30.5, "r2", left=0, reset_ms=0),
            acquire(30.6, "r4"),
            acquire(30.7, "r5"),
        ],
        {"r1": 0.0, "r2": 0.0, "r3": 30.02, "r4": 30.6, "r5": 60.02},
    ),
    # quota 3. The first answer says 2 left, but r2 and r3 are still on their way and the store had not counted
    # them yet: none is left, so r4 waits for the reset (in-flight compensation).
    "the first answer counts the requests still in transit": (
        3,
        [
            acquire(0.0, "r1"),
            acquire(0.0, "r2"),
            acquire(0.0, "r3"),
            release(0.1, "r1", left=2, reset_ms=10_000),
            acquire(0.2, "r4"),
            release(0.3, "r2", left=1, reset_ms=9_800),
            release(0.4, "r3", left=0, reset_ms=9_700),
        ],
        {"r1": 0.0, "r2": 0.0, "r3": 0.0, "r4": 10.12},
    ),
    # quota 2. r3 waits for the reset we were told (30.02); r2's answer then says the store's window ends at 3.02:
    # r3 wakes at once and goes at the new reset, not at the end of its 5 s wait slice (early wake-up).
    "a reset moved earlier wakes the waiting request": (
        2,
        [
            acquire(0.0, "r1"),
            release(0.0, "r1", left=1, reset_ms=30_000),
            acquire(0.1, "r2"),
            acquire(1.0, "r3"),
            release(2.0, "r2", left=0, reset_ms=1_000),
        ],
        {"r1": 0.0, "r2": 0.1, "r3": 3.02},
    ),
    # Answers that say more is left than we counted (the count is ours: other apps only ever lower it).
    "the lower of our count and the store's wins": (
        2,
        [
            acquire(0.0, "r1"),
            release(0.1, "r1", left=1, reset_ms=30_000),
            acquire(0.2, "r2"),
            release(0.3, "r2", left=1, reset_ms=29_700),  # the store lags: our own count says 0
            acquire(0.4, "r3"),
        ],
        {"r1": 0.0, "r2": 0.2, "r3": 30.02},
    ),
    # quota 6, a third kept: a read that only completes a result goes while more than 2 would be left after it; with
    # 2 left it waits for the next window (r4), while a write (r5) still takes the last of this one.
    "a read that completes a result leaves the end of the window to writes": (
        6,
        [
            acquire(0.0, "r1"),
            release(0.1, "r1", left=5, reset_ms=30_000),
            acquire(0.2, "r2", reserve=1 / 3),
            acquire(0.3, "r3"),
            acquire(0.3, "r3b"),
            release(0.4, "r2", left=4, reset_ms=29_800),
            acquire(0.5, "r4", reserve=1 / 3),
            acquire(0.6, "r5"),
        ],
        {"r1": 0.0, "r2": 0.2, "r3": 0.3, "r3b": 0.3, "r4": 30.22, "r5": 0.6},
    ),
    # quota 5, nothing known yet, the first answer slow (5 s): the others are not held back for it (see LUA_EXPECTED).
    "a slow first answer does not hold the others long": (
        5,
        [
            acquire(0.0, "r1"),
            acquire(0.0, "r2"),
            release(5.0, "r1", left=3, reset_ms=25_000),
            release(5.1, "r2", left=2, reset_ms=24_900),
        ],
        {"r1": 0.0, "r2": 0.0},
    ),
}


async def play(quota: int, steps: list[Step]) -> dict[str, float]:
    """Run the steps against a fresh governor on shared virtual time; the time each request was granted."""
    sim = SimClock()
    clock = sim.view()
    governor = RateGovernor(clock)
    granted: dict[str, float] = {}
    sent_at: dict[str, float] = {}

    async def run(step: Step) -> None:
        await clock.sleep(step.at - clock.now())
        if step.op == "acquire":
            sent_at[step.name] = await governor.acquire(reserve=step.reserve)
            granted[step.name] = clock.now()
        else:
            answer = rate_headers(step.left, step.reset_ms, quota=quota, window_ms=30_000)
            await governor.release(answer, sent_at[step.name])

    with anyio.fail_after(5):
        async with sim.running(), anyio.create_task_group() as group:
            for step in sorted(steps, key=lambda s: s.at):
                group.start_soon(run, step)
                await anyio.lowlevel.checkpoint()
    return granted


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_governor_scenarios(name: str) -> None:
    """Each rule of the governor decides as its scenario says (see SCENARIOS)."""
    quota, steps, expected = SCENARIOS[name]

    granted = await play(quota, steps)

    assert granted == pytest.approx(expected, abs=0.01), name


# --- the same table against the shared governor's Lua scripts, on a real redis-server ------------------------------

SIM_NOW = "\nlocal now = tonumber(redis.call('GET', 'sim:now'))"


async def play_lua(url: str, quota: int, steps: list[Step]) -> dict[str, float]:
    """Run the steps against the shared governor's scripts, their time read from a key the player sets; a request
    told to wait looks again as `SharedGovernor.acquire` does (after the wait, or a second at most)."""
    client = redis.Redis.from_url(url)
    await client.flushall()
    acquire, release = (client.register_script(script.replace(scripts.NOW, SIM_NOW)) for script in (ACQUIRE, RELEASE))
    keys = ["rate", "inflight"]
    events = [(step.at, n, step) for n, step in enumerate(steps)]
    heapq.heapify(events)
    order = len(events)
    granted: dict[str, float] = {}
    sent_ms: dict[str, int] = {}
    while events:
        at, _, step = heapq.heappop(events)
        await client.set("sim:now", round(at * 1000))
        if step.op == "release":
            stated = [str(step.left), str(step.reset_ms), str(quota), "30000", str(sent_ms[step.name]), "20", step.name]
            await release(keys=keys, args=stated)
            continue
        go, value = await acquire(keys=keys, args=[step.name, 600_000, str(step.reserve)])
        if int(go) == 1:
            granted[step.name], sent_ms[step.name] = at, int(value)
        else:
            seconds = int(value) / 1000
            order += 1
            heapq.heappush(events, (at + min(seconds, max(shared.POLL_SECONDS, min(seconds, 1.0))), order, step))
    await client.aclose()
    return granted


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


#: Where the shared governor decides otherwise, and why: until the store has answered once, one request goes alone
#: (with several replicas, up to 10 each would be in flight at the first answer, each subtracted from its quota), so
#: r2 and r3 go at r1's answer, which then needs no in-flight compensation.
LUA_EXPECTED: dict[str, dict[str, float]] = {
    "the first answer counts the requests still in transit": {"r1": 0.0, "r2": 0.1, "r3": 0.1, "r4": 10.12},
    # ... but for a second at most: a slow first answer then no longer holds the others.
    "a slow first answer does not hold the others long": {"r1": 0.0, "r2": 1.0},
}


@pytest.mark.subprocess
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_shared_governor_scenarios(name: str, redis_url: str) -> None:
    """The Lua governor replicas share decides each scenario as the in-process one does (same table, real Redis),
    except where LUA_EXPECTED says otherwise."""
    quota, steps, expected = SCENARIOS[name]
    expected = LUA_EXPECTED.get(name, expected)

    granted = await play_lua(redis_url, quota, steps)

    assert granted == pytest.approx(expected, abs=0.01), name
