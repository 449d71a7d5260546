"""build_server(): the MCP server and its tools. Tools are thin: validate, call the client, shape the result."""

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from . import __version__, finders, removal, sandbox
from .audit import AuditLog
from .bulk import dedupe, run_chunks
from .client import MAX_PAGE_SIZE, BigCommerceClient, ChunkOutcome
from .clock import Clock
from .config import APP_NAME, Settings
from .finders import CustomerIds, resolve_customers
from .models import AddResult, ListResult
from .throttle import RetryPolicy
from .tooling import (
    AppState,
    Ctx,
    Page,
    ProfileIds,
    SegmentId,
    audit_intent,
    audit_outcome,
    next_page,
    paging,
    plural,
    progress,
    result,
    shown,
    state,
    tool_errors,
)

logger = logging.getLogger(__name__)

SERVER_NAME = APP_NAME

_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_ADD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_REMOVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

INSTRUCTIONS = """Manage which shopper profiles belong to a BigCommerce customer segment.
Segments and shopper profiles are identified by UUIDs. To act on names, find them first: list_segments with
name_contains gives a segment's ID; find_shopper_profiles turns customer IDs into shopper profile IDs.
list_segment_profiles pages through a segment; add_profiles_to_segment and remove_profiles_from_segment take up to
10,000 profile IDs per call (add also takes customer_ids).
Removal is destructive: call it without confirm first, show the user the preview, and only call again with
confirm=true after the user approved."""


