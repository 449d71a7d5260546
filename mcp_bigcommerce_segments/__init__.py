"""An MCP server that manages which shopper profiles belong to a BigCommerce customer segment."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-bigcommerce-segments")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
