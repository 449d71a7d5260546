"""build_server(): the MCP server, its lifespan and the registration of its tools (which live in `tools/`)."""

import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pydantic_core
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.request_state import RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    ListToolsResult,
    TextContent,
    ToolAnnotations,
)
from mcp.types import Prompt as MCPPrompt
from mcp.types import Tool as MCPTool
from pydantic import ValidationError

from . import __version__
from .bulk import GRACE_SECONDS, Shutdown
from .client import Transport
from .clock import Clock
from .config import APP_NAME, Settings
from .instructions import INSTRUCTIONS, NO_PREVIEW, READ_ONLY
from .integrity import derive_key
from .prompts import READ_PROMPTS, prompts
from .redact import install_log_redaction, keep_secret, redact, redact_json
from .retry import RetryPolicy
from .running import CALL_KEY, RunningCalls, principal_of
from .state import AppState, compose
from .tools import changes, deletion, lifecycle, lookup, membership, removal, view
from .tools.arguments import explain, unknown_arguments
from .tools.making import ToolFn, generated, make_tool

logger = logging.getLogger(__name__)

SERVER_NAME = APP_NAME

_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_ADD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_LOCAL_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# Undoing a removal adds (not destructive); undoing an add only makes a removal preview.
_UNDO = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_REMOVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


class SegmentTool(Tool):
    """The SDK's tool, with the two things every call of ours must go through on its way out.

    - Argument errors are rewritten by `arguments.explain` into sentences naming the argument and the fix.
    - Results and error messages are passed through `redact`, so no registered secret leaves in any of them.
    """

    #: Prefix of every error message too ("[SANDBOX] " in sandbox mode), as of every summary.
    tag: str = ""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            return await self._tracked(arguments, context, convert_result)
        except ToolError as exc:
            if type(exc) is not ToolError or not self.tag:
                raise
            raise ToolError(self.tag + str(exc)) from exc.__cause__

    async def _tracked(self, arguments: dict[str, Any], context: Any, convert_result: bool) -> Any:
        """An authenticated caller's call runs in a cancel scope that a posted cancel or a hang-up cancels (stateless
        HTTP); a cancelled write has stopped sending and recorded what it did."""
        token = get_access_token()
        if token is None:  # stdio: the SDK cancels the call itself
            return await self._run(arguments, context, convert_result)
        running: RunningCalls = context.request_context.lifespan_context.running
        request = context.request_context.request
        call = (getattr(request, "scope", None) or {}).get("state", {}).get(CALL_KEY)
        with running.track(principal_of(token), context.request_id, call) as scope:
            return await self._run(arguments, context, convert_result)
        assert scope.cancelled_caught
        raise ToolError(
            f"Error executing tool {self.name}: the client cancelled the call. It stopped sending; what was on its way "
            "finished and is recorded (list_recent_changes shows it; undo_change reverses it)."
        )

    async def _run(self, arguments: dict[str, Any], context: Any, convert_result: bool) -> Any:
        unknown = [name for name in arguments if name not in self.parameters.get("properties", {})]
        if unknown:
            raise ToolError(redact(f"Error executing tool {self.name}: {unknown_arguments(self, unknown)}"))
        if not _may_call(self):
            raise ToolError(
                f"Error executing tool {self.name}: this token has the read scope; {self.name} needs a token with "
                "the write scope."
            )
        try:
            result = await super().run(arguments, context, convert_result)
        except ToolError as exc:
            if type(exc) is not ToolError:  # the SDK's UnexpectedToolError: its message is withheld anyway
                raise
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                message = f"Error executing tool {self.name}: {explain(cause, arguments)}"
            else:
                message = str(exc)
            raise ToolError(redact(message)) from cause
        if isinstance(result, CallToolResult):
            return _redacted(result)
        return result


def _may_call(tool: Tool) -> bool:
    """Whether the caller may use `tool`: always over stdio; over HTTP, write tools need the write scope."""
    token = get_access_token()
    writes = not (tool.annotations is not None and tool.annotations.read_only_hint)
    return token is None or not writes or "write" in token.scopes


