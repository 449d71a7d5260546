"""`serve-http`: the same server over the SDK's Streamable HTTP, stateless, with authentication always on.

- `POST /mcp`: MCP, JSON responses; every request needs `Authorization: Bearer <token>` (static or OAuth).
- `GET /.well-known/oauth-protected-resource/mcp`: protected-resource metadata (served by the SDK).
- `GET /healthz`: the process is up. `GET /readyz`: Redis answers, when configured (BigCommerce is not probed on
  every call: `--check` does that once).
- SIGTERM (uvicorn's): bulk calls stop sending, requests on their way finish (bounded), outcomes are recorded,
  answers go out, then the process exits.

Replicas share the store's rate limit, its 10 concurrent requests, the pinned previews and the change record
through Redis when `BIGCOMMERCE_REDIS_URL` is set; without it, each process keeps its own (fine for one replica).
"""

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
import uvicorn
from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.auth.routes import create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..audit import check_writable
from ..bulk import GRACE_SECONDS, Shutdown
from ..client import Transport
from ..config import Settings, env_var
from ..errors import AuditLogError, ConfigError
from ..redact import keep_secret
from ..server import build_server
from ..state import AppState, compose
from .auth import READ, WRITE, SegmentTokenVerifier
from .cancels import CancelRelay
from .connections import guarded, install_accept_filter
from .throttle import FailedAuthGuard

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
PRM_PREFIX = "/.well-known/oauth-protected-resource"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve without any way to authenticate, and say which variable to set.

    Raises:
        ConfigError: no static token and no OAuth issuer is configured.
    """
    if settings.http_tokens or settings.oauth:
        return
    where = "on a non-loopback address" if not _loopback(host) else "even on loopback"
    raise ConfigError(
        f"Configuration error: serve-http needs authentication {where}: set {env_var('http_tokens')} (scope:sha256hex "
        f"entries) or {env_var('oauth_issuer')} with {env_var('oauth_audience')} and {env_var('oauth_jwks_url')}."
    )


def _state(settings: Settings, transport: Transport | None) -> tuple[AppState, Any]:
    """The state every request shares, for the life of the process (in Redis where replicas must agree)."""
    if settings.redis_url is None:
        return compose(settings, transport=transport), None
    from .shared import connect

    url = settings.redis_url.get_secret_value()
    if urlsplit(url).password:
        keep_secret(urlsplit(url).password or "")  # never in a log line or an error
    redis = connect(url)
    return compose(settings, transport=transport, redis_client=redis), redis


def build_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    transport: Transport | None = None,
) -> Starlette:
    """The Starlette app of `serve-http`.

    Raises:
        ConfigError: no authentication is configured.
    """
    check_exposure(settings, host)
    state, redis = _state(settings, transport)
    # The URL clients reach us at, for the protected-resource metadata: behind a proxy only the operator knows it.
    named = f"[{host}]" if ":" in host else host
    public = settings.http_public_url or f"http://{named}:{port}"
    auth = AuthSettings(
        issuer_url=settings.oauth_issuer or public,  # pydantic parses the URL
        resource_server_url=f"{public}{MCP_PATH}",
        required_scopes=[READ],
        validate_token_resource=False,  # static tokens name no resource; JWTs are checked for their audience
    )
    verifier = SegmentTokenVerifier(settings)
    server = build_server(
        settings,
        state=state,
        token_verifier=verifier,
        auth=auth,
        transport=transport,
    )
    # On loopback, the SDK checks Host and Origin (DNS rebinding targets local servers). Behind a reverse proxy the
    # Host is the public name, which only the proxy knows: there the Origin alone is checked (below).
    local = _loopback(host)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=local,
        allowed_hosts=[f"{name}:{port}" for name in (named, "127.0.0.1", "localhost", "[::1]")],
        allowed_origins=list(settings.http_allowed_origins),
    )
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, json_response=True, stateless_http=True, transport_security=security, host=host
    )

    _resource_metadata(app, settings, auth)
    app.router.routes[0:0] = [*_probes(redis, settings), Route(MCP_PATH, _no_stream, methods=["GET"])]
    app.router.lifespan_context = _lifespan(app.router.lifespan_context, state, redis)
    app.state.shutdown = state.shutdown
    if not local:
        app.add_middleware(OriginCheck, allowed=frozenset(settings.http_allowed_origins))
    app.add_middleware(CancelRelay, verifier=verifier, running=state.running, path=MCP_PATH)
    app.add_middleware(FailedAuthGuard, verifier=verifier, path=MCP_PATH)
    return app


def _resource_metadata(app: Starlette, settings: Settings, auth: AuthSettings) -> None:
    """The protected-resource metadata (RFC 9728) only when OAuth is configured, naming both scopes; with static
    tokens alone there is no authorization server to send a client to, so a wrong token gets a plain 401."""
    routes = app.router.routes
    routes[:] = [r for r in routes if not getattr(r, "path", "").startswith(PRM_PREFIX)]
    if settings.oauth:
        routes.extend(
            create_protected_resource_routes(
                resource_url=auth.resource_server_url or auth.issuer_url,
                authorization_servers=[auth.issuer_url],
                scopes_supported=[READ, WRITE],
            )
        )
        return
    for route in routes:
        if isinstance(guard := getattr(route, "app", None), RequireAuthMiddleware):
            guard.resource_metadata_url = None


async def _no_stream(request: Request) -> Response:
    """`GET /mcp`: a stateless JSON server has no event stream to offer (405, as the transport spec says)."""
    return Response(status_code=405, headers={"Allow": "POST"})


def _probes(redis: Any, settings: Settings) -> list[Route]:
    """`/healthz` (the process answers) and `/readyz` (the audit log can be appended to, and Redis, when
    configured, answers within 2 s)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if settings.audit_log is not None:
            try:
                await anyio.to_thread.run_sync(check_writable, settings.audit_log)
            except AuditLogError:
                return JSONResponse({"status": "not ready", "audit_log": "not writable"}, status_code=503)
        if redis is None:
            return JSONResponse({"status": "ready", "redis": "not configured"})
        try:
            with anyio.fail_after(2):
                await redis.ping()
        except Exception as exc:
            return JSONResponse({"status": "not ready", "redis": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "redis": "ok"})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


