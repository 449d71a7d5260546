"""`mcp-bigcommerce-segments demo`: a scripted session with a real MCP client over stdio against the sandbox."""

import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.context import ClientRequestContext
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

Step = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def _summary(result: CallToolResult) -> str:
    if result.is_error:
        return "ERROR: " + " ".join(block.text for block in result.content if block.type == "text")
    content: dict[str, Any] = result.structured_content or {}
    return str(content.get("summary", ""))


def _stepper(client: Client, out: TextIO) -> Step:
    async def step(note: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        _say(out, f"\n# {note}\n> {name} {json.dumps(args)}")
        result = await client.call_tool(name, args)
        _say(out, f"< {_summary(result)}")
        content: dict[str, Any] = result.structured_content or {}
        for profile in content.get("profiles", []):
            _say(out, f"    {profile.get('name') or profile['id']}  <{profile.get('email', '')}>")
        people = content.get("people", []) or content.get("added_people", [])
        for person in people[:5]:
            _say(out, f"    {person}")
        if len(people) > 5:
            _say(out, f"    ... {len(people) - 5} more named in the result")
        for segment in content.get("segments", []):
            _say(out, f"    {segment['id']}  {segment['name']}")
        for change in content.get("changes", []):
            _say(out, f"    {change['change_id']}  {change['tool']:<30} {change['status']}")
        return content

    return step


async def run_demo(out: TextIO) -> int:
    """Start the server with `--sandbox` as a subprocess, drive it like an agent would, print what happens."""
    with tempfile.TemporaryDirectory() as state:
        audit = Path(state) / "audit.jsonl"
        # The machine's environment without any BIGCOMMERCE_* setting: the demo is the same everywhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("BIGCOMMERCE_")}
        env["BIGCOMMERCE_AUDIT_LOG"] = str(audit)
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "mcp_bigcommerce_segments", "--sandbox"], env=env
        )
        _say(out, "Demo: an MCP client drives `mcp-bigcommerce-segments --sandbox` over stdio.")
        _say(out, "The sandbox is an in-memory practice store; nothing leaves this machine.\n")
        async with Client(params) as client:
            await _agent_session(client, out)
        await _human_question(params, out)
        lines = audit.read_text().splitlines() if audit.exists() else []
        _say(out, f"\nThe audit log got {len(lines)} lines (intent before each write, outcome after); the last:")
        for line in lines[-2:]:
            record = json.loads(line)
            counts = {k: len(v) for k, v in record.items() if isinstance(v, list)}
            _say(out, f"  {record['event']:<7} {record['change_id']} {record['tool']:<30} {counts}")
    _say(out, "\nNext: install the MCP Bundle in Claude Desktop (see README), then run")
    _say(out, "`mcp-bigcommerce-segments --check` with your store's variables to check the token and its scope.")
    return 0


async def _agent_session(client: Client, out: TextIO) -> None:
    info = client.server_info
    _say(out, f"Connected to {info.name if info else '?'} {info.version if info else ''}")
    _say(out, "\n> tools/list")
    for tool in (await client.list_tools()).tools:
        hints = tool.annotations
        kind = (
            "read-only"
            if hints and hints.read_only_hint
            else ("destructive" if hints and hints.destructive_hint else "changes, not destructive")
        )
        _say(out, f"  - {tool.name} ({kind}): {tool.title}")
    step = _stepper(client, out)
    segments = await step("The merchant names segments: find their IDs", "list_segments", {})
    ids = {s["name"]: s["id"] for s in segments["segments"]}
    vip, newsletter = ids["VIP customers"], ids["Newsletter subscribers"]
    friday, wholesale = ids["Black Friday 2026"], ids["Wholesale"]
    await step("'Who is in our VIP segment?'", "list_segment_profiles", {"segment_id": vip, "limit": 5})
    await step(
        "'Add customers 201-203, 1 and 295 to VIP' (1 is a member; 295 has no shopper profile yet)",
        "add_profiles_to_segment",
        {"segment_id": vip, "customer_ids": [201, 202, 203, 1, 295]},
    )
    await step(
        "'Copy Newsletter into Black Friday': the server reads Newsletter's members itself",
        "add_profiles_to_segment",
        {"segment_id": friday, "from_segment_id": newsletter},
    )
    holiday = await step(
        "'Create a segment Holiday 2026 for our big spenders'", "create_segment", {"name": "Holiday 2026"}
    )
    await step(
        "'Put everyone who spent over $500 since September in it': the server finds them from the orders",
        "add_profiles_to_segment",
        {"segment_id": holiday["segment_id"], "customers_where": {"min_spent": 500, "ordered_after": "2026-09-01"}},
    )
    preview = await step(
        "'Take everyone in Wholesale out of Newsletter': step 1, a preview the user can read",
        "remove_profiles_from_segment",
        {"segment_id": newsletter, "from_segment_id": wholesale},
    )
    removed = await step(
        "The user approved those names: step 2, approve the pinned preview",
        "remove_profiles_from_segment",
        {"segment_id": newsletter, "preview_id": preview["preview_id"], "confirm": True},
    )
    await step("'Oops, put them back'", "undo_change", {"change_id": removed["change_id"]})
    await step("What changed today", "list_recent_changes", {"limit": 5})


async def _human_question(params: StdioServerParameters, out: TextIO) -> None:
    """A client that can ask the user (elicitation): the server asks with the names, and a yes removes them."""

    async def ask_the_user(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        _say(out, f"  ? the server asks the user: {request.message}")
        _say(out, "  ! the user answers: yes")
        return ElicitResult(action="accept", content={"approve": True})

    answer: Any = ask_the_user  # the SDK types the callback by protocol; this one handles form questions

    _say(out, "\nA client that can ask the user directly (elicitation, as Claude Code can):")
    async with Client(params, elicitation_callback=answer) as client:
        step = _stepper(client, out)
        vip = "5e9a1c00-0000-4000-8000-000000000001"
        await step(
            "'Remove customer 3 from VIP': one call; the user is asked in it",
            "remove_profiles_from_segment",
            {"segment_id": vip, "customer_ids": [3]},
        )
