"""End to end: the real `python -m mcp_bigcommerce_segments` subprocess over stdio, against the fake on 127.0.0.1."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcp_bigcommerce_segments import __version__
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .conftest import READ_TOOLS, STORE, TOKEN, WRITE_TOOLS, structured, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def live_store() -> FaultyStore:
    return FaultyStore(store_hash=STORE, token=TOKEN, quota=450)


@pytest.fixture
def api_url(live_store: FaultyStore) -> Iterator[str]:
    with serve(live_store) as url:
        yield url


def server_env(api_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "BIGCOMMERCE_STORE_HASH": STORE,
        "BIGCOMMERCE_ACCESS_TOKEN": TOKEN,
        "BIGCOMMERCE_API_URL": api_url,
        "BIGCOMMERCE_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        **extra,
    }


async def test_subprocess_lists_adds_and_removes_over_stdio(
    live_store: FaultyStore, api_url: str, tmp_path: Path
) -> None:
    segment = live_store.add_segment("VIP")
    ids = live_store.add_profiles(3)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_bigcommerce_segments"], env=server_env(api_url, tmp_path)
    )

    async with Client(params) as client:
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == ("mcp-bigcommerce-segments", __version__)
        names = {tool.name for tool in (await client.list_tools()).tools}
        added = structured(
            await client.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )
        page = structured(await client.call_tool("list_segment_profiles", {"segment_id": str(segment)}))
        removed = structured(
            await client.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(segment), "profile_ids": [str(ids[0])], "confirm": True},
            )
        )
        missing = await client.call_tool("list_segment_profiles", {"segment_id": str(uuid.uuid4())})
        after = structured(await client.call_tool("list_segment_profiles", {"segment_id": str(segment)}))

    assert names == set(READ_TOOLS + WRITE_TOOLS)
    assert len(added["added"]) == 3
    assert page["total"] == 3
    assert removed["removed"] == [str(ids[0])]
    assert missing.is_error
    assert "404" in text_of(missing)
    assert after["total"] == 2
    assert live_store.members(segment) == ids[1:]


def test_missing_configuration_exits_nonzero_with_one_stderr_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_bigcommerce_segments"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )

    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BIGCOMMERCE_STORE_HASH" in lines[0]
    assert "BIGCOMMERCE_ACCESS_TOKEN" in lines[0]
    assert "Traceback" not in proc.stderr


def rpc(proc: "subprocess.Popen[str]", message: dict[str, object] | str) -> None:
    assert proc.stdin is not None
    proc.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
    proc.stdin.flush()


def initialize(proc: "subprocess.Popen[str]") -> None:
    """The 2025-06-18 handshake, as Claude Desktop does it."""
    rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
    )
    read_until(proc, {1})
    rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})


def spawn(env: dict[str, str]) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_bigcommerce_segments"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(proc: "subprocess.Popen[str]", want: set[int]) -> dict[int, dict[str, object]]:
    """Read JSON-RPC lines from stdout until answers with all ids in `want` arrived; every line must be JSON."""
    assert proc.stdout is not None
    answers: dict[int, dict[str, object]] = {}
    while not want <= answers.keys():
        line = proc.stdout.readline()
        assert line, "the server closed stdout"
        message = json.loads(line)  # stdout carries only the protocol
        if isinstance(message.get("id"), int):
            answers[message["id"]] = message
    return answers


def test_server_survives_garbage_unknown_tools_and_concurrent_calls(
    live_store: FaultyStore, api_url: str, tmp_path: Path
) -> None:
    segment = live_store.add_segment("VIP")
    live_store.add_members(segment, live_store.add_profiles(30))
    with spawn(server_env(api_url, tmp_path, BIGCOMMERCE_LOG_LEVEL="DEBUG")) as proc:
        initialize(proc)
        rpc(proc, "this is not json {")
        rpc(
            proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "drop_table", "arguments": {}}}
        )
        for n in range(10, 30):
            rpc(
                proc,
                {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {
                        "name": "list_segment_profiles",
                        "arguments": {"segment_id": str(segment), "limit": 5, "page": 1 + n % 6},
                    },
                },
            )
        rpc(proc, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
        answers = read_until(proc, {2, 3, *range(10, 30)})
        _, stderr = proc.communicate(timeout=20)

    unknown = answers[2]
    assert "error" in unknown or unknown["result"]["isError"]  # type: ignore[index]
    assert all(answers[n]["result"]["structuredContent"]["total"] == 30 for n in range(10, 30))  # type: ignore[index]
    assert len(answers[3]["result"]["tools"]) == len(READ_TOOLS + WRITE_TOOLS)  # type: ignore[index]
    assert TOKEN not in stderr
    assert "shopper-profiles" in stderr  # DEBUG logs every request, on stderr
    assert proc.returncode == 0


async def test_read_only_subprocess_offers_only_listing(live_store: FaultyStore, api_url: str, tmp_path: Path) -> None:
    segment = live_store.add_segment("VIP")
    for env_extra, args in (({"BIGCOMMERCE_READ_ONLY": "true"}, []), ({}, ["--read-only"])):
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_bigcommerce_segments", *args],
            env=server_env(api_url, tmp_path, **env_extra),
        )
        async with Client(params) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            refused = await client.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(segment), "profile_ids": [str(uuid.uuid4())], "confirm": True},
            )
        assert sorted(names) == sorted(READ_TOOLS)
        assert refused.is_error
    assert live_store.stats.count("POST") == live_store.stats.count("DELETE") == 0


def test_default_log_level_writes_nothing_per_request(live_store: FaultyStore, api_url: str, tmp_path: Path) -> None:
    segment = live_store.add_segment("VIP")
    with spawn(server_env(api_url, tmp_path)) as proc:
        initialize(proc)
        for n, target in ((2, segment), (3, uuid.uuid4())):
            rpc(
                proc,
                {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {"name": "list_segment_profiles", "arguments": {"segment_id": str(target)}},
                },
            )
        answers = read_until(proc, {2, 3})
        _, stderr = proc.communicate(timeout=20)

    assert answers[3]["result"]["isError"]  # type: ignore[index]
    assert stderr == ""
