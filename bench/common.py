"""Helpers shared by the benchmarks: statistics, process memory, spawning the server under test."""

import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcp import StdioServerParameters

from tests.support.stdio import RawStdio, our_argv

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


__all__ = ["ROOT", "STORE", "TOKEN", "Figure", "RawStdio", "our_argv", "ratio", "server_env"]
