"""Command line: `mcp-bigcommerce-segments` / `python -m mcp_bigcommerce_segments`."""

import argparse
import gc
import logging
import os
import sys

import anyio

from . import __version__
from .check import run_check
from .config import Settings
from .demo import run_demo
from .errors import ConfigError
from .server import build_server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-bigcommerce-segments",
        description="MCP server (stdio) that manages which shopper profiles belong to a BigCommerce customer "
        "segment. Configure it with BIGCOMMERCE_STORE_HASH and BIGCOMMERCE_ACCESS_TOKEN.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--read-only", action="store_true", help="offer only the listing tool; never add or remove")
    parser.add_argument("--sandbox", action="store_true", help="serve a built-in in-memory practice store; no token")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration, the store, the token and its scope, then exit (0: all set, 1: not)",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "demo"],
        default="serve",
        help="serve (default): MCP over stdio; demo: a scripted session against the sandbox, printed as a transcript",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, configure logging to stderr, and serve MCP over stdio until stdin closes."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return anyio.run(run_demo, sys.stdout)
    try:
        settings = Settings.from_env(os.environ, read_only=args.read_only or None, sandbox=args.sandbox or None)
    except ConfigError as exc:
        sys.stderr.write(f"mcp-bigcommerce-segments: {exc}\n")
        return 2
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.check:
        return anyio.run(run_check, settings)
    server = build_server(settings)
    # Everything alive now lives as long as the process: take it out of the collector's sight. Later collections
    # get cheaper, and exit after stdin closes drops from ~300 ms (the final collection) to ~20 ms.
    gc.freeze()
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
