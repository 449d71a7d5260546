"""serve-http's app in process: what it answers besides MCP (GET /mcp, the resource metadata, readiness), and that
it starts only when it can record changes, with the same instructions as stdio."""

import gc
import hashlib
import importlib.util
import io
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from mcp_bigcommerce_segments import sandbox
from mcp_bigcommerce_segments.__main__ import main
from mcp_bigcommerce_segments.check import run_check
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.hosted import app as app_module
from mcp_bigcommerce_segments.hosted.app import build_app
from mcp_bigcommerce_segments.hosted.shared import SharedGovernor, connect
from mcp_bigcommerce_segments.server import build_server
from mcp_bigcommerce_segments.state import compose

from .conftest import BoundedClient, audit_lines, text_of
from .support.stdio import STORE
from .support.stdio import TOKEN as STORE_TOKEN

pytestmark = pytest.mark.anyio

TOKEN = "writer-token-9a8b7c6d5e"
BASE = "http://127.0.0.1:8000"
TOKENS = (("write", hashlib.sha256(TOKEN.encode()).hexdigest()),)


def hosted(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "store_hash": "abc123",
        "access_token": SecretStr("t"),
        "http_tokens": TOKENS,
        "audit_log": tmp_path / "audit.jsonl",
        **extra,
    }
    return Settings(**values)


def http(settings: Settings) -> httpx2.AsyncClient:
    """A client of the app for `settings`, its lifespan not run (routes that need no MCP session)."""
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=build_app(settings)), base_url=BASE)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of `app` with its lifespan running, as uvicorn would run it (MCP calls need it)."""
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client,
    ):
        yield client


async def test_get_mcp_is_405_with_allow_post(tmp_path: Path) -> None:
    """A stateless JSON server has no event stream to hold open: GET /mcp answers 405 with Allow: POST at once."""
    async with http(hosted(tmp_path)) as client:
        response = await client.get("/mcp", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_static_tokens_alone_publish_no_oauth_metadata(tmp_path: Path) -> None:
    """With static tokens only, no protected-resource metadata is served and a 401 points to no OAuth server."""
    async with http(hosted(tmp_path)) as client:
        metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
        refused = await client.post("/mcp", json={}, headers={"Authorization": "Bearer wrong"})

    assert metadata.status_code == 404
    assert refused.status_code == 401
    assert "resource_metadata" not in refused.headers.get("www-authenticate", "")


async def test_oauth_publishes_metadata_with_both_scopes(tmp_path: Path) -> None:
    """With OAuth configured, the metadata names the issuer and both scopes, read and write."""
    settings = hosted(
        tmp_path,
        oauth_issuer="https://idp.example.com",
        oauth_audience="segments",
        oauth_jwks_url="https://idp.example.com/jwks.json",
    )
    async with http(settings) as client:
        metadata = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()

    assert metadata["scopes_supported"] == ["read", "write"]
    assert [server.rstrip("/") for server in metadata["authorization_servers"]] == ["https://idp.example.com"]


async def test_readyz_is_not_ready_when_the_audit_log_cannot_be_written(tmp_path: Path) -> None:
    """/readyz says not ready (503) once the audit log cannot be appended to: every write would fail."""
    log = tmp_path / "audit.jsonl"
    async with http(hosted(tmp_path, audit_log=log)) as client:
        ready = await client.get("/readyz")
        log.mkdir()  # the log's path is now a directory: nothing can be appended
        broken = await client.get("/readyz")

    assert ready.status_code == 200
    assert broken.status_code == 503
    assert broken.json() == {"status": "not ready", "audit_log": "not writable"}


def test_serve_http_refuses_to_start_with_an_audit_log_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """serve-http exits 2 with one line naming the audit log, before listening, as stdio does."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    for name, value in {
        "BIGCOMMERCE_STORE_HASH": "abc123",
        "BIGCOMMERCE_ACCESS_TOKEN": "t",
        "BIGCOMMERCE_HTTP_TOKENS": f"write:{TOKENS[0][1]}",
        "BIGCOMMERCE_AUDIT_LOG": str(blocked / "audit.jsonl"),
    }.items():
        monkeypatch.setenv(name, value)

    code = main(["serve-http", "--port", "9"])

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "audit log" in err.lower()


def test_serve_http_without_redis_installed_says_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With BIGCOMMERCE_REDIS_URL set and redis not installed, serve-http exits 2 with one line naming the extra."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a))
    for name, value in {
        "BIGCOMMERCE_STORE_HASH": "abc123",
        "BIGCOMMERCE_ACCESS_TOKEN": "t",
        "BIGCOMMERCE_HTTP_TOKENS": f"write:{TOKENS[0][1]}",
        "BIGCOMMERCE_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "BIGCOMMERCE_REDIS_URL": "redis://127.0.0.1:9/0",
    }.items():
        monkeypatch.setenv(name, value)

    code = main(["serve-http", "--port", "9"])

    err = capsys.readouterr().err
    assert code == 2
    assert "serve-http needs the 'hosted' extra (redis missing)" in err
    assert "pip install -e '.[hosted]'" in err
    assert "Traceback" not in err


