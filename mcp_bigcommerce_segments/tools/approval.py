"""The human's approval of a destructive call (a removal, a deletion): whether the client can ask, what the answer
was, and the digest that ties a question to exactly one set."""

import hashlib
import json
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver.resolve import AcceptedElicitation

from ..previews import Preview
from ..running import principal_of
from .context import Ctx


def set_digest(preview: Preview) -> str:
    """A short digest of the previewed set: the question differs whenever the set does, so that a yes given to one
    set (the protocol may ask again in a later round) never approves another."""
    chosen = [str(preview.segment_id), *sorted(map(str, preview.profile_ids))]
    return hashlib.sha256(",".join(chosen).encode()).hexdigest()[:8]


def verdict(approval: Any, not_asked: type) -> tuple[bool, bool, str]:
    """An approval resolver's answer: (approved, the human was asked, what they did in words)."""
    accepted = isinstance(approval, AcceptedElicitation) and bool(approval.data.approve)
    asked = not (isinstance(approval, AcceptedElicitation) and isinstance(approval.data, not_asked))
    said = {"cancel": "cancelled the question", "accept": "did not approve"}.get(approval.action, "declined")
    return accepted, asked, said


def can_ask(ctx: Ctx) -> bool:
    """Whether the client can ask its user a question (form elicitation)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and not (elicitation.form is None and elicitation.url is not None)


def call_key(store: str, segment_id: Any, arguments: dict[str, Any]) -> str:
    """The key of a call's plan: the caller (hosted mode), its store, segment and source arguments (a later round
    sends the same ones)."""
    token = get_access_token()
    caller = principal_of(token) if token is not None else ""
    sources = {k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in arguments.items()}
    return json.dumps([caller, store, str(segment_id), sources], sort_keys=True, default=str)
