"""build_server(): the MCP server and its tools. Tools are thin: validate, call the client, shape the result."""

import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import httpx2
import pydantic_core
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from . import __version__, sandbox
from .audit import AuditLog
from .bulk import BulkOutcome, ProgressFn, dedupe, run_chunks
from .client import CHUNK_SIZE, MAX_PAGE_SIZE, BigCommerceClient, ChunkOutcome
from .clock import Clock
from .config import Settings
from .errors import BigCommerceError, NotFoundError
from .models import AddResult, FailedIds, ListResult, RemoveResult
from .throttle import RetryPolicy

logger = logging.getLogger(__name__)

SERVER_NAME = "mcp-bigcommerce-segments"
MAX_IDS = 10_000
# Membership is looked up before a removal when the segment fits in this many pages of 250.
MEMBERSHIP_PAGES = 4
# ...or, in a larger segment, by looking up at most this many profiles one by one.
MEMBERSHIP_LOOKUPS = 5
# Lists longer than this are cut in summaries (the structured result always holds them all).
_SHOWN = 5

SegmentId = Annotated[
    UUID,
    Field(description="The segment's ID, a UUID such as 5e9a1c00-0000-4000-8000-000000000001 (not its name)."),
]
ProfileIds = Annotated[
    list[UUID],
    Field(
        min_length=1,
        max_length=MAX_IDS,
        description=f"Shopper profile IDs (UUIDs, not customer IDs), 1 to {MAX_IDS:,}. Duplicates are ignored.",
    ),
]

INSTRUCTIONS = """Manage which shopper profiles belong to a BigCommerce customer segment.
Segments and shopper profiles are identified by UUIDs. list_segment_profiles pages through a segment;
add_profiles_to_segment and remove_profiles_from_segment take up to 10,000 profile IDs per call.
Removal is destructive: call it without confirm first, show the user the preview, and only call again with
confirm=true after the user approved."""


class RemovalApproval(BaseModel):
    """The human's answer to "remove these profiles?"."""

    approve: bool = Field(title="Remove these profiles", description="Check to remove them from the segment.")


class NotAsked(RemovalApproval):
    """No approval: `confirm` was not set and the client cannot ask the human."""


@dataclass
class AppState:
    """What every tool call shares: one HTTP client per process, the audit log."""

    client: BigCommerceClient
    audit: AuditLog
    settings: Settings


Ctx = Context[AppState, Any]


def _result(model: BaseModel) -> CallToolResult:
    """Structured content plus a compact text copy: the summary line first, then the data without it."""
    structured = model.model_dump(mode="json")
    rest = {key: value for key, value in structured.items() if key != "summary"}
    text = structured.get("summary", "") + "\n" + pydantic_core.to_json(rest).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _ids(ids: Sequence[UUID]) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def _failures(outcome: BulkOutcome) -> list[FailedIds]:
    return [FailedIds(reason=reason, ids=ids) for reason, ids in outcome.failed.items()]


def _failure_sentence(outcome: BulkOutcome) -> str:
    reasons = list(outcome.failed)
    head = reasons[0] if reasons else "unknown error"
    more = f" ({len(reasons) - 1} other reasons in `failed`)" if len(reasons) > 1 else ""
    return f"{head}{more}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


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
        transport = sandbox.transport()

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
    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        title="BigCommerce customer segments",
        instructions=instructions,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,  # type: ignore[arg-type]  # validated by Settings.from_env
    )
    server.add_tool(
        list_segment_profiles,
        description=inspect.getdoc(list_segment_profiles),
        title="List profiles in a segment",
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    )
    if not settings.read_only:
        server.add_tool(
            add_profiles_to_segment,
            description=inspect.getdoc(add_profiles_to_segment),
            title="Add profiles to a segment",
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
            ),
        )
        server.add_tool(
            remove_profiles_from_segment,
            description=inspect.getdoc(remove_profiles_from_segment),
            title="Remove profiles from a segment",
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
            ),
        )
    return server


def _state(ctx: Ctx) -> AppState:
    return ctx.request_context.lifespan_context