class SegmentServer(MCPServer[AppState]):
    """The SDK's server, whose `tools/list` shows a read-scoped HTTP caller only the tools it may call, and whose
    `prompts/get` answers an unknown prompt or a missing argument as invalid params (-32602), in one line."""

    async def list_prompts(self) -> list[MCPPrompt]:
        """Over HTTP a read-scoped caller sees only the prompts that change nothing (the review)."""
        prompts = await super().list_prompts()
        token = get_access_token()
        if token is None or "write" in token.scopes:
            return prompts
        return [p for p in prompts if p.name in READ_PROMPTS]

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> GetPromptResult | InputRequiredResult:
        await self._check_prompt(name, arguments or {})
        return await super().get_prompt(name, arguments, context)

    async def _check_prompt(self, name: str, arguments: dict[str, Any]) -> None:
        """Raise invalid params (-32602, one line) for a prompt this caller is not offered, or wrong arguments."""
        prompt = self._prompt_manager.get_prompt(name)
        token = get_access_token()
        if prompt is not None and token is not None and "write" not in token.scopes and name not in READ_PROMPTS:
            prompt = None  # a read token is not offered the prompts that write
        if prompt is None:
            known = ", ".join(p.name for p in await self.list_prompts())
            raise MCPError(INVALID_PARAMS, f"Unknown prompt {name[:60]!r}; the prompts are: {known}.")
        taken = [a.name for a in prompt.arguments or []]
        if extra := sorted(set(arguments) - set(taken)):
            said = ", ".join(extra)[:80]
            raise MCPError(INVALID_PARAMS, f"Prompt {name!r} does not take {said}; it takes: {', '.join(taken)}.")
        missing = [a.name for a in prompt.arguments or [] if a.required and not arguments.get(a.name)]
        if missing:
            raise MCPError(INVALID_PARAMS, f"Prompt {name!r} needs the argument(s): {', '.join(missing)}.")

    async def _handle_list_tools(self, ctx: Any, params: Any) -> ListToolsResult:
        """The app-only tool is listed only to a client that declares the MCP Apps extension (it renders the view)."""
        tools = await self.list_tools()
        if not view.declares_ui(ctx.session.client_capabilities):
            tools = [t for t in tools if "model" in (t.meta or {}).get("ui", {}).get("visibility", ["model"])]
        return ListToolsResult(tools=tools)

    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        token = get_access_token()
        if token is None or "write" in token.scopes:
            return tools
        return [t for t in tools if t.annotations is not None and t.annotations.read_only_hint]


def _redacted(result: CallToolResult) -> CallToolResult:
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    structured = result.structured_content
    if all(redact(text) == text for text in texts) and (
        structured is None
        or redact(pydantic_core.to_json(structured).decode()) == pydantic_core.to_json(structured).decode()
    ):
        return result
    return CallToolResult(
        content=[TextContent(type="text", text=redact(text)) for text in texts],
        structured_content=redact_json(structured),
        is_error=result.is_error,
    )


async def _stop_on_sigterm(shutdown: Shutdown) -> None:
    """On SIGTERM: stop the bulk calls (they finish what is on its way and record it), answer them, exit.

    The process exits with `os._exit`: the SDK reads stdin in a thread that a blocked read keeps alive.
    """
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            logger.warning("SIGTERM: finishing the calls in flight, then exiting")
            shutdown.requested.set()
            with anyio.move_on_after(GRACE_SECONDS + 5.0):
                await shutdown.idle()
            await anyio.sleep(0.5)  # let the stopped calls' answers reach the client
            logging.shutdown()
            os._exit(0)


def _tool(fn: ToolFn, title: str, annotations: ToolAnnotations, tag: str = "", *, cached: bool = True) -> Tool:
    """One of our tools (see `tools/making.py`), its errors tagged with `tag`."""
    meta = view.APP_ONLY if fn is view.get_preview_people else view.LINK if fn.__name__ in view.LINKED else None
    fields: dict[str, Any] = {"title": title, "annotations": annotations, "meta": meta}
    tool = make_tool(SegmentTool, fn, **fields) if cached else generated(SegmentTool, fn, **fields)
    tool.tag = tag
    return tool


def every_tool(*, cached: bool = True) -> list[Tool]:
    """Every tool a writing server offers (`cached=False`: schemas generated from the code, not `schemas.json`)."""
    return [_tool(fn, title, annotations, cached=cached) for fn, title, annotations in _tools(read_only=False)]


