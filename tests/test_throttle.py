"""Guessing bearer tokens: after ten failures a minute from one address its bad tokens get 429 at once (no
connection held), a good token from that address still goes through, and one warning a minute names the count."""

import hashlib
import logging

import httpx2
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.hosted.auth import SegmentTokenVerifier
from mcp_bigcommerce_segments.hosted.throttle import FREE, WINDOW_SECONDS, FailedAuthGuard

pytestmark = pytest.mark.anyio

RIGHT = "right-token-0a0a0a"


async def answer(request: Request) -> Response:
    good = request.headers.get("authorization") == f"Bearer {RIGHT}"
    return Response(status_code=200 if good else 401)


async def test_guessing_is_refused_early_and_a_good_token_is_never_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Ten 401s from an address, then its bad tokens get 429 with Retry-After at once (nothing slept), its good
    token still gets 200, one warning names the count (never a token), and after the minute guessing is looked at
    again."""
    settings = Settings(
        store_hash="abc123",
        access_token=SecretStr("t"),
        http_tokens=(("write", hashlib.sha256(RIGHT.encode()).hexdigest()),),
    )
    clock = VirtualClock(start=0.0)
    app = Starlette(routes=[Route("/mcp", answer, methods=["POST"])])
    guard = FailedAuthGuard(app, SegmentTokenVerifier(settings), clock=clock)
    transport = httpx2.ASGITransport(app=guard, client=("203.0.113.9", 5000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as guesser:
        with caplog.at_level(logging.WARNING):
            statuses = [
                (await guesser.post("/mcp", headers={"Authorization": f"Bearer guess-{n}"})).status_code
                for n in range(14)
            ]
            refused = await guesser.post("/mcp", headers={"Authorization": "Bearer guess-x"})
            good = await guesser.post("/mcp", headers={"Authorization": f"Bearer {RIGHT}"})
            clock.advance(WINDOW_SECONDS + 1)
            later = await guesser.post("/mcp", headers={"Authorization": "Bearer guess-y"})

    assert statuses == [401] * FREE + [429] * (14 - FREE)
    assert int(refused.headers["retry-after"]) >= 1
    assert good.status_code == 200
    assert later.status_code == 401
    assert clock.now() == WINDOW_SECONDS + 1  # nothing slept
    logged = [r.getMessage() for r in caplog.records if "failed bearer tokens" in r.getMessage()]
    assert logged == ["10 failed bearer tokens from 203.0.113.9 in the last minute; its bad tokens are refused"]
    assert not any("guess-" in r.getMessage() for r in caplog.records)
