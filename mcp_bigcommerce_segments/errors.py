"""The one exception tree, and the one place an HTTP status becomes an exception.

    BigCommerceError
    ├── ConfigError                 configuration missing or malformed
    ├── AuditLogError               the audit log cannot be written: no write is sent
    ├── ResponseShapeError          BigCommerce answered with a body the spec does not allow
    ├── APIConnectionError          no answer: refused, reset, DNS
    │   └── APITimeoutError         no answer in time
    └── APIStatusError              an answer with an error status (.status, .retry_after)
        ├── BadRequestError               400
        ├── AuthenticationError           401
        ├── PermissionDeniedError         403
        ├── NotFoundError                 404
        ├── ConflictError                 409
        ├── PayloadTooLargeError          413
        ├── UnprocessableEntityError      422
        ├── RateLimitError                429
        └── ServerError                   5xx

`str(exc)` is always a sentence a model can act on, and never contains the access token.
"""

import json
from collections.abc import Mapping
from typing import Any

SCOPE_HINT = (
    "The API account needs the Customers scope set to 'modify' (store_v2_customers); 'read-only' is not enough, "
    "not even for listing a segment's profiles. Edit the account in the BigCommerce control panel "
    "(Settings > API > Store-level API accounts) and use the new token"
)


class BigCommerceError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(BigCommerceError):
    """Configuration is missing or malformed; the message names the variables."""


class AuditLogError(BigCommerceError):
    """The audit log cannot be written, so no write request is sent."""


class ResponseShapeError(BigCommerceError):
    """BigCommerce answered, but not with the shape the spec promises."""


class APIConnectionError(BigCommerceError):
    """BigCommerce could not be reached."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """BigCommerce did not answer in time."""


class APIStatusError(BigCommerceError):
    """BigCommerce answered with an error status."""

    retryable = False

    def __init__(self, message: str, *, status: int, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class PayloadTooLargeError(APIStatusError):
    pass


class UnprocessableEntityError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    retryable = True


class ServerError(APIStatusError):
    retryable = True


def body_detail(body: bytes) -> str:
    """BigCommerce's own words from an error body, defensively: `title` and `errors` of either error shape."""
    try:
        parsed: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    parts: list[str] = []

    def collect(node: Any) -> None:
        if not isinstance(node, dict):
            return
        title = node.get("title")
        if isinstance(title, str) and title:
            parts.append(title)
        errors = node.get("errors")
        if isinstance(errors, dict):
            parts.extend(f"{key}: {value}" for key, value in errors.items() if isinstance(value, str))
        elif isinstance(errors, list):
            for item in errors:
                collect(item)

    collect(parsed)
    return _clip("; ".join(parts), 300).rstrip(".")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """When BigCommerce says a rate-limited request may be sent again, in seconds from now."""
    for name, scale in (("x-rate-limit-time-reset-ms", 1000.0), ("x-retry-after", 1.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / scale
        except ValueError:
            continue
        if value >= 0:
            return value
    return None


def error_from_response(status: int, body: bytes, headers: Mapping[str, str], *, what: str) -> APIStatusError:
    """Map an error response to the exception a caller can act on.

    Args:
        status: The HTTP status.
        body: The raw body (any shape; parsed defensively).
        headers: Response headers (case-insensitive mapping).
        what: What was asked for, e.g. "segment 3f…"; names the thing in "not found" messages.
    """
    detail = body_detail(body)
    said = f" BigCommerce said: {detail}." if detail else ""
    if 300 <= status < 400:
        return APIStatusError(
            f"The API answered with a redirect ({status}), which is not followed so that the token goes nowhere else. "
            "Check BIGCOMMERCE_API_URL: it should be https://api.bigcommerce.com or your proxy's address.",
            status=status,
            detail=detail,
        )
    if status == 400:
        return BadRequestError(
            f"BigCommerce rejected the request as malformed (400).{said}", status=status, detail=detail
        )
    if status == 401:
        return AuthenticationError(
            "BigCommerce rejected the access token (401): it is wrong, revoked, or belongs to another store. "
            "Check BIGCOMMERCE_ACCESS_TOKEN and BIGCOMMERCE_STORE_HASH, then restart the server.",
            status=status,
            detail=detail,
        )
    if status == 403:
        return PermissionDeniedError(
            f"BigCommerce refused access (403).{said} {SCOPE_HINT}. The Customer Segmentation API is also only "
            "available on Enterprise plans.",
            status=status,
            detail=detail,
        )
    if status == 404:
        return NotFoundError(
            f"BigCommerce found no {what} (404). Check the ID (list_segments finds segments by name); it may have "
            f"been deleted, or BIGCOMMERCE_STORE_HASH may name another store.{said}",
            status=status,
            detail=detail,
        )
    if status == 409:
        return ConflictError(f"BigCommerce reported a conflict (409).{said}", status=status, detail=detail)
    if status == 413:
        return PayloadTooLargeError(
            f"BigCommerce said the request was too large (413).{said} Use a smaller page size or fewer IDs.",
            status=status,
            detail=detail,
        )
    if status == 422:
        return UnprocessableEntityError(f"BigCommerce rejected the data (422).{said}", status=status, detail=detail)
    if status == 429:
        wait = retry_after_seconds(headers)
        when = f"in {wait:.1f} s" if wait is not None else "in a minute"
        return RateLimitError(
            f"BigCommerce's rate limit for this store is used up (429). Retry {when}; "
            "other apps on the store share the same quota.",
            status=status,
            detail=detail,
            retry_after=wait,
        )
    if status >= 500:
        return ServerError(
            f"BigCommerce had an internal error ({status}).{said} Nothing suggests the request was wrong; "
            "retry in a minute, and check status.bigcommerce.com if it persists.",
            status=status,
            detail=detail,
        )
    return APIStatusError(f"BigCommerce answered with status {status}.{said}", status=status, detail=detail)