async def test_a_sandbox_has_the_same_instructions_over_http_and_stdio(tmp_path: Path) -> None:
    """serve-http --sandbox gives the sandbox's instructions (its named segments), exactly as stdio does."""
    sandboxed = hosted(tmp_path, sandbox=True)
    app = build_app(sandboxed)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}

    async with served(app) as client:
        answer = (await client.post("/mcp", json=initialize, headers=headers)).json()

    over_stdio = build_server(sandboxed).instructions
    assert over_stdio is not None
    assert "SANDBOX MODE" in over_stdio
    assert answer["result"]["instructions"] == over_stdio


def test_uvicorn_logs_at_the_configured_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve-http's HTTP server logs at BIGCOMMERCE_LOG_LEVEL (WARNING by default, as the README says), not INFO."""
    seen: list[str] = []
    monkeypatch.setattr(app_module._Server, "run", lambda server, *a: seen.append(server.config.log_level))

    assert app_module.serve(hosted(tmp_path), host="127.0.0.1", port=9) == 0
    assert app_module.serve(hosted(tmp_path, log_level="INFO"), host="127.0.0.1", port=9) == 0

    assert seen == ["warning", "info"]


READER = "reader-token-1b2c3d4e5f"


async def _post_as_reader(tmp_path: Path, *messages: dict[str, Any]) -> list[httpx2.Response]:
    settings = hosted(tmp_path, http_tokens=(*TOKENS, ("read", hashlib.sha256(READER.encode()).hexdigest())))
    app = build_app(settings)
    headers = {"Authorization": f"Bearer {READER}", "Accept": "application/json, text/event-stream"}
    async with served(app) as client:
        answers = [await client.post("/mcp", json=message, headers=headers) for message in messages]
        answers.append(await client.get("/mcp", headers=headers))
    return answers


async def test_a_read_token_sees_only_the_review_prompt_and_holds_no_stream(tmp_path: Path) -> None:
    """prompts/list for a read token offers only the prompt that changes nothing, a write prompt is refused as
    unknown, and GET /mcp is 405 for it too (no stream to hold open)."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "prompts/list", "params": {}}
    writing = {"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "copy_segment", "arguments": {}}}

    _, listed, refused, stream = await _post_as_reader(tmp_path, initialize, listing, writing)

    assert [p["name"] for p in listed.json()["result"]["prompts"]] == ["review_segment"]
    assert refused.json()["error"]["code"] == -32602
    assert stream.status_code == 405


async def test_a_preview_while_redis_is_away_says_so_in_a_sentence(
    tmp_path: Path, store: FaultyStore, segment: uuid.UUID
) -> None:
    """With the shared preview store unreachable, a removal preview answers the Redis sentence (nothing removed),
    not a bare 'Error executing tool'."""
    settings = hosted(
        tmp_path,
        store_hash=STORE,
        access_token=SecretStr(STORE_TOKEN),
        api_url="http://127.0.0.1:9",
        redis_url=SecretStr("redis://127.0.0.1:1/0"),
    )
    members = store.add_profiles(2)
    store.add_members(segment, members)
    dead = connect("redis://127.0.0.1:1/0")
    state = compose(settings, transport=store.transport(), redis_client=dead)
    async with BoundedClient(build_server(settings, state=state)) as mcp:
        result = await mcp.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in members]}
        )
    await dead.aclose()

    assert result.is_error
    assert "The shared preview store (Redis, BIGCOMMERCE_REDIS_URL) cannot be reached" in text_of(result)
    assert store.members(segment) == members


async def test_redis_going_away_is_logged_once_not_per_request(caplog: pytest.LogCaptureFixture) -> None:
    """Fifty requests paced while Redis is unreachable write one warning, not fifty."""
    dead = connect("redis://127.0.0.1:1/0")
    governor = SharedGovernor(dead, "abc123", VirtualClock(), entry_seconds=35)
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            await governor.release({}, await governor.acquire())
    await dead.aclose()

    warnings = [r for r in caplog.records if "Redis" in r.getMessage()]
    assert len(warnings) == 1


async def test_check_reports_redis_it_cannot_reach(tmp_path: Path) -> None:
    """--check with BIGCOMMERCE_REDIS_URL pointing nowhere says Redis is not reachable and fails (1)."""
    settings = hosted(tmp_path, sandbox=True, redis_url=SecretStr("redis://:pw-secret@127.0.0.1:1/0"))
    out = io.StringIO()

    code = await run_check(settings, out, sandbox.transport())

    assert code == 1
    assert "Redis: NOT REACHABLE (ConnectionError)" in out.getvalue()
    assert "pw-secret" not in out.getvalue()


async def test_a_question_asked_by_one_replica_is_answered_on_another_and_not_by_another_caller(
    tmp_path: Path, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Protocol 2026-07-28: the removal question comes from replica A; the retry carrying the user's yes reaches
    replica B and removes (its request state verifies there); the same retry from another caller is refused."""
    other = "other-writer-5f5f5f5f"
    settings = hosted(
        tmp_path,
        store_hash=STORE,
        access_token=SecretStr(STORE_TOKEN),
        http_tokens=(*TOKENS, ("write", hashlib.sha256(other.encode()).hexdigest())),
    )
    members = store.add_profiles(2)
    store.add_members(segment, members)
    arguments = {"segment_id": str(segment), "profile_ids": [str(i) for i in members]}
    meta = {
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    }

    def call(extra: dict[str, Any]) -> dict[str, Any]:
        params = {"name": "remove_profiles_from_segment", "arguments": arguments, "_meta": meta, **extra}
        return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}

    def headers(token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "remove_profiles_from_segment",
        }

    replica_a, replica_b = (
        build_app(settings, transport=store.transport()),
        build_app(settings, transport=store.transport()),
    )
    async with served(replica_a) as a, served(replica_b) as b:
        asked = (await a.post("/mcp", json=call({}), headers=headers(TOKEN))).json()["result"]
        key = next(iter(asked["inputRequests"]))
        answer = {
            "inputResponses": {key: {"action": "accept", "content": {"approve": True}}},
            "requestState": asked["requestState"],
        }
        stranger = await b.post("/mcp", json=call(answer), headers=headers(other))
        members_after_stranger = store.members(segment)
        done = (await b.post("/mcp", json=call(answer), headers=headers(TOKEN))).json()

    assert asked["resultType"] == "input_required"
    assert "error" in stranger.json() or stranger.status_code >= 400
    assert members_after_stranger == members
    assert done["result"]["structuredContent"]["status"] == "removed"
    assert store.members(segment) == []


