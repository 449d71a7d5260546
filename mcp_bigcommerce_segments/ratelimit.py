"""Staying inside BigCommerce's rate limit before it says no, and backing off when it does.

BigCommerce counts requests per store in fixed windows (150 per 30 s on Standard and Plus, 450 on Pro) and reports
the state on every response: `X-Rate-Limit-Requests-Left`, `X-Rate-Limit-Time-Reset-Ms`,
`X-Rate-Limit-Requests-Quota`, `X-Rate-Limit-Time-Window-Ms`. The governor keeps its own count of what is left in
the window, lowered by every request it lets through and corrected by every response, and holds requests back
until the window resets once the count reaches zero. All workers of the process share one governor, so a 429 seen
by one pauses them all: a retry loop per request (stamina and the like) cannot do that.

Before the first answer of a process the quota is unknown, and the first burst (up to the concurrency limit) goes
out unpaced. Waiting for one answer first would cost a round trip on every start; a burst into a window that other
apps have nearly used up earns 429s that are retried at the window's reset, which those requests would have had to
wait for anyway.
"""

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import anyio

from .clock import Clock
from .errors import RateLimitWaitTooLong
from .quota import RateHeaders
from .retry import RESET_MARGIN_SECONDS

# Long waits are slept in slices this long, each announced, so that a client that times out a silent call keeps
# hearing from a bulk call that waits out a 30 s window, and the governor looks again at what the server said.
WAIT_SLICE_SECONDS = 5.0

#: Told how many seconds are left whenever a request has to wait (for the rate limit or a retry). A bulk call passes
#: one down to each request it sends (`on_wait=`), and announces the wait as a progress notification.
WaitReporter = Callable[[float], Awaitable[None]]


async def wait(clock: Clock, seconds: float, *, at_most: float = math.inf, report: WaitReporter | None = None) -> None:
    """Wait `seconds` on `clock` (but return after `at_most`), telling `report` what is left every slice."""
    end = clock.now() + seconds
    stop = clock.now() + min(seconds, at_most)
    if report is None or seconds <= 1.0:
        await clock.sleep(stop - clock.now())
        return
    while (left := stop - clock.now()) > 0:
        await report(end - clock.now())
        await clock.sleep(min(left, WAIT_SLICE_SECONDS))


class Governor(Protocol):
    """What the client asks of a rate governor: this process's (`RateGovernor`) or one shared by replicas."""

    async def acquire(
        self, deadline: float = math.inf, on_wait: WaitReporter | None = None, reserve: float = 0.0
    ) -> float: ...

    async def release(self, headers: Mapping[str, str] | None, sent_at: float = math.inf) -> None: ...

    async def pause(self, seconds: float) -> None: ...


class RateGovernor:
    """Paces requests to the quota BigCommerce reports.

    The rule for waiting: never past the latest reset the server stated (plus a small margin), whatever our own count
    says, and never past the waiting request's own deadline (its retry budget): a request that would have to wait
    longer is not sent, and its caller is told when to retry.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._left: float | None = None  # requests we may still send in this window; None: unknown
        self._reset_at = 0.0  # when the window ends: the server's latest word, or our own estimate
        self._quota: float | None = None
        self._window: float | None = None
        self._in_flight = 0
        # When we last assumed a new window of our own. Answers to requests sent before it describe the window
        # before, so they must not lower our count or move the reset (they arrive late, and out of order).
        self._epoch = -math.inf
        # Set (and replaced) whenever the reset moves earlier, so that requests waiting for it look again at once.
        self._moved = anyio.Event()

    @property
    def reset_at(self) -> float:
        """When the current window ends, as far as the governor knows (clock time)."""
        return self._reset_at

    async def acquire(
        self, deadline: float = math.inf, on_wait: WaitReporter | None = None, reserve: float = 0.0
    ) -> float:
        """Wait until one more request fits in the quota (telling `on_wait` how long), then count it; returns the
        time it may be sent (pass it to `release`). With `reserve` (a fraction of the quota), the request goes only
        while that much of the window would still be left after it: it leaves the end of a window to others.

        Raises:
            RateLimitWaitTooLong: the wait would end after `deadline`; nothing was counted.
        """
        while True:
            now = self._clock.now()
            kept = math.floor(reserve * self._quota) if self._quota else 0
            if self._left is not None and self._left < 1 + kept:
                if now < self._reset_at:
                    if self._reset_at > deadline:
                        left = self._reset_at - now
                        raise RateLimitWaitTooLong.after(left)
                    await self._wait_for_reset(self._reset_at - now, on_wait)
                    continue
                # The window has turned over: assume the full quota until a response says otherwise.
                self._left = self._quota
                self._reset_at = now + (self._window or 0.0)
                self._epoch = now
            break
        if self._left is not None:
            self._left -= 1
        self._in_flight += 1
        return now

    async def _wait_for_reset(self, seconds: float, on_wait: WaitReporter | None) -> None:
        """Wait `seconds`, or less if a response moves the reset earlier meanwhile (the server's word wins)."""
        moved = self._moved
        async with anyio.create_task_group() as tg:

            async def sleep() -> None:
                await wait(self._clock, seconds, at_most=WAIT_SLICE_SECONDS, report=on_wait)
                tg.cancel_scope.cancel()

            async def watch() -> None:
                await moved.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(sleep)
            tg.start_soon(watch)

    def _set_reset(self, reset_at: float) -> None:
        if reset_at < self._reset_at:
            self._moved.set()
            self._moved = anyio.Event()
        self._reset_at = reset_at

    async def release(self, headers: Mapping[str, str] | None, sent_at: float = math.inf) -> None:
        """Record a finished request (sent at `sent_at`, as `acquire` said) and what its answer said of the quota."""
        self._in_flight -= 1
        if headers is None or sent_at < self._epoch:
            return
        stated = RateHeaders.parse(headers)
        left, reset, quota, window = stated.left, stated.reset, stated.quota, stated.window
        if quota is not None:
            self._quota = quota
        if window:
            self._window = window
        if left is None or reset is None:
            return
        reset_at = self._clock.now() + reset + RESET_MARGIN_SECONDS
        new_window = self._left is None or reset_at > self._reset_at + (self._window / 2 if self._window else 1.0)
        if new_window:
            # A window we have not been counting: take the server's figure, less our requests still in flight,
            # which it may not have counted yet.
            self._left = left - self._in_flight
        else:
            # Our own count already has every request we sent in this window; the server's may be lower because
            # other apps on the store spend the same quota. Subtracting our in-flight requests again would count
            # them twice and wait a whole window for nothing.
            self._left = min(self._left if self._left is not None else left, left)
        self._set_reset(reset_at)  # the server's latest word on the reset wins over our own estimate

    async def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (after a 429: the server's stated reset, or a backoff)."""
        self._left = 0
        self._set_reset(self._clock.now() + seconds)
