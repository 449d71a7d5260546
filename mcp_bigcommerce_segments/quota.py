"""BigCommerce's four rate-limit headers, parsed once into one value.

Every answer carries `X-Rate-Limit-Requests-Left`, `X-Rate-Limit-Time-Reset-Ms`, `X-Rate-Limit-Requests-Quota` and
`X-Rate-Limit-Time-Window-Ms`; a 429 may carry `X-Retry-After` or `Retry-After` instead of the reset. Values that
are not sane numbers (text, NaN, infinite, negative) are taken as absent, and stated durations are clamped to
`MAX_STATED_WAIT`: a BigCommerce window is 30 s, so nothing a header says makes a request wait longer.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Longest wait a rate-limit header is believed for: a BigCommerce window is 30 s. Larger values are clamped.
MAX_STATED_WAIT = 30.0


def stated_seconds(raw: str | None, scale: float = 1.0) -> float | None:
    """A duration from a header, in seconds, clamped to `MAX_STATED_WAIT`; None when absent or not a sane number."""
    value = _number(raw)
    return None if value is None else min(value / scale, MAX_STATED_WAIT)


def _number(raw: str | None) -> float | None:
    """A finite, non-negative number from a header; None when absent or anything else."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


@dataclass(frozen=True)
class RateHeaders:
    """What one answer says of the store's quota; each field None when the answer did not say it (sanely)."""

    left: float | None = None  # requests still allowed in this window
    reset: float | None = None  # seconds until the window ends (at most 30)
    quota: float | None = None  # requests per window
    window: float | None = None  # the window's length in seconds (at most 30)
    retry_after: float | None = None  # a 429's word on when to retry, in seconds (at most 30)

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> "RateHeaders":
        """The rate-limit headers of an answer (a case-insensitive mapping, or None for no answer)."""
        if headers is None:
            return cls()
        reset = stated_seconds(headers.get("x-rate-limit-time-reset-ms"), 1000.0)
        retry_after = reset
        for name in ("x-retry-after", "retry-after"):
            if retry_after is None:
                retry_after = stated_seconds(headers.get(name))
        return cls(
            left=_number(headers.get("x-rate-limit-requests-left")),
            reset=reset,
            quota=_number(headers.get("x-rate-limit-requests-quota")),
            window=stated_seconds(headers.get("x-rate-limit-time-window-ms"), 1000.0),
            retry_after=retry_after,
        )
