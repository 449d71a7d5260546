"""Settings, read once from the environment. The only module that reads environment variables."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from .errors import ConfigError

APP_NAME = "mcp-bigcommerce-segments"
DEFAULT_API_URL = "https://api.bigcommerce.com"
# BigCommerce: "Limit of 10 concurrent requests" on the segment endpoints.
MAX_CONCURRENCY = 10

STORE_HASH = "BIGCOMMERCE_STORE_HASH"
ACCESS_TOKEN = "BIGCOMMERCE_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a secret
API_URL = "BIGCOMMERCE_API_URL"
READ_ONLY = "BIGCOMMERCE_READ_ONLY"
SANDBOX = "BIGCOMMERCE_SANDBOX"
LOG_LEVEL = "BIGCOMMERCE_LOG_LEVEL"
MAX_CONCURRENCY_VAR = "BIGCOMMERCE_MAX_CONCURRENCY"
MAX_RETRY_SECONDS = "BIGCOMMERCE_MAX_RETRY_SECONDS"
TIMEOUT_SECONDS = "BIGCOMMERCE_TIMEOUT_SECONDS"
AUDIT_LOG = "BIGCOMMERCE_AUDIT_LOG"
CONFIRM_WITHOUT_PREVIEW = "BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW"
HIDE_EMAILS = "BIGCOMMERCE_HIDE_EMAILS"
HTTP_TOKENS = "BIGCOMMERCE_HTTP_TOKENS"
OAUTH_ISSUER = "BIGCOMMERCE_OAUTH_ISSUER"
OAUTH_AUDIENCE = "BIGCOMMERCE_OAUTH_AUDIENCE"
OAUTH_JWKS_URL = "BIGCOMMERCE_OAUTH_JWKS_URL"
HTTP_ALLOWED_ORIGINS = "BIGCOMMERCE_HTTP_ALLOWED_ORIGINS"
HTTP_PUBLIC_URL = "BIGCOMMERCE_HTTP_PUBLIC_URL"
REDIS_URL = "BIGCOMMERCE_REDIS_URL"

#: The variables only hosted mode (`serve-http`) reads.
HOSTED_ENV_VARS = (
    HTTP_TOKENS,
    OAUTH_ISSUER,
    OAUTH_AUDIENCE,
    OAUTH_JWKS_URL,
    HTTP_ALLOWED_ORIGINS,
    HTTP_PUBLIC_URL,
    REDIS_URL,
)

#: Every variable `Settings.from_env` reads (the manifest's drift test compares against this).
ENV_VARS = (
    STORE_HASH,
    ACCESS_TOKEN,
    API_URL,
    READ_ONLY,
    SANDBOX,
    LOG_LEVEL,
    MAX_CONCURRENCY_VAR,
    MAX_RETRY_SECONDS,
    TIMEOUT_SECONDS,
    AUDIT_LOG,
    CONFIRM_WITHOUT_PREVIEW,
    HIDE_EMAILS,
    *HOSTED_ENV_VARS,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_audit_log() -> Path:
    """The audit log's default place: this app's folder in the user's state directory."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "audit.jsonl"


