"""Tool calls in progress, so that something outside a call can stop it.

Over stdio the SDK cancels a call itself when `notifications/cancelled` arrives. `serve-http` is stateless: a cancel
is posted as a request of its own, and a client that hangs up is not noticed, so neither reaches the running call.
Each call of an authenticated caller runs in a cancel scope registered here twice: under the HTTP request that
carries it (a hang-up cancels exactly that one), and under (principal, request ID) for a posted cancel, which is
obeyed only when exactly one running call of that caller has that ID (two clients sharing a token may both number a
request 3). A cancelled write stops sending new chunks, lets those on their way finish, and records its outcome,
exactly as over stdio.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from mcp.server.auth.provider import AccessToken, principal_components

#: Where `CancelRelay` puts the ID of the HTTP request a call arrives in (the ASGI scope's `state`).
CALL_KEY = "mcp_bigcommerce_segments.call"


def principal_of(token: AccessToken) -> str:
    """Who a token speaks for: (client, issuer, subject)."""
    return json.dumps(principal_components(token))


class RunningCalls:
    """The cancel scopes of the calls in progress."""

    def __init__(self) -> None:
        self._by_request: dict[tuple[str, str], list[anyio.CancelScope]] = {}
        self._by_call: dict[str, anyio.CancelScope] = {}

    @contextmanager
    def track(self, principal: str, request_id: str, call: str | None) -> Iterator[anyio.CancelScope]:
        """Run the block in a cancel scope that a posted cancel or the end of HTTP request `call` cancels."""
        key = (principal, request_id)
        with anyio.CancelScope() as scope:
            self._by_request.setdefault(key, []).append(scope)
            if call is not None:
                self._by_call[call] = scope
            try:
                yield scope
            finally:
                scopes = self._by_request.get(key, [])
                if scope in scopes:
                    scopes.remove(scope)
                if not scopes:
                    self._by_request.pop(key, None)
                if call is not None and self._by_call.get(call) is scope:
                    del self._by_call[call]

    def cancel(self, principal: str, request_id: str) -> bool:
        """Cancel that caller's call with that ID when it is the only one running here; whether one was."""
        scopes = self._by_request.get((principal, request_id), [])
        if len(scopes) != 1:
            return False
        scopes[0].cancel()
        return True

    def hang_up(self, call: str) -> bool:
        """Cancel the call carried by HTTP request `call` (its client went away); whether one was running."""
        scope = self._by_call.get(call)
        if scope is None:
            return False
        scope.cancel()
        return True
