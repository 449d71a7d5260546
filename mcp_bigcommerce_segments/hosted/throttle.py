"""Guessing bearer tokens is refused early and said: after `FREE` failed tokens in a minute from one address, a
request from it whose token does not verify is answered 429 at once (with `Retry-After`), before anything else is
done, and one warning a minute per address names the count (never a token). A request whose token verifies is never
refused or slowed, so honest callers behind the same proxy address go on; nothing sleeps while holding a connection.
"""

import logging
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..clock import Clock, SystemClock
from .auth import SegmentTokenVerifier

logger = logging.getLogger(__name__)

FREE = 10
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailedAuthGuard:
    """ASGI middleware on `path`: counts 401 answers per client address in a sliding minute; once an address has
    `FREE` of them, its requests with a token that does not verify are refused with 429 until the minute has passed."""

    def __init__(
        self, app: ASGIApp, verifier: SegmentTokenVerifier, path: str = "/mcp", clock: Clock | None = None
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.path = path
        self.clock: Clock = clock or SystemClock()
        self.failures: OrderedDict[str, list[float]] = OrderedDict()
        self._warned: OrderedDict[str, float] = OrderedDict()

    def _recent(self, address: str) -> list[float]:
        now = self.clock.now()
        kept = [t for t in self.failures.get(address, []) if now - t < WINDOW_SECONDS]
        if kept:
            self.failures[address] = kept
        else:
            self.failures.pop(address, None)
        return kept

    def _failed(self, address: str) -> None:
        now = self.clock.now()
        self.failures.setdefault(address, []).append(now)
        self.failures.move_to_end(address)
        while len(self.failures) > MAX_ADDRESSES:  # memory stays bounded whatever the number of addresses
            self.failures.popitem(last=False)
        count = len(self._recent(address))
        if count >= FREE and now - self._warned.get(address, -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._warned[address] = now
            self._warned.move_to_end(address)
            while len(self._warned) > MAX_ADDRESSES:
                self._warned.popitem(last=False)
            logger.warning(
                "%d failed bearer tokens from %s in the last minute; its bad tokens are refused", count, address
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        client: Any = scope.get("client")
        address = str(client[0]) if client else "unknown"
        recent = self._recent(address)
        if len(recent) >= FREE and await self.verifier.verify_scope(scope) is None:
            wait = max(1, round(WINDOW_SECONDS - (self.clock.now() - recent[0])))
            headers = [(b"retry-after", str(wait).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 401:
                self._failed(address)
            await send(message)

        await self.app(scope, receive, watch)
