"""Command line and composition root: `mcp-bigcommerce-segments` / `python -m mcp_bigcommerce_segments`.

Parses arguments, configures logging to stderr, reads the settings, chooses where requests go (the network, or the
built-in sandbox store) and runs. The heavy imports (the MCP SDK, the sandbox's fake store) happen only once the
arguments ask for them, so `--version` and `--help` answer in milliseconds and a real server never loads the fake.
"""

import argparse
import gc
import logging
import os
import sys
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .client import Transport
    from .config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-bigcommerce-segments",
        description="MCP server (stdio) that manages which shopper profiles belong to a BigCommerce customer "
        "segment. Configure it with BIGCOMMERCE_STORE_HASH and BIGCOMMERCE_ACCESS_TOKEN.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--read-only", action="store_true", help="offer only the read tools; never add, remove or undo")
    parser.add_argument("--sandbox", action="store_true", help="serve a built-in in-memory practice store; no token")
    parser.add_argument(
        "--sandbox-without-scope",
        action="append",
        choices=["orders", "marketing"],
        default=[],
        metavar="{orders,marketing}",
        help="with --sandbox: the practice store answers 403 for that optional scope (Orders read, Marketing read), "
        "to try the server's scope messages; repeatable",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration, the store, the token and its scope, then exit (0: all set, 1: not)",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "serve-http", "demo"],
        default="serve",
        help="serve (default): MCP over stdio; serve-http: MCP over Streamable HTTP at /mcp (hosted mode); demo: a "
        "scripted session against the sandbox, printed as a transcript",
    )
    parser.add_argument("--host", default="127.0.0.1", help="serve-http: the address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="serve-http: the port to listen on (8000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, configure logging to stderr, and serve MCP over stdio until stdin closes."""
    args = _parser().parse_args(argv)
    if args.command == "serve" and not args.check:
        # No collection while the start-up's modules and models are made (all of them live as long as the process,
        # and `_serve` freezes them): a stdio server answers `tools/list` sooner. Enabled again once it serves, or
        # on any way out before.
        gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    """The command the arguments name."""
    # Imported here, not at the top: `--version` and `--help` must not pay for loading the SDK (~0.5 s).
    import anyio

    from .config import Settings
    from .errors import ConfigError

    if args.command == "demo":
        from .demo import run_demo

        return anyio.run(run_demo, sys.stdout)
    try:
        settings = Settings.from_env(os.environ, read_only=args.read_only or None, sandbox=args.sandbox or None)
    except ConfigError as exc:
        if args.check:  # --check reports on stdout, and anything wrong is 1
            sys.stdout.write(f"Configuration: PROBLEM. {exc}\n")
            return 1
        sys.stderr.write(f"mcp-bigcommerce-segments: {exc}\n")
        return 2
    from .redact import install_log_redaction, keep_secret

    keep_secret(settings.access_token.get_secret_value())
    install_log_redaction()  # the HTTP library logs URLs and headers at DEBUG
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    transport = None
    if settings.sandbox:
        # Only a sandbox run loads the fake store (Starlette routes, seeded data); the server describes it.
        from . import sandbox

        transport = sandbox.transport(settings.store_hash, missing_scopes=args.sandbox_without_scope)
    if args.check:
        from .check import run_check

        return anyio.run(run_check, settings, sys.stdout, transport)
    if settings.audit_log is not None:
        from .audit import check_writable
        from .errors import AuditLogError

        try:
            check_writable(settings.audit_log)
        except AuditLogError as exc:
            sys.stderr.write(f"mcp-bigcommerce-segments: {exc}\n")
            return 2
    if args.command == "serve-http":
        return _serve_http(settings, transport, args.host, args.port)
    return _serve(settings, transport)


def _serve_http(settings: "Settings", transport: "Transport | None", host: str, port: int) -> int:
    import importlib.util

    from .errors import ConfigError

    needed = ["uvicorn", "jwt", *(["redis"] if settings.redis_url is not None else [])]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:  # the 'hosted' extra: pip install -e '.[hosted]' from a clone
        sys.stderr.write(
            f"mcp-bigcommerce-segments: serve-http needs the 'hosted' extra ({', '.join(missing)} missing): "
            "pip install 'mcp-bigcommerce-segments[hosted]', or from a clone pip install -e '.[hosted]'\n"
        )
        return 2
    from .hosted.app import serve

    try:
        return serve(settings, host=host, port=port, transport=transport)
    except ConfigError as exc:
        sys.stderr.write(f"mcp-bigcommerce-segments: {exc}\n")
        return 2


def _serve(settings: "Settings", transport: "Transport | None") -> int:
    from .server import build_server

    server = build_server(settings, transport=transport, stop_on_sigterm=True)
    # Everything alive now lives as long as the process: take it out of the collector's sight. Later collections
    # get cheaper, and exit after stdin closes drops from ~300 ms (the final collection) to ~20 ms.
    gc.freeze()
    gc.enable()
    try:
        server.run()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
