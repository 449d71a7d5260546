"""`list_recent_changes` and `undo_change`'s look-up against the size of the change record: time and peak memory with
a 1 MB history (the baseline, measured in the same run) and a 200 MB one (about 270 bulk changes of 10,000 IDs).
Reading from the newest end, both ratios should stay near 1 (target: time <= 1.5x, memory <= 1.5x)."""

import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import anyio

from mcp_bigcommerce_segments.audit import AuditLog
from mcp_bigcommerce_segments.integrity import Sealer, derive_key

from .common import STORE, TOKEN, Figure, ratio

SEALER = Sealer(derive_key(TOKEN))


def _history(path: Path, megabytes: float) -> None:
    """A record of bulk changes (10,000 IDs each) about `megabytes` large, then 10 small recent changes."""
    bulk = [str(uuid.uuid4()) for _ in range(10_000)]
    with path.open("w") as handle:
        written, n = 0, 0
        while written < megabytes * 1_000_000:
            for event, field in (("intent", "ids"), ("outcome", "added")):
                line = (
                    SEALER.seal(
                        {
                            "event": event,
                            "change_id": f"c{n:010x}",
                            "store": STORE,
                            "tool": "add_profiles_to_segment",
                            "segment_id": str(uuid.UUID(int=n)),
                            field: bulk,
                        }
                    )
                    + "\n"
                )
                handle.write(line)
                written += len(line)
            n += 1
        for m in range(10):
            for event in ("intent", "outcome"):
                handle.write(
                    SEALER.seal(
                        {
                            "event": event,
                            "change_id": f"d{m:010x}",
                            "store": STORE,
                            "tool": "t",
                            "segment_id": str(uuid.uuid4()),
                            "added": [],
                        }
                    )
                    + "\n"
                )


def _measure(path: Path, repeats: int) -> tuple[Figure, Figure]:
    log = AuditLog(path, sealer=SEALER)
    times, peaks = [], []
    for _ in range(repeats):
        tracemalloc.start()
        started = time.perf_counter()
        scan = anyio.run(log.recent, STORE, 10)
        times.append((time.perf_counter() - started) * 1000)
        peaks.append(tracemalloc.get_traced_memory()[1] / 1_000_000)
        tracemalloc.stop()
        assert len(scan.changes) == 10
    return Figure(f"list_recent_changes, {path.stat().st_size / 1e6:.0f} MB history", times, "ms"), Figure(
        f"peak memory, {path.stat().st_size / 1e6:.0f} MB history", peaks, "MB"
    )


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    repeats = 1 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.jsonl", Path(tmp) / "large.jsonl"
        _history(small, 1)
        _history(large, 5 if quick else 200)
        base_time, base_memory = _measure(small, repeats)
        big_time, big_memory = _measure(large, repeats)
    lines = [
        base_time.row(),
        big_time.row(),
        base_memory.row(),
        big_memory.row(),
        ratio("time, large history / 1 MB history (median)", big_time.median, base_time.median, 1.5),
        ratio("peak memory, large history / 1 MB history (median)", big_memory.median, base_memory.median, 1.5),
    ]
    report = {f.name: f.as_json() for f in (base_time, big_time, base_memory, big_memory)}
    return lines, report
