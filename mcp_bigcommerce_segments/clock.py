"""Time, injected: the real clock for the server, a virtual one for tests that must never sleep."""

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    """What the client and the emulator need to know about time."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for `seconds`."""
        ...


class SystemClock:
    """The machine's monotonic clock and real sleeping."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock that only moves when somebody sleeps on it.

    `sleep(d)` yields to other tasks once, then moves time forward to the sleeper's deadline (never backwards),
    so many tasks waiting for the same moment move time once, and a test that waits 30 s of quota window
    finishes at once.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self.slept = 0.0

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + max(0.0, seconds)
        self.slept += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()
        self._now = max(self._now, deadline)

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self._now += seconds
