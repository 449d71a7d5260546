"""Tool calls in progress, by caller and request ID, so that something outside the call can stop it.

Over stdio the SDK cancels a call itself when `notifications/cancelled` arrives. `serve-http` is stateless: a cancel
is posted as a request of its own, and a client that hangs up is not noticed, so neither reaches the running call.
Each call of an authenticated caller runs in a cancel scope registered here; the hosted app's `CancelRelay` cancels
it on either. A cancelled write stops sending new chunks, lets those on their way finish, and records its outcome,
exactly as over stdio.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from mcp.server.auth.provider import AccessToken, principal_components


def principal_of(token: AccessToken) -> str:
    """Who a token speaks for, as the SDK binds request state: (client, issuer, subject)."""
    return json.dumps(principal_components(token))


class RunningCalls:
    """The cancel scopes of the calls in progress, by (principal, request ID)."""

    def __init__(self) -> None:
        self._scopes: dict[tuple[str, str], anyio.CancelScope] = {}

    @contextmanager
    def track(self, principal: str, request_id: str) -> Iterator[anyio.CancelScope]:
        """Run the block in a cancel scope that `cancel(principal, request_id)` cancels."""
        key = (principal, request_id)
        with anyio.CancelScope() as scope:
            self._scopes[key] = scope
            try:
                yield scope
            finally:
                if self._scopes.get(key) is scope:
                    del self._scopes[key]

    def cancel(self, principal: str, request_id: str) -> bool:
        """Cancel that caller's call with that ID, if it is running here; whether one was."""
        scope = self._scopes.get((principal, request_id))
        if scope is None:
            return False
        scope.cancel()
        return True
