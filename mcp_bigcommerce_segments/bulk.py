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
from anyio.abc import TaskGroup

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
from .ratelimit import WaitReporter
from .results import SHOWN_REASONS

logger = logging.getLogger(__name__)

#: Sends one chunk; told where to report the request's waits.
ChunkFn = Callable[[list[UUID], WaitReporter], Awaitable[Outcome]]
#: (done, total, message or None for the default one)
ProgressFn = Callable[[int, int, str | None], Awaitable[None]]

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


class ChunkRun:
    """One bulk call's chunks of 50, sent by at most `workers` workers; every ID ends in exactly one place.

    If the call is cancelled (the client's `notifications/cancelled`) or the process is asked to stop (`shutdown`),
    no new chunk is sent, requests in flight get `grace_seconds` to finish, and every ID is accounted for (chunks
    in flight past the grace are "unknown"). `outcome` holds the truth so far at any moment, also after `run`
    raised: the caller records it whatever happened (see `writes.SegmentWrite`).
    """

    def __init__(
        self,
        ids: Sequence[UUID],
        send: ChunkFn,
        *,
        workers: int,
        progress: ProgressFn | None = None,
        grace_seconds: float = GRACE_SECONDS,
        shutdown: Shutdown | None = None,
    ) -> None:
        self.outcome = BulkOutcome()
        self._send = send
        self._pending = chunks(ids)
        self._total = len(ids)
        self._workers = max(1, min(workers, (len(ids) + CHUNK_SIZE - 1) // CHUNK_SIZE))
        self._progress = progress
        self._grace = grace_seconds
        self._shutdown = shutdown
        self._finished = 0  # IDs whose chunk is done, for progress
        self._in_flight: set[anyio.CancelScope] = set()  # the shielded scopes of requests on their way
        self._cancelled = False  # the call was cancelled: nothing more is sent
        self._done = False  # every worker has finished: the watcher's cancellation is ours, not the client's
        self._last_wait: float | None = None
        self.waited = False  # a request waited (over a second) for the quota or a retry: the quota paced this run
        self._group: TaskGroup | None = None

    async def run(self) -> BulkOutcome:
        """Send every chunk; returns the outcome, or raises the call's cancellation once every ID is placed."""
        try:
            with self._shutdown.running() if self._shutdown is not None else nullcontext():
                async with anyio.create_task_group() as group:
                    self._group = group
                    group.start_soon(self._watch)
                    for _ in range(self._workers):
                        group.start_soon(self._worker)
        except anyio.get_cancelled_exc_class():
            self.outcome.cancelled = True
            for chunk in self._pending:
                self.outcome.fail(_NOT_SENT_CANCELLED, chunk)
            raise
        return self.outcome

    def _not_sent(self) -> str | None:
        """Why the next chunk must not be sent, or None to send it."""
        if self._cancelled:
            return _NOT_SENT_CANCELLED
        if self._shutdown is not None and self._shutdown.requested.is_set():
            return _NOT_SENT_SHUTDOWN
        if self.outcome.stopped_by is not None:
            return f"Not sent, because an earlier request failed: {self.outcome.stopped_by}"
        return None

    async def _worker(self) -> None:
        for chunk in self._pending:
            reason = self._not_sent()
            if reason is not None:
                self.outcome.fail(reason, chunk)
                continue
            await self._send_chunk(chunk)
            self._finished += len(chunk)
            await self._report(None)
            await anyio.lowlevel.checkpoint()  # where a cancellation of the call reaches this worker
        # Reached only when the worker ran out of chunks (a cancelled one raises above).
        self._workers -= 1
        if self._workers == 0 and self._group is not None:
            self._done = True
            self._group.cancel_scope.cancel()  # all sent: stop the watcher

    async def _send_chunk(self, chunk: list[UUID]) -> None:
        """Send one chunk and place its IDs. Shielded: a request already on its way is let finish (within the
        grace), so that its answer is known."""
        with anyio.CancelScope(shield=True) as scope:
            self._in_flight.add(scope)
            try:
                result = await self._send(chunk, self._waiting)
            except _STOPS_THE_CALL as exc:
                self.outcome.stopped_by = self.outcome.stopped_by or exc
                self.outcome.fail(_maybe_done(exc), chunk)
            except BigCommerceError as exc:
                self.outcome.fail(_maybe_done(exc), chunk)
            except Exception as exc:
                logger.exception("unexpected error while sending a chunk")
                self.outcome.stopped_by = self.outcome.stopped_by or BigCommerceError(
                    f"an unexpected {type(exc).__name__}"
                )
                self.outcome.fail(_UNKNOWN, chunk)
            else:
                self.outcome.merge(result)
            finally:
                self._in_flight.discard(scope)
        if scope.cancelled_caught:
            self.outcome.fail(_UNKNOWN, chunk)  # the grace ran out while its request was in flight

    async def _watch(self) -> None:
        """Wait for the call's cancellation or the process's shutdown, then give requests in flight the grace."""
        try:
            if self._shutdown is None:
                await anyio.sleep_forever()
            else:
                await self._shutdown.requested.wait()
                self.outcome.cancelled = True
        except anyio.get_cancelled_exc_class():
            self._cancelled = not self._done
            raise
        finally:
            if self._cancelled or self.outcome.cancelled:
                deadline = anyio.current_time() + self._grace
                for scope in self._in_flight:
                    scope.deadline = min(scope.deadline, deadline)

    async def _report(self, message: str | None) -> None:
        if self._progress is None:
            return
        try:
            await self._progress(self._finished, self._total, message)
        except Exception:
            logger.warning("a progress notification could not be sent", exc_info=True)

    async def _waiting(self, seconds: float) -> None:
        """A request waits for the quota or a retry. All workers wait for the same reset: said once per slice."""
        self.waited = True
        if self._progress is not None and (self._last_wait is None or abs(seconds - self._last_wait) >= 1.0):
            self._last_wait = seconds
            await self._report(f"waiting {seconds:.0f} s for BigCommerce's rate-limit window")
