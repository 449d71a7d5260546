"""Baseline: the naive way to proxy the segment list: GET with httpx2, parse into a pydantic model, return it."""

import os
from datetime import datetime
from uuid import UUID

import httpx2
from mcp.server import MCPServer
from pydantic import BaseModel

server: MCPServer = MCPServer("naive-proxy")
BASE = f"{os.environ['BIGCOMMERCE_API_URL']}/stores/{os.environ['BIGCOMMERCE_STORE_HASH']}/v3"


class Profile(BaseModel):
    id: UUID
    customer_id: int
    created_at: datetime
    updated_at: datetime


class Pagination(BaseModel):
    total: int
    count: int
    per_page: int
    current_page: int
    total_pages: int


class Meta(BaseModel):
    pagination: Pagination


class ProfilesPage(BaseModel):
    data: list[Profile]
    meta: Meta


# One client for the process, made on first use, as a careful naive proxy would (a client per call would cost
# ~25 ms of TLS setup each time and make the baseline a straw man).
_client: httpx2.AsyncClient | None = None


@server.tool()
async def list_segment_profiles(segment_id: UUID, page: int = 1, limit: int = 50) -> ProfilesPage:
    """List one page of a segment's shopper profiles."""
    global _client
    if _client is None:
        _client = httpx2.AsyncClient(headers={"X-Auth-Token": os.environ["BIGCOMMERCE_ACCESS_TOKEN"]})
    response = await _client.get(
        f"{BASE}/segments/{segment_id}/shopper-profiles", params={"page": page, "limit": limit}
    )
    response.raise_for_status()
    return ProfilesPage.model_validate_json(response.content)


if __name__ == "__main__":
    server.run()
