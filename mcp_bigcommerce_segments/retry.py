"""The only retry rules: what is retried, how often, and how long to wait before the next attempt.

429s wait as long as BigCommerce says (`X-Rate-Limit-Time-Reset-Ms`); without the header, and for 5xx, timeouts and
dropped connections, the wait grows exponentially with jitter. Both the attempts and the total time of one request
are bounded. Other 4xx are never retried: sending them again cannot change the answer.
"""

import random
from dataclasses import dataclass

from .errors import APIConnectionError, BigCommerceError, RateLimitError, ServerError

# Sent this long after a stated reset, so that the request lands in the new window despite rounding to ms.
RESET_MARGIN_SECONDS = 0.02


def is_retryable(error: BigCommerceError) -> bool:
    """True for failures that another attempt may not meet: 429, 5xx, timeouts and dropped connections."""
    return isinstance(error, APIConnectionError | RateLimitError | ServerError)


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

    def next_wait(self, error: BigCommerceError, attempt: int, spent: float) -> float | None:
        """Seconds to wait before another try after `attempt` failed, `spent` s into the request; None: give up."""
        if not is_retryable(error) or attempt >= self.max_attempts:
            return None
        wait = self.delay(error, attempt)
        return None if spent + wait > self.max_seconds else wait
