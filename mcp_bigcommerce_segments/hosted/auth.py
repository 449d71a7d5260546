"""Who may call the hosted server: static bearer tokens from the environment, or OAuth 2.1 access tokens (JWTs).

Both come through the SDK's auth hooks as one `TokenVerifier`. A token has the scope `read` (the read tools only)
or `write` (every tool). Static tokens are stored as SHA-256 hashes and compared in constant time; JWTs are checked
against the operator's issuer, audience and JWKS (keys cached, and fetched again when a token names an unknown key,
so a rotation needs no restart). Nothing here logs or returns a token.
"""

import hashlib
import hmac
import logging
import time
from typing import Any

import anyio
import jwt
from mcp.server.auth.provider import AccessToken

from ..config import Settings

logger = logging.getLogger(__name__)

READ, WRITE = "read", "write"
# Scope names accepted in a JWT's `scope`/`scp` claim, and what they grant.
_JWT_SCOPES = {"read": READ, "segments:read": READ, "write": WRITE, "segments:write": WRITE}


def granted(scope: str) -> list[str]:
    """The scopes a token of `scope` holds: write includes read."""
    return [READ, WRITE] if scope == WRITE else [READ]


class SegmentTokenVerifier:
    """The SDK's `TokenVerifier` for this server."""

    def __init__(self, settings: Settings) -> None:
        self._static = [(scope, bytes.fromhex(digest)) for scope, digest in settings.http_tokens]
        self._issuer = settings.oauth_issuer
        self._audience = settings.oauth_audience
        url = settings.oauth_jwks_url
        self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300) if url and settings.oauth_issuer else None

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        scope = None
        for static_scope, static_digest in self._static:  # every entry compared, in constant time
            if hmac.compare_digest(digest, static_digest):
                scope = static_scope
        if scope is not None:
            return AccessToken(token=digest.hex()[:16], client_id=f"static-{scope}", scopes=granted(scope))
        if self._jwks is None or token.count(".") != 2:
            return None
        return await anyio.to_thread.run_sync(self._verify_jwt, token)

    def _verify_jwt(self, token: str) -> AccessToken | None:
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("an OAuth token was refused: %s", type(exc).__name__)
            return None
        names = claims.get("scope", "")
        listed = names.split() if isinstance(names, str) else []
        if isinstance(claims.get("scp"), list):
            listed += [str(s) for s in claims["scp"]]
        scopes = {_JWT_SCOPES[s] for s in listed if s in _JWT_SCOPES}
        if not scopes:
            return None
        expires = claims.get("exp")
        return AccessToken(
            token=hashlib.sha256(token.encode()).hexdigest()[:16],
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "oauth"),
            scopes=granted(WRITE if WRITE in scopes else READ),
            expires_at=int(expires) if isinstance(expires, int | float) else None,
            subject=str(claims["sub"]) if "sub" in claims else None,
        )


def expired(token: AccessToken) -> bool:
    return token.expires_at is not None and token.expires_at < time.time()
