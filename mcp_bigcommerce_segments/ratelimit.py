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

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar

from .clock import Clock

# Sent this long after the reported reset, so the request lands in the new window despite rounding to ms.
RESET_MARGIN_SECONDS = 0.02
# Long waits are slept in slices this long, each announced, so that a client that times out a silent call keeps
# hearing from a bulk call that waits out a 30 s window.
WAIT_SLICE_SECONDS = 5.0

#: The progress channel. A bulk call sets this to a function that is told how many seconds are left whenever one of
#: its requests has to wait (for the rate limit or a retry), and announces it as a progress notification. It is a
#: ContextVar so that it follows the call's tasks into the client without every layer passing it along.
wait_reporter: ContextVar[Callable[[float], Awaitable[None]] | None] = ContextVar("wait_reporter", default=None)


async def wait(clock: Clock, seconds: float) -> None:
    """Sleep `seconds` on `clock`, in announced slices when the current call has a wait reporter."""
    report = wait_reporter.get()
    if report is None or seconds <= 1.0:
        await clock.sleep(seconds)
        return
    end = clock.now() + seconds
    while (left := end - clock.now()) > 0:
        await report(left)
        await clock.sleep(min(left, WAIT_SLICE_SECONDS))


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


class RateGovernor:
    """Paces requests to the quota BigCommerce reports."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._left: float | None = None  # requests we may still send in this window; None: unknown
        self._reset_at = 0.0
        self._quota: float | None = None
        self._window: float | None = None
        self._paused_until = 0.0
        self._in_flight = 0

    async def acquire(self) -> None:
        """Wait until one more request fits in the quota, then count it."""
        while True:
            now = self._clock.now()
            if self._paused_until > now:
                await wait(self._clock, self._paused_until - now)
                continue
            if self._left is not None and self._left < 1:
                if now < self._reset_at:
                    await wait(self._clock, self._reset_at - now)
                    continue
                # The window has turned over: assume the full quota until a response says otherwise.
                self._left = self._quota
                self._reset_at = now + (self._window or 0.0)
            break
        if self._left is not None:
            self._left -= 1
        self._in_flight += 1

    def release(self, headers: Mapping[str, str] | None) -> None:
        """Record a finished request and what its response said about the quota."""
        self._in_flight -= 1
        if headers is None:
            return
        left = _header_number(headers, "x-rate-limit-requests-left")
        reset_ms = _header_number(headers, "x-rate-limit-time-reset-ms")
        quota = _header_number(headers, "x-rate-limit-requests-quota")
        window_ms = _header_number(headers, "x-rate-limit-time-window-ms")
        if quota is not None:
            self._quota = quota
        if window_ms is not None:
            self._window = window_ms / 1000.0
        if left is None or reset_ms is None:
            return
        reset_at = self._clock.now() + reset_ms / 1000.0 + RESET_MARGIN_SECONDS
        new_window = self._left is None or reset_at > self._reset_at + (self._window / 2 if self._window else 1.0)
        if new_window:
            # A window we have not been counting: take the server's figure, less our requests still in flight,
            # which it may not have counted yet.
            self._left = left - self._in_flight
            self._reset_at = reset_at
        else:
            # Our own count already has every request we sent in this window; the server's may be lower because
            # other apps on the store spend the same quota. Subtracting our in-flight requests again would count
            # them twice and wait a whole window for nothing.
            self._left = min(self._left if self._left is not None else left, left)
            self._reset_at = max(self._reset_at, reset_at)

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (after a 429)."""
        self._paused_until = max(self._paused_until, self._clock.now() + seconds)
        self._left = 0
        self._reset_at = max(self._reset_at, self._clock.now() + seconds)
