"""Hostile mode: GET answers (lists and single rooms) that a broken or malicious provider
might send, so that the adapters can be shown to refuse each one in bounded time and
memory. A fault setting like the others (`FaultConfig.hostile`), drawn from the same
seeded sequence; only successful answers to GET requests are made hostile.

| mode | the answer |
| --- | --- |
| `malformed_json` | the first half of the real JSON body (a complete HTTP body) |
| `truncated` | Content-Length of the whole body, half of it sent, then the connection closed |
| `wrong_type` | the first room's `field` (default: its key) of another JSON type |
| `missing_field` | the first room without `field` (default: its id) |
| `loop` | the page links back to itself (Twilio, SignalWire); every Telnyx page is page 1 of
  at least 2; Metered's bare list holds every room twice; a cursor page (Daily) is full
  and every page after it is the same again |
| `endless` | a `next` link to a new, empty page, forever; Telnyx claims 10^9 pages; a
  cursor page is full, and so is each page after it, of new made-up rooms |
| `foreign_link` | the next-page link points at `location` (another host) |
| `huge` | the real body padded to `size_bytes` (10 MB), chunked unless `declare_size` |
| `redirect` | `redirect_status` to `location` plus the request's path and query |
| `moved` | `redirect_status` to the same path and query on the sandbox's own origin, marked
  so that the redirected request gets the real answer (a redirect a client may follow) |
| `slow_drip` | the real body, `drip_bytes` every `drip_interval_s` seconds |

Modes that need pages or a list leave answers without them alone (Kaleyra has neither).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconcile.sandbox import hostile_bodies as bodies
from reconcile.sandbox.declaration import BodyShape

HostileMode = Literal["malformed_json", "truncated", "wrong_type", "missing_field", "loop",
                      "endless", "foreign_link", "huge", "redirect", "moved", "slow_drip"]
# the modes that rewrite the JSON body, where the provider's answer shape says how
SHAPED_MODES = frozenset({"wrong_type", "missing_field", "loop", "endless", "foreign_link"})
HUGE_CHUNK = 64 * 1024
Drop = Callable[[Message, bytes, Send], Awaitable[None]]
MOVED_MARK = "sandbox_moved=1"  # in the query of the request a `moved` redirect asks for


class Hostile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: HostileMode
    rate: float = Field(default=1, ge=0, le=1, description="share of GET answers affected")
    field: str | None = Field(default=None, min_length=1,
                              description="wrong_type, missing_field: the room field")
    size_bytes: int = Field(default=10_000_000, ge=1, le=200_000_000)
    declare_size: bool = Field(default=False, description="huge: send Content-Length")
    location: str = Field(default="http://evil.example", pattern=r"^https?://[^/?#\s]+$",
                          description="redirect, foreign_link: the other host")
    redirect_status: Literal[301, 302, 303, 307, 308] = 302
    drip_bytes: int = Field(default=1, ge=1, le=1_000_000)
    drip_interval_s: float = Field(default=0.2, gt=0, le=60)


async def answer(config: Hostile, provider: str, app: ASGIApp, scope: Scope,
                 receive: Receive, send: Send, drop: Drop) -> None:
    """Answer one GET request in `config.mode` (`drop` is the fault layer's own
    cut-short reply, shared with commit-then-fail)."""
    request = Request(scope)
    own_url = str(request.url)
    if config.mode == "redirect":
        await _send(send, config.redirect_status, b"",
                    [(b"location", bodies.elsewhere(config.location, own_url).encode())])
        return
    if config.mode == "moved":
        marked = own_url + ("&" if request.url.query else "?") + MOVED_MARK
        await _send(send, config.redirect_status, b"", [(b"location", marked.encode())])
        return
    shape = bodies.SHAPES.get(provider)  # every registered provider declares one
    if shape is None and config.mode in SHAPED_MODES:  # an unregistered emulator's
        message = (f"hostile mode {config.mode} needs {provider}'s answer shape, which it"
                   " does not declare (see reconcile/sandbox/declaration.py)")
        await _send(send, 500, message.encode(), [(b"content-type", b"text/plain")])
        return
    page, query = bodies.hostile_page(scope.get("query_string", b"").decode("latin-1"))
    if shape is not None and shape.paging == "numbered" and config.mode == "loop" \
            and bodies.page_number(query, shape.page_param) > 1:
        query = bodies.first_page(query, shape.page_param)
    cursor = None
    if shape is not None and shape.paging == "cursor" and config.mode in ("loop", "endless"):
        # every page is the first one again; endless pages are then made up anew
        cursor = bodies.query_value(query, shape.cursor_param)
        query = bodies.without_param(query, shape.cursor_param)
    start, body = await _capture(app, {**scope, "query_string": query.encode()}, receive)
    if not 200 <= start["status"] < 300:
        await _replay(start, body, send)
    elif config.mode == "malformed_json":
        await _replay(start, body[: len(body) // 2], send)
    elif config.mode == "truncated":
        await drop(start, body, send)
    elif config.mode == "huge":
        await _huge(config, start, body, receive, send)
    elif config.mode == "slow_drip":
        await _drip(config, start, body, receive, send)
    else:
        rewritten = _rewrite(config, shape, body, own_url, page) if shape else body
        if shape is not None and shape.paging == "cursor" \
                and config.mode in ("loop", "endless"):
            rewritten = _fill(config, shape, rewritten, query, cursor)
        await _replay(start, rewritten, send)


def _fill(config: Hostile, shape: BodyShape, raw: bytes, query: str, cursor: str | None
          ) -> bytes:
    """A cursor list's page made full, the same on every page (`loop`) or new on each
    page after the first (`endless`)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    size = int(bodies.query_value(query, shape.limit_param) or shape.page_size)
    salt = cursor if config.mode == "endless" and cursor is not None else None
    return json.dumps(bodies.full_page(body, shape, size, salt)).encode()


