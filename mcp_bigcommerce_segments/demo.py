"""`mcp-bigcommerce-segments demo`: a scripted session with a real MCP client over stdio against the sandbox."""

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def _summary(result: CallToolResult) -> str:
    if result.is_error:
        return "ERROR: " + " ".join(block.text for block in result.content if block.type == "text")
    content: dict[str, Any] = result.structured_content or {}
    return str(content.get("summary", ""))


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
            info = client.server_info
            _say(out, f"Connected to {info.name if info else '?'} {info.version if info else ''}")
            tools = (await client.list_tools()).tools
            _say(out, "\n> tools/list")
            for tool in tools:
                hints = tool.annotations
                kind = (
                    "read-only"
                    if hints and hints.read_only_hint
                    else ("destructive" if hints and hints.destructive_hint else "additive")
                )
                _say(out, f"  - {tool.name} ({kind}): {tool.title}")

            async def step(note: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
                brief = {k: (f"[{len(v)} IDs]" if isinstance(v, list) and len(v) > 3 else v) for k, v in args.items()}
                _say(out, f"\n# {note}\n> {name} {json.dumps(brief)}")
                result = await client.call_tool(name, args)
                _say(out, f"< {_summary(result)}")
                content: dict[str, Any] = result.structured_content or {}
                for profile in content.get("profiles", []):
                    _say(out, f"    {profile['id']}  customer {profile['customer_id']}")
                for segment in content.get("segments", []):
                    _say(out, f"    {segment['id']}  {segment['name']}")
                return content

            found = await step(
                "The merchant says 'the VIP segment': find its ID", "list_segments", {"name_contains": "vip"}
            )
            vip = found["segments"][0]["id"]
            await step("List the first page of the segment", "list_segment_profiles", {"segment_id": vip, "limit": 5})
            added = await step(
                "Add customers 201-203, customer 1 (already a member) and 295 (no shopper profile yet) by customer ID",
                "add_profiles_to_segment",
                {"segment_id": vip, "customer_ids": [201, 202, 203, 1, 295]},
            )
            two = added["added"][:2]
            await step(
                "Ask to remove two of them: without confirm=true this is only a preview",
                "remove_profiles_from_segment",
                {"segment_id": vip, "profile_ids": two},
            )
            await step(
                "The user approved the preview: remove them with confirm=true",
                "remove_profiles_from_segment",
                {"segment_id": vip, "profile_ids": two, "confirm": True},
            )
            await step(
                "The final state: the last page of the segment",
                "list_segment_profiles",
                {"segment_id": vip, "page": 3, "limit": 5},
            )
        lines = audit.read_text().splitlines() if audit.exists() else []
        _say(out, f"\nThe audit log got {len(lines)} lines (intent before each write, outcome after):")
        for line in lines:
            record = json.loads(line)
            counts = {k: len(v) for k, v in record.items() if isinstance(v, list)}
            _say(out, f"  {record['event']:<7} {record['tool']:<30} {counts}")
    return 0
