"""Many IDs, one call: chunks of 50 sent by a few workers, every ID accounted for.

Workers pull chunks from one iterator, so memory holds the IDs and the per-chunk results, never all requests at
once. An error that every later chunk would meet too (bad token, missing scope, unknown segment, BigCommerce down
past the retry budget) stops the call: chunks not yet sent are reported as not sent, with the reason. So does
cancellation, after the requests already on their way finish (within a grace), and the outcome is still recorded.
"""

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from uuid import UUID

import anyio

from .batch import Outcome
from .client import CHUNK_SIZE
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BigCommerceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)
from .ratelimit import wait_reporter

logger = logging.getLogger(__name__)

ChunkFn = Callable[[list[UUID]], Awaitable[Outcome]]
#: (done, total, message or None for the default one)
ProgressFn = Callable[[int, int, str | None], Awaitable[None]]
#: Called with the final outcome, also when the call is cancelled (writes the audit outcome).
FinishFn = Callable[["BulkOutcome"], Awaitable[None]]

# How long requests already on their way may take to finish after the call is cancelled.
GRACE_SECONDS = 5.0
_NOT_SENT_CANCELLED = "Not sent: the call was cancelled before this part was sent; nothing was done to these"
_NOT_SENT_SHUTDOWN = "Not sent: the server was asked to stop before this part was sent; nothing was done to these"
_UNKNOWN = (
    "Unknown: the call ended while this request was on its way, so BigCommerce may or may not have done it. Check "
    "with list_segment_profiles"
)

# Errors every later chunk would meet as well: stop instead of sending them.
_STOPS_THE_CALL = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitError,
    ServerError,
    APIConnectionError,
)


class Shutdown:
    """The process is asked to stop (SIGTERM): bulk calls stop sending, let requests on their way finish, record
    their outcome and return; the process exits once no call is running."""

    def __init__(self) -> None:
        self.requested = anyio.Event()
        self._running = 0
        self._idle = anyio.Event()
        self._idle.set()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count a bulk call as running while the block runs."""
        if self._running == 0:
            self._idle = anyio.Event()
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until no bulk call is running."""
        await self._idle.wait()


def _maybe_done(error: BigCommerceError) -> str:
    """The reason a chunk failed, said as "Unknown" when the request may have been carried out before it failed (a
    timeout, a 5xx, an answer that could not be read): undo then treats those profiles as possibly changed."""
    if isinstance(error, APITimeoutError | ServerError | ResponseShapeError):
        return f"Unknown, BigCommerce may or may not have done it: {error}"
    return str(error)


def chunks(ids: Sequence[UUID], size: int = CHUNK_SIZE) -> Iterator[list[UUID]]:
    """Full chunks of `size` (the last one may be shorter), never an empty one."""
    it = iter(ids)
    while batch := list(islice(it, size)):
        yield batch


def dedupe(ids: Sequence[UUID]) -> list[UUID]:
    """The IDs in their first order, each once."""
    return list(dict.fromkeys(ids))


#: How many failure reasons a result names (the audit log keeps every one).
SHOWN_REASONS = 3


@dataclass
class BulkOutcome(Outcome):
    """Every ID of the call in exactly one place, and the error that stopped it, if one did."""

    stopped_by: BigCommerceError | None = None
    cancelled: bool = False

    @property
    def failed_count(self) -> int:
        return sum(len(ids) for ids in self.failed.values())

    def failure_sentence(self) -> str:
        """The first reason, and how many others there are."""
        reasons = list(self.failed)
        head = reasons[0] if reasons else "unknown error"
        others = len(reasons) - 1
        if others > SHOWN_REASONS - 1:
            return f"{head} ({others:,} other reasons; `failed` has the first {SHOWN_REASONS})"
        return f"{head} ({others} other reason{'s' if others > 1 else ''} in `failed`)" if others else head