async def list_segment_profiles(
    segment_id: SegmentId,
    ctx: Ctx,
    page: Annotated[int, Field(ge=1, description="Page number, from 1. Use `next_page` from the last result.")] = 1,
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Profiles per page, 1 to 250.")] = 50,
) -> Annotated[CallToolResult, ListResult]:
    """List one page of the shopper profiles in a BigCommerce customer segment.

    Returns each profile's `id` (the UUID that add_profiles_to_segment and remove_profiles_from_segment take) and
    `customer_id`, with the segment's `total` and `total_pages`. A page holds `limit` profiles (1 to 250, default
    50). When `next_page` is not null, call again with `page` set to it for the rest. Needs the Customers 'modify'
    API scope (BigCommerce requires it even for this read).
    """
    state = _state(ctx)
    try:
        result = await state.client.list_segment_profiles(segment_id, page=page, limit=limit)
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc
    p = result.pagination
    next_page = p.current_page + 1 if p.current_page < p.total_pages else None
    if not result.data and p.total and page > p.total_pages:
        summary = (
            f"Page {page} is past the end: segment {segment_id} has {_plural(p.total, 'profile')} on "
            f"{_plural(p.total_pages, 'page')} of {p.per_page}. Call again with page=1."
        )
    elif not p.total:
        summary = f"Segment {segment_id} has no shopper profiles."
    else:
        first = (p.current_page - 1) * p.per_page + 1
        summary = (
            f"Profiles {first:,}-{first + p.count - 1:,} of {p.total:,} in segment {segment_id} "
            f"(page {p.current_page} of {p.total_pages})."
        )
        summary += f" Call again with page={next_page} for more." if next_page else " This is the last page."
    return _result(
        ListResult(
            summary=("[SANDBOX] " if state.settings.sandbox else "") + summary,
            segment_id=segment_id,
            profiles=result.data,
            total=p.total,
            count=p.count,
            per_page=p.per_page,
            current_page=p.current_page,
            total_pages=p.total_pages,
            next_page=next_page,
            sandbox=state.settings.sandbox,
        )
    )


def _progress(ctx: Ctx, verb: str) -> ProgressFn:
    async def report(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"{verb} {done:,} of {total:,} profiles")

    return report


async def add_profiles_to_segment(
    segment_id: SegmentId, profile_ids: ProfileIds, ctx: Ctx
) -> Annotated[CallToolResult, AddResult]:
    """Add shopper profiles to a BigCommerce customer segment.

    Takes 1 to 10,000 shopper profile UUIDs (not customer IDs); duplicates are ignored. Profiles that are already
    members are reported in `already_members`, not as errors. Large lists go 50 per request, as fast as the store's
    API rate limit allows (a Standard plan allows 150 requests per 30 s, so 10,000 IDs take about 30 s). The result
    puts every ID in exactly one of `added`, `already_members` or `failed` (with the reason); failed IDs are safe to
    send again. Safe to repeat. Every call is recorded in the audit log.
    """
    state = _state(ctx)
    ids = dedupe(profile_ids)
    try:
        state.audit.write(
            "intent", tool="add_profiles_to_segment", store=state.settings.store_hash, segment_id=segment_id, ids=ids
        )
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc

    async def send(chunk: list[UUID]) -> ChunkOutcome:
        return await state.client.add_chunk(segment_id, chunk)

    outcome = await run_chunks(ids, send, workers=state.settings.max_concurrency, progress=_progress(ctx, "Added"))
    failed = _failures(outcome)
    _audit_outcome(
        state, "add_profiles_to_segment", segment_id, added=outcome.done, already_members=outcome.already, failed=failed
    )
    if not outcome.done and not outcome.already:
        raise ToolError(f"No profiles were added to segment {segment_id}: {_failure_sentence(outcome)}")
    summary = f"Added {_plural(len(outcome.done), 'profile')} to segment {segment_id}; " + (
        f"{len(outcome.already):,} was already a member"
        if len(outcome.already) == 1
        else f"{len(outcome.already):,} were already members"
    )
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({_failure_sentence(outcome)}). "
            "Call again with just the IDs in `failed` to retry them"
        )
    return _result(
        AddResult(
            summary=("[SANDBOX] " if state.settings.sandbox else "") + summary + ".",
            segment_id=segment_id,
            requested=len(ids),
            added=outcome.done,
            already_members=outcome.already,
            failed=failed,
            sandbox=state.settings.sandbox,
        )
    )


