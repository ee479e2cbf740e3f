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
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from reconcile.engine.invalid_http import InvalidHttp

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


@contextmanager
def _as_httpx() -> Iterator[None]:
    try:
        yield
    except (TimeoutError, aiohttp.ClientError, httpx.TransportError) as exc:
        cause = _cause(exc)
        for kind, mapped in _MAPPED:
            if isinstance(cause, kind):
                # The parser's own words quote the offending bytes: left out, they may
                # hold anything the provider sent.
                text = "" if mapped is InvalidHttp else str(cause)
                raise mapped(text or type(cause).__name__) from cause
        raise


class _Stream(httpx.AsyncByteStream):
    """The answer's body, with its failures mapped as the request's are."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _as_httpx():
            await self._stream.aclose()


class Transport(httpx.AsyncBaseTransport):
    """aiohttp under httpx, failing as httpcore fails. Never reads proxy variables, and
    verifies TLS with the given context."""

    def __init__(self, verify: ssl.SSLContext, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections,
                              max_keepalive_connections=connections)
        self._inner = AiohttpTransport(verify=verify, trust_env=False, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _as_httpx():
            response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Stream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
