"""Serving a fake store over real HTTP on loopback, for the subprocess tests and the benchmarks."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from .store import FakeBigCommerce


@contextmanager
def serve(store: FakeBigCommerce | Starlette, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `store` (or any Starlette app) over real HTTP on `host` (loopback) in a background thread; yields the
    base URL."""
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    app = store if isinstance(store, Starlette) else store.app
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    # The socket listens already, so requests queue until the server accepts them: no need to poll for `started`.
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
