"""The bounds on what one answer may cost: its size, its time, its pages.

A hostile or broken answer is refused within bounded time and memory: bodies are streamed
and capped (by their declared length before reading any, else as soon as the count passes
the cap), only uncompressed bodies are taken (a compressed one can inflate a thousandfold
inside one chunk), and a body that is not JSON is refused by where parsing stopped, never
by quoting it (it may echo a credential).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reconcile.engine.http_errors import (
    BodyTooLarge,
    NotJson,
    UnusableAnswer,
    parse_json,
    refusal,
)

# A million rooms at Twilio's page size, 250,000 at Telnyx's: far beyond any real account,
# yet an endless `next` chain stops after minutes, not hours.
MAX_PAGES = 1_000
# The largest answer read. A full page of 1,000 Twilio or SignalWire rooms is ~1 MB and
# Metered's unpaginated list of every room ~1 KB a room, so 8 MiB leaves ample room (about
# 8,000 Metered rooms) while a hostile 10 MB or endless body never sits in memory.
MAX_BODY_BYTES = 8 * 1024 * 1024
# Per attempt, from sending the request to the last byte of the answer. httpx's read timeout
# restarts with every chunk, so a provider trickling a byte a second would never trip it.
TOTAL_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0  # connect, pool, read and write, each (httpx)
    connect_timeout: float = 10.0
    attempts: int = 5  # tries of one request (429s aside)
    # 429s, which say the request was not processed and when to come back, are counted
    # apart: at 10 % faults, bursts of them alone used up five tries of about one request
    # in 250, and a plan fails whole when one of its reads does. A provider that is down
    # (refused connections) is still given up on after `attempts`.
    rate_limited_attempts: int = 10
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    total_timeout: float = TOTAL_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES
    max_pages: int = MAX_PAGES


class _Capped(httpx.AsyncByteStream):
    """A response stream that raises once more than `cap` bytes have come."""

    def __init__(self, stream: Any, cap: int, over: Callable[[], Exception]) -> None:
        self._stream, self._cap, self._over = stream, cap, over

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > self._cap:
                raise self._over()
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


def _framing(response: httpx.Response) -> tuple[str, str, bool]:
    """Content-Encoding, Content-Length (each joined with ", " when repeated, as
    `headers.get` gives them) and whether Transfer-Encoding is present, in one pass over
    the raw headers: each `headers.get` decodes every header anew."""
    found: dict[bytes, list[bytes]] = {b"content-encoding": [], b"content-length": [],
                                       b"transfer-encoding": []}
    for name, value in response.headers.raw:
        values = found.get(name.lower())
        if values is not None:
            values.append(value)
    encoding = b", ".join(found[b"content-encoding"]) or b"identity"
    length = b", ".join(found[b"content-length"])
    return (encoding.decode("latin-1").strip().lower(), length.decode("latin-1"),
            bool(found[b"transfer-encoding"]))


async def read_capped(response: httpx.Response, cap: int, provider: str | None) -> None:
    """Read the body into `response`, refusing it past `cap` bytes: by its declared length
    before reading any, else as soon as the count passes the cap."""
    encoding, declared, chunked = _framing(response)
    if encoding not in ("", "identity"):
        raise refusal(response, f"it is {encoding}-encoded, though reconcile asks for"
                                " uncompressed answers (so that its size cap bounds memory)",
                      UnusableAnswer, provider)
    if declared.isdigit() and int(declared) > cap:
        raise refusal(response, f"its body is {int(declared):,} bytes, over the"
                                f" {_size(cap)} cap", BodyTooLarge, provider)
    # h11 reads a declared length exactly, never more, unless the answer is chunked
    # too (chunked wins): only those two cases need counting.
    if not declared.isdigit() or chunked:
        response.stream = _Capped(response.stream, cap, lambda: refusal(
            response, f"its body goes on past the {_size(cap)} cap; reading stopped there",
            BodyTooLarge, provider))
    await response.aread()


def json_body(response: httpx.Response, provider: str | None = None) -> Any:
    """The answer's JSON; NotJson naming the request and where parsing stopped otherwise
    (never the body itself: it may echo a credential)."""
    try:
        return parse_json(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" ({exc.msg} at line {exc.lineno} column {exc.colno})" \
            if isinstance(exc, json.JSONDecodeError) else ""
        size = len(response.content)
        raise NotJson(f"the {size:,}-byte body is not JSON{where}", provider=provider,
                      method=response.request.method, url=str(response.request.url)) from None


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count:,} bytes"
