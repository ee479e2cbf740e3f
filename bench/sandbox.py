"""Benchmark: requests per second of `reconcile sandbox serve` on loopback.

Starts the sandbox in a subprocess (uvicorn picks uvloop and httptools when installed),
seeds rooms through the control API, then drives each workload with a concurrent
httpx.AsyncClient, bounded both in requests and in time, and prints a table of
requests/s and p50/p99 latency. Target on the reference machine (2 cores): >= 1,500 list
requests/s. Prints figures; asserts nothing.

Run: python bench/sandbox.py [--requests N] [--seconds S] [--concurrency C] [--rooms R]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconcile.sandbox.client import SandboxControl  # noqa: E402
from reconcile.sandbox.core import DEFAULT_CREDENTIALS  # noqa: E402

TWILIO_SID, TWILIO_TOKEN = DEFAULT_CREDENTIALS["twilio"]
TELNYX_KEY = DEFAULT_CREDENTIALS["telnyx"][1]
SIGNALWIRE_TOKEN = DEFAULT_CREDENTIALS["signalwire"][1]

# One request: (method, url, json body or None). A workload makes the i-th request.
Request = tuple[str, str, Any]
Workload = Callable[[int], Request]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    errors: int
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0


def start_server(seed: int, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`reconcile sandbox serve` on a free port (extra: more serve options)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile.sandbox.cli", "serve", "--port", "0",
         "--seed", str(seed), *extra],
        cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    for line in process.stdout:
        match = re.match(r"reconcile sandbox listening on (\S+)", line)
        if match:
            return process, match[1]
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the sandbox did not start: {process.communicate()[1]}")


def seed(control: SandboxControl, rooms: int) -> dict[str, list[str]]:
    """Rooms for each provider the workloads read; returns their ids."""
    started = time.perf_counter()
    telnyx = control.seed("telnyx", TELNYX_KEY, "rooms",
                          [{"unique_name": f"sync-{i}"} for i in range(rooms)])
    twilio = control.seed("twilio", TWILIO_SID, "rooms",
                          [{"unique_name": f"standup-{i}"} for i in range(rooms)])
    control.seed("signalwire", "acme", "rooms", [{"name": f"huddle-{i}"} for i in range(rooms)])
    print(f"seeded {3 * rooms} rooms in {time.perf_counter() - started:.2f} s")
    return {"telnyx": [r["id"] for r in telnyx], "twilio": [r["sid"] for r in twilio]}


def walk(client: httpx.Client, first: str, next_of: Callable[[dict[str, Any]], str | None],
         limit: int) -> list[str]:
    """The URLs of up to `limit` successive pages, following the API's own links."""
    urls, url = [], first
    while url and len(urls) < limit:
        urls.append(url)
        response = client.get(url)
        response.raise_for_status()
        url = next_of(response.json())
    return urls


