"""Many IDs, one call: chunks of 50 sent by a few workers, every ID accounted for.

Workers pull chunks from one iterator, so memory holds the IDs and the per-chunk results, never all requests at
once. An error that every later chunk would meet too (bad token, missing scope, unknown segment, BigCommerce down
past the retry budget) stops the call: chunks not yet sent are reported as not sent, with the reason.
"""

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from uuid import UUID

import anyio

from .batch import Outcome
from .client import CHUNK_SIZE
from .errors import (
    APIConnectionError,
    AuthenticationError,
    BigCommerceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .ratelimit import wait_reporter
from .results import FailedIds

ChunkFn = Callable[[list[UUID]], Awaitable[Outcome]]
#: (done, total, message or None for the default one)
ProgressFn = Callable[[int, int, str | None], Awaitable[None]]

# Errors every later chunk would meet as well: stop instead of sending them.
_STOPS_THE_CALL = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitError,
    ServerError,
    APIConnectionError,
)


def chunks(ids: Sequence[UUID], size: int = CHUNK_SIZE) -> Iterator[list[UUID]]:
    """Full chunks of `size` (the last one may be shorter), never an empty one."""
    it = iter(ids)
    while batch := list(islice(it, size)):
        yield batch


def dedupe(ids: Sequence[UUID]) -> list[UUID]:
    """The IDs in their first order, each once."""
    return list(dict.fromkeys(ids))


@dataclass
class BulkOutcome(Outcome):
    """Every ID of the call in exactly one place, and the error that stopped it, if one did."""

    stopped_by: BigCommerceError | None = None

    @property
    def failed_count(self) -> int:
        return sum(len(ids) for ids in self.failed.values())

    def failure_groups(self) -> list[FailedIds]:
        return [FailedIds(reason=reason, ids=ids) for reason, ids in self.failed.items()]

    def failure_sentence(self) -> str:
        """The first reason, and how many others there are."""
        reasons = list(self.failed)
        head = reasons[0] if reasons else "unknown error"
        more = f" ({len(reasons) - 1} other reasons in `failed`)" if len(reasons) > 1 else ""
        return f"{head}{more}"


async def run_chunks(
    ids: Sequence[UUID], send: ChunkFn, *, workers: int, progress: ProgressFn | None = None
) -> BulkOutcome:
    """Send `ids` in chunks of 50 with at most `workers` chunks in flight."""
    outcome = BulkOutcome()
    pending = chunks(ids)
    total = len(ids)
    finished = 0

    async def worker() -> None:
        nonlocal finished
        for chunk in pending:
            if outcome.stopped_by is not None:
                outcome.fail(f"Not sent, because an earlier request failed: {outcome.stopped_by}", chunk)
                continue
            try:
                result = await send(chunk)
            except _STOPS_THE_CALL as exc:
                outcome.stopped_by = outcome.stopped_by or exc
                outcome.fail(str(exc), chunk)
            except BigCommerceError as exc:
                outcome.fail(str(exc), chunk)
            else:
                outcome.merge(result)
            finished += len(chunk)
            if progress is not None:
                await progress(finished, total, None)

    last_wait: float | None = None

    async def waiting(seconds: float) -> None:
        # All workers wait for the same reset: say it once per slice, not once per worker.
        nonlocal last_wait
        if progress is not None and (last_wait is None or abs(seconds - last_wait) >= 1.0):
            last_wait = seconds
            await progress(finished, total, f"waiting {seconds:.0f} s for BigCommerce's rate-limit window")

    token = wait_reporter.set(waiting if progress is not None else None)
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(max(1, min(workers, (total + CHUNK_SIZE - 1) // CHUNK_SIZE))):
                tg.start_soon(worker)
    finally:
        wait_reporter.reset(token)
    return outcome
