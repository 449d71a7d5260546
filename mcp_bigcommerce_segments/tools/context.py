"""A tool call's context: the process's state, progress notifications, and our errors as tool errors."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from ..bulk import ProgressFn
from ..errors import BigCommerceError
from ..state import AppState

Ctx = Context[AppState, Any]


def app_state(ctx: Ctx) -> AppState:
    """The state the server's lifespan made, for this call."""
    return ctx.request_context.lifespan_context


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
