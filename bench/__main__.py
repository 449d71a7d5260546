"""Run the benchmark suite: `python -m bench [--quick] [--only NAME ...]`.

Each benchmark prints ratios against a baseline measured in the same run and the JSON goes to
bench/results/latest.json. `--quick` is a smoke run for CI: small sizes, no targets judged.
"""

import argparse
import json
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from . import bulk, history, hosted, imports, latency, size, startup, tasks

SUITES: dict[str, Callable[[bool], tuple[list[str], dict[str, Any]]]] = {
    "startup": startup.run,
    "imports": imports.run,
    "latency": latency.run,
    "size": size.run,
    "bulk": bulk.run,
    "tasks": lambda quick: anyio.run(tasks.suite),
    "hosted": hosted.run,
    "history": history.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, one repeat")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), help="run only these benchmarks")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "quick": args.quick,
    }
    for name in args.only or SUITES:
        lines, report = SUITES[name](args.quick)
        sys.stdout.write(f"\n== {name}\n" + "\n".join(lines) + "\n")
        sys.stdout.flush()
        results[name] = report
    out = Path(__file__).parent / "results" / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(f"\nJSON: {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
