"""What every tool shares: argument types, the per-process state, the shape of a result, and the audit records."""

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import pydantic_core
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from ..audit import AuditLog, new_change_id
from ..batch import Outcome
from ..bulk import SHOWN_REASONS, BulkOutcome, ProgressFn, Shutdown, run_chunks
from ..client import MAX_PAGE_SIZE, BigCommerceClient
from ..config import Settings
from ..errors import BigCommerceError
from ..models import Pagination
from ..previews import TTL_SECONDS, Preview, Previews
from ..results import FailedIds

logger = logging.getLogger(__name__)

MAX_IDS = 10_000
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
PageNumber = Annotated[int, Field(ge=1, description="Page number, from 1. Use `next_page` from the last result.")]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 250.")]
ProfileLimit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Profiles per page, 1 to 250.")]


@dataclass
class AppState:
    """What every tool call shares: one HTTP client per process, the audit log."""

    client: BigCommerceClient
    audit: AuditLog
    settings: Settings
    previews: Previews
    shutdown: Shutdown = field(default_factory=Shutdown)

    @property
    def tag(self) -> str:
        """Prefix of every summary in sandbox mode."""
        return "[SANDBOX] " if self.settings.sandbox else ""


Ctx = Context[AppState, Any]


def app_state(ctx: Ctx) -> AppState:
    """The state the server's lifespan made, for this call."""
    return ctx.request_context.lifespan_context


def tool_result(model: BaseModel) -> CallToolResult:
    """Structured content plus a compact text copy: the summary line first, then the data without it (and without
    empty fields). The text copy is what many clients show the model, so it is kept small."""
    structured = model.model_dump(mode="json")
    rest = _compact({key: value for key, value in structured.items() if key != "summary"})
    text = structured.get("summary", "") + "\n" + pydantic_core.to_json(rest).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _compact(value: Any) -> Any:
    """A JSON value without empty fields (None, [], ""), at every depth."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], "")}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


# A result names at most SHOWN_REASONS failure reasons, with this many IDs each: it stays small whatever fails (the
# audit log, and `retry`, have them all).
SHOWN_FAILED_IDS = 5


def failure_groups(failed: dict[str, list[UUID]], *, every_id: bool = False) -> list[FailedIds]:
    """Failures grouped by reason, with the count of each: every one with every ID for the audit log; for a result
    the first few reasons, each with its first few IDs."""
    if every_id:
        return [FailedIds(reason=reason, count=len(ids), ids=ids) for reason, ids in failed.items()]
    return [
        FailedIds(reason=reason, count=len(ids), ids=ids[:SHOWN_FAILED_IDS])
        for reason, ids in list(failed.items())[:SHOWN_REASONS]
    ]


async def member_count(app: AppState, segment_id: UUID) -> int | None:
    """How many members the segment has now (one small read); None if BigCommerce does not say, or the process is
    stopping (the answer matters more than the count)."""
    if app.shutdown.requested.is_set():
        return None
    try:
        page = await app.client.list_segment_profiles(segment_id, limit=1)
    except BigCommerceError:
        return None
    return page.pagination.total


def call(tool: str, **arguments: Any) -> str:
    """A tool call as the model would write it: `tool(name=value, ...)`."""
    return f"{tool}(" + ", ".join(f"{k}={pydantic_core.to_json(v).decode()}" for k, v in arguments.items()) + ")"


def first_few(ids: Sequence[object]) -> str:
    """The first few IDs, and how many more."""
    head = ", ".join(str(i) for i in ids[:_SHOWN])
    return head + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 profile', '2 profiles' (or `many` for an irregular plural)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def progress_reporter(ctx: Ctx, verb: str) -> ProgressFn:
    """Progress notifications for a bulk call (a no-op when the client gave no progress token)."""

    async def report(done: int, total: int, message: str | None) -> None:
        text = f"{verb} {done:,} of {total:,} profiles" + (f"; {message}" if message else "")
        await ctx.report_progress(done, total, text)

    return report


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn our errors into the tool error the model reads; each one's message already says what to do."""
    try:
        yield
    except BigCommerceError as exc:
        raise ToolError(str(exc)) from exc


