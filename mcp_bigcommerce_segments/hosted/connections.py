"""Connections a replica keeps: each must send a whole request's headers in time, and there are never more than a set
number open, so that idle or trickling sockets (slowloris) cannot use up the file descriptors and take `/healthz`
down with them.

uvicorn closes a connection idle between requests (`timeout_keep_alive`), but not one that never finishes its first
request's headers, and it accepts connections until the process runs out of descriptors, logging every failed
accept. `GuardedH11` adds the deadline and the cap; `AcceptErrorFilter` lets one accept error through per 10 s.
"""

import asyncio
import logging
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers (and for idling between requests), and
    a cap on open connections: past it, the longest-idle connection without a request in progress is closed."""

    idle_seconds = 10.0
    max_connections = 500

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._arm()
        if len(self.connections) > self.max_connections:
            idle = [c for c in self.connections if isinstance(c, GuardedH11) and c is not self and c.idle]
            victim = min(idle, key=lambda c: c.idle_since) if idle else self
            victim.transport.close()

    @property
    def idle(self) -> bool:
        """No request in progress: none begun (headers not yet whole), or the last one answered."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.idle_since = time.monotonic()
        self._timer = self.loop.call_later(self.idle_seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self.idle and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)


def guarded(idle_seconds: float, max_connections: int) -> type[GuardedH11]:
    """The protocol class for one server's limits."""
    return type("GuardedH11", (GuardedH11,), {"idle_seconds": idle_seconds, "max_connections": max_connections})


class AcceptErrorFilter(logging.Filter):
    """At most one 'accept' error record per `every` seconds (with how many were held back), so that a flood of
    failed accepts cannot fill the disk through stderr."""

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self._every = every
        self._last = -float("inf")
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "accept" not in str(record.msg).lower():
            return True
        now = time.monotonic()
        if now - self._last < self._every:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} more like it in the last {self._every:.0f} s were not logged)"
        record.exc_info, record.exc_text = None, None  # one line, not a traceback per accept
        self._last, self._held = now, 0
        return True


def install_accept_filter(**options: Any) -> AcceptErrorFilter:
    """Rate-limit accept errors on the loggers that report them (asyncio's, uvicorn's)."""
    guard = AcceptErrorFilter(**options)
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(guard)
    return guard
