"""Baseline: the same page fetched directly with httpx2 (one shared client), N times; prints per-call seconds."""

import json
import os
import sys
import time

import anyio
import httpx2


async def main(url: str, count: int) -> None:
    headers = {"X-Auth-Token": os.environ["BIGCOMMERCE_ACCESS_TOKEN"], "Accept": "application/json"}
    timings: list[float] = []
    async with httpx2.AsyncClient(headers=headers) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = await client.get(url)
            response.raise_for_status()
            json.loads(response.content)
            timings.append(time.perf_counter() - started)
    sys.stdout.write(json.dumps(timings) + "\n")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
