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
    from .client import BigCommerceClient as BigCommerceClient
    from .config import Settings as Settings
    from .errors import APIConnectionError as APIConnectionError
    from .errors import APIStatusError as APIStatusError
    from .errors import APITimeoutError as APITimeoutError
    from .errors import AuditLogError as AuditLogError
    from .errors import AuthenticationError as AuthenticationError
    from .errors import BadRequestError as BadRequestError
    from .errors import BigCommerceError as BigCommerceError
    from .errors import ConfigError as ConfigError
    from .errors import ConflictError as ConflictError
    from .errors import ConnectFailedError as ConnectFailedError
    from .errors import NotFoundError as NotFoundError
    from .errors import PayloadTooLargeError as PayloadTooLargeError
    from .errors import PermissionDeniedError as PermissionDeniedError
    from .errors import PreviewError as PreviewError
    from .errors import RateLimitError as RateLimitError
    from .errors import RateLimitWaitTooLong as RateLimitWaitTooLong
    from .errors import ResponseShapeError as ResponseShapeError
    from .errors import ServerError as ServerError
    from .errors import UnprocessableEntityError as UnprocessableEntityError
    from .server import build_server as build_server

_ERRORS = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuditLogError",
    "AuthenticationError",
    "BadRequestError",
    "BigCommerceError",
    "ConfigError",
    "ConflictError",
    "ConnectFailedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreviewError",
    "RateLimitError",
    "RateLimitWaitTooLong",
    "ResponseShapeError",
    "ServerError",
    "UnprocessableEntityError",
)
_WHERE = {
    "build_server": "server",
    "Settings": "config",
    "BigCommerceClient": "client",
    **dict.fromkeys(_ERRORS, "errors"),
}

__all__ = ["BigCommerceClient", "Settings", "__version__", "build_server", *_ERRORS]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
