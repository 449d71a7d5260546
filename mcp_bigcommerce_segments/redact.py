"""The one place secrets are taken out of text that leaves the process.

Every path out goes through `redact()`: tool results and tool errors (`tools/common.py`), audit records
(`audit.py`), log lines (`RedactingFilter`, installed on the stderr handler by `__main__`), and BigCommerce's own
words quoted in error messages (`errors.body_detail`, before they are clipped, so a clipped secret cannot leave a
prefix behind). `keep_secret()` registers a value: the access token, and any password in a URL.
"""

import logging
from typing import Any

_REPLACEMENT = "[redacted]"
# Values shorter than this are not secrets worth hiding (and would garble ordinary text).
_MIN_LENGTH = 6
_secrets: set[str] = set()


def keep_secret(value: str) -> None:
    """Never let `value` leave the process in any text."""
    if len(value) >= _MIN_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REPLACEMENT)
    return text


def redact_json(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every registered secret replaced in its strings."""
    if not _secrets:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, dict):
        return {redact(str(k)): redact_json(v) for k, v in value.items()}
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each log record's message with secrets replaced (the HTTP library logs headers at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
        return True
