"""How people install and try it: the MCP Bundle, the command line, the demo, and an independent client."""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_bigcommerce_segments import __version__
from mcp_bigcommerce_segments.config import ENV_VARS, HOSTED_ENV_VARS
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve
from mcp_bigcommerce_segments.sandbox import SEGMENTS, profile_id

from .conftest import READ_TOOLS, WRITE_TOOLS, MakeClient
from .support.stdio import RawStdio, clean_env, run_cli

ROOT = Path(__file__).parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
MCPB = "@anthropic-ai/mcpb@2.1.2"
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
VIP = str(SEGMENTS[0][0])


def npx(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("npx")
    assert exe, "npx (Node.js) is needed for the bundle and Inspector tests"
    return subprocess.run([exe, "--yes", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


# --- drift between the manifest, the package and the server ----------------------------------------------------


@pytest.mark.anyio
async def test_manifest_tools_are_the_server_tools(make_client: MakeClient) -> None:
    """The bundle manifest lists exactly the tools the server serves, each with a description."""
    async with make_client() as mcp:
        served = {t.name for t in (await mcp.list_tools()).tools}

    assert {t["name"] for t in MANIFEST["tools"]} == served
    assert all(t["description"] for t in MANIFEST["tools"])


def test_manifest_env_is_what_config_reads() -> None:
    """The bundle manifest passes exactly the non-hosted environment variables that the config reads."""
    assert set(MANIFEST["server"]["mcp_config"]["env"]) == set(ENV_VARS) - set(HOSTED_ENV_VARS)


def test_manifest_version_is_the_package_version() -> None:
    """The bundle manifest version equals the pyproject and package version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert MANIFEST["version"] == project["version"] == __version__


def test_manifest_passes_settings_through_env_and_keeps_the_token_secret() -> None:
    """The manifest passes every user setting through env, marks the token sensitive and starts from the lock file."""
    config = MANIFEST["server"]["mcp_config"]
    user = MANIFEST["user_config"]
    referenced = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config["env"])))

    assert referenced == set(user)
    assert not re.search(r"user_config", json.dumps(config["args"]))
    # Not required, so that the sandbox toggle works with neither; the server names what is missing at start.
    assert user["store_hash"]["required"] is False
    assert user["access_token"] == {**user["access_token"], "required": False, "sensitive": True}
    assert user["sandbox"] == {**user["sandbox"], "type": "boolean", "default": False}
    assert user["read_only"]["type"] == "boolean"
    assert "--frozen" in config["args"]  # the bundle starts from uv.lock, resolving nothing new
    assert MANIFEST["server"]["type"] == "uv"
    assert MANIFEST["manifest_version"] == "0.4"


def test_mcpbignore_keeps_tests_and_caches_out() -> None:
    """The .mcpbignore file keeps the virtualenv, tests, benchmarks and caches out of the bundle."""
    ignored = (ROOT / ".mcpbignore").read_text().split()

    assert {".venv/", "tests/", "bench/", "__pycache__/", ".pytest_cache/"} <= set(ignored)


# --- the real MCPB CLI: validate, pack, and start the packed bundle with its own mcp_config ---------------------


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    validate = npx(MCPB, "validate", "manifest.json")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    pack = npx(MCPB, "pack", str(ROOT), str(out / "bundle.mcpb"), cwd=out)
    assert pack.returncode == 0, pack.stdout + pack.stderr
    return out / "bundle.mcpb"


@pytest.mark.npx
def test_bundle_holds_the_package_and_not_the_tests(packed: Path) -> None:
    """The packed bundle holds the manifest, lock file and package but no tests, venv or caches."""
    names = zipfile.ZipFile(packed).namelist()

    assert {"manifest.json", "pyproject.toml", "uv.lock", "LICENSE", "icon.png", "README.md"} <= set(names)
    assert "mcp_bigcommerce_segments/server.py" in names
    assert "mcp_bigcommerce_segments/app/segments.html" in names  # the MCP App view, offline
    assert "mcp_bigcommerce_segments/tools/schemas.json" in names  # the stored tool schemas (a faster start)
    assert not [n for n in names if n.startswith(("tests/", ".venv/", "bench/")) or "__pycache__" in n]


@pytest.mark.anyio
@pytest.mark.npx
async def test_packed_bundle_starts_offline_with_its_own_mcp_config(
    packed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The unpacked bundle starts offline from its own config, honours sandbox and read-only, and stays under 1 MB."""
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(packed).extractall(unpacked)  # noqa: S202 - the bundle this test run packed
    manifest = json.loads((unpacked / "manifest.json").read_text())
    config = manifest["server"]["mcp_config"]
    values = {
        "sandbox": "true",  # no store hash or token: the merchant tries it first
        "store_hash": "",
        "access_token": "",
        "api_url": "",
        "read_only": "true",
        "audit_log": "off",
        "hide_emails": "false",
    }

    def fill(text: str) -> str:
        text = text.replace("${__dirname}", str(unpacked))
        return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: values[m.group(1)], text)

    # The machine's own environment (certificates, caches), then the bundle's; uv may not reach any index: the
    # lock file and the cache that scripts/install warmed are all it has.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIGCOMMERCE_")}
    env |= {key: fill(value) for key, value in config["env"].items()}
    env |= {"UV_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    params = StdioServerParameters(command=config["command"], args=[fill(a) for a in config["args"]], env=env)

    starts = []
    for _ in range(2):  # the first start installs the locked versions from the cache; the second finds them there
        async with Client(params, read_timeout_seconds=300) as client:
            starts.append(sorted(t.name for t in (await client.list_tools()).tools))

    assert starts == [sorted(READ_TOOLS)] * 2  # read_only and sandbox from user_config reached the server
    assert (unpacked / "uv.lock").exists()
    size = (await anyio.Path(packed).stat()).st_size
    with capsys.disabled():
        sys.stdout.write(f"\n[bundle: {size:,} bytes packed]\n")
    assert size < 1_000_000


# --- the MCP Inspector CLI, an independent client, against the sandbox -----------------------------------------


def inspector(*args: str, audit_log: str = "off") -> tuple[int, Any]:
    result = npx(
        INSPECTOR,
        "--cli",
        "-e",
        "BIGCOMMERCE_SANDBOX=true",
        "-e",
        f"BIGCOMMERCE_AUDIT_LOG={audit_log}",
        sys.executable,
        "-m",
        "mcp_bigcommerce_segments",
        *args,
        "--format",
        "json",
    )
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.returncode, result.stdout + result.stderr


@pytest.mark.npx
def test_inspector_lists_tools_strictly() -> None:
    """The MCP Inspector lists every read and write tool in strict mode without error."""
    code, output = inspector("--method", "tools/list", "--strict")

    assert code == 0, output
    assert sorted(t["name"] for t in output["result"]["tools"]) == sorted(READ_TOOLS + WRITE_TOOLS)


@pytest.mark.npx
def test_inspector_calls_each_tool(tmp_path: Path) -> None:
    """The MCP Inspector calls each tool against the sandbox with the expected answers and a lasting audit log."""
    newcomer = str(profile_id(250))
    calls = [
        ("list_segment_profiles", {"segment_id": VIP, "limit": 3}),
        ("add_profiles_to_segment", {"segment_id": VIP, "profile_ids": [newcomer]}),
        ("remove_profiles_from_segment", {"segment_id": VIP, "profile_ids": [str(profile_id(1))]}),
        ("list_segments", {"name_contains": "wholesale"}),
        ("get_profile_segments", {"profile_id": str(profile_id(1))}),
        ("find_shopper_profiles", {"customer_ids": [7, 296]}),
        ("list_recent_changes", {"limit": 3}),
        ("undo_change", {"change_id": "c0123456789"}),
    ]
    outputs = []
    audit = str(tmp_path / "audit.jsonl")
    for name, args in calls[:-1]:
        code, output = inspector(
            "--method", "tools/call", "--tool-name", name, "--tool-args-json", json.dumps(args), audit_log=audit
        )
        assert code == 0, output
        outputs.append(output["result"]["structuredContent"])
    # Each call is its own server process: there is no change c0123456789 to undo, and the tool says so.
    code, output = inspector(
        "--method",
        "tools/call",
        "--tool-name",
        "undo_change",
        "--tool-args-json",
        json.dumps(calls[-1][1]),
        audit_log=audit,
    )
    assert code == 5, output
    assert "No change c0123456789 in the audit log" in str(output)

    assert [p["customer_id"] for p in outputs[0]["profiles"]] == [1, 2, 3]
    assert outputs[0]["total"] == 12
    assert outputs[1]["added"] == 1
    assert outputs[2]["status"] == "preview"
    assert [seg["name"] for seg in outputs[3]["segments"]] == ["Wholesale"]
    assert {seg["name"] for seg in outputs[4]["segments"]} == {"VIP customers", "Newsletter subscribers", "Wholesale"}
    assert outputs[5]["found"][0]["shopper_profile_id"] == str(profile_id(7))
    assert outputs[5]["without_profile"] == [296]
    assert outputs[6]["changes"] == []  # each call is its own sandbox process: its changes went with it
    assert all(o["sandbox"] is True for o in outputs)


@pytest.mark.npx
def test_inspector_sees_a_tool_error_as_exit_5() -> None:
    """The MCP Inspector exits 5 on a tool error, here a 404 for an unknown segment."""
    code, output = inspector(
        "--method",
        "tools/call",
        "--tool-name",
        "list_segment_profiles",
        "--tool-args-json",
        json.dumps({"segment_id": str(uuid.uuid4())}),
    )

    assert code == 5
    assert "404" in json.dumps(output)


# --- command line -----------------------------------------------------------------------------------------------


@pytest.mark.subprocess
def test_help_and_version() -> None:
    """The --help output lists the main flags and the demo command, and --version prints the package version."""
    helped, version = run_cli("--help"), run_cli("--version")

    assert helped.returncode == 0
    for flag in ("--read-only", "--sandbox", "--check", "demo"):
        assert flag in helped.stdout
    assert version.stdout.strip() == f"mcp-bigcommerce-segments {__version__}"


@pytest.mark.subprocess
def test_demo_prints_a_transcript_of_a_real_session() -> None:
    """The demo command prints a transcript of adds, a segment created and filled by criteria, a preview naming the
    promotions, a removal, an undo and an elicitation."""
    result = run_cli("demo")

    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "> tools/list" in text
    assert (
        '> add_profiles_to_segment {"segment_id": "5e9a1c00-0000-4000-8000-000000000001", "customer_ids": [201' in text
    )
    assert "Added 3 profiles" in text
    assert "1 customer has no shopper profile yet (cannot be in a segment): 295" in text
    assert "Added 120 profiles (every member of segment 'Newsletter subscribers')" in text
    assert "Created segment 'Holiday 2026' (segment_id" in text
    assert (
        "Added 46 profiles (49 customers who spent at least 500.00 since 2026-09-01) to segment 'Holiday 2026'" in text
    )
    assert (
        "Members of 'Newsletter subscribers' get 'Newsletter free shipping' (enabled): the 30 removed lose it" in text
    )
    assert "PREVIEW, nothing removed: 30 profiles would be removed from segment 'Newsletter subscribers'" in text
    assert "Removed 30 profiles" in text
    assert "Added 30 profiles (the 30 removed by change" in text  # the undo
    assert "? the server asks the user: Remove 1 shopper profile from segment 'VIP customers'" in text
    assert "--check" in text.splitlines()[-1]


@pytest.mark.subprocess
def test_check_passes_on_the_sandbox() -> None:
    """The --check command passes on the sandbox and reports the customers modify scope granted."""
    result = run_cli("--check", "--sandbox")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Customers modify scope: granted" in result.stdout
    assert "Orders read scope (optional): granted" in result.stdout


@pytest.fixture
def live() -> Iterator[tuple[FaultyStore, str]]:
    store = FaultyStore(store_hash="abc123", token="right-token", quota=None)
    with serve(store) as url:
        yield store, url


@pytest.mark.parametrize(
    ("token", "scope", "segments", "code", "expected"),
    [
        ("wrong-token", "modify", 1, 1, "Token: REJECTED (401)"),
        ("right-token", "read_only", 1, 1, "Customers modify scope: MISSING"),
        ("right-token", "modify", 0, 0, "NOT VERIFIED"),
        ("right-token", "modify", 1, 0, "All set."),
    ],
)
@pytest.mark.subprocess
def test_check_reports_token_and_scope(
    live: tuple[FaultyStore, str], token: str, scope: str, segments: int, code: int, expected: str
) -> None:
    """The --check command reports a rejected token, a missing scope or success, never printing the token."""
    store, url = live
    store.scope = scope  # type: ignore[assignment]
    for n in range(segments):
        store.add_segment(f"S{n}")

    result = run_cli(
        "--check",
        env={"BIGCOMMERCE_STORE_HASH": "abc123", "BIGCOMMERCE_ACCESS_TOKEN": token, "BIGCOMMERCE_API_URL": url},
    )

    assert result.returncode == code, result.stdout
    assert expected in result.stdout
    assert token not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_check_reports_an_unreachable_store() -> None:
    """The --check command exits 1 and reports an unreachable store as NOT REACHABLE."""
    result = run_cli(
        "--check",
        env={
            "BIGCOMMERCE_STORE_HASH": "abc123",
            "BIGCOMMERCE_ACCESS_TOKEN": "t0k",
            "BIGCOMMERCE_API_URL": "http://127.0.0.1:9",
            "BIGCOMMERCE_MAX_RETRY_SECONDS": "1",
        },
    )

    assert result.returncode == 1
    assert "NOT REACHABLE" in result.stdout


# --- installs and distributions -----------------------------------------------------------------------------------

UV = ROOT / ".venv" / "bin" / "uv"


@pytest.mark.subprocess
def test_uv_tool_install_from_a_clone_gives_a_command_that_serves(tmp_path: Path) -> None:
    """Installing from a clone with uv tool, offline, gives a command that serves every tool."""
    env = clean_env(
        UV_OFFLINE="1",  # only what scripts/install put in uv's cache: no index is reached
        UV_TOOL_DIR=str(tmp_path / "tools"),
        UV_TOOL_BIN_DIR=str(tmp_path / "bin"),
        UV_PYTHON=sys.executable,
    )
    install = subprocess.run(
        [str(UV), "tool", "install", str(ROOT)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert install.returncode == 0, install.stderr
    command = tmp_path / "bin" / "mcp-bigcommerce-segments"

    with RawStdio([str(command), "--sandbox"], clean_env(BIGCOMMERCE_AUDIT_LOG="off")) as server:
        server.initialize()
        tools = server.call("tools/list")[0]
        server.close()

    assert sorted(t["name"] for t in tools["result"]["tools"]) == sorted(READ_TOOLS + WRITE_TOOLS)


@pytest.mark.subprocess
def test_pipx_install_from_a_clone_gives_a_command_that_serves(tmp_path: Path) -> None:
    """Installing from a clone with pipx, offline, gives a command that serves every tool."""
    env = clean_env(
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIP_NO_INDEX="1",  # only the wheelhouse scripts/install made: no index is reached
        PIP_FIND_LINKS=str(ROOT / ".cache" / "wheels"),
    )
    install = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pipx"), "install", "--backend", "pip", "--python", sys.executable, str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    with RawStdio(
        [str(tmp_path / "bin" / "mcp-bigcommerce-segments"), "--sandbox"], clean_env(BIGCOMMERCE_AUDIT_LOG="off")
    ) as server:
        server.initialize()
        tools = server.call("tools/list")[0]
        server.close()

    assert sorted(t["name"] for t in tools["result"]["tools"]) == sorted(READ_TOOLS + WRITE_TOOLS)


@pytest.mark.subprocess
def test_sdist_and_wheel_hold_the_package_and_nothing_stray(tmp_path: Path) -> None:
    """The sdist and wheel hold only the package and its metadata files, with no caches, and pass twine check."""
    build = subprocess.run(
        [str(UV), "build", "--offline", "-q", "-o", str(tmp_path), str(ROOT)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (sdist,) = tmp_path.glob("*.tar.gz")
    (wheel,) = tmp_path.glob("*.whl")
    with tarfile.open(sdist) as archive:
        listed = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    top = {name.split("/")[0] for name in listed}

    assert top - {".gitignore"} == {  # hatchling always adds the VCS ignore file to an sdist
        "mcp_bigcommerce_segments",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "manifest.json",
        "icon.png",
        "pyproject.toml",
        "PKG-INFO",
    }
    assert not [name for name in listed if "__pycache__" in name or name.endswith(".pyc")]
    assert {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()} == {
        "mcp_bigcommerce_segments",
        f"mcp_bigcommerce_segments-{__version__}.dist-info",
    }
    shipped = zipfile.ZipFile(wheel).read("mcp_bigcommerce_segments/app/segments.html")
    assert shipped == (ROOT / "mcp_bigcommerce_segments" / "app" / "segments.html").read_bytes()  # the MCP App
    schemas = zipfile.ZipFile(wheel).read("mcp_bigcommerce_segments/tools/schemas.json")
    assert schemas == (ROOT / "mcp_bigcommerce_segments" / "tools" / "schemas.json").read_bytes()
    twine = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "twine"), "check", "--strict", str(sdist), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (["--help"], {}, 0),
        (["--version"], {}, 0),
        (["--check"], {"BIGCOMMERCE_SANDBOX": "true", "BIGCOMMERCE_AUDIT_LOG": "off"}, 0),
        (["--check"], {}, 1),  # nothing configured: a configuration problem is 1, on stdout
        (["--bogus"], {}, 2),
        (["launch"], {}, 2),
    ],
)
def test_exit_codes_are_as_documented(args: list[str], env: dict[str, str], code: int) -> None:
    """The command exits 0, 1 or 2 as documented, with a missing configuration reported on stdout under --check."""
    result = run_cli(*args, env=env)

    assert result.returncode == code, result.stdout + result.stderr
    if args == ["--check"] and code == 1:
        assert result.stdout.startswith("Configuration: PROBLEM.")
        assert "BIGCOMMERCE_STORE_HASH is not set" in result.stdout