async def audit_intent(app: AppState, tool: str, segment_id: UUID, ids: Sequence[UUID], **fields: Any) -> str | None:
    """The intent record, on disk before the first request of a write; returns the change_id (None: log off).

    Raises:
        ToolError: the log cannot be written, so nothing may be sent.
    """
    if not app.audit.on:
        return None
    change_id = new_change_id()
    with tool_errors():
        await app.audit.write(
            "intent",
            change_id=change_id,
            tool=tool,
            store=app.settings.store_hash,
            segment_id=segment_id,
            ids=ids,
            **fields,
        )
    return change_id


async def audit_outcome(app: AppState, change_id: str | None, tool: str, segment_id: UUID, **fields: Any) -> None:
    """The outcome record; a failure here is logged (the write has already happened, whatever the message says of
    the log itself)."""
    try:
        await app.audit.write(
            "outcome",
            change_id=change_id,
            tool=tool,
            store=app.settings.store_hash,
            segment_id=segment_id,
            **fields,
        )
    except BigCommerceError as exc:
        logger.error("%s", exc)


async def write_in_chunks(
    app: AppState,
    ctx: Ctx,
    segment_id: UUID,
    ids: Sequence[UUID],
    *,
    send: Callable[[BigCommerceClient, UUID, list[UUID]], Awaitable[Outcome]],
    verb: str,
    change_id: str | None,
    tool: str,
    outcome_fields: Callable[[BulkOutcome], dict[str, Any]],
) -> BulkOutcome:
    """Send a write in chunks with progress, and record its outcome under `change_id` whatever happens."""

    async def chunk(ids: list[UUID]) -> Outcome:
        return await send(app.client, segment_id, ids)

    async def record(outcome: BulkOutcome) -> None:
        fields = outcome_fields(outcome)
        await audit_outcome(
            app,
            change_id,
            tool,
            segment_id,
            failed=failure_groups(outcome.failed, every_id=True),
            cancelled=outcome.cancelled,
            **fields,
        )

    return await run_chunks(
        ids,
        chunk,
        workers=app.settings.max_concurrency,
        progress=progress_reporter(ctx, verb),
        finish=record,
        shutdown=app.shutdown,
    )


async def pin_preview(
    app: AppState,
    segment_id: UUID,
    profile_ids: Sequence[UUID],
    *,
    source: str,
    customer_of: dict[UUID, int],
    people: Sequence[str] = (),
    membership_checked: bool = False,
    segment_name: str = "",
) -> Preview:
    """A new removal preview of exactly `profile_ids`, kept for approval (single use, 15 minutes).

    Raises:
        PreviewError: it could not be kept (hosted mode: the shared store is unavailable).
    """
    preview = Preview(
        preview_id=app.previews.new_id(),
        store=app.settings.store_hash,
        segment_id=segment_id,
        profile_ids=tuple(profile_ids),
        customer_of=customer_of,
        people=tuple(people),
        membership_checked=membership_checked,
        expires_at=app.client.clock.now() + TTL_SECONDS,
        source=source,
        segment_name=segment_name,
    )
    await app.previews.put(preview)
    return preview


def next_page(current: int, total_pages: int) -> int | None:
    """The page after `current`, or None on the last page."""
    return current + 1 if current < total_pages else None


def page_fields(p: Pagination, sandbox: bool) -> dict[str, Any]:
    """The page fields of a one-page result."""
    return {
        "total": p.total,
        "count": p.count,
        "per_page": p.per_page,
        "current_page": p.current_page,
        "total_pages": p.total_pages,
        "next_page": next_page(p.current_page, p.total_pages),
        "sandbox": sandbox,
    }
