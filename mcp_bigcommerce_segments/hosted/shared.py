"""State that replicas of the server share through Redis: the store's rate limit, its 10 concurrent requests, the
pinned removal previews, and the record of changes.

Each piece keeps the interface of its in-process twin (`RateGovernor`, the client's semaphore, `PreviewStore`, the
audit log's change record) so that the rest of the server does not know which one it has. Time comes from Redis
(`TIME`) inside the scripts, so replicas on different machines agree on when a window ends.

When Redis cannot be reached, reads keep working on per-process state (the governor and the concurrency limit fall
back to their local twins), and writes are refused: a change is never made without being recorded.
"""

import contextlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from uuid import UUID

import anyio
import redis.asyncio as redis
from redis.exceptions import RedisError

from ..clock import Clock
from ..errors import AuditLogError, BigCommerceError, PreviewError, RateLimitWaitTooLong
from ..history import Reader, Scan
from ..integrity import Sealer
from ..previews import TTL_SECONDS, Preview, check_owner, unusable
from ..quota import RateHeaders
from ..ratelimit import RateGovernor, WaitReporter, wait
from ..retry import RESET_MARGIN_SECONDS
from .scripts import ACQUIRE, LEASE, PAUSE, RELEASE, TAKE

logger = logging.getLogger(__name__)

# The shared change record is read newest first in pages of this many entries.
STREAM_PAGE = 100
# How often a request that waits for the shared quota or a shared slot looks again.
POLL_SECONDS = 0.05