def _description(fn: Callable[..., object]) -> str:
    """The docstring as the client shows it: paragraphs kept, the source's line wrapping undone."""
    paragraphs = (inspect.getdoc(fn) or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


def _tool(fn: Callable[..., Awaitable[CallToolResult]], title: str, annotations: ToolAnnotations) -> Tool:
    """A tool whose output schema is advertised but not validated a second time.

    Every result is built from our pydantic result models, which validate it as they are made; the SDK would
    validate the same content against the same schema again (~0.1 ms a page, ~15 ms for 10,000 IDs).
    `FuncMetadata` reads its fields live, and a schema without a model is published and not re-checked.
    """
    tool = Tool.from_function(fn, title=title, description=_description(fn), annotations=annotations)
    tool.fn_metadata.output_model = None
    return tool


def build_server(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    retry: RetryPolicy | None = None,
) -> MCPServer[AppState]:
    """The MCP server for `settings`.

    Args:
        settings: Configuration (see `Settings.from_env`).
        transport: An httpx2 transport to use instead of the network; in sandbox mode the sandbox store.
        clock: Time source for rate limiting and retries (tests pass a virtual clock).
        retry: Retry policy; by default bounded by `settings.max_retry_seconds`.
    """
    # Made here, not in the lifespan: the sandbox store keeps its state for the life of the server.
    transport = transport or sandbox.transport_for(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with BigCommerceClient.for_settings(settings, transport=transport, clock=clock, retry=retry) as client:
            yield AppState(client=client, audit=AuditLog(settings.audit_log), settings=settings)

    instructions = INSTRUCTIONS
    if settings.read_only:
        instructions += "\nREAD-ONLY MODE: only listing is available; adding and removing are switched off."
    if settings.sandbox:
        instructions += "\n" + sandbox.describe()
    tools: list[tuple[Callable[..., Awaitable[CallToolResult]], str, ToolAnnotations]] = [
        (list_segment_profiles, "List profiles in a segment", _READ)
    ]
    if not settings.read_only:
        tools += [
            (add_profiles_to_segment, "Add profiles to a segment", _ADD),
            (removal.remove_profiles_from_segment, "Remove profiles from a segment", _REMOVE),
        ]
    tools += [
        (finders.list_segments, "Find segments", _READ),
        (finders.get_profile_segments, "Segments of a shopper profile", _READ),
        (finders.find_shopper_profiles, "Shopper profiles of customers", _READ),
    ]
    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        title="BigCommerce customer segments",
        instructions=instructions,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,  # type: ignore[arg-type]  # validated by Settings.from_env
        tools=[_tool(fn, title, annotations) for fn, title, annotations in tools],
    )
    return server


async def list_segment_profiles(
    segment_id: SegmentId,
    ctx: Ctx,
    page: Page = 1,
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Profiles per page, 1 to 250.")] = 50,
) -> Annotated[CallToolResult, ListResult]:
    """List one page of the shopper profiles in a BigCommerce customer segment.

    Returns each profile's `id` (the UUID that add_profiles_to_segment and remove_profiles_from_segment take) and
    `customer_id`, with the segment's `total` and `total_pages`. A page holds `limit` profiles (1 to 250, default
    50). When `next_page` is not null, call again with `page` set to it for the rest. Needs the Customers 'modify'
    API scope (BigCommerce requires it even for this read).
    """
    app = state(ctx)
    with tool_errors():
        fetched = await app.client.list_segment_profiles(segment_id, page=page, limit=limit)
    p = fetched.pagination
    following = next_page(p.current_page, p.total_pages)
    if not fetched.data and p.total and page > p.total_pages:
        summary = (
            f"Page {page} is past the end: segment {segment_id} has {plural(p.total, 'profile')} on "
            f"{plural(p.total_pages, 'page')} of {p.per_page}. Call again with page=1."
        )
    elif not p.total:
        summary = f"Segment {segment_id} has no shopper profiles."
    else:
        first = (p.current_page - 1) * p.per_page + 1
        summary = (
            f"Profiles {first:,}-{first + p.count - 1:,} of {p.total:,} in segment {segment_id} "
            f"(page {p.current_page} of {p.total_pages})."
        )
        summary += f" Call again with page={following} for more." if following else " This is the last page."
    return result(
        ListResult(
            summary=app.tag + summary,
            segment_id=segment_id,
            profiles=fetched.data,
            **paging(p, app.settings.sandbox),
        )
    )


async def add_profiles_to_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
) -> Annotated[CallToolResult, AddResult]:
    """Add shopper profiles to a BigCommerce customer segment.

    Give either `profile_ids` (1 to 10,000 shopper profile UUIDs) or `customer_ids` (BigCommerce customer numbers,
    looked up first; customers without a shopper profile are listed in `customers_without_profile`). Duplicates are
    ignored. Profiles that are already members are reported in `already_members`, not as errors. Large lists go 50
    per request, as fast as the store's API rate limit allows (a Standard plan allows 150 requests per 30 s, so
    10,000 IDs take about 30 s). The result puts every ID in exactly one of `added`, `already_members` or `failed`
    (with the reason); failed IDs are safe to send again. Safe to repeat. Every call is recorded in the audit log.
    """
    app = state(ctx)
    if (profile_ids is None) == (customer_ids is None):
        raise ToolError("Give either profile_ids (shopper profile UUIDs) or customer_ids (customer numbers), not both.")
    without_profile: list[int] = []
    not_found: list[int] = []
    if customer_ids is not None:
        with tool_errors():
            resolved = await resolve_customers(app.client, customer_ids)
        without_profile, not_found = resolved.without_profile, resolved.not_found
        if not resolved.profiles:
            raise ToolError(f"Nothing was added: {resolved.describe()}")
        ids = dedupe(resolved.profiles)
    else:
        ids = dedupe(profile_ids or [])
    audit_intent(app, "add_profiles_to_segment", segment_id, ids)

    async def send(chunk: list[UUID]) -> ChunkOutcome:
        return await app.client.add_chunk(segment_id, chunk)

    outcome = await run_chunks(ids, send, workers=app.settings.max_concurrency, progress=progress(ctx, "Added"))
    failed = outcome.failure_groups()
    audit_outcome(
        app, "add_profiles_to_segment", segment_id, added=outcome.done, already_members=outcome.already, failed=failed
    )
    if not outcome.done and not outcome.already:
        raise ToolError(f"No profiles were added to segment {segment_id}: {outcome.failure_sentence()}")
    summary = f"Added {plural(len(outcome.done), 'profile')} to segment {segment_id}; " + (
        f"{len(outcome.already):,} was already a member"
        if len(outcome.already) == 1
        else f"{len(outcome.already):,} were already members"
    )
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({outcome.failure_sentence()}). "
            "Call again with just the IDs in `failed` to retry them"
        )
    if without_profile:
        summary += f"; customers without a shopper profile yet (cannot be in a segment): {shown(without_profile)}"
    if not_found:
        summary += f"; customers not in the store: {shown(not_found)}"
    return result(
        long_lists=("added", "already_members"),
        model=AddResult(
            summary=app.tag + summary + ".",
            segment_id=segment_id,
            requested=len(ids),
            added=outcome.done,
            already_members=outcome.already,
            failed=failed,
            customers_without_profile=without_profile,
            customers_not_found=not_found,
            sandbox=app.settings.sandbox,
        ),
    )


__all__ = ["SERVER_NAME", "build_server"]
