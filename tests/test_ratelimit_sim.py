"""Property-based simulation of BigCommerce's fixed rate-limit windows, on virtual time.

A store with a quota per 30 s window, requests that spend a random time in transit before the store counts them
(so an answer can report quota that requests already on their way will spend), answers that take a random time,
and other apps that spend the same quota at random moments. The client under test is the real one (governor,
retries, bulk workers); only time is simulated.
Checked for every generated scenario:
- alone on the store, a bulk add never earns a 429;
- no wait of the client ends later than the end of the window the store was in when the wait began (plus the
  margin): the server's stated reset is the truth, whatever the client's own count says;
- a call never outlives its retry budget by more than one request's time.
"""

import contextlib
import os
import random
import uuid
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from mcp_bigcommerce_segments.batch import add_chunk
from mcp_bigcommerce_segments.bulk import ChunkRun
from mcp_bigcommerce_segments.client import BigCommerceClient
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.errors import BigCommerceError
from mcp_bigcommerce_segments.retry import RESET_MARGIN_SECONDS, RetryPolicy

from .support.simclock import ClockView, SimClock
from .support.stdio import STORE, TOKEN

WINDOW = 30.0


class SimStore(FaultyStore):
    """The fake store, counting each request after a random time in transit (up to `uplink`), answering after a
    random latency, and remembering when each window began."""

    def __init__(
        self, clock: ClockView, quota: int, latency: tuple[float, float], seed: int, uplink: float = 0.0
    ) -> None:
        super().__init__(store_hash=STORE, token=TOKEN, clock=clock, quota=quota, window_seconds=WINDOW, uplink=uplink)
        self.window_starts: list[float] = []
        self._random = random.Random(seed)  # noqa: S311 - latencies, not secrets
        self._latency = latency

    def latency_for(self, method: str) -> float:
        return self._random.uniform(*self._latency)

    def uplink_for(self, method: str) -> float:
        return self._random.uniform(0.0, self.uplink)

    def _spend(self) -> bool:
        before = self._window_start
        within = super()._spend()
        if self._window_start != before and self._window_start is not None:
            self.window_starts.append(self._window_start)
        return within

    def window_end_at(self, moment: float) -> float | None:
        """The end of the window open at `moment`, if one was."""
        started = [s for s in self.window_starts if s <= moment]
        if started and moment < started[-1] + WINDOW:
            return started[-1] + WINDOW
        return None


def client(store: SimStore, clock: ClockView, budget: float, concurrency: int = 10) -> BigCommerceClient:
    return BigCommerceClient(
        base_url=f"http://127.0.0.1:9/stores/{STORE}/v3",
        access_token=SecretStr(TOKEN),
        user_agent="sim",
        transport=store.transport(),
        clock=clock,
        retry=RetryPolicy(max_seconds=budget, max_attempts=50, jitter=0.0),
        max_concurrency=concurrency,
    )


async def other_apps(store: SimStore, clock: ClockView, spending: list[tuple[float, int]]) -> None:
    for at, requests in sorted(spending):
        await clock.sleep(at - clock.now())
        store.use_quota(requests)


def assert_waits_end_by_the_stated_reset(store: SimStore, waits: list[tuple[float, float]]) -> None:
    """Each wait ends by the end of the store's window open when it began, or, when none was, of the window that
    the client's own requests still in transit open when they arrive (plus the margin)."""
    for start, seconds in waits:
        ends = [end for at in (start, start + store.uplink) if (end := store.window_end_at(at)) is not None]
        if ends:
            assert start + seconds <= max(ends) + RESET_MARGIN_SECONDS + 0.002, (start, seconds, ends)
        else:
            assert seconds <= RESET_MARGIN_SECONDS + 0.002, (start, seconds)  # no window open: nothing to wait for


