"""Cancelling a running call over stateless HTTP: a posted `notifications/cancelled`, or the client hanging up,
cancels the call it names (see `running.RunningCalls`).

`CancelRelay` reads each `POST /mcp` body itself (the SDK reads it next, from the copy): a cancel notification is
matched to the caller's running call by its token's principal and the request ID, and a request's own connection is
watched for `http.disconnect` until its answer is sent. Only calls on this replica are reached.
"""

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..running import RunningCalls, principal_of
from .auth import SegmentTokenVerifier


class CancelRelay:
    """ASGI middleware in front of `/mcp` that turns a posted cancel, or a hang-up, into a cancelled call."""

    def __init__(self, app: ASGIApp, verifier: SegmentTokenVerifier, running: RunningCalls, path: str) -> None:
        self.app = app
        self.verifier = verifier
        self.running = running
        self.path = path

    async def _principal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        kind, _, token = headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not token:
            return None
        verified = await self.verifier.verify_token(token.strip())
        return principal_of(verified) if verified is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:  # the body, whole (the SDK caps its size; so does the server in front)
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        message = _json(body)
        method = message.get("method")
        principal = await self._principal(scope) if method in ("notifications/cancelled", "tools/call") else None
        if principal is not None and method == "notifications/cancelled":
            request_id = (message.get("params") or {}).get("requestId")
            if request_id is not None:
                self.running.cancel(principal, str(request_id))
        watched = message.get("id") if principal is not None and method == "tools/call" else None
        await self._serve(scope, receive, send, body, principal, watched)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, principal: str | None, request_id: Any
    ) -> None:
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

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not answered.is_set() and principal is not None and request_id is not None:
                self.running.cancel(principal, str(request_id))  # the client hung up: stop its call

        async with anyio.create_task_group() as group:
            if request_id is not None:
                group.start_soon(watch)
            await self.app(scope, replay, sending)
            answered.set()
            group.cancel_scope.cancel()


def _json(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return message if isinstance(message, dict) else {}
