"""Virtual time for simulations with many concurrent tasks.

`VirtualClock` (in the package) moves time forward to whichever sleeper resumes first, which is right for one task
at a time. Here sleepers wait in a heap; a driver task lets every runnable task run until the event loop is idle,
then moves time to the earliest deadline and wakes exactly the sleepers due. So a request that takes 0.3 s and a
wait of 29 s overlap as they would on a real clock, and a simulation of minutes takes milliseconds.
"""

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel


class SimClock:
    """A shared virtual time; `view()` gives clocks that read it (and optionally record their sleeps)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), event))
        await event.wait()

    def view(self, *, record: bool = False) -> "ClockView":
        return ClockView(self, record=record)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Drive time while the block runs."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._drive)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await _until_idle(loop)
            if not self._sleepers:
                await anyio.lowlevel.checkpoint()
                continue
            self._now = max(self._now, self._sleepers[0][0])
            while self._sleepers and self._sleepers[0][0] <= self._now:
                heapq.heappop(self._sleepers)[2].set()


async def _until_idle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until no other task is ready to run (asyncio's ready queue holds only our own wake-up)."""
    quiet = 0
    for _ in range(10_000):
        await anyio.lowlevel.checkpoint()
        ready = len(loop._ready)  # type: ignore[attr-defined]  # asyncio keeps no public count of runnable tasks
        quiet = quiet + 1 if ready == 0 else 0
        if quiet >= 3:
            return


class ClockView:
    """The shared time, as the client or the store sees it; a recording view keeps (start, seconds slept) of each."""

    def __init__(self, clock: SimClock, *, record: bool) -> None:
        self._clock = clock
        self.sleeps: list[tuple[float, float]] | None = [] if record else None

    def now(self) -> float:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the shared time; a recording view keeps (start, seconds actually slept): a wait that something
        ends early (a reset moved earlier, a cancel) counts as long as it lasted, not as long as it was asked."""
        start = self._clock.now()
        try:
            await self._clock.sleep(seconds)
        finally:
            if self.sleeps is not None and seconds > 0:
                self.sleeps.append((start, self._clock.now() - start))
