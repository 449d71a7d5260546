"""Settings.from_env: required variables, defaults, validation, and the secret kept out of reprs."""

import re
from pathlib import Path

import pytest

from mcp_bigcommerce_segments.config import ENV_VARS, Settings, default_audit_log
from mcp_bigcommerce_segments.errors import ConfigError

BASE = {"BIGCOMMERCE_STORE_HASH": "abc123", "BIGCOMMERCE_ACCESS_TOKEN": "tok-123"}


def test_minimal_environment_gives_defaults() -> None:
    """Store hash and token alone give the production URL and default flags, concurrency, log level and audit log."""
    settings = Settings.from_env(BASE)

    assert settings.base_url == "https://api.bigcommerce.com/stores/abc123/v3"
    assert settings.access_token.get_secret_value() == "tok-123"
    assert (settings.read_only, settings.sandbox, settings.max_concurrency) == (False, False, 10)
    assert settings.log_level == "WARNING"
    assert settings.audit_log == default_audit_log()


def test_missing_variables_are_all_named_at_once() -> None:
    """With nothing set, one configuration error names both the missing store hash and access token."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})

    assert "BIGCOMMERCE_STORE_HASH is not set" in str(caught.value)
    assert "BIGCOMMERCE_ACCESS_TOKEN is not set" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BIGCOMMERCE_STORE_HASH", "abc/../x", "letters and digits"),
        ("BIGCOMMERCE_API_URL", "ftp://example.com", "http(s) URL"),
        ("BIGCOMMERCE_API_URL", "https://x.test/?a=1", "http(s) URL"),
        ("BIGCOMMERCE_READ_ONLY", "maybe", "true or false"),
        ("BIGCOMMERCE_MAX_CONCURRENCY", "11", "1 to 10"),
        ("BIGCOMMERCE_MAX_CONCURRENCY", "2.5", "whole number"),
        ("BIGCOMMERCE_MAX_RETRY_SECONDS", "soon", "number from 0"),
        ("BIGCOMMERCE_LOG_LEVEL", "LOUD", "BIGCOMMERCE_LOG_LEVEL must be one of"),
        ("BIGCOMMERCE_ACCESS_TOKEN", "two words", "spaces"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str, expected: str) -> None:
    """A malformed setting is rejected with an error naming the variable and what value it expects."""
    with pytest.raises(ConfigError, match=name) as caught:
        Settings.from_env({**BASE, name: value})

    assert expected in str(caught.value)


def test_malformed_token_is_not_echoed() -> None:
    """A malformed access token is rejected without the token's value appearing in the error."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "BIGCOMMERCE_ACCESS_TOKEN": "secret value"})

    assert "secret value" not in str(caught.value)


def test_flags_and_overrides() -> None:
    """API URL, read-only, concurrency, audit log off and log level are all read from the environment."""
    settings = Settings.from_env(
        {
            **BASE,
            "BIGCOMMERCE_API_URL": "http://127.0.0.1:8080/",
            "BIGCOMMERCE_READ_ONLY": "TRUE",
            "BIGCOMMERCE_MAX_CONCURRENCY": "4",
            "BIGCOMMERCE_AUDIT_LOG": "off",
            "BIGCOMMERCE_LOG_LEVEL": "debug",
        }
    )

    assert settings.base_url == "http://127.0.0.1:8080/stores/abc123/v3"
    assert settings.read_only is True
    assert settings.max_concurrency == 4
    assert settings.audit_log is None
    assert settings.log_level == "DEBUG"


def test_command_line_flags_win(tmp_path: Path) -> None:
    """A command-line read-only flag applies alongside the environment's audit log path."""
    settings = Settings.from_env({**BASE, "BIGCOMMERCE_AUDIT_LOG": str(tmp_path / "a.jsonl")}, read_only=True)

    assert settings.read_only is True
    assert settings.audit_log == tmp_path / "a.jsonl"


def test_sandbox_needs_no_credentials() -> None:
    """Sandbox mode starts without any store hash or access token."""
    settings = Settings.from_env({"BIGCOMMERCE_SANDBOX": "1"})

    assert settings.sandbox is True
    assert settings.store_hash == "sandbox"


def test_token_is_not_in_repr() -> None:
    """The access token never appears in the settings' repr or str."""
    settings = Settings.from_env({**BASE, "BIGCOMMERCE_ACCESS_TOKEN": "canary-7d1e"})

    assert "canary-7d1e" not in repr(settings)
    assert "canary-7d1e" not in str(settings)


