"""The HTTP layer every adapter shares: timeouts, retries, rate limits, identity, safety.

- Retries (tenacity) on 429, 5xx and transport errors, with exponential backoff and
  jitter, waiting `Retry-After` when the provider sends it.
- A client-side rate limit where a provider documents one.
- TLS verification is always on, credentials go over plain HTTP only to loopback (the
  sandbox), and redirects are not followed.
- Error messages never carry credentials: query parameters that hold secrets are masked.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from reconcile import __version__
from reconcile.errors import ReconcileError

USER_AGENT = f"reconcile/{__version__} (video rooms as code)"
SECRET_QUERY_NAMES = frozenset({"secretkey", "secret_key", "apikey", "api_key", "token"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_PAGES = 10_000  # far beyond any real account at the largest page sizes
POOL_SHARD = 4  # connections per httpx pool (see HttpClient)
MAX_RETRY_AFTER = 60.0  # seconds; a provider asking for longer gets a clear failure instead
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0
    connect_timeout: float = 10.0
    attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 8.0


class TransportRefused(ReconcileError):
    """An endpoint the tool will not send credentials to."""


class HttpError(ReconcileError):
    """A non-2xx answer (after retries), with the provider's own body."""

    def __init__(self, method: str, url: str, response: httpx.Response) -> None:
        self.method = method
        self.url = redact_url(url)
        self.status = response.status_code
        self.response = response
        self.body: Any = _json_or_text(response)
        self.retry_after = _retry_after(response)
        super().__init__(f"{method} {self.url} answered {self.status}")


class TransportError(ReconcileError):
    """The request failed before any answer (after retries): refused, dropped, timed out."""

    def __init__(self, method: str, url: str, cause: BaseException) -> None:
        self.method = method
        self.url = redact_url(url)
        self.cause = cause
        kind = type(cause).__name__
        super().__init__(f"{method} {self.url} failed: {kind}")


def redact_url(url: str) -> str:
    """The URL with secret-bearing query values masked (Metered's secretKey, say)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k.lower() in SECRET_QUERY_NAMES else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*[]")))


class _RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO: mask secret query values there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(arg)) if isinstance(arg, httpx.URL) else arg
                                for arg in record.args)
        return True


logging.getLogger("httpx").addFilter(_RedactUrls())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle costs ~30 ms."""
    return httpx.create_ssl_context(verify=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(base_url: str) -> None:
    """Refuse plain HTTP to anything but loopback: credentials would travel in clear."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return
    raise TransportRefused(
        f"refusing to send credentials to {parts.scheme}://{parts.netloc}: only https://, or"
        " http:// on a loopback address (the sandbox), is allowed")


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, HttpError):
        return exc.status in RETRY_STATUSES
    return isinstance(exc, TransportError)


def unprocessed(exc: BaseException) -> bool:
    """Failures that prove the server did nothing: a 429, or no connection made. The only
    ones worth retrying for a create that has no natural key (Kaleyra's room POST)."""
    if isinstance(exc, HttpError):
        return exc.status == 429
    return isinstance(exc, TransportError) and isinstance(
        exc.cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class RateLimiter:
    """At most `requests` per `period` seconds (a sliding window), shared by coroutines."""

    def __init__(self, requests: int, period: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = requests
        self.period = period
        self._clock = clock
        self._sent: list[float] = []
        self._lock = asyncio.Lock()

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._sent = [t for t in self._sent if now - t < self.period]
                if len(self._sent) < self.requests:
                    self._sent.append(now)
                    return
                await sleep(self.period - (now - self._sent[0]))


class HttpClient:
    """One provider account's connection: base URL, auth, retries, limits."""

    def __init__(self, base_url: str, *, auth: httpx.Auth | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 settings: HttpSettings | None = None,
                 write_limit: RateLimiter | None = None,
                 connections: int = POOL_SHARD,
                 sleep: Sleep = asyncio.sleep) -> None:
        check_endpoint(base_url)
        self.settings = settings or HttpSettings()
        self.write_limit = write_limit
        self._sleep = sleep
        self.base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout)
        # Several small pools rather than one large one: httpcore 1.0 scans every pooled
        # connection for every queued request, which at 64 connections costs ~6 ms of CPU
        # a request against ~0.9 ms at 4 (encode/httpcore#1035).
        limits = httpx.Limits(max_connections=POOL_SHARD, max_keepalive_connections=POOL_SHARD)
        self._clients = [httpx.AsyncClient(
            base_url=base_url, auth=auth, timeout=timeout, follow_redirects=False,
            verify=_tls_context(), trust_env=False, limits=limits,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                     **(headers or {})})
            for _ in range(max(1, -(-connections // POOL_SHARD)))]
        self._in_flight = [0] * len(self._clients)

    async def request(self, method: str, path: str, *,
                      retry: Callable[[BaseException], bool] = _retryable,
                      **kwargs: Any) -> httpx.Response:
        """The 2xx answer, after retrying what is worth retrying; else HttpError or
        TransportError. `retry=unprocessed` for a write that must not be repeated once it
        may have reached the server."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.attempts),
            wait=self._wait, retry=retry_if_exception(retry), reraise=True,
            sleep=self._sleep)
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    async def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.write_limit is not None and method not in ("GET", "HEAD"):
            await self.write_limit.acquire(self._sleep)
        url = path if urlsplit(path).scheme else self.base_url + "/" + path.lstrip("/")
        shard = self._in_flight.index(min(self._in_flight))  # the least busy pool
        self._in_flight[shard] += 1
        try:
            response = await self._clients[shard].request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransportError(method, url, exc) from None
        finally:
            self._in_flight[shard] -= 1
        if response.is_success:
            return response
        raise HttpError(method, str(response.request.url), response)

    def local_path(self, url: str) -> str:
        """A link the provider returned (a next page) as a path under this client's base
        URL. Anything elsewhere is refused: credentials never leave the endpoint."""
        base = self.base_url
        if not url.startswith(base + "/"):
            raise TransportRefused(f"refusing to follow {redact_url(url)}: it leaves {base}")
        return url[len(base):]

    async def link_pages(self, first: httpx.Response, next_link: Callable[[Any], str | None],
                         *, max_pages: int = MAX_PAGES) -> AsyncIterator[Any]:
        """The bodies of a list whose pages name the next one, followed verbatim on this
        endpoint only. A link seen before, or more than `max_pages` pages, is an error."""
        response, seen = first, set()
        while True:
            body = response.json()
            yield body
            link = next_link(body)
            if not link:
                return
            if link in seen:
                raise ReconcileError(f"the provider's pagination loops back to"
                                     f" {redact_url(link)}")
            seen.add(link)
            if len(seen) >= max_pages:
                raise ReconcileError(f"the provider's list goes on past {max_pages:,} pages;"
                                     " refusing to follow it further")
            response = await self.request("GET", self.local_path(link))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        backoff = wait_exponential_jitter(multiplier=self.settings.backoff_initial,
                                          max=self.settings.backoff_max)
        return float(backoff(state))

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """The underlying httpx clients (tests hook their events)."""
        return self._clients

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
