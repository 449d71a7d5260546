"""Hosted mode: `list_segment_profiles` over Streamable HTTP with 1, 8 and 32 concurrent clients on one replica (calls
per second, p50 and p99 latency) next to the same call over stdio; and three replicas sharing one store's quota
through Redis, adding IDs at once, against the bound the quota sets."""

import math
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve
from tests.support.hosted import Caller, Replica, digest, free_port, redis_server

from .common import STORE, TOKEN, RawStdio, our_argv, server_env

BEARER = "bench-bearer-token-0001"


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**server_env(url), "BIGCOMMERCE_HTTP_TOKENS": f"write:{digest(BEARER)}", **extra}


def _clients(
    url: str, arguments: dict[str, Any], clients: int, calls: int, token: str | None
) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        caller = Caller()
        mine = []
        for _ in range(calls):
            started = time.perf_counter()
            answer = caller.post(
                url, "tools/call", {"name": "list_segment_profiles", "arguments": arguments}, token=token
            )
            assert answer.status_code == 200, answer.text
            mine.append(time.perf_counter() - started)
        caller.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


class _Anchor:
    """The SDK's own streamable_http_app serving the same single GET (baselines/http_anchor.py)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        script = Path(__file__).parent / "baselines" / "http_anchor.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the HTTP anchor did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    calls = 20 if quick else 200
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=None)
    segment = store.add_segment("VIP")
    store.add_members(segment, store.add_profiles(300))
    arguments = {"segment_id": str(segment), "limit": 50, "include_names": False}
    lines: list[str] = []
    report: dict[str, Any] = {}
    with serve(store) as url:
        stdio = RawStdio(our_argv(), server_env(url))
        stdio.initialize()
        timings = []
        for _ in range(calls):
            started = time.perf_counter()
            stdio.tool("list_segment_profiles", arguments)
            timings.append(time.perf_counter() - started)
        stdio.close()
        lines.append(
            f"{'stdio, 1 client: p50 / p99':<50} {statistics.median(timings) * 1000:8.2f} / "
            f"{_p(timings, 0.99) * 1000:.2f} ms, {len(timings) / sum(timings):8.0f} calls/s"
        )
        report["stdio"] = {"p50_ms": statistics.median(timings) * 1000, "calls_per_s": len(timings) / sum(timings)}
        replica = Replica(_env(url))
        anchor = _Anchor(server_env(url))
        try:
            for clients in (1, 8, 32):
                each = max(5, calls // clients)
                # Paired: the anchor, then the server, then the anchor again; the anchor's figure is the median.
                ours_runs, anchor_runs = [], []
                for _ in range(1 if quick else 3):
                    anchor_runs.append(_clients(anchor.url, arguments, clients, each, None))
                    ours_runs.append(_clients(replica.url, arguments, clients, each, BEARER))
                latencies = [x for run, _ in ours_runs for x in run]
                anchored = [x for run, _ in anchor_runs for x in run]
                took = sum(t for _, t in ours_runs)
                p50, p99, rate = statistics.median(latencies) * 1000, _p(latencies, 0.99) * 1000, len(latencies) / took
                a50 = statistics.median(anchored) * 1000
                lines.append(
                    f"{f'HTTP, {clients} clients: p50 / p99':<50} {p50:8.2f} / {p99:.2f} ms, {rate:8.0f} calls/s; "
                    f"SDK anchor p50 {a50:.2f} ms ({p50 / a50:.2f}x)"
                )
                report[f"http_{clients}"] = {"p50_ms": p50, "p99_ms": p99, "calls_per_s": rate, "anchor_p50_ms": a50}
        finally:
            replica.stop()
            anchor.stop()
    lines += _replicas(quick, report)
    return lines, report


def _replicas(quick: bool, report: dict[str, Any]) -> list[str]:
    """Three replicas adding at once, at two sizes (the quota filled exactly, and a part window), against the bound
    the quota sets for their POSTs: (ceil(POSTs / quota) - 1) windows. Medians of the runs."""
    sizes = [(1_000, 50, 5.0, 1, False)] if quick else [(1_000, 50, 5.0, 3, False), (10_000, 150, 3.0, 3, False)]
    sizes += [] if quick else [(10_000, 150, 3.0, 3, True)]
    lines: list[str] = []
    for per_replica, quota, window, repeats, warm in sizes:
        runs = [_replica_run(per_replica, quota, window, warm=warm) for _ in range(repeats)]
        took = statistics.median(r["wall_s"] for r in runs)
        posts = 3 * math.ceil(per_replica / 50)
        bound = (math.ceil(posts / quota) - 1) * window
        limited, lost = sum(r["rate_limited"] for r in runs), sum(r["lost"] for r in runs)
        report[f"replicas_{per_replica}{'_warm' if warm else ''}"] = {"bound_s": bound, "runs": runs, "wall_s": took}
        versus = f" ({took / bound:.2f}x)" if bound else ""
        state = "the shared governor already knows the quota" if warm else "the shared governor's first requests"
        lines.append(
            f"3 replicas x {per_replica:,} IDs, {state} ({posts} POSTs, {runs[0]['requests']} requests in all, "
            f"quota {quota} per {window:g} s, shared through Redis): wall {took:.2f} s (median of {repeats}) against a "
            f"bound of {bound:.2f} s{versus}; 429s {limited}, IDs lost {lost}"
        )
    return lines


def _replica_run(per_replica: int, quota: int, window: float, *, warm: bool) -> dict[str, Any]:
    """One run; `warm`: a call made a window earlier has told the shared governor the store's quota (the state any
    call in the last hour leaves in Redis), so its first-answer rule does not apply to the adds."""
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=quota, window_seconds=window)
    segment = store.add_segment("Black Friday")
    batches = [store.add_profiles(per_replica) for _ in range(3)]
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url, serve(store) as url:
        replicas = [Replica(_env(url, BIGCOMMERCE_REDIS_URL=redis_url)) for _ in range(3)]
        try:
            callers = [Caller(timeout=600) for _ in replicas]
            if warm:
                arguments = {"segment_id": str(segment), "include_names": False}
                callers[0].tool(replicas[0].url, "list_segment_profiles", arguments, token=BEARER)
                time.sleep(window + 0.2)  # that window is over: the adds start a new one
                store.stats.requests.clear()

            def add(n: int) -> None:
                ids = [str(i) for i in batches[n]]
                callers[n].tool(
                    replicas[n].url,
                    "add_profiles_to_segment",
                    {"segment_id": str(segment), "profile_ids": ids},
                    token=BEARER,
                )

            threads = [threading.Thread(target=add, args=(n,)) for n in range(3)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.perf_counter() - started
        finally:
            for replica in replicas:
                replica.stop()
    lost = 3 * per_replica - len(set(store.members(segment)))
    return {
        "wall_s": took,
        "rate_limited": store.stats.rate_limited,
        "lost": lost,
        "requests": len(store.stats.requests),
    }
