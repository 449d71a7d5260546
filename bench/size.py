"""Result size of `list_segment_profiles`: bytes per profile of the structured content, the text content and the
whole JSON-RPC line, against BigCommerce's own compact JSON for the same page."""

import json
from typing import Any

import httpx2

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .common import STORE, TOKEN, RawStdio, our_argv, ratio, server_env


def _compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=None)
    segment = store.add_segment("VIP")
    store.add_members(segment, store.add_profiles(600))
    lines: list[str] = []
    report: dict[str, Any] = {}
    with serve(store) as url:
        client = RawStdio(our_argv(), server_env(url))
        client.initialize()
        for limit in (50, 250):
            api = httpx2.get(
                f"{url}/stores/{STORE}/v3/segments/{segment}/shopper-profiles",
                params={"page": 1, "limit": limit},
                headers={"X-Auth-Token": TOKEN},
            ).content
            answer, line_bytes = client.call(
                "tools/call",
                {"name": "list_segment_profiles", "arguments": {"segment_id": str(segment), "limit": limit}},
            )
            result = answer["result"]
            text = "".join(block["text"] for block in result["content"] if block["type"] == "text")
            per = {
                "api": len(api) / limit,
                "structured": _compact(result["structuredContent"]) / limit,
                "text": len(text.encode()) / limit,
                "line": line_bytes / limit,
            }
            lines += [
                f"limit {limit}: bytes per profile: API {per['api']:.1f}, structured {per['structured']:.1f}, "
                f"text {per['text']:.1f}, whole JSON-RPC line {per['line']:.1f}",
                ratio(f"limit {limit}: text / API compact JSON", per["text"], per["api"], 1.05),
                ratio(f"limit {limit}: whole line / API compact JSON", per["line"], per["api"]),
            ]
            if limit == 250:
                tokens = len(text.encode()) / 4
                lines.append(
                    f"{'limit 250: text, estimated tokens (bytes/4; target < 10,000)':<66} {tokens:>12.0f}"
                    f"  {'OK' if tokens < 10_000 else 'ABOVE TARGET'}"
                )
                per["text_tokens"] = tokens
            report[f"limit_{limit}"] = per
        client.close()
    return lines, report