def _audit_outcome(state: AppState, tool: str, segment_id: UUID, **fields: Any) -> None:
    """The outcome record; a failure here is logged, since the write has already happened."""
    try:
        state.audit.write("outcome", tool=tool, store=state.settings.store_hash, segment_id=segment_id, **fields)
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
        f"Remove {_plural(n, 'shopper profile')} from BigCommerce segment {segment_id}? "
        f"({_ids(dedupe(profile_ids))}). The profiles themselves are kept; only their membership ends.",
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
    state = _state(ctx)
    ids = dedupe(profile_ids)
    tag = "[SANDBOX] " if state.settings.sandbox else ""
    approved = isinstance(approval, AcceptedElicitation) and approval.data.approve
    asked = not (isinstance(approval, AcceptedElicitation) and isinstance(approval.data, NotAsked))
    try:
        members = await _members_of(state.client, segment_id, ids)
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc
    not_members = [] if members is None else [i for i in ids if i not in members]
    targets = ids if members is None else [i for i in ids if i in members]
    if not approved:
        if asked:
            return _result(
                RemoveResult(
                    summary=f"{tag}The user declined: nothing was removed from segment {segment_id}.",
                    segment_id=segment_id,
                    status="declined",
                    requested=len(ids),
                    would_remove=targets,
                    not_members=not_members,
                    membership_checked=members is not None,
                    sandbox=state.settings.sandbox,
                )
            )
        checked = f" {len(not_members):,} of the IDs are not members." if members is not None and not_members else ""
        return _result(
            RemoveResult(
                summary=(
                    f"{tag}PREVIEW, nothing removed: {_plural(len(targets), 'profile')} would be removed from segment "
                    f"{segment_id}.{checked} Show this to the user; if they approve, call remove_profiles_from_segment "
                    "again with the same profile_ids and confirm=true."
                ),
                segment_id=segment_id,
                status="preview",
                requested=len(ids),
                would_remove=targets,
                not_members=not_members,
                membership_checked=members is not None,
                sandbox=state.settings.sandbox,
            )
        )
    if not targets:
        return _result(
            RemoveResult(
                summary=f"{tag}Nothing to remove: none of the {len(ids):,} profiles is in segment {segment_id}.",
                segment_id=segment_id,
                status="removed",
                requested=len(ids),
                not_members=not_members,
                membership_checked=True,
                sandbox=state.settings.sandbox,
            )
        )
    try:
        state.audit.write(
            "intent",
            tool="remove_profiles_from_segment",
            store=state.settings.store_hash,
            segment_id=segment_id,
            ids=targets,
        )
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc

    async def send(chunk: list[UUID]) -> ChunkOutcome:
        await state.client.remove_chunk(segment_id, chunk)
        return ChunkOutcome(done=list(chunk))

    outcome = await run_chunks(
        targets, send, workers=state.settings.max_concurrency, progress=_progress(ctx, "Removed")
    )
    failed = _failures(outcome)
    _audit_outcome(state, "remove_profiles_from_segment", segment_id, removed=outcome.done, failed=failed)
    if not outcome.done:
        raise ToolError(f"No profiles were removed from segment {segment_id}: {_failure_sentence(outcome)}")
    summary = f"{tag}Removed {_plural(len(outcome.done), 'profile')} from segment {segment_id}"
    if not_members:
        summary += f"; {len(not_members):,} {'was not a member' if len(not_members) == 1 else 'were not members'}"
    if outcome.failed_count:
        summary += (
            f"; {outcome.failed_count:,} FAILED ({_failure_sentence(outcome)}). "
            "Call again with just the IDs in `failed` and confirm=true to retry them"
        )
    summary += ". To undo, add the removed IDs back with add_profiles_to_segment."
    return _result(
        RemoveResult(
            summary=summary,
            segment_id=segment_id,
            status="removed",
            requested=len(ids),
            removed=outcome.done,
            not_members=not_members,
            membership_checked=members is not None,
            failed=failed,
            sandbox=state.settings.sandbox,
        )
    )


async def _members_of(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> set[UUID] | None:
    """Which of `ids` are members, when a few requests can tell; else None.

    A segment of up to 1,000 profiles is read whole (4 pages of 250); for a larger one, up to 5 IDs are looked up
    one by one through the segments each profile belongs to.
    """
    wanted = set(ids)
    first = await client.list_segment_profiles(segment_id, page=1, limit=MAX_PAGE_SIZE)
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
