"""Cold start (spawn to the `tools/list` answer), idle RSS, and exit time after stdin closes, against a bare
MCPServer with three trivial tools. Runs alternate between the two servers."""

import sys
import time
from typing import Any

from .common import ROOT, Figure, RawStdio, memory_kb, our_argv, ratio, server_env

BARE = [sys.executable, str(ROOT / "bench" / "baselines" / "bare_server.py")]


def _one(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    started = time.perf_counter()
    client = RawStdio(argv, env)
    client.initialize()
    client.call("tools/list")
    cold = time.perf_counter() - started
    rss = memory_kb(client.proc.pid, "VmRSS") / 1024
    return cold, rss, client.close()


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    repeats = 2 if quick else 15
    env = server_env("http://127.0.0.1:9")  # never contacted: no tool is called
    samples: dict[str, list[tuple[float, float, float]]] = {"ours": [], "bare": []}
    for _ in range(repeats):
        samples["ours"].append(_one(our_argv(), env))
        samples["bare"].append(_one(BARE, env))
    figures = {
        (name, kind): Figure(f"{name}: {label}", [s[index] * scale for s in samples[name]], unit)
        for name in samples
        for kind, index, label, scale, unit in (
            ("cold", 0, "spawn to tools/list answer", 1000, "ms"),
            ("rss", 1, "RSS after tools/list", 1, "MB"),
            ("exit", 2, "exit after stdin closes", 1000, "ms"),
        )
    }
    lines = [f"{repeats} spawns of each, alternating", *(f.row() for f in figures.values())]
    for kind, target in (("cold", 1.10), ("rss", 1.10)):
        lines.append(ratio(f"{kind}: ours / bare", figures["ours", kind].median, figures["bare", kind].median, target))
    exit_ms = figures["ours", "exit"].median
    lines.append(
        f"{'exit after stdin closes: ours (target <= 50 ms)':<66} {exit_ms:>12.3f} ms  "
        + ("OK" if exit_ms <= 50 else "ABOVE TARGET")
    )
    return lines, {f"{name}_{kind}": f.as_json() for (name, kind), f in figures.items()}
