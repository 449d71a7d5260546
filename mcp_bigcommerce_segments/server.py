"""build_server(): the MCP server and its tools. Tools are thin: validate, call the client, shape the result."""

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from . import __version__, finders, sandbox
from .audit import AuditLog
from .bulk import BulkOutcome, ProgressFn, dedupe, run_chunks
from .client import CHUNK_SIZE, MAX_PAGE_SIZE, BigCommerceClient, ChunkOutcome
from .clock import Clock
from .config import Settings
from .errors import BigCommerceError, NotFoundError, PayloadTooLargeError
from .finders import CustomerIds, resolve_customers
from .models import AddResult, FailedIds, ListResult, RemoveResult
from .throttle import RetryPolicy
from .tooling import (
    MAX_IDS,
    AppState,
    Ctx,
    Page,
    ProfileIds,
    SegmentId,
    next_page,
    paging,
    plural,
    result,
    shown,
    state,
)

logger = logging.getLogger(__name__)

SERVER_NAME = "mcp-bigcommerce-segments"
# Membership is looked up before a removal when the segment fits in this many pages of 250.
MEMBERSHIP_PAGES = 4
# ...or, in a larger segment, by looking up at most this many profiles one by one.
MEMBERSHIP_LOOKUPS = 5

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


class RemovalApproval(BaseModel):
    """The human's answer to "remove these profiles?"."""

    approve: bool = Field(title="Remove these profiles", description="Check to remove them from the segment.")


class NotAsked(RemovalApproval):
    """No approval: `confirm` was not set and the client cannot ask the human."""


def _tool(fn: Callable[..., Awaitable[CallToolResult]], title: str, annotations: ToolAnnotations) -> Tool:
    """A tool whose output schema is advertised but not validated a second time.

    Every result is built from our pydantic result models, which validate it as they are made; the SDK would
    validate the same content against the same schema again (~0.1 ms a page, ~15 ms for 10,000 IDs).
    `FuncMetadata` reads its fields live, and a schema without a model is published and not re-checked.
    """
    tool = Tool.from_function(fn, title=title, description=inspect.getdoc(fn), annotations=annotations)
    tool.fn_metadata.output_model = None
    return tool


def _removal(model: RemoveResult) -> CallToolResult:
    return result(model, long_lists=("would_remove", "removed", "not_members"))


def _failures(outcome: BulkOutcome) -> list[FailedIds]:
    return [FailedIds(reason=reason, ids=ids) for reason, ids in outcome.failed.items()]


def _failure_sentence(outcome: BulkOutcome) -> str:
    reasons = list(outcome.failed)
    head = reasons[0] if reasons else "unknown error"
    more = f" ({len(reasons) - 1} other reasons in `failed`)" if len(reasons) > 1 else ""
    return f"{head}{more}"


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
    if settings.sandbox and transport is None:
        transport = sandbox.transport(settings.store_hash)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        client = BigCommerceClient(
            base_url=settings.base_url,
            access_token=settings.access_token,
            user_agent=f"{SERVER_NAME}/{__version__}",
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            retry=retry or RetryPolicy(max_seconds=settings.max_retry_seconds),
            transport=transport,
            clock=clock,
        )
        async with client:
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
            (remove_profiles_from_segment, "Remove profiles from a segment", _REMOVE),
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
    try:
        fetched = await app.client.list_segment_profiles(segment_id, page=page, limit=limit)
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc
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


