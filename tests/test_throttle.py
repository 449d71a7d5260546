"""Guessing bearer tokens: slowed after ten failures a minute from one address, said once a minute, never the token."""

import logging

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.hosted.throttle import FREE, FailedAuthGuard

pytestmark = pytest.mark.anyio


async def answer(request: Request) -> Response:
    good = request.headers.get("authorization") == "Bearer right"
    return Response(status_code=200 if good else 401)


async def test_repeated_failures_from_one_address_are_slowed_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """After ten failures each request waits 0.1 s more; a good token from another address never waits; one warning."""
    clock = VirtualClock(start=0.0)
    guard = FailedAuthGuard(Starlette(routes=[Route("/mcp", answer, methods=["POST"])]), clock=clock)
    waited = []
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=guard, client=("203.0.113.9", 5000)), base_url="http://t"
    ) as guesser:
        with caplog.at_level(logging.WARNING):
            for n in range(15):
                before = clock.now()
                await guesser.post("/mcp", headers={"Authorization": f"Bearer guess-{n}"})
                waited.append(round(clock.now() - before, 3))
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=guard, client=("198.51.100.7", 5000)), base_url="http://t"
    ) as honest:
        before = clock.now()
        ok = await honest.post("/mcp", headers={"Authorization": "Bearer right"})

    assert waited[:FREE] == [0.0] * FREE
    assert waited[FREE:] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert ok.status_code == 200
    assert clock.now() == before
    logged = [r.getMessage() for r in caplog.records if "failed bearer tokens" in r.getMessage()]
    assert logged == ["11 failed bearer tokens from 203.0.113.9 in the last minute; its requests are slowed"]
    assert not any("guess-" in r.getMessage() for r in caplog.records)
