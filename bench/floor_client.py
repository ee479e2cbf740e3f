"""The floor under `reconcile plan`: the same reads, by a bare script (see bench/floor.py).

`python bench/floor_client.py httpx|aiohttp SPEC.json` reads every account the spec names
the way a no-op plan does, with nothing of reconcile: list pages at the largest page size
(Twilio and SignalWire following their next links, Telnyx its numbered pages, Metered's one
answer), SignalWire's conferences, and one GET per Kaleyra room, `concurrency` at most in
flight per account, accounts at once. Every answer's JSON is parsed. It prints the number
of requests it made.

It imports only the client it is asked for, so its start-up is the floor's too. floor.py
runs it as an imported module with its bytecode compiled, as reconcile's is: a script run
by name is compiled from source every time.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

# GET url -> parsed JSON; each client supplies one.
Get = Callable[[str, dict[str, str]], Awaitable[Any]]
# httpcore scans every pooled connection for every queued request (encode/httpcore#1035):
# pools of 4 connections are the cheapest way through it, so the floor uses them.
POOL_SHARD = 4


async def read_account(get: Get, account: dict[str, Any], concurrency: int) -> int:
    base, provider = account["base"], account["provider"]
    headers: dict[str, str] = account["headers"]
    query = account.get("query", "")
    if provider == "kaleyra":
        slots = asyncio.Semaphore(concurrency)

        async def one(room_id: str) -> None:
            async with slots:
                await get(f"{base}/v2/rooms/{room_id}", headers)

        await asyncio.gather(*(one(room_id) for room_id in account["room_ids"]))
        return len(account["room_ids"])
    if provider == "telnyx":
        def page(n: int) -> str:
            return f"{base}/v2/rooms?page%5Bsize%5D=250&page%5Bnumber%5D={n}"

        first = await get(page(1), headers)
        pages = first["meta"]["total_pages"] or 1
        await asyncio.gather(*(get(page(n), headers) for n in range(2, pages + 1)))
        return pages
    if provider == "metered":
        await get(f"{base}/api/v1/rooms?{query}", headers)
        return 1
    if provider == "twilio":
        return await follow(get, f"{base}/v1/Rooms?PageSize=1000", headers,
                            lambda body: body["meta"]["next_page_url"])
    # signalwire: rooms and conferences, each following links.next
    counts = await asyncio.gather(*(
        follow(get, f"{base}/api/video/{kind}?page_size=1000&include_active_session=true",
               headers, lambda body: body.get("links", {}).get("next"))
        for kind in ("rooms", "conferences")))
    return sum(counts)


async def follow(get: Get, url: str | None, headers: dict[str, str],
                 next_of: Callable[[Any], str | None]) -> int:
    requests = 0
    while url:
        url = next_of(await get(url, headers))
        requests += 1
    return requests


async def with_httpx(spec: dict[str, Any]) -> int:
    import ssl

    import httpx

    # One TLS context for every pool: httpx builds one per client otherwise. The floor
    # reads plain http, so, as reconcile does for http endpoints, its context loads no CA
    # store (about 50 ms of CPU that reconcile does not spend either).
    https = any(account["base"].startswith("https:") for account in spec["accounts"])
    context = ssl.create_default_context() if https else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    async def read(account: dict[str, Any]) -> int:
        shards = max(1, -(-spec["concurrency"] // POOL_SHARD))
        limits = httpx.Limits(max_connections=POOL_SHARD, max_keepalive_connections=POOL_SHARD)
        pools = [httpx.AsyncClient(limits=limits, trust_env=False, verify=context)
                 for _ in range(shards)]
        turn = iter(range(1 << 62))

        async def get(url: str, headers: dict[str, str]) -> Any:
            response = await pools[next(turn) % shards].get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        try:
            return await read_account(get, account, spec["concurrency"])
        finally:
            await asyncio.gather(*(pool.aclose() for pool in pools))

    return sum(await asyncio.gather(*(read(a) for a in spec["accounts"])))


async def with_aiohttp(spec: dict[str, Any]) -> int:
    import aiohttp

    async def read(account: dict[str, Any]) -> int:
        connector = aiohttp.TCPConnector(limit=spec["concurrency"])
        async with aiohttp.ClientSession(connector=connector) as session:
            async def get(url: str, headers: dict[str, str]) -> Any:
                async with session.get(url, headers=headers) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            return await read_account(get, account, spec["concurrency"])

    return sum(await asyncio.gather(*(read(a) for a in spec["accounts"])))


def main() -> None:
    client, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as file:
        spec = json.load(file)
    run = {"httpx": with_httpx, "aiohttp": with_aiohttp}[client]
    print(asyncio.run(run(spec)))


if __name__ == "__main__":
    main()
