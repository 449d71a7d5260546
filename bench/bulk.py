"""Bulk add of 10,000 IDs through the real server over stdio, against the fake on 127.0.0.1 with latency and quota.

Lower bound, for N requests of 50 IDs, quota Q per window W, C in flight, latency L per request:
    windows = ceil(N / Q); r = N - (windows - 1) * Q (requests in the last window)
    T_min = max((windows - 1) * W + ceil(r / C) * L,  ceil(N / C) * L)
"""

import math
import time
from typing import Any

import anyio
from mcp import Client

from mcp_bigcommerce_segments.emulator import FakeBigCommerce, serve

from .common import STORE, TOKEN, Figure, children_matching, memory_kb, our_server, ratio, reset_peak

LATENCY = 0.05
CONCURRENCY = 10


def lower_bound(requests: int, quota: int, window: float, concurrency: int, latency: float) -> float:
    windows = math.ceil(requests / quota)
    last = requests - (windows - 1) * quota
    return max(
        (windows - 1) * window + math.ceil(last / concurrency) * latency, math.ceil(requests / concurrency) * latency
    )


async def one_run(ids_count: int, quota: int, window: float) -> dict[str, float]:
    store = FakeBigCommerce(store_hash=STORE, token=TOKEN, quota=quota, window_seconds=window, latency=LATENCY)
    segment = store.add_segment("Black Friday")
    ids = [str(i) for i in store.add_profiles(ids_count)]
    with serve(store) as url:
        async with Client(our_server(url)) as client:
            await client.list_tools()
            (pid,) = children_matching(["mcp_bigcommerce_segments"])
            idle_kb = memory_kb(pid, "VmRSS")
            reset_peak(pid)
            started = time.perf_counter()
            result = await client.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": ids})
            wall = time.perf_counter() - started
            peak_kb = memory_kb(pid, "VmHWM")
    data: dict[str, Any] = result.structured_content or {}
    lost = ids_count - len(set(store.members(segment)))
    return {
        "wall": wall,
        "rate_limited": store.stats.rate_limited,
        "lost": lost,
        "added": len(data.get("added", [])),
        "requests": store.stats.count("POST"),
        "peak_in_flight": store.stats.peak_in_flight,
        "idle_mb": idle_kb / 1024,
        "peak_mb": peak_kb / 1024,
    }


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    ids_count = 1_000 if quick else 10_000
    plans = [
        ("Standard (150 / 30 s)", 150, 30.0, 1 if quick else 3),
        ("Pro (450 / 30 s)", 450, 30.0, 1 if quick else 5),
    ]
    if quick:
        plans = [("Standard scaled (10 / 1 s)", 10, 1.0, 1), ("Pro scaled (15 / 1 s)", 15, 1.0, 1)]
    lines = [
        f"Bulk add of {ids_count:,} IDs: latency {LATENCY * 1000:.0f} ms per request, {CONCURRENCY} in flight",
        "  T_min = max((ceil(N/Q)-1)*W + ceil(r/C)*L, ceil(N/C)*L), r = N-(ceil(N/Q)-1)*Q",
    ]
    report: dict[str, Any] = {}
    for label, quota, window, repeats in plans:
        runs = [anyio.run(one_run, ids_count, quota, window) for _ in range(repeats)]
        requests = math.ceil(ids_count / 50)
        bound = lower_bound(requests, quota, window, CONCURRENCY, LATENCY)
        wall = Figure(f"{label}: wall time", [r["wall"] for r in runs], "s")
        lines += [
            f"{label}: N={requests} requests, Q={quota}, W={window:g} s, C={CONCURRENCY}, L={LATENCY} s "
            f"-> T_min = {bound:.3f} s",
            wall.row(),
            ratio(f"{label}: wall / T_min", wall.median, bound, 1.05),
            f"{label}: 429s seen {sum(r['rate_limited'] for r in runs):.0f}, IDs lost "
            f"{sum(r['lost'] for r in runs):.0f}, POSTs per run {runs[0]['requests']:.0f}, "
            f"peak in flight {max(r['peak_in_flight'] for r in runs):.0f}",
            f"{label}: server RSS idle {runs[0]['idle_mb']:.1f} MB, peak during the call "
            f"{max(r['peak_mb'] for r in runs):.1f} MB (+{max(r['peak_mb'] - r['idle_mb'] for r in runs):.1f} MB)",
        ]
        report[label] = {"lower_bound_s": bound, "wall": wall.as_json(), "runs": runs}
    return lines, report