def _progress(ctx: Ctx, verb: str) -> ProgressFn:
    async def report(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"{verb} {done:,} of {total:,} profiles")

    return report


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
        try:
            resolved = await resolve_customers(app.client, customer_ids)
        except BigCommerceError as exc:
            raise ToolError(str(exc)) from exc
        without_profile, not_found = resolved.without_profile, resolved.not_found
        if not resolved.profiles:
            raise ToolError(f"Nothing was added: {resolved.describe()}")
        ids = dedupe(resolved.profiles)
    else:
        ids = dedupe(profile_ids or [])
    try:
        app.audit.write(
            "intent", tool="add_profiles_to_segment", store=app.settings.store_hash, segment_id=segment_id, ids=ids
        )
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc

    async def send(chunk: list[UUID]) -> ChunkOutcome:
        return await app.client.add_chunk(segment_id, chunk)

    outcome = await run_chunks(ids, send, workers=app.settings.max_concurrency, progress=_progress(ctx, "Added"))
    failed = _failures(outcome)
    _audit_outcome(
        app, "add_profiles_to_segment", segment_id, added=outcome.done, already_members=outcome.already, failed=failed
    )
    if not outcome.done and not outcome.already:
        raise ToolError(f"No profiles were added to segment {segment_id}: {_failure_sentence(outcome)}")
    summary = f"Added {plural(len(outcome.done), 'profile')} to segment {segment_id}; " + (
        f"{len(outcome.already):,} was already a member"
        if len(outcome.already) == 1
        else f"{len(outcome.already):,} were already members"
    )
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({_failure_sentence(outcome)}). "
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


def _audit_outcome(app: AppState, tool: str, segment_id: UUID, **fields: Any) -> None:
    """The outcome record; a failure here is logged, since the write has already happened."""
    try:
        app.audit.write("outcome", tool=tool, store=app.settings.store_hash, segment_id=segment_id, **fields)
    except BigCommerceError as exc:
        logger.error("%s", exc)


async def _ask_removal(
    segment_id: SegmentId, profile_ids: ProfileIds, ctx: Ctx, confirm: bool = False
) -> RemovalApproval | Elicit[RemovalApproval]:
    """Approval for a removal: the `confirm` argument, else the human (if the client can ask), else none."""
    if confirm:
        return RemovalApproval(approve=True)
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return NotAsked(approve=False)
    n = len(dedupe(profile_ids))
    return Elicit(
        f"Remove {plural(n, 'shopper profile')} from BigCommerce segment {segment_id}? "
        f"({shown(dedupe(profile_ids))}). The profiles themselves are kept; only their membership ends.",
        RemovalApproval,
    )


