"""Integrity tags on what the server writes down and later obeys: change records (file and Redis) and pinned previews.

Each record carries `tag`, an HMAC-SHA256 of its canonical JSON under a key derived from the store's access token:
every replica holds the token, nobody who can only write the file or Redis does. A record whose tag is missing or
does not verify is not ours (forged, edited, or written by a version without tags): it is skipped and counted, never
listed as a change and never undone. A sandbox's key comes from its fixed practice token: its records are practice.
"""

import hashlib
import hmac
import json
from typing import Any

import pydantic_core

from .redact import redact_json

_CONTEXT = "mcp-bigcommerce-segments: {purpose} v1"


def derive_key(access_token: str, purpose: str = "record integrity") -> bytes:
    """A key for one purpose: an HMAC of a fixed context under the access token (the token itself is never stored).
    Every replica of one store derives the same keys; `request state` seals the protocol's multi-round state, so
    that the answer to a question may reach any replica."""
    return hmac.new(access_token.encode(), _CONTEXT.format(purpose=purpose).encode(), hashlib.sha256).digest()


class Sealer:
    """Seals records into tagged JSON lines, and opens lines back into records only when their tag verifies."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, record: dict[str, Any]) -> str:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def seal(self, record: dict[str, Any]) -> str:
        """One JSON line: the record as JSON (secrets redacted from its values, never from its keys), with its tag."""
        plain: dict[str, Any] = redact_json(json.loads(pydantic_core.to_json(record).decode()))
        plain.pop("tag", None)
        return pydantic_core.to_json({**plain, "tag": self._tag(plain)}).decode()

    def open(self, raw: bytes | str | None) -> dict[str, Any] | None:
        """The record of a sealed line, or None if it does not parse or its tag does not verify."""
        try:
            record = json.loads(raw or "")
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        tag = record.pop("tag", None)
        try:
            verified = isinstance(tag, str) and hmac.compare_digest(tag, self._tag(record))
        except (ValueError, TypeError):  # a lone surrogate, or a tag that is not ASCII: not ours
            return None
        return record if verified else None
