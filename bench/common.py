"""Helpers shared by the benchmarks: statistics, process memory, spawning the server under test."""

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
STORE = "bench1"
TOKEN = "bench-token"


@dataclass
class Figure:
    """One measured quantity over repeats."""

    name: str
    values: list[float]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        lo, hi = min(self.values), max(self.values)
        return f"{self.name:<66} {self.median:>12.3f} {self.unit:<6} ({lo:.3f}-{hi:.3f}, n={len(self.values)})"

    def as_json(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": min(self.values),
            "max": max(self.values),
            "unit": self.unit,
            "values": self.values,
        }


def ratio(name: str, ours: float, baseline: float, target: float | None = None) -> str:
    value = ours / baseline if baseline else float("inf")
    verdict = "" if target is None else ("  OK" if value <= target else f"  ABOVE TARGET {target:.2f}x")
    return f"{name:<66} {value:>12.3f} x{verdict}"


def server_env(api_url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "BIGCOMMERCE_STORE_HASH": STORE,
        "BIGCOMMERCE_ACCESS_TOKEN": TOKEN,
        "BIGCOMMERCE_API_URL": api_url,
        "BIGCOMMERCE_AUDIT_LOG": "off",
        **extra,
    }


def our_server(api_url: str, **extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_bigcommerce_segments"], env=server_env(api_url, **extra), cwd=ROOT
    )


def script_server(script: str, api_url: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=[str(ROOT / "bench" / "baselines" / script)], env=server_env(api_url), cwd=ROOT
    )


def our_argv() -> list[str]:
    return [sys.executable, "-m", "mcp_bigcommerce_segments"]


def children_matching(words: Sequence[str]) -> list[int]:
    """PIDs of this process's children whose command line contains all of `words`."""
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if all(w in cmdline for w in words):
                found.append(int(pid))
    return found


def memory_kb(pid: int, field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class RawStdio:
    """A bare JSON-RPC client over a server's stdio: no schema validation of its own, so timings are the server's.

    Speaks the 2025-06-18 handshake, as Claude Desktop does.
    """

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._next = 0
        self._early: dict[int, tuple[dict[str, Any], int]] = {}  # answers that arrived before they were asked for

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> int:
        assert self.proc.stdin is not None
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._next += 1
            message["id"] = self._next
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        return self._next

    def receive(self, wanted: int) -> tuple[dict[str, Any], int]:
        """The answer to request `wanted`, and the size of its line in bytes."""
        assert self.proc.stdout is not None
        if wanted in self._early:
            return self._early.pop(wanted)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server closed stdout")
            message = json.loads(line)
            if message.get("id") == wanted:
                return message, len(line)
            if isinstance(message.get("id"), int):
                self._early[message["id"]] = (message, len(line))

    def call(self, method: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
        return self.receive(self.send(method, params))

    def initialize(self) -> None:
        self.call(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        )
        self.send("notifications/initialized", notify=True)

    def close(self) -> float:
        """Close stdin and return how long the server took to exit."""
        assert self.proc.stdin is not None
        started = time.perf_counter()
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return time.perf_counter() - started
