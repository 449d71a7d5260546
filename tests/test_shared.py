"""The state replicas share, against a real redis-server: stuck or forged state bounded on read, keys that expire,
previews that must verify, and the change record read newest first and trimmed by age."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from mcp_bigcommerce_segments.audit import AuditLog
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.errors import PreviewError, RateLimitWaitTooLong
from mcp_bigcommerce_segments.hosted.scripts import STATE_MAX_MS
from mcp_bigcommerce_segments.hosted.shared import (
    SharedChangeLog,
    SharedGovernor,
    SharedLeases,
    SharedPreviewStore,
)
from mcp_bigcommerce_segments.integrity import Sealer, derive_key
from mcp_bigcommerce_segments.previews import Preview

from .support.hosted import redis_server
from .support.stdio import STORE, TOKEN

pytestmark = [pytest.mark.anyio, pytest.mark.subprocess]

SEALER = Sealer(derive_key(TOKEN))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator["redis.Redis"]:
    connection = redis.Redis.from_url(redis_url)
    await connection.flushall()
    yield connection
    await connection.aclose()


async def test_forged_far_future_leases_and_resets_do_not_hold_requests(client: "redis.Redis") -> None:
    """Ten leases scored far in the future and a rate hash saying 'none left until the year 33,000' are clamped on
    read: a slot is taken at once, the stated wait is at most a window, and every key has a TTL."""
    leases = SharedLeases(client, STORE, VirtualClock(), limit=10, lease_seconds=35)
    governor = SharedGovernor(client, STORE, VirtualClock(), entry_seconds=35)
    await client.zadd(f"bc-segments:{{{STORE}}}:leases", {f"forged{n}": 10**15 for n in range(10)})
    await client.hset(f"bc-segments:{{{STORE}}}:rate", mapping={"left": 0, "reset": 10**15, "quota": 150})

    async with leases.hold():
        pass
    with pytest.raises(RateLimitWaitTooLong) as waited:
        await governor.acquire(deadline=0.0)

    assert f"{STATE_MAX_MS // 1000} s" in str(waited.value)  # the stated wait, clamped to a window
    reset = int(await client.hget(f"bc-segments:{{{STORE}}}:rate", "reset") or 0)
    assert reset < 10**15
    for key in await client.keys("bc-segments:*"):
        assert await client.pttl(key) > 0, key


async def test_a_preview_rewritten_in_redis_is_refused(client: "redis.Redis") -> None:
    """A pinned preview edited where it is kept (other profiles put in) does not verify: nothing is taken from it."""
    store = SharedPreviewStore(client, VirtualClock(), SEALER)
    segment, shown = uuid.uuid4(), (uuid.uuid4(), uuid.uuid4())
    preview = Preview("p0123456789", STORE, segment, shown, {}, (), True, 900.0, "the profile IDs given")
    await store.put(preview)
    key = "bc-segments:preview:{p0123456789}"
    stored = json.loads(await client.get(key) or b"")
    stored["profile_ids"] = [str(uuid.uuid4()) for _ in range(3)]
    await client.set(key, json.dumps(stored), px=60_000)

    with pytest.raises(PreviewError, match="does not verify"):
        await store.take("p0123456789", store=STORE, segment_id=segment)


async def test_the_shared_record_is_read_newest_first_across_pages_and_trimmed_by_age(
    client: "redis.Redis", tmp_path: Path
) -> None:
    """250 changes in the stream: the latest 5 come from the newest page; with a tiny retention, old entries go."""
    log = AuditLog(None, SharedChangeLog(client, STORE), sealer=SEALER)
    for n in range(250):
        await log.write("intent", change_id=f"c{n:010x}", store=STORE, tool="t", segment_id=str(uuid.uuid4()))
    short = AuditLog(None, SharedChangeLog(client, "other", retention_days=1e-12), sealer=SEALER)
    for n in range(300):
        await short.write("intent", change_id=f"c{n:010x}", store="other", tool="t", segment_id=str(uuid.uuid4()))

    latest = await log.recent(STORE, 5)
    oldest = await log.find(STORE, "c0000000000")

    assert list(latest.changes) == [f"c{n:010x}" for n in range(249, 244, -1)]
    assert "intent" in oldest.changes["c0000000000"]
    assert await client.xlen("bc-segments:{other}:changes") < 300
    assert await client.pttl(f"bc-segments:{{{STORE}}}:changes") > 0


async def test_a_genuine_preview_replayed_under_another_id_is_refused(client: "redis.Redis") -> None:
    """A sealed preview copied to another preview ID (or back after use) does not pass as that ID: nothing taken."""
    store = SharedPreviewStore(client, VirtualClock(), SEALER)
    segment = uuid.uuid4()
    genuine = Preview("p0123456789", STORE, segment, (uuid.uuid4(),), {}, (), True, 900.0, "every member")
    await store.put(genuine)
    sealed = await client.get("bc-segments:preview:{p0123456789}")
    await client.set("bc-segments:preview:{pabcdefabcd}", sealed or b"", px=60_000)

    with pytest.raises(PreviewError, match="does not verify"):
        await store.take("pabcdefabcd", store=STORE, segment_id=segment)


async def test_a_deletion_preview_round_trips_and_is_no_removal(client: "redis.Redis") -> None:
    """A delete_segment preview kept in Redis comes back whole (action, description) and cannot approve a removal."""
    clock = VirtualClock()
    store = SharedPreviewStore(client, clock, SEALER)
    segment = uuid.uuid4()
    preview = Preview(
        "p0123456789",
        STORE,
        segment,
        (uuid.uuid4(),),
        {},
        ("Ada",),
        True,
        clock.now() + 900.0,
        "the segment itself",
        segment_name="VIP",
        action="delete",
        segment_description="Top spenders",
    )
    await store.put(preview)

    with pytest.raises(PreviewError, match="is a deletion of the segment"):
        await store.get("p0123456789", store=STORE, segment_id=segment)
    taken = await store.take("p0123456789", store=STORE, segment_id=segment, action="delete")

    assert taken == preview


async def test_an_alias_names_its_preview_across_replicas_and_a_forged_one_nothing(client: "redis.Redis") -> None:
    """The view's alias resolves to its preview in Redis; an alias record copied under another name resolves to
    nothing, and an unknown alias to nothing."""
    clock = VirtualClock()
    store = SharedPreviewStore(client, clock, SEALER)
    await store.point("pa1a1a1a1a1", "p0123456789", clock.now() + 900.0)
    copied = await client.get("bc-segments:alias:{pa1a1a1a1a1}")
    await client.set("bc-segments:alias:{pb2b2b2b2b2}", copied or b"", px=60_000)

    assert await store.resolve("pa1a1a1a1a1") == "p0123456789"
    assert await store.resolve("pb2b2b2b2b2") is None
    assert await store.resolve("pc3c3c3c3c3") is None
