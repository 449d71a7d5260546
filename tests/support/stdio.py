"""A bare JSON-RPC client over a server's stdio, with a deadline on every read.

No schema validation of its own, so benchmark timings are the server's; it speaks the 2025-06-18 handshake, as
Claude Desktop does. A reader thread moves stdout lines into a queue, so a server that hangs fails the read after
`timeout` seconds instead of blocking the test run. Every line must be JSON: stdout carries only the protocol.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

STORE = "abc123"
TOKEN = "test-token-5f2b9c"
ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment (PATH, HOME), plus coverage's variables so that a subprocess is measured too."""
    keep = {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home()), **keep, **extra}


def server_env(api_url: str, audit_log: Path | str, **extra: str) -> dict[str, str]:
    """The environment of a server subprocess pointed at a fake store; nothing from the caller's BIGCOMMERCE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIGCOMMERCE_")}
    return {
        **env,
        "BIGCOMMERCE_STORE_HASH": STORE,
        "BIGCOMMERCE_ACCESS_TOKEN": TOKEN,
        "BIGCOMMERCE_API_URL": api_url,
        "BIGCOMMERCE_AUDIT_LOG": str(audit_log),
        **extra,
    }


def our_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "mcp_bigcommerce_segments", *args]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m mcp_bigcommerce_segments ARGS` to its end, in a clean environment plus `env`; stdin is empty."""
    return subprocess.run(
        our_argv(*args),
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class RawStdio:
    """Drive a stdio MCP server with raw JSON-RPC lines."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], *, stderr: bool = False, timeout: float = 30.0):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
        )
        self._next = 0
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._early: dict[int, tuple[dict[str, Any], int]] = {}  # answers that arrived before they were asked for
        self.stderr_lines: list[bytes] = []
        assert self.proc.stdout is not None
        self._readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True)]
        if stderr:
            assert self.proc.stderr is not None
            self._readers.append(threading.Thread(target=self._collect, args=(self.proc.stderr,), daemon=True))
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: IO[bytes], into: "queue.Queue[bytes]") -> None:
        for line in iter(stream.readline, b""):
            into.put(line)
        into.put(b"")  # end of stream

    def _collect(self, stream: IO[bytes]) -> None:
        self.stderr_lines.extend(iter(stream.readline, b""))

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_lines).decode(errors="replace")

    def write(self, raw: str) -> None:
        """Send one raw line (which need not be JSON)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw.encode() + b"\n")
        self.proc.stdin.flush()

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._next += 1
            message["id"] = self._next
        self.write(json.dumps(message))
        return self._next

    def receive(self, wanted: int) -> tuple[dict[str, Any], int]:
        """The answer to request `wanted`, and the size of its line in bytes.

        Raises:
            TimeoutError: nothing arrived within `timeout` seconds.
            EOFError: the server closed stdout first.
        """
        if wanted in self._early:
            return self._early.pop(wanted)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no answer to request {wanted} in {self.timeout} s") from None
            if not line:
                raise EOFError("the server closed stdout")
            message = json.loads(line)  # stdout carries only the protocol
            if message.get("id") == wanted:
                return message, len(line)
            if isinstance(message.get("id"), int):
                self._early[message["id"]] = (message, len(line))

    def wait_for_notification(self, method: str) -> dict[str, Any]:
        """The next notification named `method` (answers that arrive meanwhile are kept for `receive`).

        Raises:
            TimeoutError: none arrived within `timeout` seconds.
            EOFError: the server closed stdout first.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {method} notification in {self.timeout} s") from None
            if not line:
                raise EOFError("the server closed stdout")
            message = json.loads(line)
            if message.get("method") == method:
                return dict(message)
            if isinstance(message.get("id"), int):
                self._early[message["id"]] = (message, len(line))

    def call(self, method: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
        return self.receive(self.send(method, params))

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool and return its JSON-RPC answer."""
        return self.call("tools/call", {"name": name, "arguments": arguments})[0]

    def initialize(self) -> None:
        self.call(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        )
        self.send("notifications/initialized", notify=True)

    def close(self) -> float:
        """Close stdin and return how long the server took to exit."""
        assert self.proc.stdin is not None
        started = time.perf_counter()
        self.proc.stdin.close()
        self.proc.wait(timeout=self.timeout)
        took = time.perf_counter() - started
        self._release()
        return took

    def _release(self) -> None:
        """Wait for the readers to see the end of their streams, then close the pipes."""
        for reader in self._readers:
            reader.join(timeout=self.timeout)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> "RawStdio":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=self.timeout)
        self._release()
