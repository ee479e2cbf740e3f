"""The transport under every HttpClient: aiohttp's, behind httpx's API.

httpx stays the client every adapter and test speaks; what moves bytes is aiohttp, through
`httpx_aiohttp.AiohttpTransport`. A GET costs about a fifth of the CPU it costs through
httpcore (bench/floor.py), and one pool serves any number of connections, where httpcore
scans every pooled connection for every queued request.

What this module adds is the meaning of failures. httpx_aiohttp maps a dropped connection
to `httpx.ConnectTimeout`, which says "nothing was sent", and a body cut short to
`httpx.ReadError`. Here each aiohttp failure becomes the httpx error httpcore raises for
the same event, so retries and `unprocessed()` (may a create be sent again?) judge it as
before: a connection refused or never made is a ConnectError or ConnectTimeout, one that
closed before the whole answer came is a RemoteProtocolError, a read that stalled is a
ReadTimeout.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import TracebackType

import httpx

from reconcile import process
from reconcile.engine.invalid_http import InvalidHttp


@contextmanager
def _no_default_tls_contexts() -> Iterator[None]:
    """While aiohttp is imported: its connector module builds two default TLS contexts at
    import, each loading the system's CA store (about 30 ms of CPU apiece, and their
    memory), though reconcile always hands it a context of its own (`Transport`). Built
    here without loading any CA, aiohttp's verifying default trusts nothing, so any other
    use of it in this process fails closed; its non-verifying one needs no CA anyway.
    Only in the `reconcile` command's own process: a program using reconcile as a library
    may use aiohttp's defaults itself, and keeps them as aiohttp builds them."""
    if not process.OWNED_BY_THE_COMMAND or "aiohttp" in sys.modules:
        yield
        return
    create_default_context = ssl.create_default_context
    ssl.create_default_context = lambda *args, **kwargs: ssl.SSLContext(
        ssl.PROTOCOL_TLS_CLIENT)  # verifies (hostname and chain) with no CA: refuses all
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.create_default_context = create_default_context
        del ssl.SSLContext.set_default_verify_paths  # back to the one it inherits


with _no_default_tls_contexts():
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

# Most specific first: the first class the failure is an instance of wins.
_MAPPED: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),        # refused, unreachable, TLS
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),    # no connection in time
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),           # a read that stalled
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed mid-answer
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),   # body cut short
    (aiohttp.ClientResponseError, InvalidHttp),                # an answer that is no HTTP
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),                  # reset while in use
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientError, httpx.NetworkError),
)


def _cause(exc: BaseException) -> BaseException:
    """The aiohttp failure behind an error httpx_aiohttp already mapped, else `exc`."""
    if isinstance(exc, httpx.TransportError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


class _AsHttpx:
    """Maps an aiohttp failure (or one httpx_aiohttp mapped) to httpx's error for the same
    event. A class rather than a @contextmanager: it wraps every request and every body
    read, and a generator-based one costs several times more to enter and leave."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(exc, (TimeoutError, aiohttp.ClientError, httpx.TransportError)):
            cause = _cause(exc)
            for caught, mapped in _MAPPED:
                if isinstance(cause, caught):
                    # The parser's own words quote the offending bytes: left out, they may
                    # hold anything the provider sent.
                    text = "" if mapped is InvalidHttp else str(cause)
                    raise mapped(text or type(cause).__name__) from cause
        # None: any other exception goes on as it is


_as_httpx = _AsHttpx()


class _Stream(httpx.AsyncByteStream):
    """The answer's body, with its failures mapped as the request's are."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx:
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _as_httpx:
            await self._stream.aclose()


class Transport(httpx.AsyncBaseTransport):
    """aiohttp under httpx, failing as httpcore fails. Never reads proxy variables, and
    verifies TLS with the given context."""

    def __init__(self, verify: ssl.SSLContext, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections,
                              max_keepalive_connections=connections)
        self._inner = AiohttpTransport(verify=verify, trust_env=False, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _as_httpx:
            response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Stream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