async def remove_profiles_from_segment(
    segment_id: SegmentId,
    profile_ids: ProfileIds,
    ctx: Ctx,
    approval: Annotated[ElicitationResult[RemovalApproval], Resolve(_ask_removal)],
    confirm: Annotated[
        bool,
        Field(description="Set to true only after the user has seen the preview and approved this exact removal."),
    ] = False,
) -> Annotated[CallToolResult, RemoveResult]:
    """Remove shopper profiles from a BigCommerce customer segment (the profiles themselves are kept).

    DESTRUCTIVE. Without `confirm=true` nothing is removed: the result is a preview of what would be removed and
    which IDs are not members. Show the preview to the user, and call again with the same IDs and `confirm=true`
    only after the user has approved it. Takes 1 to 10,000 shopper profile UUIDs; duplicates are ignored. The
    result lists `removed`, `not_members` and `failed` (with the reason; safe to retry). Every removal is recorded
    in the audit log, and removed profiles can be put back with add_profiles_to_segment.
    """
    app = state(ctx)
    ids = dedupe(profile_ids)
    tag = app.tag
    approved = isinstance(approval, AcceptedElicitation) and approval.data.approve
    asked = not (isinstance(approval, AcceptedElicitation) and isinstance(approval.data, NotAsked))
    try:
        members = await _members_of(app.client, segment_id, ids)
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc
    not_members = [] if members is None else [i for i in ids if i not in members]
    targets = ids if members is None else [i for i in ids if i in members]
    if not approved:
        if asked:
            return _removal(
                RemoveResult(
                    summary=f"{tag}The user declined: nothing was removed from segment {segment_id}.",
                    segment_id=segment_id,
                    status="declined",
                    requested=len(ids),
                    would_remove=targets,
                    not_members=not_members,
                    membership_checked=members is not None,
                    sandbox=app.settings.sandbox,
                )
            )
        checked = f" {len(not_members):,} of the IDs are not members." if members is not None and not_members else ""
        return _removal(
            RemoveResult(
                summary=(
                    f"{tag}PREVIEW, nothing removed: {plural(len(targets), 'profile')} would be removed from segment "
                    f"{segment_id}.{checked} Show this to the user; if they approve, call remove_profiles_from_segment "
                    "again with the same profile_ids and confirm=true."
                ),
                segment_id=segment_id,
                status="preview",
                requested=len(ids),
                would_remove=targets,
                not_members=not_members,
                membership_checked=members is not None,
                sandbox=app.settings.sandbox,
            )
        )
    if not targets:
        return _removal(
            RemoveResult(
                summary=f"{tag}Nothing to remove: none of the {len(ids):,} profiles is in segment {segment_id}.",
                segment_id=segment_id,
                status="removed",
                requested=len(ids),
                not_members=not_members,
                membership_checked=True,
                sandbox=app.settings.sandbox,
            )
        )
    try:
        app.audit.write(
            "intent",
            tool="remove_profiles_from_segment",
            store=app.settings.store_hash,
            segment_id=segment_id,
            ids=targets,
        )
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc

    async def send(chunk: list[UUID]) -> ChunkOutcome:
        return await app.client.remove_chunk(segment_id, chunk)

    outcome = await run_chunks(targets, send, workers=app.settings.max_concurrency, progress=_progress(ctx, "Removed"))
    not_members += outcome.already  # BigCommerce said so (404) where membership was not looked up first
    failed = _failures(outcome)
    _audit_outcome(
        app,
        "remove_profiles_from_segment",
        segment_id,
        removed=outcome.done,
        not_members=outcome.already,
        failed=failed,
    )
    if not outcome.done and outcome.failed:
        raise ToolError(f"No profiles were removed from segment {segment_id}: {_failure_sentence(outcome)}")
    summary = f"{tag}Removed {plural(len(outcome.done), 'profile')} from segment {segment_id}"
    if not_members:
        summary += f"; {len(not_members):,} {'was not a member' if len(not_members) == 1 else 'were not members'}"
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({_failure_sentence(outcome)}). "
            "Call again with just the IDs in `failed` and confirm=true to retry them"
        )
    summary += ". To undo, add the removed IDs back with add_profiles_to_segment."
    return _removal(
        RemoveResult(
            summary=summary,
            segment_id=segment_id,
            status="removed",
            requested=len(ids),
            removed=outcome.done,
            not_members=not_members,
            membership_checked=members is not None,
            failed=failed,
            sandbox=app.settings.sandbox,
        )
    )


async def _members_of(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> set[UUID] | None:
    """Which of `ids` are members, when a few requests can tell; else None.

    A segment of up to 1,000 profiles is read whole (4 pages of 250); for a larger one, up to 5 IDs are looked up
    one by one through the segments each profile belongs to.
    """
    wanted = set(ids)
    try:
        first = await client.list_segment_profiles(segment_id, page=1, limit=MAX_PAGE_SIZE)
    except PayloadTooLargeError:
        return None  # a store that caps pages lower: membership stays unchecked rather than the removal failing
    total_pages = first.pagination.total_pages
    if total_pages <= MEMBERSHIP_PAGES:
        found = {p.id for p in first.data if p.id in wanted}
        for page in range(2, total_pages + 1):
            if len(found) == len(wanted):
                break
            result = await client.list_segment_profiles(segment_id, page=page, limit=MAX_PAGE_SIZE)
            found.update(p.id for p in result.data if p.id in wanted)
        return found
    if len(wanted) > MEMBERSHIP_LOOKUPS:
        return None
    return {profile_id for profile_id in ids if await _is_member(client, segment_id, profile_id)}


async def _is_member(client: BigCommerceClient, segment_id: UUID, profile_id: UUID) -> bool:
    for page in range(1, MEMBERSHIP_PAGES + 1):
        try:
            result = await client.profile_segments(profile_id, page=page, limit=MAX_PAGE_SIZE)
        except NotFoundError:
            return False  # no such profile: certainly not a member
        if any(s.id == segment_id for s in result.data):
            return True
        if page >= result.pagination.total_pages:
            return False
    return True  # a shopper in over 1,000 segments: assume member, so the removal is still sent


__all__ = ["CHUNK_SIZE", "MAX_IDS", "AppState", "build_server"]