def build_server(
    settings: Settings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    retry: RetryPolicy | None = None,
    instructions_extra: str = "",
    stop_on_sigterm: bool = False,
    state: AppState | None = None,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer[AppState]:
    """The MCP server for `settings`: its lifespan (one client, the audit log) and its tools.

    Args:
        settings: Configuration (see `Settings.from_env`).
        transport: Where requests go instead of the network: the sandbox store, or a test's fake.
        clock: Time source for rate limiting and retries (tests pass a virtual clock).
        retry: Retry policy; by default bounded by `settings.max_retry_seconds`.
        instructions_extra: Appended to the instructions (the sandbox describes its store here).
        stop_on_sigterm: Handle SIGTERM by finishing the bulk calls in flight (recording their outcome), then
            exiting (the stdio process; tests leave the process's signals alone).
        state: The state every call shares, made by the caller and kept for the life of the process (hosted mode,
            where each stateless request runs the lifespan anew); by default the lifespan makes it.
        token_verifier: Checks bearer tokens (hosted mode).
        auth: The SDK's auth settings (hosted mode).
    """

    keep_secret(settings.access_token.get_secret_value())
    install_log_redaction()

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        if state is not None:
            yield state
            return
        made = compose(settings, transport=transport, clock=clock, retry=retry)
        async with made.client, anyio.create_task_group() as background:
            if stop_on_sigterm:
                background.start_soon(_stop_on_sigterm, made.shutdown)
            yield made
            background.cancel_scope.cancel()

    tag = "[SANDBOX] " if settings.sandbox else ""
    server = SegmentServer(
        SERVER_NAME,
        title="BigCommerce customer segments",
        instructions=_instructions(settings, instructions_extra),
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,
        tools=[_tool(fn, title, annotations, tag) for fn, title, annotations in _tools(read_only=settings.read_only)],
        token_verifier=token_verifier,
        auth=auth,
        request_state_security=_state_sealing(settings),
    )
    for prompt in prompts(settings.read_only):
        server.add_prompt(prompt)
    server.resource(view.URI, name="segments", title="Segments view", mime_type=view.MIME)(view.html)
    return server


def _state_sealing(settings: Settings) -> RequestStateSecurity:
    """The protocol's multi-round state, sealed with a key every replica derives alike and bound to the caller: a
    question asked by one replica is answered on any, never by another caller."""
    return RequestStateSecurity(keys=[derive_key(settings.access_token.get_secret_value(), "request state")])


def _instructions(settings: Settings, extra: str) -> str:
    """The server's instructions, the same over stdio and HTTP: a sandbox describes its store (named segments)."""
    if settings.sandbox and not extra:
        from .sandbox import describe  # only a sandbox loads the fake store

        extra = describe()
    instructions = INSTRUCTIONS
    if settings.read_only:
        instructions += READ_ONLY
    elif settings.confirm_without_preview:
        instructions += NO_PREVIEW
    return instructions + ("\n" + extra if extra else "")


ToolSpec = tuple[ToolFn, str, ToolAnnotations]


def _tools(*, read_only: bool) -> list[ToolSpec]:
    """The tools of the mode, in the order `tools/list` shows them; read-only mode offers no write tool at all."""
    writes = not read_only
    tools: list[ToolSpec] = [(membership.list_segment_profiles, "List profiles in a segment", _READ)]
    if writes:
        tools += [
            (membership.add_profiles_to_segment, "Add profiles to a segment", _ADD),
            (removal.remove_profiles_from_segment, "Remove profiles from a segment", _REMOVE),
        ]
    tools += [
        (lookup.list_segments, "Find segments", _READ),
        (lookup.get_profile_segments, "Segments of a shopper profile", _READ),
        (lookup.find_shopper_profiles, "Find customers' shopper profiles", _READ),
        (changes.list_recent_changes, "Recent changes", _LOCAL_READ),
    ]
    if writes:
        tools += [
            (changes.undo_change, "Undo a change", _UNDO),
            (lifecycle.create_segment, "Create a segment", _CREATE),
            (lifecycle.update_segment, "Rename or describe a segment", _ADD),
            (deletion.delete_segment, "Delete a segment", _REMOVE),
            (view.get_preview_people, "People of a preview (for the view)", _READ),
        ]
    return tools


__all__ = ["SERVER_NAME", "build_server"]