class Settings(BaseModel):
    """Everything the server is configured with. Build with `from_env`; tests build it directly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store_hash: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,64}$")]
    access_token: SecretStr
    api_url: str = DEFAULT_API_URL
    read_only: bool = False
    sandbox: bool = False
    log_level: LogLevel = "WARNING"
    max_concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = MAX_CONCURRENCY
    max_retry_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    timeout_seconds: Annotated[float, Field(ge=1, le=600)] = 30.0
    audit_log: Path | None = None
    confirm_without_preview: bool = False
    hide_emails: bool = False
    # Hosted mode (serve-http) only.
    http_tokens: tuple[tuple[Literal["read", "write"], str], ...] = ()
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_jwks_url: str | None = None
    http_allowed_origins: tuple[str, ...] = ()
    http_public_url: str | None = None
    redis_url: SecretStr | None = None

    @field_validator("http_tokens", mode="before")
    @classmethod
    def _static_tokens(cls, raw: object) -> object:
        """`scope:sha256hex` entries, comma-separated; the hex is the SHA-256 of the bearer token."""
        if not isinstance(raw, str):
            return raw
        entries = []
        for entry in (e.strip() for e in raw.split(",")):
            if not entry:
                continue
            scope, _, digest = entry.partition(":")
            if scope not in ("read", "write") or not re.fullmatch(r"[0-9a-f]{64}", digest.lower()):
                raise ValueError("not scope:sha256hex")
            entries.append((scope, digest.lower()))
        return tuple(entries)

    @field_validator("http_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, raw: object) -> object:
        return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip()) if isinstance(raw, str) else raw

    @field_validator("http_public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ValueError("not an http(s) URL")
        return url.rstrip("/") if url else url

    @field_validator("oauth_issuer", "oauth_jwks_url")
    @classmethod
    def _https_url(cls, url: str | None) -> str | None:
        """https, so that nobody on the way can hand us signing keys; http only on loopback (tests, a local IdP)."""
        if url is None:
            return url
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("not an https URL")
        return url

    @model_validator(mode="after")
    def _oauth_complete(self) -> "Settings":
        given = [self.oauth_issuer, self.oauth_audience, self.oauth_jwks_url]
        if any(given) and not all(given):
            raise ValueError("oauth incomplete")
        return self

    @property
    def oauth(self) -> bool:
        """Whether OAuth access tokens (JWTs) are accepted (issuer, audience and key set are all configured)."""
        return bool(self.oauth_issuer and self.oauth_audience and self.oauth_jwks_url)

    @field_validator("access_token")
    @classmethod
    def _token_is_one_word(cls, token: SecretStr) -> SecretStr:
        # It travels in an HTTP header: printable ASCII, no spaces.
        if not all("!" <= c <= "~" for c in token.get_secret_value()):
            raise ValueError("not printable ASCII")
        return token

    @field_validator("api_url")
    @classmethod
    def _api_url_is_a_base(cls, url: str) -> str:
        if not all("!" <= c <= "~" for c in url) or "?" in url or "#" in url:
            raise ValueError("spaces, control characters, a query or a fragment")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise ValueError("unparseable") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise ValueError("not an http(s) base URL without user or password")
        return url.rstrip("/")

    @property
    def base_url(self) -> str:
        """`{api_url}/stores/{store_hash}/v3`: every request path hangs below it."""
        return f"{self.api_url}/stores/{self.store_hash}/v3"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, read_only: bool | None = None, sandbox: bool | None = None
    ) -> "Settings":
        """Read settings from `environ`; command-line flags, when given, win over the environment.

        Raises:
            ConfigError: naming every missing or malformed variable at once.
        """
        # A host that substitutes nothing for an unset bundle option may pass "${user_config.x}" through.
        raw = {
            field: value.strip()
            for field, name in _FIELDS.items()
            if (value := environ.get(name, "")).strip() and not value.startswith("${")
        }
        values: dict[str, Any] = dict(raw)
        problems: list[str] = []
        flags = ("read_only", read_only), ("sandbox", sandbox), ("confirm_without_preview", None), ("hide_emails", None)
        for field, override in flags:
            if override:
                values[field] = True
            elif field in raw:
                flag = raw[field].lower()
                if flag not in _TRUE + _FALSE:
                    problems.append(f"{_FIELDS[field]} {_HINTS[field]}, not {raw[field][:20]!r}")
                values[field] = flag in _TRUE
        if "log_level" in values:
            values["log_level"] = values["log_level"].upper()
        audit = raw.get("audit_log", "")
        values["audit_log"] = (
            None if audit.lower() == "off" else Path(audit).expanduser() if audit else default_audit_log()
        )
        if values.get("sandbox"):
            values.setdefault("store_hash", "sandbox")
            values.setdefault("access_token", "sandbox-token")
        for field, missing in _MISSING.items():
            if field not in values:
                problems.append(f"{_FIELDS[field]} is not set ({missing})")
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                if not error["loc"]:  # a rule across fields: the OAuth settings go together
                    problems.append(f"{OAUTH_ISSUER}, {OAUTH_AUDIENCE} and {OAUTH_JWKS_URL} must be set together")
                    continue
                field = str(error["loc"][0])
                if field in values and not any(_FIELDS[field] in p for p in problems):
                    value = str(raw.get(field, ""))
                    secret = field == "access_token" or "@" in value  # a URL's password stays unsaid
                    shown = "" if secret else f", not {value[:60]!r}"
                    problems.append(f"{_FIELDS[field]} {_HINTS[field]}{shown}")
        if problems:
            raise ConfigError("Configuration error: " + "; ".join(problems) + ".")
        return settings


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Settings field -> the environment variable it is read from.
_FIELDS = {
    "store_hash": STORE_HASH,
    "access_token": ACCESS_TOKEN,
    "api_url": API_URL,
    "read_only": READ_ONLY,
    "sandbox": SANDBOX,
    "log_level": LOG_LEVEL,
    "max_concurrency": MAX_CONCURRENCY_VAR,
    "max_retry_seconds": MAX_RETRY_SECONDS,
    "timeout_seconds": TIMEOUT_SECONDS,
    "audit_log": AUDIT_LOG,
    "confirm_without_preview": CONFIRM_WITHOUT_PREVIEW,
    "hide_emails": HIDE_EMAILS,
    "http_tokens": HTTP_TOKENS,
    "oauth_issuer": OAUTH_ISSUER,
    "oauth_audience": OAUTH_AUDIENCE,
    "oauth_jwks_url": OAUTH_JWKS_URL,
    "http_allowed_origins": HTTP_ALLOWED_ORIGINS,
    "http_public_url": HTTP_PUBLIC_URL,
    "redis_url": REDIS_URL,
}
_MISSING = {
    "store_hash": "the store hash from your API path, e.g. 'abc123'",
    "access_token": "the access token of a store-level API account",
}
#: What a malformed value is told, after the variable's name.
_HINTS = {
    "store_hash": "must be letters and digits only (the 'stores/<hash>' part of the API path)",
    "access_token": "must be printable ASCII with no spaces or line breaks",
    "api_url": f"must be an http(s) URL like {DEFAULT_API_URL}, with no user name, password, query or fragment",
    "read_only": "must be true or false",
    "sandbox": "must be true or false",
    "log_level": "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "max_concurrency": f"must be a whole number from 1 to {MAX_CONCURRENCY}",
    "max_retry_seconds": "must be a number from 0 to 3600",
    "timeout_seconds": "must be a number from 1 to 600",
    "audit_log": "must be a file path or 'off'",
    "confirm_without_preview": "must be true or false",
    "hide_emails": "must be true or false",
    "http_tokens": "must be comma-separated scope:sha256hex entries (scope read or write)",
    "oauth_issuer": "must be the issuer's https URL (http only on loopback)",
    "oauth_audience": "must be the audience your tokens are issued for",
    "oauth_jwks_url": "must be the https URL of the issuer's JWKS (http only on loopback)",
    "http_allowed_origins": "must be comma-separated origins like https://app.example.com",
    "http_public_url": "must be the URL clients reach the server at, like https://mcp.example.com",
    "redis_url": "must be a redis:// URL",
}
