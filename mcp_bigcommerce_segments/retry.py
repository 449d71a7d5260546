"""The only retry rules: what is retried, how often, and how long to wait before the next attempt.

What may be retried depends on the method. GET and DELETE are idempotent: sending them again cannot do more than
the first did, so they are retried after a timeout, a dropped connection, a 5xx or a 429. A POST is not: one whose
answer was lost may have been carried out, and sending it again would be answered 409 for what it added, which
reads as "already members". A POST is retried only when nothing was sent (no connection could be made) or on a
429 (BigCommerce refused it without doing it); after any other failure the caller re-reads what happened.

429s wait as long as BigCommerce says (`X-Rate-Limit-Time-Reset-Ms`); without the header, and for 5xx, timeouts and
dropped connections, the wait grows exponentially with jitter. Both the attempts and the total time of one request
are bounded. Other 4xx are never retried: sending them again cannot change the answer.
"""

import random
from dataclasses import dataclass

from .errors import (
    APIConnectionError,
    BigCommerceError,
    ConnectFailedError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)

# Sent this long after a stated reset, so that the request lands in the new window despite rounding to ms.
RESET_MARGIN_SECONDS = 0.02

#: Methods that may be sent again after a failure that may have been carried out (RFC 9110's idempotent methods).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_retryable(error: BigCommerceError, method: str = "GET") -> bool:
    """True for failures that another attempt may not meet and that are safe to send again for `method`: for every
    method a 429 and a connection never made; for idempotent ones also 5xx, timeouts and dropped connections."""
    if isinstance(error, RateLimitError | ConnectFailedError):
        return True
    return method.upper() in IDEMPOTENT and isinstance(error, APIConnectionError | ServerError)


def may_have_landed(error: BigCommerceError) -> bool:
    """Whether a write that failed with `error` may have been carried out all the same (its answer was lost or
    unreadable): then only re-reading tells what it did."""
    if isinstance(error, ConnectFailedError):
        return False
    return isinstance(error, APIConnectionError | ServerError | ResponseShapeError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed request is tried again."""

    max_attempts: int = 6
    max_seconds: float = 60.0
    initial_backoff: float = 0.5
    max_backoff: float = 15.0
    jitter: float = 0.25

    def backoff(self, attempt: int) -> float:
        """The wait before attempt `attempt + 1` when the server gave no delay."""
        base = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        return base * (1 + self.jitter * random.random())  # noqa: S311 - jitter, not cryptography

    def delay(self, error: BigCommerceError, attempt: int) -> float:
        """The wait before the next attempt: the server's word for a 429, else the backoff."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            # Just after the reset, so that the request lands in the new window despite rounding to milliseconds.
            return error.retry_after + RESET_MARGIN_SECONDS
        return self.backoff(attempt)

    def next_wait(self, error: BigCommerceError, attempt: int, spent: float, method: str = "GET") -> float | None:
        """Seconds to wait before another try of a `method` request after `attempt` failed, `spent` s into the
        request; None: give up (not retryable for this method, out of attempts, or out of time)."""
        if not is_retryable(error, method) or attempt >= self.max_attempts:
            return None
        wait = self.delay(error, attempt)
        return None if spent + wait > self.max_seconds else wait