def test_env_vars_lists_every_variable_read() -> None:
    """ENV_VARS is derived from the one declaration per field, and no module names a variable it does not list."""
    package = Path(__file__).parents[1] / "mcp_bigcommerce_segments"
    named = {m for p in package.rglob("*.py") for m in re.findall(r"BIGCOMMERCE_[A-Z_]+", p.read_text())}

    assert {info.alias for info in Settings.model_fields.values()} == set(ENV_VARS)
    assert named - {"BIGCOMMERCE_"} <= set(ENV_VARS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BIGCOMMERCE_API_URL", "http://user:hunter2pw@proxy.test"),
        ("BIGCOMMERCE_API_URL", "https://api.bigcommerce.com?"),
        ("BIGCOMMERCE_API_URL", "https://api.bigcommerce.com#"),
        ("BIGCOMMERCE_API_URL", "http://[::1"),
        ("BIGCOMMERCE_API_URL", "http://a.test/x\ny"),
        ("BIGCOMMERCE_API_URL", "http://a.test:port"),
        ("BIGCOMMERCE_ACCESS_TOKEN", "tökén-with-ümlauts"),
        ("BIGCOMMERCE_ACCESS_TOKEN", "line\nbreak"),
    ],
)
def test_urls_and_tokens_that_would_break_requests_are_one_line_errors(name: str, value: str) -> None:
    """Unusable URLs and tokens give a one-line error naming the variable without leaking passwords or tokens."""
    with pytest.raises(ConfigError, match=name) as caught:
        Settings.from_env({**BASE, name: value})

    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2pw" not in message
    assert "tökén" not in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"BIGCOMMERCE_OAUTH_ISSUER": "https://issuer.example.com"}, "must be set together"),
        (
            {
                "BIGCOMMERCE_OAUTH_ISSUER": "http://issuer.example.com",
                "BIGCOMMERCE_OAUTH_AUDIENCE": "api",
                "BIGCOMMERCE_OAUTH_JWKS_URL": "https://issuer.example.com/jwks",
            },
            "BIGCOMMERCE_OAUTH_ISSUER must be the issuer's https URL",
        ),
        ({"BIGCOMMERCE_HTTP_TOKENS": "admin:abc"}, "BIGCOMMERCE_HTTP_TOKENS must be comma-separated scope:sha256hex"),
        ({"BIGCOMMERCE_HTTP_PUBLIC_URL": "mcp.example.com"}, "BIGCOMMERCE_HTTP_PUBLIC_URL must be the URL"),
    ],
)
def test_hosted_mode_settings_are_checked(extra: dict[str, str], expected: str) -> None:
    """Incomplete or malformed hosted-mode settings are rejected with a message saying what is wrong."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, **extra})

    assert expected in str(caught.value)


def test_hosted_mode_settings_are_read() -> None:
    """Hosted-mode tokens, origins, Redis URL and OAuth settings are read and normalised, the Redis URL kept secret."""
    token_hash = "a" * 64
    settings = Settings.from_env(
        {
            **BASE,
            "BIGCOMMERCE_HTTP_TOKENS": f"read:{token_hash}, write:{token_hash.upper()}",
            "BIGCOMMERCE_HTTP_ALLOWED_ORIGINS": "https://a.example.com/, https://b.example.com",
            "BIGCOMMERCE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "BIGCOMMERCE_OAUTH_ISSUER": "https://issuer.example.com",
            "BIGCOMMERCE_OAUTH_AUDIENCE": "segments-api",
            "BIGCOMMERCE_OAUTH_JWKS_URL": "https://issuer.example.com/jwks.json",
        }
    )

    assert settings.http_tokens == (("read", token_hash), ("write", token_hash))
    assert settings.http_allowed_origins == ("https://a.example.com", "https://b.example.com")
    assert settings.oauth is True
    assert (settings.oauth_issuer, settings.oauth_audience, settings.oauth_jwks_url) == (
        "https://issuer.example.com",
        "segments-api",
        "https://issuer.example.com/jwks.json",
    )
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://127.0.0.1:6379/0"
    assert "6379" not in repr(settings)  # the Redis URL may hold a password: kept like the token


@pytest.mark.parametrize(
    ("extra", "said", "unsaid"),
    [
        ({"BIGCOMMERCE_HTTP_TOKENS": "write:plaintext-token-7a7a"}, "entry 1 is not", "plaintext-token-7a7a"),
        (
            {"BIGCOMMERCE_HTTP_TOKENS": f"read:{'a' * 64},hunter2hunter2"},
            "entry 2 is not (its text is not repeated)",
            "hunter2",
        ),
        ({"BIGCOMMERCE_REDIS_URL": "redis://:pw@h:notaport/0"}, "BIGCOMMERCE_REDIS_URL must be a redis://", "pw@"),
        ({"BIGCOMMERCE_REDIS_URL": "http://cache.example.com"}, "BIGCOMMERCE_REDIS_URL must be a redis://", "cache."),
    ],
)
def test_hosted_secrets_are_refused_by_position_not_repeated(extra: dict[str, str], said: str, unsaid: str) -> None:
    """A malformed token entry is named by its position and a malformed Redis URL in one line; neither is repeated."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(BASE | extra)

    assert said in str(raised.value)
    assert unsaid not in str(raised.value)
    assert "\n" not in str(raised.value)
