"""Hosted mode end to end: `serve-http` processes, a real Redis, one emulated store, and callers over HTTP.

Three replicas share one store's Standard quota (150 requests per window; a 3 s window keeps the test short) and its
10 concurrent requests. Tokens: static ones from the environment, and OAuth JWTs signed by a key the test serves as
a JWKS on loopback.
"""

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .conftest import READ_TOOLS, WRITE_TOOLS
from .support.hosted import Caller, Replica, digest, redis_server
from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.subprocess

READER, WRITER = "reader-token-1b2c3d4e5f", "writer-token-9a8b7c6d5e"
TOKENS = f"read:{digest(READER)},write:{digest(WRITER)}"
ORIGIN = "https://agents.example.com"


class CountingStore(FaultyStore):
    """The fake store, telling the test when it has seen `after` POSTs."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.posts_seen = threading.Event()
        self.after = 10**9
        self._posts = 0

    def fault_for(self, method: str) -> Any:
        if method == "POST":
            self._posts += 1
            if self._posts >= self.after:
                self.posts_seen.set()
        return super().fault_for(method)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore(store_hash=STORE, token=TOKEN, quota=150, window_seconds=3.0)


@pytest.fixture
def api_url(store: CountingStore) -> Iterator[str]:
    with serve(store) as url:
        yield url


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def caller() -> Iterator[Caller]:
    http = Caller()
    yield http
    http.close()


def env_for(api_url: str, tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    return {
        "BIGCOMMERCE_STORE_HASH": STORE,
        "BIGCOMMERCE_ACCESS_TOKEN": TOKEN,
        "BIGCOMMERCE_API_URL": api_url,
        "BIGCOMMERCE_AUDIT_LOG": str(tmp_path / f"audit-{name}.jsonl"),
        "BIGCOMMERCE_HTTP_TOKENS": TOKENS,
        "BIGCOMMERCE_HTTP_ALLOWED_ORIGINS": ORIGIN,
        **extra,
    }


@pytest.fixture
def replicas(api_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [
        Replica(env_for(api_url, tmp_path, name, BIGCOMMERCE_REDIS_URL=redis_url, BIGCOMMERCE_TIMEOUT_SECONDS="3"))
        for name in "abc"
    ]
    yield started
    for replica in started:
        replica.stop()


def tool_names(caller: Caller, url: str, token: str) -> set[str]:
    response = caller.post(url, "tools/list", token=token)
    assert response.status_code == 200, response.text
    return {tool["name"] for tool in response.json()["result"]["tools"]}


# --- authentication ---------------------------------------------------------------------------------------------


def test_serving_without_any_authentication_refuses_to_start_naming_the_variable(tmp_path: Path) -> None:
    """The HTTP server refuses to start without any authentication, on any host, naming BIGCOMMERCE_HTTP_TOKENS."""
    for host in ("0.0.0.0", "127.0.0.1"):  # noqa: S104 - the refusal is the point
        replica_env = env_for("http://127.0.0.1:9", tmp_path, "x", BIGCOMMERCE_HTTP_TOKENS="")
        with pytest.raises(RuntimeError, match="BIGCOMMERCE_HTTP_TOKENS"):
            Replica(replica_env, "--host", host)


def test_static_tokens_scopes_origins_and_health(api_url: str, tmp_path: Path, caller: Caller) -> None:
    """Hosted mode refuses bad tokens and foreign origins, scopes tools by token and answers health checks."""
    replica = Replica(env_for(api_url, tmp_path, "auth"))
    try:
        missing = caller.post(replica.url, "tools/list", token=None)
        wrong = caller.post(replica.url, "tools/list", token="not-a-token-5e6f7a8b")
        read_only = tool_names(caller, replica.url, READER)
        everything = tool_names(caller, replica.url, WRITER)
        refused = caller.tool(
            replica.url, "add_profiles_to_segment", {"segment_id": str(uuid.uuid4()), "customer_ids": [1]}, token=READER
        )
        foreign = caller.post(replica.url, "tools/list", token=WRITER, Origin="https://evil.example.com")
        allowed = caller.post(replica.url, "tools/list", token=WRITER, Origin=ORIGIN)
        health = caller.http.get(f"{replica.url}/healthz")
        ready = caller.http.get(f"{replica.url}/readyz")
        metadata = caller.http.get(f"{replica.url}/.well-known/oauth-protected-resource/mcp")
    finally:
        replica.stop()

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "not-a-token-5e6f7a8b" not in wrong.text + str(wrong.headers)
    assert "resource_metadata=" not in missing.headers["www-authenticate"]  # static tokens: no OAuth to discover
    assert read_only == set(READ_TOOLS)
    assert everything == set(READ_TOOLS + WRITE_TOOLS)
    assert refused["isError"]
    assert "needs a token with the write scope" in refused["content"][0]["text"]
    assert foreign.status_code == 403
    assert allowed.status_code == 200
    assert (health.status_code, ready.status_code) == (200, 200)
    assert metadata.status_code == 404
    assert READER not in replica.log
    assert WRITER not in replica.log


def test_oauth_tokens_are_checked_against_issuer_audience_and_rotating_keys(
    api_url: str, tmp_path: Path, caller: Caller
) -> None:
    """OAuth tokens grant tools by scope, are refused when expired or for another audience and survive key rotation."""
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048)]

    async def jwks(request: Request) -> JSONResponse:
        public = [json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())) for k in keys]
        return JSONResponse(
            {"keys": [{**key, "kid": f"k{n}", "use": "sig", "alg": "RS256"} for n, key in enumerate(public)]}
        )

    issuer, audience = "https://issuer.example.com", "segments-api"

    def token(scope: str, *, kid: int = 0, aud: str = audience, ttl: int = 300) -> str:
        claims = {"iss": issuer, "aud": aud, "sub": "agent-1", "scope": scope, "exp": int(time.time()) + ttl}
        return jwt.encode(claims, keys[kid], algorithm="RS256", headers={"kid": f"k{kid}"})

    with serve(Starlette(routes=[Route("/jwks.json", jwks)])) as issuer_url:
        replica = Replica(
            env_for(
                api_url,
                tmp_path,
                "oauth",
                BIGCOMMERCE_HTTP_TOKENS="",
                BIGCOMMERCE_OAUTH_ISSUER=issuer,
                BIGCOMMERCE_OAUTH_AUDIENCE=audience,
                BIGCOMMERCE_OAUTH_JWKS_URL=f"{issuer_url}/jwks.json",
            )
        )
        try:
            writes = tool_names(caller, replica.url, token("segments:write"))
            reads = tool_names(caller, replica.url, token("segments:read"))
            expired = caller.post(replica.url, "tools/list", token=token("segments:write", ttl=-60))
            elsewhere = caller.post(replica.url, "tools/list", token=token("segments:write", aud="other-api"))
            keys.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))  # the issuer rotates
            rotated = tool_names(caller, replica.url, token("segments:read", kid=1))
        finally:
            replica.stop()

    assert writes == set(READ_TOOLS + WRITE_TOOLS)
    assert reads == rotated == set(READ_TOOLS)
    assert (expired.status_code, elsewhere.status_code) == (401, 401)


# --- replicas sharing one store through Redis -------------------------------------------------------------------


def test_three_replicas_adding_10000_each_stay_inside_the_quota(
    replicas: list[Replica], store: CountingStore, caller: Caller
) -> None:
    """Three replicas each adding 10,000 profiles share the quota and concurrency limit with no 429s."""
    segment = store.add_segment("Black Friday")
    batches = [store.add_profiles(10_000) for _ in replicas]
    results: list[dict[str, Any]] = []

    def add(replica: Replica, ids: list[uuid.UUID]) -> None:
        arguments = {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        results.append(caller.tool(replica.url, "add_profiles_to_segment", arguments, token=WRITER))

    threads = [threading.Thread(target=add, args=pair) for pair in zip(replicas, batches, strict=True)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    took = time.perf_counter() - started

    assert [r["structuredContent"]["added"] for r in results] == [10_000] * 3, results
    assert store.stats.rate_limited == 0
    assert store.stats.peak_in_flight <= 10
    assert set(store.members(segment)) == {i for batch in batches for i in batch}
    assert took >= 2 * 3.0  # 600 requests at 150 per 3 s window: at least four windows began


def test_a_preview_made_on_one_replica_is_approved_on_another_once(
    replicas: list[Replica], store: CountingStore, caller: Caller
) -> None:
    """A removal preview made on one replica is approved on another, and a second approval is refused."""
    segment = store.add_segment("Wholesale")
    store.add_members(segment, store.add_profiles(30))
    a, b, c = replicas

    preview = caller.tool(
        a.url, "remove_profiles_from_segment", {"segment_id": str(segment), "all_members": True}, token=WRITER
    )
    preview_id = preview["structuredContent"]["preview_id"]
    approve = {"segment_id": str(segment), "preview_id": preview_id, "confirm": True}
    done = caller.tool(b.url, "remove_profiles_from_segment", approve, token=WRITER)
    again = caller.tool(c.url, "remove_profiles_from_segment", approve, token=WRITER)
    changes = caller.tool(c.url, "list_recent_changes", {}, token=READER)

    assert done["structuredContent"]["removed"] == 30
    assert again["isError"]
    assert "already approved and used" in again["content"][0]["text"]
    assert store.members(segment) == []
    assert changes["structuredContent"]["changes"][0]["change_id"] == done["structuredContent"]["change_id"]


def test_a_replica_killed_mid_bulk_loses_no_record_and_its_leases_expire(
    replicas: list[Replica], store: CountingStore, caller: Caller, redis_url: str
) -> None:
    """A replica killed mid-add leaves its change marked interrupted and its leases expire so others carry on."""
    a, b, c = replicas
    segment = store.add_segment("Newsletter")
    ids = store.add_profiles(5_000)
    store.after = 20
    failure: list[BaseException] = []

    def doomed() -> None:
        try:
            caller.tool(
                c.url,
                "add_profiles_to_segment",
                {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]},
                token=WRITER,
            )
        except Exception as exc:
            failure.append(exc)

    thread = threading.Thread(target=doomed)
    thread.start()
    assert store.posts_seen.wait(timeout=120)
    c.stop(kill=True)  # SIGKILL: no chance to release anything
    shared = redis.Redis.from_url(redis_url)
    seconds, micros = shared.time()
    killed_ms = seconds * 1000 + micros // 1000
    thread.join(timeout=60)
    changes = caller.tool(a.url, "list_recent_changes", {}, token=READER)["structuredContent"]["changes"]
    # The dead replica's leases (up to all 10 slots) expire; then the others get every slot back.
    later = store.add_profiles(600)
    done = caller.tool(
        b.url,
        "add_profiles_to_segment",
        {"segment_id": str(segment), "profile_ids": [str(i) for i in later]},
        token=WRITER,
    )
    leases: list[tuple[bytes, float]] = shared.zrange(f"bc-segments:{{{STORE}}}:leases", 0, -1, withscores=True)  # type: ignore[assignment]
    left = [score for _, score in leases]

    assert failure  # the doomed call never answered
    assert changes[0]["status"] == "interrupted"  # its intent is in the shared record, from any replica
    assert changes[0]["tool"] == "add_profiles_to_segment"
    assert done["structuredContent"]["added"] == 600
    # What is left are the dead replica's leases, taken before the kill (they end by themselves within a lease,
    # BIGCOMMERCE_TIMEOUT_SECONDS + 5 s); the living replica gave back every lease it took.
    assert all(score <= killed_ms + (3 + 5) * 1000 for score in left), (killed_ms, left)


def test_without_redis_writes_are_refused_and_reads_go_on(
    api_url: str, tmp_path: Path, store: CountingStore, caller: Caller
) -> None:
    """With Redis down, reads still work while writes are refused with nothing sent and readiness fails."""
    segment = store.add_segment("VIP")
    members = store.add_profiles(3)
    store.add_members(segment, members)
    newcomer = store.add_profile()
    with redis_server(tmp_path) as url:
        replica = Replica(env_for(api_url, tmp_path, "r", BIGCOMMERCE_REDIS_URL=url))
    try:  # Redis has stopped
        read = caller.tool(replica.url, "list_segment_profiles", {"segment_id": str(segment)}, token=READER)
        arguments = {"segment_id": str(segment), "profile_ids": [str(newcomer)]}
        write = caller.tool(replica.url, "add_profiles_to_segment", arguments, token=WRITER)
        ready = caller.http.get(f"{replica.url}/readyz")
    finally:
        replica.stop()

    assert read["structuredContent"]["total"] == 3
    assert write["isError"]
    assert "Redis" in write["content"][0]["text"]
    assert "nothing was sent" in write["content"][0]["text"]
    assert store.stats.count("POST") == 0
    assert ready.status_code == 503


def test_sigterm_mid_bulk_answers_records_the_outcome_and_frees_the_leases(
    replicas: list[Replica], store: CountingStore, caller: Caller, redis_url: str
) -> None:
    """SIGTERM mid-add answers the partial result, records the change as cancelled and frees every lease."""
    a, _, c = replicas
    segment = store.add_segment("Newsletter")
    ids = store.add_profiles(5_000)
    store.after = 20
    answers: list[dict[str, Any]] = []

    def call() -> None:
        arguments = {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        answers.append(caller.tool(c.url, "add_profiles_to_segment", arguments, token=WRITER))

    thread = threading.Thread(target=call)
    thread.start()
    assert store.posts_seen.wait(timeout=120)
    code = c.stop()  # SIGTERM: stop sending, finish what is on its way, record, answer, exit
    thread.join(timeout=60)
    changes = caller.tool(a.url, "list_recent_changes", {}, token=READER)["structuredContent"]["changes"]
    leases = redis.Redis.from_url(redis_url).zcard(f"bc-segments:{{{STORE}}}:leases")

    assert code in (0, -15)  # uvicorn re-raises the SIGTERM it handled once it has shut down
    (answer,) = answers
    data = answer["structuredContent"]
    assert 0 < data["added"] < 5_000
    assert "server was asked to stop" in json.dumps(data["failed"])
    assert changes[0]["status"] == "cancelled"
    assert changes[0]["added"] == data["added"] == len(store.members(segment))
    assert leases == 0


def test_behind_a_proxy_the_origin_is_still_checked(api_url: str, tmp_path: Path, caller: Caller) -> None:
    """Behind a proxy with a foreign Host header, requests are served while foreign origins are still refused."""
    replica = Replica(env_for(api_url, tmp_path, "proxy"), "--host", "0.0.0.0")  # noqa: S104 - reached on loopback
    try:
        proxied = caller.post(replica.url, "tools/list", token=WRITER, Host="agents.example.com")
        foreign = caller.post(replica.url, "tools/list", token=WRITER, Origin="https://evil.example.com")
        allowed = caller.post(replica.url, "tools/list", token=WRITER, Origin=ORIGIN)
    finally:
        replica.stop()

    assert (proxied.status_code, foreign.status_code, allowed.status_code) == (200, 403, 200)


# --- connections ------------------------------------------------------------------------------------------------


def _idle_socket(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (a blocking read with a timeout, not a sleep)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True  # reset by the server


def test_idle_sockets_are_closed_and_health_answers_under_a_slowloris(api_url: str, tmp_path: Path) -> None:
    """Hundreds of sockets that send nothing (or half a request) under a small descriptor limit: /healthz still
    answers, each idle socket is closed after the idle deadline, and stderr does not fill with accept errors."""
    env = env_for(api_url, tmp_path, "slow", BIGCOMMERCE_HTTP_IDLE_SECONDS="1", BIGCOMMERCE_HTTP_MAX_CONNECTIONS="60")
    replica = Replica(env, max_files=128)
    sockets: list[socket.socket] = []
    try:
        for n in range(300):
            sock = _idle_socket(replica.port)
            if sock is None:
                continue
            if n % 2:
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers begun, never finished
            sockets.append(sock)
        with httpx2.Client(timeout=10) as http:
            health = http.get(f"http://127.0.0.1:{replica.port}/healthz")
        survivors = sockets[-20:]  # the newest: not yet closed to make room
        closed = [_closed_by_server(sock, within=5) for sock in survivors]
    finally:
        for sock in sockets:
            sock.close()
        replica.stop()

    assert health.status_code == 200
    assert all(closed)
    assert len(replica.log) < 50_000


def test_a_client_hanging_up_stops_its_bulk_call_and_the_outcome_says_cancelled(
    api_url: str, store: CountingStore, tmp_path: Path, caller: Caller
) -> None:
    """A client that sends a bulk add and hangs up mid-way: the replica stops sending new chunks, finishes what was
    on its way, and records the change as cancelled with exactly what was added."""
    replica = Replica(env_for(api_url, tmp_path, "hangup"))
    segment = store.add_segment("Newsletter")
    ids = store.add_profiles(5_000)
    store.after = 20
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {
                "name": "add_profiles_to_segment",
                "arguments": {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]},
            },
        }
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", replica.port), timeout=30) as sock:
            sock.sendall(
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{replica.port}\r\nContent-Type: application/json\r\n".encode()
                + b"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n"
                + f"Authorization: Bearer {WRITER}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert store.posts_seen.wait(timeout=60)
        # The socket is closed: the call must end as cancelled. Ask until its outcome is recorded (no sleeps).
        deadline = time.monotonic() + 30
        changes: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            changes = caller.tool(replica.url, "list_recent_changes", {}, token=READER)["structuredContent"]["changes"]
            if changes and changes[0]["status"] != "interrupted":
                break
    finally:
        replica.stop()

    assert changes[0]["status"] == "cancelled"
    assert 0 < changes[0]["added"] < 5_000
    assert changes[0]["added"] == len(store.members(segment))
