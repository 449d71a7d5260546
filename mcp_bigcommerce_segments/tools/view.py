"""The MCP App (the `io.modelcontextprotocol/ui` extension, spec 2026-01-26): one HTML view that hosts render for the
tools' results, and `get_preview_people`, the app-only tool that pages through every person of a pinned preview.

The view (`app/segments.html`, one self-contained document: no script, style or font from any origin) speaks the
spec's postMessage JSON-RPC itself. The model still reads the first 20 people of a preview; the human, in the view,
reads every one. A client that does not declare the extension gets the same tools and results, plus `_meta` it
ignores, and is not offered `get_preview_people`.
"""

from importlib import resources
from typing import Annotated, Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from ..endpoints import MAX_PAGE_SIZE
from ..results.common import _Model
from .arguments import PageNumber
from .context import Ctx, app_state, tool_errors
from .text import next_page

EXTENSION = "io.modelcontextprotocol/ui"
URI = "ui://mcp-bigcommerce-segments/segments.html"
MIME = "text/html;profile=mcp-app"
#: The tools whose results the view renders.
LINKED = (
    "list_segment_profiles",
    "remove_profiles_from_segment",
    "list_segments",
    "find_shopper_profiles",
    "list_recent_changes",
    "undo_change",
    "delete_segment",
)
LINK: dict[str, Any] = {"ui": {"resourceUri": URI}}
APP_ONLY: dict[str, Any] = {"ui": {"resourceUri": URI, "visibility": ["app"]}}


def html() -> str:
    """The view, as shipped in the package."""
    return resources.files("mcp_bigcommerce_segments").joinpath("app", "segments.html").read_text(encoding="utf-8")


def declares_ui(capabilities: Any) -> bool:
    """Whether a client declared the MCP Apps extension with the view's mimeType."""
    extensions = getattr(capabilities, "extensions", None) or {}
    settings = extensions.get(EXTENSION)
    return isinstance(settings, dict) and MIME in (settings.get("mimeTypes") or [])


class PreviewPerson(BaseModel):
    """One person a preview would remove (or a segment to delete holds)."""

    name: str
    email: str | None = None
    customer_id: int | None = None
    profile_id: str


class PreviewPeopleResult(_Model):
    """Result of `get_preview_people`."""

    summary: str
    preview_id: str
    approval_id: str | None = Field(
        description="For the view's button (hosts that declare MCP Apps only): approves this preview when clicked."
    )
    total: int
    page: int
    next_page: int | None = None
    people: list[PreviewPerson]


async def get_preview_people(
    preview_id: Annotated[str, Field(pattern=r"^p[0-9a-f]{10}$", description="A pinned preview's ID.")],
    ctx: Ctx,
    page: PageNumber = 1,
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="People per page, 1 to 250.")] = 100,
) -> Annotated[CallToolResult, PreviewPeopleResult]:
    """For the view only: every person of a pinned preview, a page at a time (name, email unless hidden, customer
    number, profile ID), and the approval_id its Remove (or Delete) button approves it with."""
    app = app_state(ctx)
    view = declares_ui(ctx.client_capabilities)  # the approval alias goes only to a host that renders the view
    with tool_errors():
        preview = await app.previews.get(preview_id, store=app.store_key, segment_id=None, action=None)
        ids = list(preview.profile_ids)[(page - 1) * limit : page * limit]
        numbers = [preview.customer_of[i] for i in ids if i in preview.customer_of]
        customers = {c.id: c for c in await app.client.customers(numbers)} if numbers else {}
        # Another name of the same preview (one record: approving either, or declining, ends both), random and
        # kept server-side, handed only to the view: its Remove button approves with it, without a second question.
        alias = app.previews.new_id() if view else None
        if alias is not None:
            await app.previews.point(alias, preview_id, preview.expires_at)
    people = []
    for profile_id in ids:
        number = preview.customer_of.get(profile_id)
        customer = customers.get(number) if number is not None else None
        name = f"{customer.first_name} {customer.last_name}".strip() if customer else ""
        email = None if app.settings.hide_emails or customer is None else customer.email or None
        people.append(
            PreviewPerson(name=name or "(no name)", email=email, customer_id=number, profile_id=str(profile_id))
        )
    total = len(preview.profile_ids)
    pages = -(-total // limit)
    result = PreviewPeopleResult(
        summary=app.tag
        + (
            f"People {(page - 1) * limit + 1:,}-{min(total, page * limit):,} of {total:,} in preview {preview_id}."
            if people
            else f"Page {page} is past the end: preview {preview_id} has {total:,} people; use page=1."
        ),
        preview_id=preview_id,
        approval_id=alias,
        total=total,
        page=page,
        next_page=next_page(page, pages),
        people=people,
    )
    # For the view only: the people and the approval_id are in structuredContent; the text says no more than the
    # summary, in case a host shows an app-only result to the model after all.
    return CallToolResult(
        content=[TextContent(type="text", text=result.summary)], structured_content=result.model_dump(mode="json")
    )
