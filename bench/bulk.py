"""Bulk add of 10,000 IDs through the real server over stdio, against the fake on 127.0.0.1 with latency and quota.

Lower bound, for N requests of 50 IDs, quota Q per window W, C in flight, latency L per request:
    windows = ceil(N / Q); r = N - (windows - 1) * Q (requests in the last window)
    T_min = max((windows - 1) * W + ceil(r / C) * L,  ceil(N / C) * L)
"""

import asyncio
import json
import math
import statistics
import time
from typing import Any

import httpx2

from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.serve import serve

from .common import STORE, TOKEN, Figure, RawStdio, memory_kb, our_argv, ratio, reset_peak, server_env

LATENCY = 0.05
CONCURRENCY = 10


def lower_bound(requests: int, quota: int, window: float, concurrency: int, latency: float) -> float:
    windows = math.ceil(requests / quota)
    last = requests - (windows - 1) * quota
    return max(
        (windows - 1) * window + math.ceil(last / concurrency) * latency, math.ceil(requests / concurrency) * latency
    )


def one_run(ids_count: int, quota: int, window: float) -> dict[str, float]:
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=quota, window_seconds=window, latency=LATENCY)
    segment = store.add_segment("Black Friday")
    ids = [str(i) for i in store.add_profiles(ids_count)]
    with serve(store) as url:
        client = RawStdio(our_argv(), server_env(url), timeout=180.0)  # a Standard quota's 10,000 take ~30 s
        client.initialize()
        client.call("tools/list")
        pid = client.proc.pid
        idle_kb = memory_kb(pid, "VmRSS")
        reset_peak(pid)
        started = time.perf_counter()
        answer, _ = client.call(
            "tools/call",
            {"name": "add_profiles_to_segment", "arguments": {"segment_id": str(segment), "profile_ids": ids}},
        )
        wall = time.perf_counter() - started
        peak_kb = memory_kb(pid, "VmHWM")
        client.close()
    data: dict[str, Any] = answer["result"].get("structuredContent") or {}
    lost = ids_count - len(set(store.members(segment)))
    return {
        "wall": wall,
        "rate_limited": store.stats.rate_limited,
        "lost": lost,
        "added": int(data.get("added", 0)),
        "requests": store.stats.count("POST"),
        "peak_in_flight": store.stats.peak_in_flight,
        "idle_mb": idle_kb / 1024,
        "peak_mb": peak_kb / 1024,
    }


async def _raw_posts(url: str, path: str, bodies: list[bytes], workers: int) -> None:
    """The same POSTs over keep-alive sockets with nothing but asyncio: the fake's own floor."""
    host, port = url.split("//")[1].split(":")
    pending = iter(bodies)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for body in pending:
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {TOKEN}\r\nAccept: application/json\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _httpx2_posts(url: str, path: str, bodies: list[bytes], workers: int) -> None:
    """The same POSTs through one httpx2 client with 10 workers and nothing else: the HTTP stack's own floor."""
    pending = iter(bodies)
    headers = {"X-Auth-Token": TOKEN, "Accept": "application/json", "Content-Type": "application/json"}
    async with httpx2.AsyncClient(base_url=url, headers=headers) as client:

        async def worker() -> None:
            for body in pending:
                (await client.post(path, content=body)).raise_for_status()

        await asyncio.gather(*(worker() for _ in range(workers)))


def httpx2_run(ids_count: int) -> float:
    """Wall time of the same POSTs sent by a bare httpx2 client (no quota: the Pro figure fits one window)."""
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=None, latency=LATENCY)
    segment = store.add_segment("Black Friday")
    ids = [str(i) for i in store.add_profiles(ids_count)]
    bodies = [json.dumps(ids[n : n + 50], separators=(",", ":")).encode() for n in range(0, ids_count, 50)]
    with serve(store) as url:
        started = time.perf_counter()
        asyncio.run(_httpx2_posts(url, f"/stores/{STORE}/v3/segments/{segment}/shopper-profiles", bodies, CONCURRENCY))
        return time.perf_counter() - started


