"""An MCP server that manages which shopper profiles belong to a BigCommerce customer segment.

The public surface: `build_server(settings, transport=...)` makes the MCP server, `Settings` configures it,
`BigCommerceClient` is the HTTP client it uses, and every error it raises on purpose derives from `BigCommerceError`.
These names are imported on first use, so `import mcp_bigcommerce_segments` (and `--version`) stays instant.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("mcp-bigcommerce-segments")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from .client import BigCommerceClient
    from .config import Settings
    from .errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuditLogError,
        AuthenticationError,
        BadRequestError,
        BigCommerceError,
        ConfigError,
        ConflictError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        RateLimitError,
        ResponseShapeError,
        ServerError,
        UnprocessableEntityError,
    )
    from .server import build_server

_WHERE = {
    "build_server": "server",
    "Settings": "config",
    "BigCommerceClient": "client",
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIStatusError",
            "APITimeoutError",
            "AuditLogError",
            "AuthenticationError",
            "BadRequestError",
            "BigCommerceError",
            "ConfigError",
            "ConflictError",
            "NotFoundError",
            "PayloadTooLargeError",
            "PermissionDeniedError",
            "RateLimitError",
            "ResponseShapeError",
            "ServerError",
            "UnprocessableEntityError",
        ),
        "errors",
    ),
}

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuditLogError",
    "AuthenticationError",
    "BadRequestError",
    "BigCommerceClient",
    "BigCommerceError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseShapeError",
    "ServerError",
    "Settings",
    "UnprocessableEntityError",
    "__version__",
    "build_server",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
