"""Cancelling a running call over stateless HTTP: a posted `notifications/cancelled`, or the client hanging up,
cancels the call it names (see `running.RunningCalls`).

`CancelRelay` looks at a `POST /mcp` only when its bearer token verifies (anything else goes on unread, and the SDK
answers 401 without reading the body). It then reads the body itself, at most `MAX_BODY_BYTES` within
`BODY_SECONDS` (413 or 408 otherwise), and hands the SDK the copy: a cancel notification is matched to the caller's
running call by principal and request ID; a `tools/call` is marked with an ID of its own in the ASGI scope, and its
connection is watched for `http.disconnect` until the answer is sent. Only calls on this replica are reached.
"""

import json
import secrets
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..running import CALL_KEY, RunningCalls, principal_of
from .auth import SegmentTokenVerifier

MAX_BODY_BYTES = 4 * 1024 * 1024  # the SDK's own cap on a request body
BODY_SECONDS = 30.0


class CancelRelay:
    """ASGI middleware in front of `/mcp` that turns a posted cancel, or a hang-up, into a cancelled call."""

    def __init__(self, app: ASGIApp, verifier: SegmentTokenVerifier, running: RunningCalls, path: str) -> None:
        self.app = app
        self.verifier = verifier
        self.running = running
        self.path = path

    async def _principal(self, scope: Scope) -> str | None:
        verified = await self.verifier.verify_scope(scope)
        return principal_of(verified) if verified is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        principal = await self._principal(scope)
        if principal is None:  # not a caller of ours: the SDK refuses it, without the body being read
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, send)
        if body is None:
            return
        message = _json(body)
        method = message.get("method")
        if method == "notifications/cancelled":
            request_id = (message.get("params") or {}).get("requestId")
            if request_id is not None:
                self.running.cancel(principal, str(request_id))
        call = None
        if method == "tools/call":
            call = secrets.token_hex(8)
            scope.setdefault("state", {})[CALL_KEY] = call
        await self._serve(scope, receive, send, body, call)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, body: bytes, call: str | None) -> None:
        answered = anyio.Event()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()
            return {"type": "http.disconnect"}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()
            await send(message)

        async def watch(call: str) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not answered.is_set():
                self.running.hang_up(call)  # the client went away: stop the call it was waiting for

        async with anyio.create_task_group() as group:
            if call is not None:
                group.start_soon(watch, call)
            await self.app(scope, replay, sending)
            answered.set()
            group.cancel_scope.cancel()


async def _read_body(receive: Receive, send: Send) -> bytes | None:
    """The whole body, or None after answering 413 (too large) or 408 (too slow), or when the client left."""
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(BODY_SECONDS) as deadline:
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _refuse(send, 413, "The request body is larger than 4 MB.")
                return None
            chunks.append(chunk)
            more = bool(message.get("more_body"))
    if deadline.cancelled_caught:
        await _refuse(send, 408, f"The request body did not arrive within {BODY_SECONDS:.0f} s.")
        return None
    return b"".join(chunks)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return message if isinstance(message, dict) else {}