def _lifespan(sdk_lifespan: Any, state: AppState, redis: Any) -> Any:
    """The SDK's lifespan, then on shutdown: bulk calls stop sending and finish what is on its way (their outcomes
    recorded), and the client and Redis connections close."""

    @asynccontextmanager
    async def lifespan(app_: Starlette) -> AsyncIterator[None]:
        async with sdk_lifespan(app_):
            try:
                yield
            finally:
                state.shutdown.requested.set()
                with anyio.move_on_after(GRACE_SECONDS + 5.0, shield=True):
                    await state.shutdown.idle()
                await state.client.aclose()
                if redis is not None:
                    await redis.aclose()

    return lifespan


class OriginCheck:
    """403 for a browser request from an origin not in BIGCOMMERCE_HTTP_ALLOWED_ORIGINS (requests without an
    Origin, from servers, pass)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin and origin.rstrip("/") not in self.allowed:
                await Response("Invalid Origin header", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Server(uvicorn.Server):
    """uvicorn, telling the bulk calls to stop sending as soon as SIGTERM arrives (not after they all finish)."""

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self._shutdown = shutdown

    def handle_exit(self, sig: int, frame: Any) -> None:
        logger.warning("stopping: bulk calls finish what is on its way, record it, and answer")
        self._shutdown.requested.set()
        super().handle_exit(sig, frame)


def serve(settings: Settings, *, host: str, port: int, transport: Transport | None = None) -> int:
    """Run `serve-http` until SIGTERM or SIGINT."""
    app = build_app(settings, host=host, port=port, transport=transport)
    install_accept_filter()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded(settings.http_idle_seconds, settings.http_max_connections),
        timeout_keep_alive=max(1, round(settings.http_idle_seconds)),
        # uvicorn logs at BIGCOMMERCE_LOG_LEVEL like the rest (INFO shows its start and stop lines); no access log.
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(GRACE_SECONDS + 10),
        proxy_headers=True,
    )
    _Server(config, app.state.shutdown).run()
    return 0
