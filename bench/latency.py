"""Per-call latency of `list_segment_profiles` (limit 50) over stdio, against a direct GET and a naive proxy.

Runs are interleaved (ours, naive, direct, SDK floor, ours, ...) so that drift on a shared machine hits all alike.
"""

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .common import ROOT, STORE, TOKEN, Figure, RawStdio, cpu_seconds, our_argv, ratio, server_env

BASELINES = ROOT / "bench" / "baselines"


def _sequential(client: RawStdio, params: dict[str, Any], count: int) -> tuple[list[float], float]:
    """Wall time of each call, and the server's CPU time per call."""
    client.call("tools/call", params)  # warm: first use makes the HTTP client
    timings = []
    cpu_before = cpu_seconds(client.proc.pid)
    for _ in range(count):
        started = time.perf_counter()
        answer, _ = client.call("tools/call", params)
        timings.append(time.perf_counter() - started)
        assert not answer["result"].get("isError"), answer
    return timings, (cpu_seconds(client.proc.pid) - cpu_before) / count


def _in_flight(client: RawStdio, params: dict[str, Any], count: int, window: int) -> float:
    """Calls per second with `window` calls outstanding at any time."""
    started = time.perf_counter()
    sent = done = 0
    waiting: list[int] = []
    while done < count:
        while sent < count and len(waiting) < window:
            waiting.append(client.send("tools/call", params))
            sent += 1
        client.receive(waiting.pop(0))
        done += 1
    return count / (time.perf_counter() - started)


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    count, repeats = (50, 1) if quick else (300, 10)
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=None)
    segment = store.add_segment("VIP")
    store.add_members(segment, store.add_profiles(300))
    # IDs only, like the naive proxy: names cost one more request (a customer look-up per page), measured below.
    list_call = {
        "name": "list_segment_profiles",
        "arguments": {"segment_id": str(segment), "limit": 50, "include_names": False},
    }
    figures: dict[str, list[float]] = {"ours": [], "naive": [], "direct": [], "floor": []}
    cpu: dict[str, list[float]] = {"ours": [], "naive": [], "floor": []}
    throughput: dict[str, list[float]] = {"ours": [], "naive": []}
    with serve(store) as url:
        env = server_env(url)
        page_url = f"{url}/stores/{STORE}/v3/segments/{segment}/shopper-profiles?page=1&limit=50"
        pairs = (("ours", our_argv()), ("naive", [sys.executable, str(BASELINES / "naive_proxy.py")]))
        for repeat in range(repeats):
            # Ours and the naive proxy back to back, in alternating order: each pair shares the machine's mood.
            for name, argv in pairs if repeat % 2 == 0 else pairs[::-1]:
                client = RawStdio(argv, env)
                client.initialize()
                timings, cpu_per_call = _sequential(client, list_call, count)
                figures[name].append(statistics.median(timings))
                cpu[name].append(cpu_per_call)
                throughput[name].append(_in_flight(client, list_call, count, 8))
                client.close()
            fetched = subprocess.run(
                [sys.executable, str(BASELINES / "direct_get.py"), page_url, str(count)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            figures["direct"].append(statistics.median(json.loads(fetched.stdout)))
            bare = RawStdio([sys.executable, str(BASELINES / "bare_server.py")], env)
            bare.initialize()
            timings, cpu_per_call = _sequential(bare, {"name": "ping", "arguments": {}}, count)
            figures["floor"].append(statistics.median(timings))
            cpu["floor"].append(cpu_per_call)
            bare.close()
    ms = {
        name: Figure(label, [v * 1000 for v in values], "ms")
        for name, values, label in (
            ("ours", figures["ours"], "ours: list_segment_profiles over stdio"),
            ("naive", figures["naive"], "naive MCPServer proxy (GET, pydantic model, return it)"),
            ("direct", figures["direct"], "direct httpx2 GET of the same page"),
            ("floor", figures["floor"], "SDK floor: bare MCPServer, trivial tool"),
        )
    }
    ours, naive, direct, floor = (ms[k].median for k in ("ours", "naive", "direct", "floor"))
    paired = [o / n for o, n in zip(figures["ours"], figures["naive"], strict=True)]
    cpu_ms = {
        k: Figure(f"{k}: server CPU time per call", [v * 1000 for v in values], "ms") for k, values in cpu.items()
    }
    rps = {k: Figure(f"{k}: calls per second, 8 in flight", v, "1/s") for k, v in throughput.items()}
    lines = [
        f"{count} sequential calls per run, {repeats} runs interleaved; medians of the per-run medians",
        *(figure.row() for figure in ms.values()),
        f"{'overhead over the direct GET: ours':<66} {ours - direct:>12.3f} ms",
        f"{'overhead over the direct GET: naive':<66} {naive - direct:>12.3f} ms",
        f"{'ours beyond SDK floor + direct GET (our own work)':<66} {ours - floor - direct:>12.3f} ms",
        ratio("ours / naive proxy (ratio of medians)", ours, naive, 0.85),
        f"{'ours / naive proxy, median of the paired runs':<66} {statistics.median(paired):>12.3f} x "
        f"({min(paired):.3f}-{max(paired):.3f})",
        ratio("ours / direct GET", ours, direct),
        *(figure.row() for figure in cpu_ms.values()),
        ratio("server CPU per call: ours / naive", cpu_ms["ours"].median, cpu_ms["naive"].median, 0.85),
        *(figure.row() for figure in rps.values()),
        ratio("throughput ours / naive (higher is better)", rps["ours"].median, rps["naive"].median),
        ratio("time per call, 8 in flight: ours / naive", 1 / rps["ours"].median, 1 / rps["naive"].median, 1.05),
    ]
    report = {k: f.as_json() for k, f in ms.items()} | {f"{k}_per_s": f.as_json() for k, f in rps.items()}
    report |= {f"{k}_cpu_ms": f.as_json() for k, f in cpu_ms.items()}
    return lines, report
