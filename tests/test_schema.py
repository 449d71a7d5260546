"""Tool schemas, annotations and server identity: snapshot-tested so every change to them is deliberate.

Regenerate the snapshot after an intended change with `UPDATE_SNAPSHOTS=1 bash scripts/check tests/test_schema.py`.
"""

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_bigcommerce_segments import __version__
from mcp_bigcommerce_segments.server import every_tool
from mcp_bigcommerce_segments.tools import making
from mcp_bigcommerce_segments.tools.making import CACHE, dumped

from .conftest import MakeClient

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
README = Path(__file__).parents[1] / "README.md"


async def tools_json(mcp: Client) -> list[dict[str, Any]]:
    tools = (await mcp.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def test_tools_match_the_snapshot(mcp: Client) -> None:
    """The tool list the server publishes matches the stored snapshot exactly."""
    current = await tools_json(mcp)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")

    assert current == json.loads(SNAPSHOT.read_text())


def test_the_stored_schemas_are_what_the_code_generates() -> None:
    """tools/schemas.json, which a start reads instead of generating the schemas, holds exactly what the code
    generates; a tool made from it is the generated tool in every part a call uses."""
    generated, stored = every_tool(cached=False), every_tool()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        CACHE.write_text(dumped(generated))

    assert dumped(generated) == CACHE.read_text(), (  # as text: the order of the properties is published too
        "the tool schemas changed: run python -m mcp_bigcommerce_segments.tools.making"
    )
    for made, read in zip(generated, stored, strict=True):
        assert (made.name, made.parameters, made.output_schema) == (read.name, read.parameters, read.output_schema)
        assert (made.context_kwarg, made.resolved_params.keys()) == (read.context_kwarg, read.resolved_params.keys())
        assert made.resolver_plans.keys() == read.resolver_plans.keys()
        assert made.fn_metadata.wrap_output == read.fn_metadata.wrap_output
        assert made.fn_metadata.output_model is read.fn_metadata.output_model is None
        assert made.fn_metadata.arg_model.model_fields.keys() == read.fn_metadata.arg_model.model_fields.keys()
        assert (made.title, made.description, made.meta) == (read.title, read.description, read.meta)


def test_a_tool_the_stored_schemas_do_not_hold_is_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without stored schemas (a new tool, or no file), the tool is made as the SDK makes it."""
    monkeypatch.setattr(making, "SCHEMAS", {})
    assert dumped(every_tool()) == CACHE.read_text()


async def test_annotations_are_explicit_and_right(mcp: Client) -> None:
    """Every tool carries explicit read-only, destructive, idempotent and open-world hints plus title and schemas."""
    tools = {t.name: t for t in (await mcp.list_tools()).tools}

    hints = {
        name: (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
        for name, t in tools.items()
        if (a := t.annotations) is not None
    }
    assert hints == {
        "list_segment_profiles": (True, False, True, True),
        "add_profiles_to_segment": (False, False, True, True),
        "remove_profiles_from_segment": (False, True, True, True),
        "list_segments": (True, False, True, True),
        "get_profile_segments": (True, False, True, True),
        "find_shopper_profiles": (True, False, True, True),
        "list_recent_changes": (True, False, True, False),
        "undo_change": (False, False, False, True),
        "create_segment": (False, False, False, True),
        "update_segment": (False, False, True, True),
        "delete_segment": (False, True, True, True),
    }
    assert all(t.title and t.output_schema and t.description for t in tools.values())


async def test_input_schemas_use_uuid_and_bounds(mcp: Client) -> None:
    """Tool input schemas declare UUID formats, list and page bounds, and a boolean confirm defaulting to false."""
    tools = {t.name: t.input_schema for t in (await mcp.list_tools()).tools}

    add = tools["add_profiles_to_segment"]["properties"]
    profile_ids, customer_ids = add["profile_ids"], add["customer_ids"]  # optional: omitted, never null
    assert profile_ids["type"] == customer_ids["type"] == "array"
    assert tools["list_segment_profiles"]["properties"]["segment_id"]["format"] == "uuid"
    assert profile_ids["items"]["format"] == "uuid"
    assert (profile_ids["minItems"], profile_ids["maxItems"]) == (1, 10_000)
    assert customer_ids["items"] == {"minimum": 1, "type": "integer"}
    find = tools["find_shopper_profiles"]["properties"]
    assert find["customer_ids"]["maxItems"] == 250
    assert set(find) == {"customer_ids", "name_contains", "email", "in_segment_id", "customers_where"}
    where = tools["find_shopper_profiles"]["$defs"]["CustomersWhere"]
    assert where["additionalProperties"] is False
    assert where["properties"]["signed_up_after"] == {"format": "date", "type": "string"}
    assert where["properties"]["in_segments"]["items"]["format"] == "uuid"
    remove = tools["remove_profiles_from_segment"]
    assert remove["properties"]["confirm"] == {
        "default": False,
        "description": remove["properties"]["confirm"]["description"],
        "type": "boolean",
    }
    assert set(remove["properties"]) == {
        "segment_id",
        "profile_ids",
        "customer_ids",
        "from_segment_id",
        "customers_where",
        "all_members",
        "preview_id",
        "confirm",
    }
    assert remove["required"] == ["segment_id"]
    assert tools["list_segment_profiles"]["properties"]["limit"]["maximum"] == 250


async def test_server_info_carries_name_and_package_version(make_client: MakeClient) -> None:
    """The server introduces itself with its name and the package version."""
    async with make_client(mode="legacy") as mcp:
        assert mcp.server_info is not None
        assert (mcp.server_info.name, mcp.server_info.version) == ("mcp-bigcommerce-segments", __version__)


async def test_tools_list_stays_small_enough_for_a_model_to_read(mcp: Client) -> None:
    """The whole tool list stays under 30,000 characters of compact JSON (eleven tools)."""
    tools = await tools_json(mcp)

    assert len(json.dumps(tools, separators=(",", ":"))) < 30_000


async def test_readme_tool_table_matches_the_server(mcp: Client) -> None:
    """The README tool table names exactly the tools the server offers."""
    table = re.findall(r"^\| `(\w+)\(", README.read_text(), flags=re.MULTILINE)

    assert sorted(table) == sorted(t.name for t in (await mcp.list_tools()).tools)


def test_an_unreadable_schema_file_is_no_schemas(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing or broken schemas.json makes no tool from it (each is generated instead)."""
    monkeypatch.setattr(making, "CACHE", tmp_path / "missing.json")
    assert making._cached() == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    monkeypatch.setattr(making, "CACHE", broken)
    assert making._cached() == {}
