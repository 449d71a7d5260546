"""`python -X importtime`: what our package imports beyond `mcp.server`, and how long it takes."""

import subprocess
import sys
from typing import Any

from .common import ROOT, Figure


def _times(code: str) -> dict[str, tuple[int, int]]:
    """module -> (self us, cumulative us) from -X importtime."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stderr
    found: dict[str, tuple[int, int]] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|")
        found[name.strip()] = (int(self_us), int(cumulative))
    return found


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    repeats = 2 if quick else 7
    totals: list[float] = []
    last: dict[str, tuple[int, int]] = {}
    for _ in range(repeats):
        base = _times("import mcp.server")
        # What a real server start imports (the command line defers these until the arguments ask for them).
        ours = _times("import mcp.server; import mcp_bigcommerce_segments.__main__, mcp_bigcommerce_segments.server")
        last = {name: t for name, t in ours.items() if name not in base}
        totals.append(sum(self_us for self_us, _ in last.values()) / 1000)
    total = Figure("our import work beyond mcp.server (sum of self times)", totals, "ms")
    top = sorted(last.items(), key=lambda item: -item[1][1])[:10]
    lines = [
        total.row(),
        f"{'target < 100 ms':<66} {'OK' if total.median < 100 else 'ABOVE TARGET'}",
        "top cumulative imports beyond mcp.server (last run):",
    ]
    lines += [
        f"  {cumulative / 1000:8.1f} ms cumulative {self_us / 1000:7.1f} ms self  {name}"
        for name, (self_us, cumulative) in top
    ]
    return lines, {"total_ms": total.as_json(), "top": {name: t for name, t in top}}
