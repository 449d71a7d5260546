"""The retry rules: what is sent again depends on the method, and every retry stays within the budget."""

import pytest

from mcp_bigcommerce_segments.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    BigCommerceError,
    ConnectFailedError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)
from mcp_bigcommerce_segments.retry import RetryPolicy, may_have_landed

TIMEOUT = APITimeoutError("no answer in time")
DROPPED = APIConnectionError("dropped")
NOT_CONNECTED = ConnectFailedError("no connection")
LIMITED = RateLimitError("429", status=429, retry_after=2.0)
FAILED = ServerError("500", status=500)
BAD = BadRequestError("400", status=400)


@pytest.mark.parametrize(
    ("error", "get", "post"),
    [
        (TIMEOUT, True, False),
        (DROPPED, True, False),
        (FAILED, True, False),
        (NOT_CONNECTED, True, True),
        (LIMITED, True, True),
        (BAD, False, False),
    ],
)
def test_a_post_is_retried_only_when_nothing_was_sent_or_on_429(error: BigCommerceError, get: bool, post: bool) -> None:
    """GET and DELETE are retried after any transient failure; a POST only after a 429 or a connection never made."""
    policy = RetryPolicy(jitter=0.0)

    for method, expected in (("GET", get), ("DELETE", get), ("POST", post)):
        assert (policy.next_wait(error, 1, 0.0, method) is not None) is expected, (method, error)


def test_a_429_waits_for_the_stated_reset_and_other_failures_back_off() -> None:
    """A 429 waits the server's stated time (plus the margin); other failures wait 0.5, 1, 2 s..."""
    policy = RetryPolicy(jitter=0.0)

    assert policy.next_wait(LIMITED, 1, 0.0, "POST") == pytest.approx(2.02)
    assert [policy.next_wait(TIMEOUT, n, 0.0, "GET") for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


def test_retries_stop_at_the_attempt_and_time_budget() -> None:
    """No retry past max_attempts, nor one whose wait would end past max_seconds."""
    policy = RetryPolicy(max_attempts=3, max_seconds=10.0, jitter=0.0)

    assert policy.next_wait(TIMEOUT, 3, 0.0, "GET") is None
    assert policy.next_wait(TIMEOUT, 2, 9.5, "GET") is None
    assert policy.next_wait(TIMEOUT, 2, 8.0, "GET") == 1.0


def test_only_a_lost_or_unreadable_answer_may_have_landed() -> None:
    """Timeouts, drops, 5xx and unreadable bodies may have been carried out; a connection never made or a 4xx not."""
    assert all(may_have_landed(e) for e in (TIMEOUT, DROPPED, FAILED, ResponseShapeError("x")))
    assert not any(may_have_landed(e) for e in (NOT_CONNECTED, LIMITED, BAD))
