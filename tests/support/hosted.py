"""Hosted-mode helpers: a real Redis on a free loopback port, `serve-http` replicas, and a JSON-RPC-over-HTTP caller.

Processes announce readiness on their own output; the helpers wait for that line (with a deadline), never sleep.
"""

import hashlib
import queue
import resource
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx2

from .stdio import ROOT, clean_env

REDIS_MISSING = (
    "redis-server is not installed: `bash scripts/install` installs it (Debian's redis-server, as root), or install it "
    "yourself (apt-get install redis-server / brew install redis)."
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _wait_for(stream: IO[str], needle: str, timeout: float, seen: list[str]) -> None:
    """Read `stream` in a thread until a line contains `needle`; keep reading (and keeping) the rest."""
    found: queue.Queue[bool] = queue.Queue()

    def pump() -> None:
        announced = False
        for line in iter(stream.readline, ""):
            seen.append(line)
            if not announced and needle in line:
                announced = True
                found.put(True)
        if not announced:
            found.put(False)

    threading.Thread(target=pump, daemon=True).start()
    try:
        ok = found.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"no {needle!r} in {timeout} s: {''.join(seen)[-2000:]}") from None
    if not ok:
        raise RuntimeError(f"the process ended before {needle!r}: {''.join(seen)[-2000:]}")


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port, in `tmp`, with no persistence; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError(REDIS_MISSING)
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp), "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        _wait_for(proc.stdout, "Ready to accept connections", 30, seen)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


class Replica:
    """One `serve-http` process."""

    def __init__(self, env: dict[str, str], *args: str, max_files: int | None = None) -> None:
        self.port = free_port()

        def limit_files() -> None:  # in the child: a file-descriptor limit as a small host would have
            if max_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))

        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_bigcommerce_segments", "serve-http", "--port", str(self.port), *args],
            env=clean_env(**{"BIGCOMMERCE_LOG_LEVEL": "INFO", **env}),  # INFO: uvicorn says when it listens
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limit_files if max_files is not None else None,
        )
        assert self.proc.stderr is not None
        try:
            _wait_for(self.proc.stderr, "Uvicorn running on", 60, self.lines)
        except BaseException:
            self.stop(kill=True)
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, *, kill: bool = False) -> int:
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
        code = self.proc.wait(timeout=60)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


class Caller:
    """JSON-RPC over Streamable HTTP, stateless, as an agent framework would send it."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.http = httpx2.Client(timeout=timeout)
        self._next = 0

    def post(
        self, url: str, method: str, params: dict[str, Any] | None = None, *, token: str | None, **headers: str
    ) -> httpx2.Response:
        self._next += 1
        sent = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
            **({"Authorization": f"Bearer {token}"} if token is not None else {}),
            **headers,
        }
        body = {"jsonrpc": "2.0", "id": self._next, "method": method, **({"params": params} if params else {})}
        return self.http.post(f"{url}/mcp", json=body, headers=sent)

    def tool(self, url: str, name: str, arguments: dict[str, Any], *, token: str) -> dict[str, Any]:
        response = self.post(url, "tools/call", {"name": name, "arguments": arguments}, token=token)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    def close(self) -> None:
        self.http.close()
