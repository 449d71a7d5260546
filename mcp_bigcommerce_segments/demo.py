"""`mcp-bigcommerce-segments demo`: a scripted session with a real MCP client over stdio against the sandbox."""

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from .sandbox import SEGMENTS, profile_id

VIP = SEGMENTS[0][0]


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
        env = {**os.environ, "BIGCOMMERCE_AUDIT_LOG": str(audit)}
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

            steps: list[tuple[str, dict[str, Any]]] = [
                ("list_segment_profiles", {"segment_id": str(VIP), "limit": 5}),
                (
                    "add_profiles_to_segment",
                    {"segment_id": str(VIP), "profile_ids": [str(profile_id(n)) for n in (201, 202, 203, 1)]},
                ),
                (
                    "remove_profiles_from_segment",
                    {"segment_id": str(VIP), "profile_ids": [str(profile_id(n)) for n in (201, 202)]},
                ),
                (
                    "remove_profiles_from_segment",
                    {"segment_id": str(VIP), "profile_ids": [str(profile_id(n)) for n in (201, 202)], "confirm": True},
                ),
                ("list_segment_profiles", {"segment_id": str(VIP), "page": 3, "limit": 5}),
            ]
            notes = [
                "List the first page of the VIP segment",
                "Add three new profiles and one that is already a member",
                "Ask to remove two of them: without confirm=true this is only a preview",
                "The user approved the preview: remove them with confirm=true",
                "The final state: the last page of the segment",
            ]
            for note, (name, args) in zip(notes, steps, strict=True):
                shown = {k: (f"[{len(v)} IDs]" if isinstance(v, list) else v) for k, v in args.items()}
                _say(out, f"\n# {note}\n> {name} {json.dumps(shown)}")
                result = await client.call_tool(name, args)
                _say(out, f"< {_summary(result)}")
                if name == "list_segment_profiles" and not result.is_error and result.structured_content:
                    for profile in result.structured_content["profiles"]:
                        _say(out, f"    {profile['id']}  customer {profile['customer_id']}")
        lines = audit.read_text().splitlines() if audit.exists() else []
        _say(out, f"\nThe audit log got {len(lines)} lines (intent before each write, outcome after):")
        for line in lines:
            record = json.loads(line)
            counts = {k: len(v) for k, v in record.items() if isinstance(v, list)}
            _say(out, f"  {record['event']:<7} {record['tool']:<30} {counts}")
    return 0
