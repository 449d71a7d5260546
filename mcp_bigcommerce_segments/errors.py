"""The one exception tree, and the one place an HTTP status becomes an exception.

    BigCommerceError
    ├── ConfigError                 configuration missing or malformed
    ├── AuditLogError               the audit log cannot be written: no write is sent
    ├── PreviewError                a preview_id that cannot be approved (unknown, expired, used, foreign)
    ├── ResponseShapeError          BigCommerce answered with a body the spec does not allow
    ├── APIConnectionError          no answer: reset, dropped (the request may have been carried out)
    │   ├── ConnectFailedError      no connection was made: nothing was sent
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
        │   └── RateLimitWaitTooLong      the quota is spent for longer than the request may wait: not sent
        └── ServerError                   5xx

`str(exc)` is always a sentence a model can act on, and never contains the access token.
"""

import json
from collections.abc import Mapping
from typing import Any

from .quota import RateHeaders
from .redact import redact

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


class PreviewError(BigCommerceError):
    """A preview_id that cannot be approved: unknown, expired, used, or made for another segment or store."""


class ResponseShapeError(BigCommerceError):
    """BigCommerce answered, but not with the shape the spec promises."""


class APIConnectionError(BigCommerceError):
    """BigCommerce could not be reached."""


class ConnectFailedError(APIConnectionError):
    """No connection to BigCommerce could be made, so nothing was sent: safe to retry whatever the method."""


class APITimeoutError(APIConnectionError):
    """BigCommerce did not answer in time."""


class APIStatusError(BigCommerceError):
    """BigCommerce answered with an error status."""

    def __init__(self, message: str, *, status: int, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the token was rejected."""


class PermissionDeniedError(APIStatusError):
    """403: a scope or the plan is missing."""


class NotFoundError(APIStatusError):
    """404: the segment or profile does not exist."""


class ConflictError(APIStatusError):
    """409: a conflict BigCommerce reported."""


class PayloadTooLargeError(APIStatusError):
    """413: a page or request too large for the store."""


class UnprocessableEntityError(APIStatusError):
    """422: BigCommerce rejected the data."""


class RateLimitError(APIStatusError):
    """429: the store's request quota for this window is used up."""


class RateLimitWaitTooLong(RateLimitError):
    """The quota is spent for longer than the request may still wait: it is not sent at all."""

    @classmethod
    def after(cls, seconds: float, *, sharing: str = "other apps on the store") -> "RateLimitWaitTooLong":
        """The error for a quota spent for `seconds` more; `sharing` names who else spends it."""
        return cls(
            f"BigCommerce's rate limit for this store is used up for the next {seconds:.0f} s, longer than this "
            f"request may wait (BIGCOMMERCE_MAX_RETRY_SECONDS). Retry in {seconds:.0f} s; {sharing} share the same "
            "quota.",
            status=429,
            retry_after=seconds,
        )


class ServerError(APIStatusError):
    """5xx: BigCommerce failed; nothing suggests the request was wrong."""


def body_detail(body: bytes) -> str:
    """BigCommerce's own words from an error body (`title` and `errors` of either error shape), quoted and clipped.

    The quotes mark them as the store's words, so that text in a store's data cannot pose as instructions; secrets
    are taken out before clipping. Empty when the body says nothing readable.
    """
    try:
        parsed: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    parts: list[str] = []

    def collect(node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 3:
            return
        title = node.get("title")
        if isinstance(title, str) and title:
            parts.append(title)
        errors = node.get("errors")
        if isinstance(errors, dict):
            parts.extend(f"{key}: {value}" for key, value in errors.items() if isinstance(value, str))
        elif isinstance(errors, list):
            for item in errors:
                collect(item, depth + 1)

    collect(parsed, 0)
    return quote_store_text("; ".join(parts))


def quote_store_text(text: str, limit: int = 300) -> str:
    """Upstream text as a quoted, one-line, clipped string, with secrets removed; "" for no text."""
    text = " ".join(redact(text).split()).rstrip(".").replace('"', "'")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates shown escaped
    if not text:
        return ""
    return '"' + (text if len(text) <= limit - 2 else text[: limit - 3] + "…") + '"'


# status -> (class, sentence). `{said}` is BigCommerce's own words (or nothing), `{what}` the resource asked for.
_BY_STATUS: dict[int, tuple[type[APIStatusError], str]] = {
    400: (BadRequestError, "BigCommerce rejected the request as malformed (400).{said}"),
    401: (
        AuthenticationError,
        "BigCommerce rejected the access token (401): it is wrong, revoked, or belongs to another store. "
        "Check BIGCOMMERCE_ACCESS_TOKEN and BIGCOMMERCE_STORE_HASH, then restart the server.",
    ),
    403: (
        PermissionDeniedError,
        "BigCommerce refused access (403).{said} " + SCOPE_HINT + ". The Customer Segmentation API is also only "
        "available on Enterprise plans.",
    ),
    404: (
        NotFoundError,
        "BigCommerce found no {what} (404). Check the ID (list_segments finds segments by name); it may have "
        "been deleted, or BIGCOMMERCE_STORE_HASH may name another store.{said}",
    ),
    409: (ConflictError, "BigCommerce reported a conflict (409).{said}"),
    413: (
        PayloadTooLargeError,
        "BigCommerce said the request was too large (413).{said} Use a smaller page size or fewer IDs.",
    ),
    422: (UnprocessableEntityError, "BigCommerce rejected the data (422).{said}"),
}
_REDIRECT = (
    "The API answered with a redirect ({status}), which is not followed so that the token goes nowhere else. "
    "Check BIGCOMMERCE_API_URL: it should be https://api.bigcommerce.com or your proxy's address."
)
_SERVER = (
    "BigCommerce had an internal error ({status}).{said} Nothing suggests the request was wrong; "
    "retry in a minute, and check status.bigcommerce.com if it persists."
)
_RATE_LIMITED = (
    "BigCommerce's rate limit for this store is used up (429). Retry {when}; other apps on the store share the "
    "same quota."
)


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
    cls: type[APIStatusError]
    retry_after: float | None = None
    if status in _BY_STATUS:
        cls, template = _BY_STATUS[status]
    elif status == 429:
        retry_after = RateHeaders.parse(headers).retry_after
        when = f"in {retry_after:.1f} s" if retry_after is not None else "in a minute"
        cls, template = RateLimitError, _RATE_LIMITED.replace("{when}", when)
    elif 300 <= status < 400:
        cls, template = APIStatusError, _REDIRECT
    elif status >= 500:
        cls, template = ServerError, _SERVER
    else:
        cls, template = APIStatusError, "BigCommerce answered with status {status}.{said}"
    message = template.format(status=status, said=said, what=what)
    return cls(message, status=status, detail=detail, retry_after=retry_after)