def _rewrite(config: Hostile, shape: BodyShape, raw: bytes, own_url: str,
             page: int) -> bytes:
    """The JSON modes: the body as parsed, broken as the mode says, encoded again."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    mode = config.mode
    if mode == "wrong_type":
        body = bodies.break_type(body, shape, config.field)
    elif mode == "missing_field":
        body = bodies.drop_field(body, shape, config.field)
    elif shape.paging == "numbered" and mode in ("loop", "endless"):
        body = bodies.claim_pages(body, shape.page_count,
                                  2 if mode == "loop" else bodies.ENDLESS_PAGES)
    elif shape.paging == "none" and mode == "loop" and isinstance(body, list):
        body = body + body
    elif shape.paging == "link" and mode == "loop":
        body = bodies.set_next(body, shape.next_link, own_url)
    elif shape.paging == "link" and mode == "endless":
        body = bodies.set_next(body, shape.next_link, bodies.endless_link(own_url, page))
        if page > 1:
            body = bodies.without_rooms(body, shape.id_field)
    elif shape.paging == "link" and mode == "foreign_link":
        body = bodies.set_next(body, shape.next_link,
                               bodies.elsewhere(config.location, own_url))
    return json.dumps(body).encode()


def unmarked(scope: Scope) -> Scope | None:
    """The request a `moved` redirect asked for, without its mark; None for any other."""
    query: bytes = scope.get("query_string", b"")
    mark = MOVED_MARK.encode()
    if mark not in query:  # every request passes here: most pay only this test
        return None
    pairs = query.split(b"&")
    if mark not in pairs:
        return None
    return {**scope, "query_string": b"&".join(p for p in pairs if p != mark)}


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """The emulator's real answer: its head and whole body."""
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start, body


def _headers(start: Message, length: int | None) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in start.get("headers", [])
               if k.lower() not in (b"content-length", b"transfer-encoding")]
    return headers + ([(b"content-length", str(length).encode())] if length is not None
                      else [])


async def _send(send: Send, status: int, body: bytes,
                headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _replay(start: Message, body: bytes, send: Send) -> None:
    await send({**start, "headers": _headers(start, len(body))})
    await send({"type": "http.response.body", "body": body})


def _padded(body: bytes, size: int) -> bytes:
    """The body made `size` bytes (at least), still valid JSON: a padding string added
    (to the object, or as one more item of the list)."""
    room = max(0, size - len(body) - len(',"padding":""'))
    pad = b'"' + b"x" * room + b'"'
    stripped = body.rstrip()
    if stripped.endswith(b"}"):
        inner = stripped[:-1].rstrip()
        sep = b"" if inner.endswith(b"{") else b","
        return inner + sep + b'"padding":' + pad + b"}"
    if stripped.endswith(b"]"):
        inner = stripped[:-1].rstrip()
        sep = b"" if inner.endswith(b"[") else b","
        return inner + sep + pad + b"]"
    return body + b" " * room


async def _huge(config: Hostile, start: Message, body: bytes, receive: Receive,
                send: Send) -> None:
    data = _padded(body, config.size_bytes)
    await send({**start, "headers": _headers(start, len(data) if config.declare_size
                                             else None)})
    async with _watch(receive) as gone:
        for offset in range(0, len(data), HUGE_CHUNK):
            if gone.done():
                return  # the client stopped reading: nobody is left to answer
            await send({"type": "http.response.body", "more_body": True,
                        "body": data[offset:offset + HUGE_CHUNK]})
            await asyncio.sleep(0)
    await send({"type": "http.response.body", "body": b""})


async def _drip(config: Hostile, start: Message, body: bytes, receive: Receive,
                send: Send) -> None:
    await send({**start, "headers": _headers(start, len(body))})
    async with _watch(receive) as gone:
        for offset in range(0, len(body), config.drip_bytes):
            await asyncio.sleep(config.drip_interval_s)
            if gone.done():
                return
            await send({"type": "http.response.body", "more_body": True,
                        "body": body[offset:offset + config.drip_bytes]})
    await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def _watch(receive: Receive) -> Any:
    """A task that finishes when the client disconnects."""
    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    task = asyncio.ensure_future(disconnected())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