Scenario = dict[str, Any]
scenarios = st.fixed_dictionaries(
    {
        "quota": st.integers(min_value=10, max_value=150),
        "ids": st.integers(min_value=1, max_value=2_500),
        "latency": st.tuples(st.floats(0.001, 0.05), st.floats(0.05, 0.8)),
        "uplink": st.floats(0.0, 0.3),
        "seed": st.integers(0, 2**16),
        "others": st.lists(st.tuples(st.floats(0.0, 120.0), st.integers(1, 200)), max_size=6),
        "budget": st.floats(0.0, 90.0),
    }
)
SIM = settings(
    # 20 examples in the edit-test loop; scripts/check (CI) runs 40 (SIM_EXAMPLES).
    max_examples=int(os.environ.get("SIM_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def world(scenario: Scenario, quota: int | None = None) -> tuple[SimClock, SimStore, uuid.UUID, ClockView]:
    """Virtual time, the store of a scenario with one segment, and the client's recording view of the time."""
    sim = SimClock(start=0.0)
    store = SimStore(sim.view(), quota or scenario["quota"], scenario["latency"], scenario["seed"], scenario["uplink"])
    return sim, store, store.add_segment("S"), sim.view(record=True)


async def bulk_add(store: SimStore, view: ClockView, segment: uuid.UUID, ids: list[uuid.UUID]) -> Any:
    """The real bulk path: chunks of 50 by 10 workers, through the real client."""
    async with client(store, view, budget=600.0) as api:

        async def send(chunk: list[uuid.UUID], on_wait: Any) -> Any:
            return await add_chunk(api, segment, chunk, on_wait)

        return await ChunkRun(ids, send, workers=10).run()


@SIM
@given(scenario=scenarios)
def test_alone_on_the_store_a_bulk_add_earns_no_429(scenario: Scenario) -> None:
    """Alone on the store, a bulk add gets no 429, adds every ID and waits no later than the stated reset."""
    sim, store, segment, view = world(scenario)
    ids = store.add_profiles(scenario["ids"])

    async def main() -> None:
        async with sim.running():
            outcome = await bulk_add(store, view, segment, ids)
        assert sorted(outcome.changed) == sorted(ids)

    anyio.run(main)

    assert store.stats.rate_limited == 0
    assert set(store.members(segment)) == set(ids)
    assert_waits_end_by_the_stated_reset(store, view.sleeps or [])


@SIM
@given(scenario=scenarios)
def test_with_other_apps_waits_end_by_the_stated_reset_and_every_id_is_placed(scenario: Scenario) -> None:
    """With other apps spending the quota, a bulk add accounts for every ID and waits end by the stated reset."""
    sim, store, segment, view = world(scenario)
    ids = store.add_profiles(scenario["ids"])

    async def main() -> None:
        async with sim.running(), anyio.create_task_group() as tg:
            tg.start_soon(other_apps, store, sim.view(), scenario["others"])
            outcome = await bulk_add(store, view, segment, ids)
            placed = outcome.changed + [i for group in outcome.failed.values() for i in group]
            assert sorted(placed) == sorted(ids)
            assert set(outcome.changed) <= set(store.members(segment))

    anyio.run(main)

    assert_waits_end_by_the_stated_reset(store, view.sleeps or [])


@SIM
@given(scenario=scenarios)
def test_a_call_never_outlives_its_budget_by_more_than_one_request(scenario: Scenario) -> None:
    """Under a 429 storm from other apps, no call runs past its budget by more than one request's time."""
    sim, store, segment, _ = world(scenario)
    budget = scenario["budget"]
    longest_request = scenario["latency"][1] + scenario["uplink"]
    # Other apps spend the whole quota at the start of every window: a 429 storm for anyone else.
    storm = [(t * WINDOW + 0.001, 10_000) for t in range(6)] + scenario["others"]
    durations: list[float] = []

    async def one_call(api: BigCommerceClient) -> None:
        started = sim.now()
        with contextlib.suppress(BigCommerceError):
            await api.list_segment_profiles(segment)
        durations.append(sim.now() - started)

    async def main() -> None:
        async with sim.running(), anyio.create_task_group() as tg:
            tg.start_soon(other_apps, store, sim.view(), storm)
            async with client(store, sim.view(), budget=budget) as api, anyio.create_task_group() as calls:
                for _ in range(5):
                    calls.start_soon(one_call, api)
            tg.cancel_scope.cancel()

    anyio.run(main)

    assert len(durations) == 5
    assert max(durations) <= budget + longest_request + 0.001


@SIM
@given(
    scenario=scenarios,
    calls=st.lists(st.tuples(st.floats(0.0, 150.0), st.integers(1, 25)), min_size=1, max_size=5),
)
def test_calls_spread_over_time_wait_no_longer_than_the_store_makes_them(
    scenario: Scenario, calls: list[tuple[float, int]]
) -> None:
    """Bursts of calls spread over time never wait past the reset the store states."""
    sim, store, segment, view = world(scenario, quota=scenario["quota"] // 5 + 1)

    async def one_call(api: BigCommerceClient) -> None:
        with contextlib.suppress(BigCommerceError):  # past its budget a call fails; what is checked is the waits
            await api.list_segment_profiles(segment)

    async def burst(api: BigCommerceClient, at: float, requests: int) -> None:
        await sim.sleep(at)
        async with anyio.create_task_group() as tg:
            for _ in range(requests):
                tg.start_soon(one_call, api)

    async def main() -> None:
        async with sim.running(), anyio.create_task_group() as tg:
            tg.start_soon(other_apps, store, sim.view(), scenario["others"])
            async with client(store, view, budget=600.0) as api, anyio.create_task_group() as bursts:
                for at, requests in calls:
                    bursts.start_soon(burst, api, at, requests)
            tg.cancel_scope.cancel()

    anyio.run(main)

    assert_waits_end_by_the_stated_reset(store, view.sleeps or [])