class SlowDeletes(FaultyStore):
    """The fake store, each DELETE taking a while, telling the test when the first one arrived."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.first_delete = anyio.Event()

    def latency_for(self, method: str) -> float:
        if method == "DELETE":
            self.first_delete.set()
            return 0.2
        return 0.0


async def test_a_cancel_posted_over_http_stops_a_running_removal_and_it_is_recorded(tmp_path: Path) -> None:
    """A bulk removal approved over HTTP, then `notifications/cancelled` posted for its request ID: no new chunks are
    sent, the call answers that it was cancelled, and the outcome is recorded as cancelled with what was removed."""
    store = SlowDeletes(store_hash=STORE, token=STORE_TOKEN, quota=None)
    segment = store.add_segment("VIP")
    members = store.add_profiles(2_000)
    store.add_members(segment, members)
    settings = hosted(tmp_path, store_hash=STORE, access_token=SecretStr(STORE_TOKEN))
    app = build_app(settings, transport=store.transport())
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}

    def message(n: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": n, "method": method, "params": params}

    arguments = {"segment_id": str(segment), "all_members": True}
    async with served(app) as client:
        call = {"name": "remove_profiles_from_segment", "arguments": arguments}
        preview = (await client.post("/mcp", json=message(1, "tools/call", call), headers=headers)).json()
        preview_id = preview["result"]["structuredContent"]["preview_id"]
        approved = {"segment_id": str(segment), "preview_id": preview_id, "confirm": True}
        approval = {"name": "remove_profiles_from_segment", "arguments": approved}
        answers: list[dict[str, Any]] = []

        async def approve() -> None:
            answers.append((await client.post("/mcp", json=message(7, "tools/call", approval), headers=headers)).json())

        async with anyio.create_task_group() as group:
            group.start_soon(approve)
            await store.first_delete.wait()
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
            relayed = await client.post("/mcp", json=cancel, headers=headers)

    text = answers[0]["result"]["content"][0]["text"]
    outcome = [line for line in audit_lines(tmp_path / "audit.jsonl") if line["event"] == "outcome"][-1]
    assert relayed.status_code == 202
    assert answers[0]["result"]["isError"] is True
    assert "the client cancelled the call" in text
    assert outcome["cancelled"] is True
    assert 0 < len(outcome["removed"]) < 2_000
    assert len(store.members(segment)) == 2_000 - len(outcome["removed"])
    assert store.stats.count("DELETE") < 40


async def test_a_body_is_read_only_for_a_verified_caller_and_only_up_to_4_mb(tmp_path: Path) -> None:
    """Without a verified token the body is not read (401 from the SDK); with one, a body over 4 MB is refused 413
    before the SDK sees it."""
    app = build_app(hosted(tmp_path))
    big = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    async with served(app) as client:
        stranger = await client.post("/mcp", content=big, headers={"Authorization": "Bearer nope"})
        caller = await client.post(
            "/mcp",
            content=big,
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )

    assert stranger.status_code == 401
    assert caller.status_code == 413


def test_a_stdio_start_that_stops_early_leaves_garbage_collection_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stdio start pauses garbage collection while it builds the server; a start that stops before serving (here an
    audit log that cannot be written) turns it back on."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("BIGCOMMERCE_STORE_HASH", "abc123")
    monkeypatch.setenv("BIGCOMMERCE_ACCESS_TOKEN", "t")
    monkeypatch.setenv("BIGCOMMERCE_AUDIT_LOG", str(blocked / "audit.jsonl"))

    assert main([]) == 2
    assert gc.isenabled()
    assert "audit log" in capsys.readouterr().err.lower()
