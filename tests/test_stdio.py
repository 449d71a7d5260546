"""End to end: the real `python -m mcp_bigcommerce_segments` subprocess over stdio, against the fake on 127.0.0.1."""

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

from .conftest import READ_TOOLS, WRITE_TOOLS, remove, structured, text_of
from .support.stdio import STORE, TOKEN, RawStdio, clean_env, our_argv, run_cli
from .support.stdio import server_env as support_env

pytestmark = [pytest.mark.anyio, pytest.mark.subprocess]


@pytest.fixture
def live_store() -> FaultyStore:
    return FaultyStore(store_hash=STORE, token=TOKEN, quota=450)


@pytest.fixture
def api_url(live_store: FaultyStore) -> Iterator[str]:
    with serve(live_store) as url:
        yield url


def server_env(api_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return support_env(api_url, tmp_path / "audit.jsonl", **extra)


async def test_subprocess_lists_adds_and_removes_over_stdio(
    live_store: FaultyStore, api_url: str, tmp_path: Path
) -> None:
    """Run as a subprocess over stdio, the server offers every tool and lists, adds and removes profiles."""
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
        removed = await remove(client, segment, profile_ids=[str(ids[0])])
        missing = await client.call_tool("list_segment_profiles", {"segment_id": str(uuid.uuid4())})
        after = structured(await client.call_tool("list_segment_profiles", {"segment_id": str(segment)}))

    assert names == set(READ_TOOLS + WRITE_TOOLS)
    assert added["added"] == 3
    assert page["total"] == 3
    assert removed["removed"] == 1
    assert missing.is_error
    assert "404" in text_of(missing)
    assert after["total"] == 2
    assert live_store.members(segment) == ids[1:]


def test_missing_configuration_exits_nonzero_with_one_stderr_line(tmp_path: Path) -> None:
    """Without configuration the server exits non-zero with one stderr line naming both variables, no traceback."""
    proc = run_cli(env={"HOME": str(tmp_path)})

    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BIGCOMMERCE_STORE_HASH" in lines[0]
    assert "BIGCOMMERCE_ACCESS_TOKEN" in lines[0]
    assert "Traceback" not in proc.stderr


def test_server_survives_garbage_unknown_tools_and_concurrent_calls(
    live_store: FaultyStore, api_url: str, tmp_path: Path
) -> None:
    """The stdio server survives garbage input, an unknown tool and 20 concurrent calls without leaking the token."""
    segment = live_store.add_segment("VIP")
    live_store.add_members(segment, live_store.add_profiles(30))
    with RawStdio(our_argv(), server_env(api_url, tmp_path, BIGCOMMERCE_LOG_LEVEL="DEBUG"), stderr=True) as server:
        server.initialize()
        server.write("this is not json {")
        unknown_id = server.send("tools/call", {"name": "drop_table", "arguments": {}})
        calls = [
            server.send(
                "tools/call",
                {
                    "name": "list_segment_profiles",
                    "arguments": {"segment_id": str(segment), "limit": 5, "page": 1 + n % 6},
                },
            )
            for n in range(20)
        ]
        tools_id = server.send("tools/list")
        unknown = server.receive(unknown_id)[0]
        pages = [server.receive(n)[0] for n in calls]
        tools = server.receive(tools_id)[0]
        server.close()

    assert "error" in unknown or unknown["result"]["isError"]
    assert all(page["result"]["structuredContent"]["total"] == 30 for page in pages)
    assert len(tools["result"]["tools"]) == len(READ_TOOLS + WRITE_TOOLS)
    assert TOKEN not in server.stderr
    assert "shopper-profiles" in server.stderr  # DEBUG logs every request, on stderr
    assert server.proc.returncode == 0


async def test_read_only_subprocess_offers_only_listing(live_store: FaultyStore, api_url: str, tmp_path: Path) -> None:
    """Read-only mode set by variable or flag offers only the read tools and refuses removals over stdio."""
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
    """At the default log level the server writes nothing to stderr for successful or failed requests."""
    segment = live_store.add_segment("VIP")
    with RawStdio(our_argv(), server_env(api_url, tmp_path), stderr=True) as server:
        server.initialize()
        found = server.tool("list_segment_profiles", {"segment_id": str(segment)})
        missing = server.tool("list_segment_profiles", {"segment_id": str(uuid.uuid4())})
        server.close()

    assert not found["result"]["isError"]
    assert missing["result"]["isError"]
    assert server.stderr == ""


def imported(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")} - {
        "package"
    }


def test_version_loads_neither_the_sdk_nor_the_fake_store() -> None:
    """Printing the version loads neither the MCP SDK, HTTP libraries nor the emulator and sandbox."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mcp_bigcommerce_segments", "--version"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    modules = imported(proc.stderr)
    assert "mcp_bigcommerce_segments" in modules
    assert not {m for m in modules if m.split(".")[0] in ("starlette", "uvicorn", "mcp", "httpx2")}
    assert not {
        m for m in modules if m.startswith(("mcp_bigcommerce_segments.emulator", "mcp_bigcommerce_segments.sandbox"))
    }


def test_a_real_server_start_loads_no_fake_store_and_nothing_the_sdk_does_not(
    live_store: FaultyStore, api_url: str, tmp_path: Path
) -> None:
    """A real stdio start loads no emulator, sandbox or hosted mode, and no web modules beyond the SDK's own."""
    sdk = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mcp.server"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    with RawStdio(
        [sys.executable, "-X", "importtime", *our_argv()[1:]], server_env(api_url, tmp_path), stderr=True
    ) as server:
        server.initialize()
        tools = server.call("tools/list")[0]
        server.close()

    ours = imported(server.stderr)
    web = {m for m in ours if m.split(".")[0] in ("starlette", "uvicorn", "sse_starlette")}
    assert len(tools["result"]["tools"]) == len(READ_TOOLS + WRITE_TOOLS)
    assert "mcp_bigcommerce_segments.server" in ours
    assert not {
        m for m in ours if m.startswith(("mcp_bigcommerce_segments.emulator", "mcp_bigcommerce_segments.sandbox"))
    }
    assert not {m for m in ours if m.startswith(("mcp_bigcommerce_segments.hosted", "redis"))}  # nothing of HTTP mode
    # The SDK's `mcp.server` itself imports Starlette and uvicorn (mcp 2.3); we add none of their modules.
    assert web <= imported(sdk.stderr)
