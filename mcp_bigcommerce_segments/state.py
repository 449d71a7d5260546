"""What every tool call of a process shares, and the one function that composes it.

`compose` is the composition root of the server's state, for both transports: the stdio lifespan calls it with the
sandbox's or a test's transport, `serve-http` with a Redis client, so that replicas share the rate governor, the
10 concurrent requests, the pinned previews and the change record.
"""

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .audit import AuditLog, ChangeStream
from .bulk import Shutdown
from .client import BigCommerceClient, Transport
from .clock import Clock, SystemClock
from .config import Settings
from .integrity import Sealer, derive_key
from .previews import AskedPlans, Previews, PreviewStore
from .redact import keep_secret
from .retry import RetryPolicy
from .running import RunningCalls

if TYPE_CHECKING:
    import redis.asyncio as redis


@dataclass
class AppState:
    """What every tool call shares: one HTTP client per process, the audit log, the pinned previews."""

    client: BigCommerceClient
    audit: AuditLog
    settings: Settings
    previews: Previews
    shutdown: Shutdown = field(default_factory=Shutdown)
    #: The calls in progress, so that a cancel posted over stateless HTTP, or a hang-up, can stop one.
    running: RunningCalls = field(default_factory=RunningCalls)
    #: Removal plans a question was asked about, for the answer's round (see `AskedPlans`).
    asked: AskedPlans = field(default_factory=AskedPlans)
    #: The store as the audit log and the previews know it: its hash, or for a sandbox this process's own name, so
    #: that a sandbox's changes are never listed or undone after the process (and its store) has gone.
    store_key: str = ""

    def __post_init__(self) -> None:
        if not self.store_key:
            sandbox = self.settings.sandbox
            self.store_key = f"sandbox-{secrets.token_hex(6)}" if sandbox else self.settings.store_hash

    @property
    def tag(self) -> str:
        """Prefix of every summary in sandbox mode."""
        return "[SANDBOX] " if self.settings.sandbox else ""


def compose(
    settings: Settings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    retry: RetryPolicy | None = None,
    redis_client: "redis.Redis | None" = None,
) -> AppState:
    """The state of one process: a client for the store (through `transport` when given: the sandbox, a test's
    fake), the audit log, and the previews; with `redis_client`, the parts replicas must agree on live in Redis."""
    clock = clock or SystemClock()
    if redis_client is None:
        client = BigCommerceClient.for_settings(settings, transport=transport, clock=clock, retry=retry)
        return AppState(client, audit_log(settings), settings, PreviewStore(clock))
    return _shared(settings, transport, clock, retry, redis_client)


def audit_log(settings: Settings, stream: "ChangeStream | None" = None) -> AuditLog:
    """The audit log of the settings: its file (rotated past BIGCOMMERCE_AUDIT_MAX_MB), the shared stream if any,
    and records sealed with the key derived from the access token."""
    return AuditLog(
        settings.audit_log,
        stream,
        sealer=Sealer(derive_key(settings.access_token.get_secret_value())),
        max_bytes=round(settings.audit_max_mb * 1_000_000),
    )


def _shared(
    settings: Settings, transport: Transport | None, clock: Clock, retry: RetryPolicy | None, redis_client: Any
) -> AppState:
    from .hosted.shared import SharedChangeLog, SharedGovernor, SharedLeases, SharedPreviewStore

    if settings.redis_url is not None and (password := urlsplit(settings.redis_url.get_secret_value()).password):
        keep_secret(password)  # never in a log line or an error
    store = settings.store_hash
    # A lease outlives the longest exchange it covers; a replica that dies holding it frees it this long after.
    lease_seconds = settings.timeout_seconds + 5
    leases = SharedLeases(redis_client, store, clock, settings.max_concurrency, lease_seconds=lease_seconds)
    governor = SharedGovernor(redis_client, store, clock, entry_seconds=lease_seconds)
    client = BigCommerceClient.for_settings(
        settings, transport=transport, clock=clock, retry=retry, governor=governor, leases=leases.hold
    )
    stream = SharedChangeLog(redis_client, store, retention_days=settings.audit_retention_days)
    sealer = Sealer(derive_key(settings.access_token.get_secret_value(), "pinned previews"))
    return AppState(client, audit_log(settings, stream), settings, SharedPreviewStore(redis_client, clock, sealer))
