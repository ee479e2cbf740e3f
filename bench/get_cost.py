"""Benchmark: the client CPU of one GET, the floor under the engine's no-op plan.

Kaleyra has no list, so a plan reads each of its rooms with one GET: at N = 10,000 (2,000
Kaleyra rooms) that CPU alone decides much of the plan's time. This measures `--requests`
single-room GETs (Telnyx's, the same size of answer) at `--concurrency` against the
sandbox with `--latency-ms` of latency, through bare httpx (one pool, and pools of
`POOL_SHARD` connections, httpcore's cheapest) and through reconcile's own HttpClient
(aiohttp under httpx, with retries, size cap, time bound, origin checks). Prints wall and
CPU time per client; asserts nothing.

Run: python bench/get_cost.py [--requests 2000] [--concurrency 64] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from sandbox import TELNYX_KEY, start_server  # noqa: E402 - bench/sandbox.py

from reconcile.engine.http import HttpClient  # noqa: E402

# httpcore scans every pooled connection for every queued request (encode/httpcore#1035):
# pools of 4 are the cheapest way to run 64 connections through it.
POOL_SHARD = 4
from reconcile.sandbox.client import SandboxControl  # noqa: E402

Get = Callable[[int, str], Awaitable[int]]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(get: Get, ids: list[str], concurrency: int) -> tuple[float, float]:
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int, room_id: str) -> int:
        async with slots:
            return await get(index, f"/v2/rooms/{room_id}")

    wall, cpu = time.perf_counter(), cpu_seconds()
    statuses = await asyncio.gather(*(one(i, room_id) for i, room_id in enumerate(ids)))
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    if set(statuses) != {200}:
        sys.exit(f"unexpected statuses: {sorted(set(statuses))}")
    return wall, cpu


async def bare_httpx(base: str, ids: list[str], concurrency: int, per_pool: int
                     ) -> tuple[float, float]:
    pools = [httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TELNYX_KEY}"},
                               limits=httpx.Limits(max_connections=per_pool))
             for _ in range(max(1, concurrency // per_pool))]

    async def get(index: int, path: str) -> int:
        return (await pools[index % len(pools)].get(path)).status_code

    try:
        return await drive(get, ids, concurrency)
    finally:
        await asyncio.gather(*(pool.aclose() for pool in pools))


async def reconcile_client(base: str, ids: list[str], concurrency: int) -> tuple[float, float]:
    async with HttpClient(base, headers={"Authorization": f"Bearer {TELNYX_KEY}"},
                          connections=concurrency) as http:
        async def get(index: int, path: str) -> int:
            return (await http.request("GET", path)).status_code

        return await drive(get, ids, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    server, root = start_server(1, "--latency-ms", str(options.latency_ms))
    try:
        with SandboxControl(root) as control:
            rooms = control.seed("telnyx", TELNYX_KEY, "rooms",
                                 [{"unique_name": f"sync-{i}"} for i in range(options.requests)])
        ids, base, n = [room["id"] for room in rooms], f"{root}/telnyx", options.concurrency
        clients: dict[str, Callable[[], Awaitable[tuple[float, float]]]] = {
            f"httpx, one pool of {n}": lambda: bare_httpx(base, ids, n, n),
            f"httpx, pools of {POOL_SHARD}": lambda: bare_httpx(base, ids, n, POOL_SHARD),
            "reconcile HttpClient": lambda: reconcile_client(base, ids, n),
        }
        print(f"{options.requests} GETs, concurrency {n}, {options.latency_ms:g} ms latency"
              f" (best of {options.runs})")
        print(f"{'client':<26} {'wall s':>7} {'cpu s':>6} {'cpu ms/GET':>11}")
        for name, run in clients.items():
            wall, cpu = min(asyncio.run(run()) for _ in range(options.runs))
            print(f"{name:<26} {wall:7.2f} {cpu:6.2f} {cpu / len(ids) * 1000:11.3f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