def workloads(base: str, ids: dict[str, list[str]], rooms: int
              ) -> dict[str, tuple[Workload, dict[str, str]]]:
    """name -> (request maker, headers). Page URLs are collected up front."""
    telnyx, twilio = f"{base}/telnyx/v2/rooms", f"{base}/twilio/v1/Rooms"
    telnyx_headers = {"Authorization": f"Bearer {TELNYX_KEY}"}
    twilio_headers = {"Authorization": "Basic " + _basic(TWILIO_SID, TWILIO_TOKEN)}
    signalwire_headers = {"Authorization": "Basic " + _basic("project", SIGNALWIRE_TOKEN)}
    pages = max(1, rooms // 20)
    with httpx.Client(headers=twilio_headers) as client:
        twilio_pages = walk(client, f"{twilio}?PageSize=20",
                            lambda body: body["meta"]["next_page_url"], pages)
    with httpx.Client(headers=signalwire_headers) as client:
        signalwire_pages = walk(client, f"{base}/signalwire/acme/api/video/rooms?page_size=20",
                                lambda body: body["links"].get("next"), pages)
    telnyx_pages = [f"{telnyx}?page[number]={n}&page[size]=20" for n in range(1, pages + 1)]
    counter = itertools.count()

    def telnyx_list(i: int) -> Request:
        return "GET", telnyx_pages[i % len(telnyx_pages)], None

    def telnyx_max_page(i: int) -> Request:
        number = i % max(1, rooms // 250) + 1
        return "GET", f"{telnyx}?page[number]={number}&page[size]=250", None

    def twilio_list(i: int) -> Request:
        return "GET", twilio_pages[i % len(twilio_pages)], None

    def signalwire_list(i: int) -> Request:
        return "GET", signalwire_pages[i % len(signalwire_pages)], None

    def telnyx_create(i: int) -> Request:
        return "POST", telnyx, {"unique_name": f"bench-{next(counter)}", "max_participants": 10}

    def telnyx_mixed(i: int) -> Request:
        slot = i % 10
        if slot < 6:
            return telnyx_list(i)
        if slot < 8:
            return "GET", f"{telnyx}/{ids['telnyx'][i % len(ids['telnyx'])]}", None
        if slot < 9:
            return telnyx_create(i)
        return ("PATCH", f"{telnyx}/{ids['telnyx'][i % len(ids['telnyx'])]}",
                {"max_participants": 10 + i % 40})

    return {
        "telnyx list (20/page)": (telnyx_list, telnyx_headers),
        "telnyx list (250/page)": (telnyx_max_page, telnyx_headers),
        "twilio list (20/page)": (twilio_list, twilio_headers),
        "signalwire list (20/page)": (signalwire_list, signalwire_headers),
        "telnyx create": (telnyx_create, telnyx_headers),
        "telnyx mixed 60/20/10/10": (telnyx_mixed, telnyx_headers),
    }


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


async def drive(name: str, make: Workload, headers: dict[str, str], *, requests: int,
                seconds: float, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    numbers: Iterator[int] = iter(range(requests))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        # A client per connection: httpcore's pool rescans every connection on each
        # request, which costs more than the request itself beyond a few connections.
        async with httpx.AsyncClient(headers=headers, timeout=30,
                                     limits=httpx.Limits(max_connections=1)) as client:
            for i in numbers:
                if time.perf_counter() > deadline:
                    return
                method, url, body = make(i)
                sent = time.perf_counter()
                response = await client.request(method, url, json=body)
                latencies.append(time.perf_counter() - sent)
                errors += response.status_code >= 400

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Result(name, len(latencies), elapsed, errors, latencies)


def print_table(results: list[Result]) -> None:
    print(f"\n{'workload':<28}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}")
    for r in results:
        print(f"{r.name:<28}{r.requests:>9}{r.rate:>9.0f}{r.percentile(0.5):>9.1f}"
              f"{r.percentile(0.99):>9.1f}{r.errors:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=6000, help="per workload")
    parser.add_argument("--seconds", type=float, default=10.0, help="per workload, at most")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rooms", type=int, default=2000, help="seeded per provider")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()  # the client's loop is half the work on loopback
    except ImportError:
        pass

    process, base = start_server(args.seed)
    try:
        with SandboxControl(base) as control:
            ids = seed(control, args.rooms)
            results = []
            for name, (make, headers) in workloads(base, ids, args.rooms).items():
                control.clear_counters()
                result = asyncio.run(drive(name, make, headers, requests=args.requests,
                                           seconds=args.seconds,
                                           concurrency=args.concurrency))
                served = control.counters()["total"]
                if served != result.requests:
                    print(f"warning: {name}: server counted {served}, client sent "
                          f"{result.requests}", file=sys.stderr)
                results.append(result)
        print_table(results)
        print(f"\nconcurrency {args.concurrency}, {args.rooms} rooms per provider, "
              f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    finally:
        process.terminate()
        process.wait(timeout=15)


if __name__ == "__main__":
    main()