class Outage:
    """Says once that Redis went away for one piece of shared state (and once that it is back), not once per
    request: a 10,000-ID call during an outage would otherwise write hundreds of lines."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.is_down = False

    def down(self, exc: Exception) -> None:
        if not self.is_down:
            self.is_down = True
            logger.warning(
                "Redis unreachable (%s): %s is kept by this replica alone until it is back",
                type(exc).__name__,
                self.what,
            )

    def up(self) -> None:
        if self.is_down:
            self.is_down = False
            logger.warning("Redis is back: %s is shared again", self.what)


def connect(url: str) -> "redis.Redis":
    """A Redis client for `url`; it connects on first use."""
    # Short timeouts: every BigCommerce request waits on Redis, and reads must go on quickly when it is away.
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30)


class SharedGovernor:
    """The rate governor of one store, shared by every replica; per-process when Redis cannot be reached."""

    def __init__(self, client: "redis.Redis", store: str, clock: Clock, entry_seconds: float) -> None:
        self._redis = client
        self._key = f"bc-segments:{{{store}}}:rate"
        self._flight = f"bc-segments:{{{store}}}:inflight"
        self._entry_ms = round(entry_seconds * 1000)
        self._clock = clock
        self._local = RateGovernor(clock)
        self._outage = Outage("the rate limit")
        self._acquire = client.register_script(ACQUIRE)
        self._release = client.register_script(RELEASE)
        self._pause = client.register_script(PAUSE)
        # Send time -> the ids of the requests the shared state counted at that millisecond (the others were counted
        # by the local twin, while Redis was away).
        self._shared: dict[float, list[str]] = {}

    @property
    def reset_at(self) -> float:
        return self._local.reset_at

    async def acquire(
        self, deadline: float = math.inf, on_wait: WaitReporter | None = None, reserve: float = 0.0
    ) -> float:
        while True:
            request = secrets.token_hex(8)
            args: list[str | int] = [request, self._entry_ms, str(reserve)]
            try:
                granted, value = await self._acquire(keys=[self._key, self._flight], args=args)
            except RedisError as exc:
                self._outage.down(exc)
                return await self._local.acquire(deadline, on_wait, reserve)
            self._outage.up()
            if int(granted) == 1:
                sent_at = int(value) / 1000.0
                self._shared.setdefault(sent_at, []).append(request)
                return sent_at
            seconds = int(value) / 1000.0
            if self._clock.now() + seconds > deadline:
                raise RateLimitWaitTooLong.after(seconds, sharing="other apps and replicas")
            await wait(self._clock, seconds, at_most=max(POLL_SECONDS, min(seconds, 1.0)), report=on_wait)

    async def release(self, headers: Mapping[str, str] | None, sent_at: float = math.inf) -> None:
        requests = self._shared.get(sent_at)
        if not requests:  # sent while Redis was away: the local twin counted it
            await self._local.release(headers, sent_at)
            return
        request = requests.pop()
        if not requests:
            del self._shared[sent_at]
        stated = RateHeaders.parse(headers)
        values = [
            "" if stated.left is None else str(int(stated.left)),
            "" if stated.reset is None else str(round(stated.reset * 1000)),
            "" if stated.quota is None else str(int(stated.quota)),
            "" if stated.window is None else str(round(stated.window * 1000)),
        ]
        args = [*values, str(round(sent_at * 1000)), str(round(RESET_MARGIN_SECONDS * 1000)), request]
        try:
            await self._release(keys=[self._key, self._flight], args=args)
        except RedisError as exc:
            self._outage.down(exc)

    async def pause(self, seconds: float) -> None:
        await self._local.pause(seconds)
        try:
            await self._pause(keys=[self._key], args=[str(round(seconds * 1000))])
        except RedisError as exc:
            self._outage.down(exc)


class SharedLeases:
    """BigCommerce's 10 concurrent requests per store, shared by replicas through leases that expire if a replica
    dies holding them."""

    def __init__(self, client: "redis.Redis", store: str, clock: Clock, limit: int, lease_seconds: float) -> None:
        self._redis = client
        self._key = f"bc-segments:{{{store}}}:leases"
        self._clock = clock
        self._limit = limit
        self._lease_ms = round(lease_seconds * 1000)
        self._take = client.register_script(LEASE)
        self._outage = Outage("the concurrency limit")

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        lease = secrets.token_hex(8)
        shared = True
        # Every lease ends within one lease (scores further out are dropped on read), so a wait of two leases means the
        # shared state is broken, not busy: then this replica goes on alone rather than hang.
        give_up = self._clock.now() + 2 * self._lease_ms / 1000
        while True:
            try:
                if int(await self._take(keys=[self._key], args=[self._limit, lease, self._lease_ms])):
                    break
            except RedisError as exc:
                self._outage.down(exc)
                shared = False
                break
            if self._clock.now() >= give_up:
                logger.warning("no shared concurrency slot freed within two leases; going on, paced by this replica")
                shared = False
                break
            await self._clock.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            if shared:  # even when the call is cancelled; if it cannot be released, it expires by itself
                with anyio.CancelScope(shield=True), anyio.move_on_after(2), contextlib.suppress(RedisError):
                    await self._redis.zrem(self._key, lease)


class SharedPreviewStore:
    """Pinned previews in Redis with their TTL, so that a preview made on one replica is approved on another; taking
    one is atomic, so two approvals of one preview cannot both remove."""

    def __init__(self, client: "redis.Redis", clock: Clock, sealer: Sealer) -> None:
        self._redis = client
        self._clock = clock
        self._sealer = sealer  # a preview rewritten in Redis does not verify, and is never removed as rewritten
        self._take = client.register_script(TAKE)

    def new_id(self) -> str:
        return "p" + secrets.token_hex(5)

    @staticmethod
    def _key(preview_id: str) -> str:
        return f"bc-segments:preview:{{{preview_id}}}"  # the preview and its used marker share a cluster slot

    async def put(self, preview: Preview) -> None:
        record = asdict(preview)
        record["segment_id"] = str(preview.segment_id)
        record["profile_ids"] = [str(i) for i in preview.profile_ids]
        record["customer_of"] = {str(k): v for k, v in preview.customer_of.items()}
        ttl = max(1, round((preview.expires_at - self._clock.now()) * 1000))
        try:
            await self._redis.set(self._key(preview.preview_id), self._sealer.seal(record), px=ttl)
        except RedisError as exc:
            raise _unavailable(exc) from exc

    def _load(self, preview_id: str, raw: bytes | str) -> Preview:
        record = self._sealer.open(raw)
        if record is not None and record.get("preview_id") != preview_id:
            record = None  # a genuine preview replayed under another ID: not this one (its time is Redis's TTL)
        if record is None:
            raise PreviewError(
                f"Preview {preview_id} does not verify (it was altered where it was kept); nothing was removed. Make "
                "a new preview and show it to the user."
            )
        record["segment_id"] = UUID(record["segment_id"])
        record["profile_ids"] = tuple(UUID(i) for i in record["profile_ids"])
        record["customer_of"] = {UUID(k): int(v) for k, v in record["customer_of"].items()}
        record["people"] = tuple(record["people"])
        for key in ("customers_without_profile", "customers_not_found", "customers_not_members"):
            record[key] = tuple(int(i) for i in record.get(key) or ())
        return Preview(**record)

    async def get(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview:
        try:
            raw = await self._redis.get(self._key(preview_id))
            used = raw is None and bool(await self._redis.exists(self._key(preview_id) + ":used"))
        except RedisError as exc:
            raise _unavailable(exc) from exc
        if raw is None:
            raise unusable(preview_id, used=used, expired=False)
        return check_owner(self._load(preview_id, raw), store, segment_id, action)

    async def take(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview:
        await self.get(
            preview_id, store=store, segment_id=segment_id, action=action
        )  # the owner check, before taking it
        key = self._key(preview_id)
        try:
            raw = await self._take(keys=[key, key + ":used"], args=[TTL_SECONDS * 1000])
        except RedisError as exc:
            raise _unavailable(exc) from exc
        if raw is None:  # another replica approved it between the two steps
            raise unusable(preview_id, used=True, expired=False)
        return check_owner(self._load(preview_id, raw), store, segment_id, action)  # what was taken, not what was read

    async def discard(self, preview_id: str) -> None:
        try:
            await self._redis.delete(self._key(preview_id))
        except RedisError as exc:
            logger.warning("Redis unreachable (%s); the declined preview expires by itself", exc)

    async def point(self, alias: str, preview_id: str, expires_at: float) -> None:
        ttl = max(1, round((expires_at - self._clock.now()) * 1000))
        sealed = self._sealer.seal({"alias": alias, "preview_id": preview_id})
        try:
            await self._redis.set(f"bc-segments:alias:{{{alias}}}", sealed, px=ttl)
        except RedisError as exc:
            raise _unavailable(exc) from exc

    async def resolve(self, alias: str) -> str | None:
        try:
            raw = await self._redis.get(f"bc-segments:alias:{{{alias}}}")
        except RedisError as exc:
            raise _unavailable(exc) from exc
        record = self._sealer.open(raw) if raw is not None else None
        if record is None or record.get("alias") != alias:  # absent, altered, or replayed under another name
            return None
        return str(record["preview_id"])


class SharedChangeLog:
    """The record of changes as a Redis Stream per store, beside the local JSON-lines audit file."""

    def __init__(self, client: "redis.Redis", store: str, retention_days: float = 90.0) -> None:
        self._redis = client
        self._key = f"bc-segments:{{{store}}}:changes"
        self._retention_ms = round(retention_days * 86_400_000)

    async def append(self, line: str) -> None:
        """Add one audit record.

        Raises:
            AuditLogError: Redis cannot be reached, so the change would go unrecorded: nothing may be sent.
        """
        try:
            # The retention rule: entries older than the retention are trimmed as new ones arrive (stream IDs are
            # milliseconds, so MINID is an age; approximate trimming costs nothing per append).
            oldest = f"{int(time.time() * 1000) - self._retention_ms}-0"
            await self._redis.xadd(self._key, {"record": line}, minid=oldest, approximate=True)
            await self._redis.pexpire(self._key, self._retention_ms)  # a record nobody adds to goes as a whole
        except RedisError as exc:
            raise AuditLogError(
                f"The shared change record (Redis, BIGCOMMERCE_REDIS_URL) cannot be reached ({type(exc).__name__}), "
                "so nothing was sent to BigCommerce: a change is never made unrecorded. Reads keep working; retry "
                "the write when Redis is back."
            ) from exc

    async def scan(self, scan: Scan, read: Reader) -> Scan:
        """Feed `scan` the records newest first (`XREVRANGE ... COUNT`, a page at a time) until it has what it wants.

        Raises:
            AuditLogError: Redis cannot be reached.
        """
        end = "+"
        while True:
            try:
                entries = await self._redis.xrevrange(self._key, max=end, min="-", count=STREAM_PAGE)
            except RedisError as exc:
                raise AuditLogError(f"The shared change record (Redis) cannot be read ({type(exc).__name__}).") from exc
            page = list(entries or [])
            for _, fields in page:
                raw = (fields or {}).get(b"record") or (fields or {}).get("record")
                line = raw.encode() if isinstance(raw, str) else raw or b""
                if scan.wants(line) and scan.feed(read(line)):
                    return scan
            if len(page) < STREAM_PAGE:
                return scan
            last = page[-1][0]
            end = "(" + (last.decode() if isinstance(last, bytes) else str(last))


def _unavailable(exc: Exception) -> BigCommerceError:
    return PreviewError(
        f"The shared preview store (Redis, BIGCOMMERCE_REDIS_URL) cannot be reached ({type(exc).__name__}); nothing "
        "was removed. Retry when Redis is back."
    )
