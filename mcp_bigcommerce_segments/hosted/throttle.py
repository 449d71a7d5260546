"""Guessing bearer tokens is slowed and said: after `FREE` failed tokens in a minute from one address, each further
request from it waits longer (0.1 s more per failure, at most 5 s) before it is looked at, and one warning a minute
per address names the count (never a token). Successful requests are never slowed."""

import logging
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..clock import Clock, SystemClock

logger = logging.getLogger(__name__)

FREE = 10
STEP_SECONDS = 0.1
MAX_DELAY_SECONDS = 5.0
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailedAuthGuard:
    """ASGI middleware: counts 401 answers per client address in a sliding minute and delays that address's requests
    once it has failed more than `FREE` times."""

    def __init__(self, app: ASGIApp, clock: Clock | None = None) -> None:
        self.app = app
        self.clock: Clock = clock or SystemClock()
        self.failures: OrderedDict[str, list[float]] = OrderedDict()
        self._warned: dict[str, float] = {}

    def _recent(self, address: str) -> list[float]:
        now = self.clock.now()
        kept = [t for t in self.failures.get(address, []) if now - t < WINDOW_SECONDS]
        if kept:
            self.failures[address] = kept
        else:
            self.failures.pop(address, None)
        return kept

    def delay_for(self, address: str) -> float:
        """How long a request from `address` waits before it is looked at."""
        extra = len(self._recent(address)) - FREE
        return 0.0 if extra < 0 else min(MAX_DELAY_SECONDS, STEP_SECONDS * (extra + 1))

    def _failed(self, address: str) -> None:
        now = self.clock.now()
        self.failures.setdefault(address, []).append(now)
        self.failures.move_to_end(address)
        while len(self.failures) > MAX_ADDRESSES:  # memory stays bounded whatever the number of addresses
            self.failures.popitem(last=False)
        count = len(self._recent(address))
        if count > FREE and now - self._warned.get(address, -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._warned[address] = now
            logger.warning(
                "%d failed bearer tokens from %s in the last minute; its requests are slowed", count, address
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client: Any = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if delay := self.delay_for(address):
            await self.clock.sleep(delay)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 401:
                self._failed(address)
            await send(message)

        await self.app(scope, receive, watch)
