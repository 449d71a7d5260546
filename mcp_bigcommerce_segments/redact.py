"""The one place secrets are taken out of text that leaves the process.

Every path out goes through `redact()`: tool results and tool errors (`server.SegmentTool`), audit records
(`audit.py`), log records (`install_log_redaction`, installed by `build_server`), and BigCommerce's own
words quoted in error messages (`errors.body_detail`, before they are clipped, so a clipped secret cannot leave a
prefix behind). `keep_secret()` registers a value: the access token, and any password in a URL.
"""

import logging
from typing import Any

_REPLACEMENT = "[redacted]"
# Values shorter than this are not secrets worth hiding (and would garble ordinary text).
_MIN_LENGTH = 6
_secrets: set[str] = set()
_FORMATTER = logging.Formatter()


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
        return {k: redact_json(v) for k, v in value.items()}  # keys are ours (field names), never a secret
    return value


def install_log_redaction() -> None:
    """Make every log record, whoever logs it and whatever handler takes it, carry no secret (idempotent).

    A record factory rather than a handler filter: the HTTP library logs URLs and headers at DEBUG, and a record
    can reach handlers (a host's, a test's) that no filter of ours sits on.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and not record.exc_text:  # handlers print exc_text when it is set
                record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
