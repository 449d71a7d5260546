"""Anchor for hosted mode: the SDK's own `streamable_http_app` (stateless, JSON answers, as serve-http is) serving one
tool that makes the same single GET as `list_segment_profiles` with IDs only. No authentication, no limits, no
result model: what the protocol and one upstream request cost over HTTP. Usage: http_anchor.py PORT."""

import os
import sys
from typing import Any

import httpx2
import uvicorn
from mcp.server import MCPServer

server: MCPServer = MCPServer("http-anchor")
BASE = f"{os.environ['BIGCOMMERCE_API_URL']}/stores/{os.environ['BIGCOMMERCE_STORE_HASH']}/v3"
_client: httpx2.AsyncClient | None = None


@server.tool()
async def list_segment_profiles(segment_id: str, limit: int = 50, include_names: bool = False) -> dict[str, Any]:
    """One page of a segment's shopper profiles, as BigCommerce sends it."""
    global _client
    if _client is None:
        _client = httpx2.AsyncClient(headers={"X-Auth-Token": os.environ["BIGCOMMERCE_ACCESS_TOKEN"]})
    response = await _client.get(f"{BASE}/segments/{segment_id}/shopper-profiles", params={"page": 1, "limit": limit})
    response.raise_for_status()
    page: dict[str, Any] = response.json()
    return page


if __name__ == "__main__":
    app = server.streamable_http_app(json_response=True, stateless_http=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
