"""Settings, read once from the environment. The only module that reads environment variables."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from pydantic import SecretStr

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
)

_STORE_HASH_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def default_audit_log() -> Path:
    """The audit log's default place: this app's folder in the user's state directory."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "audit.jsonl"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server is configured with. Build with `from_env`; tests build it directly."""

    store_hash: str
    access_token: SecretStr = field(repr=False)
    api_url: str = DEFAULT_API_URL
    read_only: bool = False
    sandbox: bool = False
    log_level: str = "WARNING"
    max_concurrency: int = MAX_CONCURRENCY
    max_retry_seconds: float = 60.0
    timeout_seconds: float = 30.0
    audit_log: Path | None = None

    @property
    def base_url(self) -> str:
        """`{api_url}/stores/{store_hash}/v3`: every request path hangs below it."""
        return f"{self.api_url.rstrip('/')}/stores/{self.store_hash}/v3"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, read_only: bool | None = None, sandbox: bool | None = None
    ) -> "Settings":
        """Read settings from `environ`; command-line flags, when given, win over the environment.

        Raises:
            ConfigError: naming every missing or malformed variable at once.
        """
        problems: list[str] = []
        # A host that substitutes nothing for an unset bundle option may pass "${user_config.x}" through.
        environ = {k: ("" if v.startswith("${") else v) for k, v in environ.items() if k in ENV_VARS}

        def flag(name: str, override: bool | None) -> bool:
            if override:
                return True
            raw = environ.get(name, "").strip().lower()
            if raw in _TRUE:
                return True
            if raw not in _FALSE:
                problems.append(f"{name} must be true or false, not {raw[:20]!r}")
            return False

        def number(name: str, default: float, low: float, high: float) -> float:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not low <= value <= high:
                problems.append(f"{name} must be a number from {low:g} to {high:g}, not {raw[:20]!r}")
                return default
            return value

        is_sandbox = flag(SANDBOX, sandbox)
        is_read_only = flag(READ_ONLY, read_only)
        store_hash = environ.get(STORE_HASH, "").strip()
        token = environ.get(ACCESS_TOKEN, "").strip()
        if is_sandbox:
            store_hash = store_hash or "sandbox"
            token = token or "sandbox-token"
        if not store_hash:
            problems.append(f"{STORE_HASH} is not set (the store hash from your API path, e.g. 'abc123')")
        elif not _STORE_HASH_RE.fullmatch(store_hash):
            problems.append(f"{STORE_HASH} must be letters and digits only (the 'stores/<hash>' part of the API path)")
        if not token:
            problems.append(f"{ACCESS_TOKEN} is not set (the access token of a store-level API account)")
        elif any(c.isspace() for c in token):
            problems.append(f"{ACCESS_TOKEN} must not contain spaces or line breaks")

        api_url = environ.get(API_URL, "").strip() or DEFAULT_API_URL
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            problems.append(f"{API_URL} must be an http(s) URL like {DEFAULT_API_URL}, not {api_url[:60]!r}")

        log_level = environ.get(LOG_LEVEL, "").strip().upper() or "WARNING"
        if log_level not in _LOG_LEVELS:
            problems.append(f"{LOG_LEVEL} must be one of {', '.join(_LOG_LEVELS)}")
            log_level = "WARNING"

        concurrency = number(MAX_CONCURRENCY_VAR, MAX_CONCURRENCY, 1, MAX_CONCURRENCY)
        if concurrency != int(concurrency):
            problems.append(f"{MAX_CONCURRENCY_VAR} must be a whole number from 1 to {MAX_CONCURRENCY}")
        retry_seconds = number(MAX_RETRY_SECONDS, 60.0, 0, 3600)
        timeout = number(TIMEOUT_SECONDS, 30.0, 1, 600)

        raw_audit = environ.get(AUDIT_LOG, "").strip()
        audit_log: Path | None
        if raw_audit.lower() == "off":
            audit_log = None
        elif raw_audit:
            audit_log = Path(raw_audit).expanduser()
        else:
            audit_log = default_audit_log()

        if problems:
            raise ConfigError("Configuration error: " + "; ".join(problems) + ".")
        return cls(
            store_hash=store_hash,
            access_token=SecretStr(token),
            api_url=api_url.rstrip("/"),
            read_only=is_read_only,
            sandbox=is_sandbox,
            log_level=log_level,
            max_concurrency=int(concurrency),
            max_retry_seconds=retry_seconds,
            timeout_seconds=timeout,
            audit_log=audit_log,
        )
