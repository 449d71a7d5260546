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
from starlette.types import Scope

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
        # The key set is cached for 5 minutes; a token naming a key not in it fetches the set again at once (a
        # rotation), but at most `_REFRESHES` times a minute, so forged key IDs cannot turn into a flood of fetches.
        self._jwks = (
            jwt.PyJWKClient(url, lifespan=300, cooldown_duration=0, timeout=10)
            if url and settings.oauth_issuer
            else None
        )
        self._refreshed: list[float] = []
        self._threads = anyio.CapacityLimiter(4)

    async def verify_scope(self, scope: Scope) -> AccessToken | None:
        """The verified token of an ASGI request's `Authorization: Bearer` header, as the SDK would verify it; None
        without one (for middleware that must know the caller before the SDK's own check runs)."""
        for name, value in scope.get("headers") or []:
            if name.lower() == b"authorization":
                kind, _, token = value.decode("latin-1").partition(" ")
                return await self.verify_token(token.strip()) if kind.lower() == "bearer" and token.strip() else None
        return None

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        scope = None
        for static_scope, static_digest in self._static:  # every entry compared, in constant time
            if hmac.compare_digest(digest, static_digest):
                scope = static_scope
        if scope is not None:
            # Each static token is its own principal (its hash names it): state sealed for one caller's question
            # cannot be answered with another token of the same scope.
            principal = f"static-{scope}-{digest.hex()[:12]}"
            return AccessToken(token=digest.hex()[:16], client_id=principal, subject=principal, scopes=granted(scope))
        if self._jwks is None or token.count(".") != 2:
            return None
        # Its own few threads: a slow key server must not hold the threads the audit log writes with.
        return await anyio.to_thread.run_sync(self._verify_jwt, token, limiter=self._threads)

    def _signing_key(self, token: str) -> jwt.PyJWK:
        assert self._jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = self._jwks.get_signing_keys()
        found = next((k for k in keys if k.key_id == kid), None)
        now = time.monotonic()
        self._refreshed = [t for t in self._refreshed if now - t < 60]
        if found is None and len(self._refreshed) < _REFRESHES:
            self._refreshed.append(now)
            found = next((k for k in self._jwks.get_signing_keys(refresh=True) if k.key_id == kid), None)
        if found is None:
            raise jwt.PyJWKClientError(f"no signing key {kid!r}")
        return found

    def _verify_jwt(self, token: str) -> AccessToken | None:
        assert self._jwks is not None
        try:
            key = self._signing_key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud"]},
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


_REFRESHES = 10
