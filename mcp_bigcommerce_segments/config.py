"""Settings, read once from the environment. The only module that reads environment variables."""

import os
import re
import tempfile
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

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


PREFIX = "BIGCOMMERCE_"
_REQUIRED: Any = ...


def _env(name: str, hint: str, default: Any = _REQUIRED, *, hosted: bool = False) -> Any:
    """A setting's one declaration: the variable it is read from (`BIGCOMMERCE_<name>`), what a malformed
    value is told after the variable's name, and whether only hosted mode reads it."""
    return Field(default, alias=PREFIX + name, description=hint, json_schema_extra={"hosted": hosted})


def _hosted(name: str, hint: str, default: Any = None) -> Any:
    return _env(name, hint, default, hosted=True)


def sandbox_audit_log() -> Path:
    """A sandbox's own audit log: a file of this process in the temporary directory, so that practice changes never
    mix with a real store's record."""
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-sandbox-{os.getpid()}.jsonl"


def default_audit_log() -> Path:
    """The audit log's default place: this app's folder in the user's state directory."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "audit.jsonl"


class Settings(BaseModel):
    """Everything the server is configured with. Build with `from_env`; tests build it directly."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)

    store_hash: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,64}$")] = _env(
        "STORE_HASH", "must be letters and digits only (the 'stores/<hash>' part of the API path)"
    )
    access_token: SecretStr = _env("ACCESS_TOKEN", "must be printable ASCII with no spaces or line breaks")
    api_url: str = _env(
        "API_URL",
        f"must be an http(s) URL like {DEFAULT_API_URL}, with no user name, password, query or fragment",
        DEFAULT_API_URL,
    )
    read_only: bool = _env("READ_ONLY", "must be true or false", False)
    sandbox: bool = _env("SANDBOX", "must be true or false", False)
    log_level: LogLevel = _env("LOG_LEVEL", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL", "WARNING")
    max_concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = _env(
        "MAX_CONCURRENCY", f"must be a whole number from 1 to {MAX_CONCURRENCY}", MAX_CONCURRENCY
    )
    max_retry_seconds: Annotated[float, Field(ge=0, le=3600)] = _env(
        "MAX_RETRY_SECONDS", "must be a number from 0 to 3600", 60.0
    )
    timeout_seconds: Annotated[float, Field(ge=1, le=600)] = _env(
        "TIMEOUT_SECONDS", "must be a number from 1 to 600", 30.0
    )
    audit_log: Path | None = _env("AUDIT_LOG", "must be a file path or 'off'", None)
    audit_max_mb: Annotated[float, Field(ge=1, le=1_000_000)] = _env(
        "AUDIT_MAX_MB", "must be a number of megabytes from 1 to 1000000", 256.0
    )
    confirm_without_preview: bool = _env("CONFIRM_WITHOUT_PREVIEW", "must be true or false", False)
    hide_emails: bool = _env("HIDE_EMAILS", "must be true or false", False)
    # Hosted mode (serve-http) only.
    http_tokens: tuple[tuple[Literal["read", "write"], str], ...] = _hosted(
        "HTTP_TOKENS", "must be comma-separated scope:sha256hex entries (scope read or write)", ()
    )
    oauth_issuer: str | None = _hosted("OAUTH_ISSUER", "must be the issuer's https URL (http only on loopback)")
    oauth_audience: str | None = _hosted("OAUTH_AUDIENCE", "must be the audience your tokens are issued for")
    oauth_jwks_url: str | None = _hosted(
        "OAUTH_JWKS_URL", "must be the https URL of the issuer's JWKS (http only on loopback)"
    )
    http_allowed_origins: tuple[str, ...] = _hosted(
        "HTTP_ALLOWED_ORIGINS", "must be comma-separated origins like https://app.example.com", ()
    )
    http_public_url: str | None = _hosted(
        "HTTP_PUBLIC_URL", "must be the URL clients reach the server at, like https://mcp.example.com"
    )
    redis_url: SecretStr | None = _hosted("REDIS_URL", "must be a redis://, rediss:// or unix:// URL with a host")
    http_max_connections: Annotated[int, Field(ge=10, le=100_000)] = _hosted(
        "HTTP_MAX_CONNECTIONS", "must be a whole number from 10 to 100000", 500
    )
    http_idle_seconds: Annotated[float, Field(gt=0, le=3600)] = _hosted(
        "HTTP_IDLE_SECONDS", "must be a number of seconds from 0.1 to 3600", 10.0
    )
    audit_retention_days: Annotated[float, Field(ge=1, le=36_500)] = _hosted(
        "AUDIT_RETENTION_DAYS", "must be a number of days from 1 to 36500", 90.0
    )

    @field_validator("http_tokens", mode="before")
    @classmethod
    def _static_tokens(cls, raw: object) -> object:
        """`scope:sha256hex` entries, comma-separated; the hex is the SHA-256 of the bearer token."""
        if not isinstance(raw, str):
            return raw
        entries = []
        for n, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
            if not entry:
                continue
            scope, _, digest = entry.partition(":")
            if scope not in ("read", "write") or not re.fullmatch(r"[0-9a-f]{64}", digest.lower()):
                raise ValueError(f"entry {n}")  # its position only: a pasted plaintext token must not be repeated
            entries.append((scope, digest.lower()))
        return tuple(entries)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None:
            return url
        try:
            parts = urlsplit(url.get_secret_value())
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise ValueError("unparseable") from exc
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
            raise ValueError("not a redis URL")
        return url

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
        raw = _present(environ)
        values: dict[str, Any] = dict(raw)
        problems = _read_flags(raw, values, {"read_only": read_only, "sandbox": sandbox})
        if "log_level" in values:
            values["log_level"] = values["log_level"].upper()
        audit = raw.get("audit_log", "")
        default = sandbox_audit_log() if values.get("sandbox") else default_audit_log()
        values["audit_log"] = None if audit.lower() == "off" else Path(audit).expanduser() if audit else default
        if values.get("sandbox"):
            values.setdefault("store_hash", "sandbox")
            values.setdefault("access_token", "sandbox-token")
        problems += [
            f"{_FIELDS[field]} is not set ({missing})" for field, missing in _MISSING.items() if field not in values
        ]
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems += _explain(exc, raw, problems)
        if problems:
            raise ConfigError("Configuration error: " + "; ".join(problems) + ".")
        return settings


def _present(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings field -> its variable's value, stripped, for the variables that are set. A host that substitutes
    nothing for an unset bundle option may pass "${user_config.x}" through: that counts as unset."""
    return {
        field: value.strip()
        for field, name in _FIELDS.items()
        if (value := environ.get(name, "")).strip() and not value.startswith("${")
    }


def _read_flags(raw: dict[str, str], values: dict[str, Any], overrides: dict[str, bool | None]) -> list[str]:
    """Turn the true/false variables into booleans in `values` (a command-line flag wins); the problems found."""
    problems = []
    for field in ("read_only", "sandbox", "confirm_without_preview", "hide_emails"):
        if overrides.get(field):
            values[field] = True
        elif field in raw:
            flag = raw[field].lower()
            if flag not in _TRUE + _FALSE:
                problems.append(f"{_FIELDS[field]} {_HINTS[field]}, not {raw[field][:20]!r}")
            values[field] = flag in _TRUE
    return problems


def _explain(exc: ValidationError, raw: dict[str, str], said: list[str]) -> list[str]:
    """One sentence per malformed variable not already in `said`; a secret's value is never repeated."""
    problems: list[str] = []
    by_alias = {alias: field for field, alias in _FIELDS.items()}
    for error in exc.errors():
        if not error["loc"]:  # a rule across fields: the OAuth settings go together
            oauth = [_FIELDS[f] for f in ("oauth_issuer", "oauth_audience", "oauth_jwks_url")]
            problems.append(f"{oauth[0]}, {oauth[1]} and {oauth[2]} must be set together")
            continue
        field = by_alias.get(str(error["loc"][0]), str(error["loc"][0]))
        if field in _FIELDS and not any(_FIELDS[field] in p for p in said + problems):
            value = raw.get(field, "")
            secret = field in _SECRET_FIELDS or "@" in value  # a URL's password stays unsaid
            shown = "" if secret else f", not {value[:60]!r}"
            if field == "http_tokens":
                shown = f"; {str(error.get('msg', '')).removeprefix('Value error, ')} is not (its text is not repeated)"
            problems.append(f"{_FIELDS[field]} {_HINTS[field]}{shown}")
    return problems


#: Fields whose values are never repeated in an error (a token, or text that may be one).
_SECRET_FIELDS = ("access_token", "http_tokens", "redis_url")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Settings field -> the environment variable it is read from; derived from the one declaration per field.
_FIELDS: dict[str, str] = {field: str(info.alias) for field, info in Settings.model_fields.items()}
#: What a malformed value is told, after the variable's name.
_HINTS: dict[str, str] = {field: str(info.description) for field, info in Settings.model_fields.items()}


def env_var(field: str) -> str:
    """The environment variable a settings field is read from (`env_var("redis_url")` -> `BIGCOMMERCE_REDIS_URL`)."""
    return _FIELDS[field]


_MISSING = {
    "store_hash": "the store hash from your API path, e.g. 'abc123'",
    "access_token": "the access token of a store-level API account",
}

#: Every variable `Settings.from_env` reads (the README's and the manifest's drift tests compare against this).
ENV_VARS = tuple(_FIELDS.values())
#: The variables only hosted mode (`serve-http`) reads.
HOSTED_ENV_VARS = tuple(
    _FIELDS[field]
    for field, info in Settings.model_fields.items()
    if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("hosted")
)