def floor_run(ids_count: int, quota: int, window: float) -> float:
    """Wall time of the same requests sent by a bare asyncio client: what the fake itself costs."""
    store = FaultyStore(store_hash=STORE, token=TOKEN, quota=None, window_seconds=window, latency=LATENCY)
    segment = store.add_segment("Black Friday")
    ids = [str(i) for i in store.add_profiles(ids_count)]
    bodies = [json.dumps(ids[n : n + 50], separators=(",", ":")).encode() for n in range(0, ids_count, 50)]
    windows = math.ceil(len(bodies) / quota)
    with serve(store) as url:
        started = time.perf_counter()
        for w in range(windows):
            window_started = time.perf_counter()
            asyncio.run(
                _raw_posts(
                    url,
                    f"/stores/{STORE}/v3/segments/{segment}/shopper-profiles",
                    bodies[w * quota : (w + 1) * quota],
                    CONCURRENCY,
                )
            )
            if w < windows - 1:
                time.sleep(max(0.0, window - (time.perf_counter() - window_started)))
        return time.perf_counter() - started


def run(quick: bool) -> tuple[list[str], dict[str, Any]]:
    ids_count = 1_000 if quick else 10_000
    plans = [
        ("Standard (150 / 30 s)", 150, 30.0, 1 if quick else 2),
        ("Pro (450 / 30 s)", 450, 30.0, 1 if quick else 7),
    ]
    if quick:
        plans = [("Standard scaled (10 / 1 s)", 10, 1.0, 1), ("Pro scaled (15 / 1 s)", 15, 1.0, 1)]
    lines = [
        f"Bulk add of {ids_count:,} IDs: latency {LATENCY * 1000:.0f} ms per request, {CONCURRENCY} in flight",
        "  T_min = max((ceil(N/Q)-1)*W + ceil(r/C)*L, ceil(N/C)*L), r = N-(ceil(N/Q)-1)*Q",
    ]
    report: dict[str, Any] = {}
    for label, quota, window, repeats in plans:
        runs: list[dict[str, float]] = []
        bare: list[float] = []
        stack: list[float] = []  # the httpx2 floor, where the requests fit one window (Pro)
        for _ in range(repeats):  # interleaved, so that all see the same machine
            runs.append(one_run(ids_count, quota, window))
            bare.append(floor_run(ids_count, quota, window))
            if math.ceil(ids_count / 50) <= quota:
                stack.append(httpx2_run(ids_count))
        floors = Figure(f"{label}: bare asyncio client, same requests", bare, "s")
        requests = math.ceil(ids_count / 50)
        bound = lower_bound(requests, quota, window, CONCURRENCY, LATENCY)
        wall = Figure(f"{label}: wall time", [r["wall"] for r in runs], "s")
        lines += [
            f"{label}: N={requests} requests, Q={quota}, W={window:g} s, C={CONCURRENCY}, L={LATENCY} s "
            f"-> T_min = {bound:.3f} s",
            wall.row(),
            floors.row(),
            ratio(f"{label}: wall / T_min", wall.median, bound, 1.05),
            ratio(f"{label}: bare client / T_min (the fake's own cost)", floors.median, bound),
            ratio(f"{label}: wall / bare client", wall.median, floors.median, 1.10),
            f"{label}: wall / bare client, paired runs: "
            + ", ".join(f"{r['wall'] / b:.3f}" for r, b in zip(runs, bare, strict=True)),
            *(
                [
                    Figure(f"{label}: bare httpx2 client (10 workers), same requests", stack, "s").row(),
                    ratio(
                        f"{label}: bare httpx2 client / bare client (the HTTP stack's own cost)",
                        statistics.median(stack),
                        floors.median,
                    ),
                    ratio(f"{label}: wall / bare httpx2 client", wall.median, statistics.median(stack)),
                ]
                if stack
                else []
            ),
            f"{label}: 429s seen {sum(r['rate_limited'] for r in runs):.0f}, IDs lost "
            f"{sum(r['lost'] for r in runs):.0f}, POSTs per run {runs[0]['requests']:.0f}, "
            f"peak in flight {max(r['peak_in_flight'] for r in runs):.0f}",
            f"{label}: server RSS idle {runs[0]['idle_mb']:.1f} MB, peak during the call "
            f"{max(r['peak_mb'] for r in runs):.1f} MB (+{max(r['peak_mb'] - r['idle_mb'] for r in runs):.1f} MB)",
        ]
        report[label] = {"lower_bound_s": bound, "wall": wall.as_json(), "bare_client": floors.as_json(), "runs": runs}
    return lines, report
