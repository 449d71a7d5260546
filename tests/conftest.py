"""Shared fixtures: a virtual clock, a fake BigCommerce store, and an MCP client wired to both."""

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult
from pydantic import SecretStr

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.retry import RetryPolicy
from mcp_bigcommerce_segments.server import build_server

from .support.stdio import STORE, TOKEN

READ_TOOLS = [
    "list_segment_profiles",
    "list_segments",
    "get_profile_segments",
    "find_shopper_profiles",
    "list_recent_changes",
]
WRITE_TOOLS = [
    "add_profiles_to_segment",
    "remove_profiles_from_segment",
    "undo_change",
    "create_segment",
    "update_segment",
    "delete_segment",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def store(request: pytest.FixtureRequest, clock: VirtualClock) -> Iterator[FaultyStore]:
    """The fake store of a test. Whatever the test did, no DELETE without `id:in` reached it (which would have emptied
    a segment or deleted every segment), unless the test sends one itself on purpose (marked `hazard`)."""
    fake = FaultyStore(store_hash=STORE, token=TOKEN, clock=clock, quota=None)
    yield fake
    if request.node.get_closest_marker("hazard") is None:
        assert fake.stats.unfiltered_deletes == 0, "a DELETE without id:in reached the store"


@pytest.fixture
def segment(store: FaultyStore) -> uuid.UUID:
    return store.add_segment("VIP", "Top spenders")


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.jsonl"


@pytest.fixture
def settings(audit_path: Path) -> Settings:
    return Settings(store_hash=STORE, access_token=SecretStr(TOKEN), api_url="http://127.0.0.1:9", audit_log=audit_path)


MakeClient = Callable[..., AbstractAsyncContextManager[Client]]

#: No in-process tool call of a test takes longer than this in real time (virtual time is free): a call that hangs
#: fails its test with a timeout instead of holding the suite.
CALL_SECONDS = 30.0


class BoundedClient(Client):
    """The SDK's client, each tool call bounded by `anyio.fail_after(CALL_SECONDS)`."""

    async def call_tool(self, *args: Any, **kwargs: Any) -> CallToolResult:
        with anyio.fail_after(CALL_SECONDS):
            return await super().call_tool(*args, **kwargs)


@pytest.fixture
def make_client(settings: Settings, store: FaultyStore, clock: VirtualClock) -> MakeClient:
    """An MCP client connected in process to our server, which talks to `store` through its transport."""

    def make(*, mode: str = "auto", settings_: Settings | None = None, **client_kwargs: Any) -> Client:
        server = build_server(
            settings_ or settings,
            transport=store.transport(),
            clock=clock,
            retry=RetryPolicy(max_seconds=120.0, jitter=0.0),
        )
        return BoundedClient(server, mode=mode, **client_kwargs)

    return make


@pytest.fixture(params=["auto", "legacy"])
async def mcp(request: pytest.FixtureRequest, make_client: MakeClient) -> AsyncIterator[Client]:
    """The client in both protocol eras: stateless 2026-07-28 and the 2025-11-25 handshake."""
    async with make_client(mode=request.param) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def preview_removal(mcp: Client, segment: uuid.UUID, **source: Any) -> dict[str, Any]:
    """Step 1 of a removal: the preview (nothing removed)."""
    data = structured(await mcp.call_tool("remove_profiles_from_segment", {"segment_id": str(segment), **source}))
    assert data["status"] == "preview", data["summary"]
    return data


async def approve(mcp: Client, segment: uuid.UUID, preview_id: str) -> CallToolResult:
    """Step 2 of a removal: approve the preview."""
    return await mcp.call_tool(
        "remove_profiles_from_segment", {"segment_id": str(segment), "preview_id": preview_id, "confirm": True}
    )


async def remove(mcp: Client, segment: uuid.UUID, **source: Any) -> dict[str, Any]:
    """A removal the user approved: preview, then approval; the approval's structured result."""
    preview = await preview_removal(mcp, segment, **source)
    return structured(await approve(mcp, segment, preview["preview_id"]))


def last_outcome(path: Path) -> dict[str, Any]:
    """The last outcome record of the audit log: the per-ID truth of the last write."""
    outcomes = [line for line in audit_lines(path) if line["event"] == "outcome"]
    assert outcomes, "no outcome recorded"
    return outcomes[-1]


def strs(ids: Any) -> list[str]:
    return [str(i) for i in ids]


def rate_headers(left: Any, reset_ms: Any, quota: Any = 150, window_ms: Any = 30_000) -> dict[str, str]:
    """The four rate-limit headers BigCommerce sends on every answer, lowercase as HTTP/2 has
    them (`Any`: tests also send malformed values)."""
    return {
        "x-rate-limit-requests-left": str(left),
        "x-rate-limit-time-reset-ms": str(reset_ms),
        "x-rate-limit-requests-quota": str(quota),
        "x-rate-limit-time-window-ms": str(window_ms),
    }