async def run_chunks(
    ids: Sequence[UUID],
    send: ChunkFn,
    *,
    workers: int,
    progress: ProgressFn | None = None,
    finish: FinishFn | None = None,
    grace_seconds: float = GRACE_SECONDS,
    shutdown: Shutdown | None = None,
) -> BulkOutcome:
    """Send `ids` in chunks of 50 with at most `workers` chunks in flight; `finish(outcome)` runs in every case.

    (One function on purpose: the workers, the cancellation watcher and the wait reporter share the call's state.)

    If the call is cancelled (the client's `notifications/cancelled`) or the process is asked to stop (`shutdown`),
    no new chunk is sent, requests in flight get `grace_seconds` to finish, every ID is accounted for (chunks in
    flight past the grace are "unknown"), and `finish` still runs (it writes the audit outcome).
    """
    outcome = BulkOutcome()
    pending = chunks(ids)
    total = len(ids)
    finished = 0
    in_flight: set[anyio.CancelScope] = set()
    cancelled = finishing = False

    async def worker() -> None:
        nonlocal finished
        for chunk in pending:
            if cancelled:
                outcome.fail(_NOT_SENT_CANCELLED, chunk)
                continue
            if shutdown is not None and shutdown.requested.is_set():
                outcome.fail(_NOT_SENT_SHUTDOWN, chunk)
                continue
            if outcome.stopped_by is not None:
                outcome.fail(f"Not sent, because an earlier request failed: {outcome.stopped_by}", chunk)
                continue
            # Shielded: a request already on its way is let finish (within the grace), so that its answer is known.
            with anyio.CancelScope(shield=True) as scope:
                in_flight.add(scope)
                try:
                    result = await send(chunk)
                except _STOPS_THE_CALL as exc:
                    outcome.stopped_by = outcome.stopped_by or exc
                    outcome.fail(_maybe_done(exc), chunk)
                except BigCommerceError as exc:
                    outcome.fail(_maybe_done(exc), chunk)
                except Exception as exc:
                    logger.exception("unexpected error while sending a chunk")
                    outcome.stopped_by = outcome.stopped_by or BigCommerceError(f"an unexpected {type(exc).__name__}")
                    outcome.fail(_UNKNOWN, chunk)
                else:
                    outcome.merge(result)
                finally:
                    in_flight.discard(scope)
            if scope.cancelled_caught:
                outcome.fail(_UNKNOWN, chunk)  # the grace ran out while its request was in flight
            finished += len(chunk)
            if progress is not None:
                try:
                    await progress(finished, total, None)
                except Exception:
                    logger.warning("a progress notification could not be sent", exc_info=True)
            await anyio.lowlevel.checkpoint()  # where a cancellation of the call reaches this worker

    async def cut_short_on_cancel() -> None:
        nonlocal cancelled
        try:
            if shutdown is None:
                await anyio.sleep_forever()
            else:
                await shutdown.requested.wait()
                outcome.cancelled = True
        except anyio.get_cancelled_exc_class():
            cancelled = not finishing
            raise
        finally:
            if cancelled or outcome.cancelled:
                deadline = anyio.current_time() + grace_seconds
                for scope in in_flight:
                    scope.deadline = min(scope.deadline, deadline)

    last_wait: float | None = None

    async def waiting(seconds: float) -> None:
        # All workers wait for the same reset: say it once per slice, not once per worker.
        nonlocal last_wait
        if progress is not None and (last_wait is None or abs(seconds - last_wait) >= 1.0):
            last_wait = seconds
            await progress(finished, total, f"waiting {seconds:.0f} s for BigCommerce's rate-limit window")

    token = wait_reporter.set(waiting if progress is not None else None)
    try:
        with shutdown.running() if shutdown is not None else nullcontext():
            async with anyio.create_task_group() as call:
                call.start_soon(cut_short_on_cancel)
                async with anyio.create_task_group() as pool:
                    for _ in range(max(1, min(workers, (total + CHUNK_SIZE - 1) // CHUNK_SIZE))):
                        pool.start_soon(worker)
                finishing = True
                call.cancel_scope.cancel()  # done: stop the watcher
    except anyio.get_cancelled_exc_class():
        outcome.cancelled = True
        for chunk in pending:
            outcome.fail(_NOT_SENT_CANCELLED, chunk)
        raise
    finally:
        wait_reporter.reset(token)
        if finish is not None:
            with anyio.CancelScope(shield=True):
                await finish(outcome)
    return outcome
