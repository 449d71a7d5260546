"""Docs that cannot drift: README tables, the manifest and `--help` against the server, Settings and the parser."""

import json
import re
from pathlib import Path

import pytest
from mcp import Client

from mcp_bigcommerce_segments.__main__ import _parser
from mcp_bigcommerce_segments.config import ENV_VARS, HOSTED_ENV_VARS, Settings

from .conftest import READ_TOOLS, WRITE_TOOLS, MakeClient

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def table(heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule dropped) of the first table after `heading`."""
    section = README.split(f"\n{heading}\n", 1)[1]
    lines = []
    for line in section.splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break
    rows = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    return rows[2:]


def names(cells: list[list[str]]) -> list[str]:
    return [re.match(r"`([\w-]+)", row[0]).group(1) for row in cells]  # type: ignore[union-attr]


async def tool_names(make_client: MakeClient, settings: Settings, read_only: bool) -> set[str]:
    async with make_client(settings_=settings.model_copy(update={"read_only": read_only})) as mcp:
        return {tool.name for tool in (await mcp.list_tools()).tools}


async def test_readme_tool_table_is_the_server_in_both_modes(make_client: MakeClient, settings: Settings) -> None:
    """The README tool table lists exactly the server's tools, and its read-only column matches read-only mode."""
    rows = table("## Tools")
    documented = dict(zip(names(rows), [row[3] for row in rows], strict=True))

    assert set(documented) == await tool_names(make_client, settings, read_only=False)
    assert {n for n, mode in documented.items() if mode == "yes"} == await tool_names(
        make_client, settings, read_only=True
    )


async def test_readme_tool_table_gives_every_argument(mcp: Client) -> None:
    """The README tool table mentions every argument of every tool the server offers."""
    rows = {names([row])[0]: row[0] for row in table("## Tools")}
    for tool in (await mcp.list_tools()).tools:
        for argument in tool.input_schema["properties"]:
            assert re.search(rf"\b{argument}\b", rows[tool.name]), (tool.name, argument)


def test_readme_configuration_tables_are_what_settings_reads() -> None:
    """The README configuration tables list exactly the variables read, with the settings' real defaults."""
    rows = table("## Configuration") + table("### Hosted mode's variables")

    assert sorted(row[0].strip("`") for row in rows) == sorted(ENV_VARS)
    defaults = {row[0].strip("`"): row[2].strip("`") for row in rows}
    assert defaults["BIGCOMMERCE_MAX_CONCURRENCY"] == str(Settings.model_fields["max_concurrency"].default)
    assert defaults["BIGCOMMERCE_LOG_LEVEL"] == Settings.model_fields["log_level"].default
    for name, field in (
        ("BIGCOMMERCE_MAX_RETRY_SECONDS", "max_retry_seconds"),
        ("BIGCOMMERCE_TIMEOUT_SECONDS", "timeout_seconds"),
    ):
        assert float(defaults[name]) == Settings.model_fields[field].default


def test_readme_command_line_table_is_the_parser() -> None:
    """The README command-line table lists exactly the parser's options and commands, all shown in --help."""
    documented = {cell for row in table("### Command line") for cell in re.findall(r"`([\w-]+)`", row[0])}
    parser = _parser()
    options = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    commands = set(next(a for a in parser._actions if a.dest == "command").choices or [])

    assert documented - {"mcp-bigcommerce-segments", "python"} == options | commands
    help_text = parser.format_help()
    assert all(option in help_text for option in options | commands)


def test_readme_exit_code_table_has_every_code_once() -> None:
    """The README exit-code table lists codes 0, 1 and 2, each once and in order."""
    assert [row[0] for row in _exit_rows()] == ["0", "1", "2"]


def _exit_rows() -> list[list[str]]:
    section = README.split("| Exit code | When |", 1)[1]
    rows = []
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.split("|")[1:-1]])
    return rows


async def test_manifest_tools_and_env_are_the_server(make_client: MakeClient, settings: Settings) -> None:
    """The bundle manifest lists the server's tools, its non-hosted variables and its three prompts."""
    assert {t["name"] for t in MANIFEST["tools"]} == await tool_names(make_client, settings, read_only=False)
    assert set(MANIFEST["server"]["mcp_config"]["env"]) == set(ENV_VARS) - set(HOSTED_ENV_VARS)
    assert "read tools" in MANIFEST["user_config"]["read_only"]["description"]
    assert {p["name"] for p in MANIFEST["prompts"]} == {"review_segment", "clean_up_segment", "copy_segment"}


async def test_prompts_use_only_the_tools_of_the_mode(make_client: MakeClient, settings: Settings) -> None:
    """Each prompt mentions only tools its mode offers; read-only mode has one prompt and full mode three."""
    for read_only in (False, True):
        async with make_client(settings_=settings.model_copy(update={"read_only": read_only})) as mcp:
            tools = {tool.name for tool in (await mcp.list_tools()).tools}
            prompts = (await mcp.list_prompts()).prompts
            for prompt in prompts:
                arguments = {a.name: "x" for a in prompt.arguments or []}
                text = str((await mcp.get_prompt(prompt.name, arguments)).messages[0].content)
                used = {name for name in (*READ_TOOLS, *WRITE_TOOLS) if re.search(rf"\b{name}\b", text)}
                assert used <= tools, (read_only, prompt.name, used - tools)
        assert len(prompts) == (1 if read_only else 3)


def test_before_you_start_comes_first_and_names_plan_account_and_scopes() -> None:
    """A new user reads the prerequisites before anything else: plan, API account, token, scopes, --check."""
    sections = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    before = README.split("## Before you start", 1)[1].split("\n## ", 1)[0]

    assert sections[0] == "Before you start"
    for needed in ("Enterprise", "enterprise", "Store-level API accounts", "modify", "Orders: read-only", "--check"):
        assert needed in before or needed.lower() in before.lower(), needed


def test_the_demo_script_installs_only_the_package() -> None:
    """scripts/demo needs only the package: it neither runs the full install nor pulls the development tools."""
    demo = (ROOT / "scripts" / "demo").read_text()

    assert "scripts/install" not in demo
    assert "[dev]" not in demo
    assert "pip install --quiet --disable-pip-version-check -e ." in demo


async def test_clean_up_prompt_selects_the_people_to_go_not_the_opposite(mcp: Client) -> None:
    """The clean-up prompt offers customers_where for "everyone not in VIP" (not_in_segments) and keeps
    from_segment_id for "everyone who is in" another segment, so an agent does not select the opposite set."""
    prompt = await mcp.get_prompt("clean_up_segment", {"segment": "Newsletter", "remove_who": "everyone not in VIP"})
    text = str(prompt.messages[0].content)

    assert "customers_where" in text
    assert "'not_in_segments': [<VIP's ID>]} for everyone not in VIP" in text
    assert "from_segment_id to take out everyone who IS in another segment" in text
