"""The HTTP layer every adapter shares: timeouts, retries, rate limits, identity, safety.

- Retries (tenacity) on 429, 5xx and transport errors, with exponential backoff and
  jitter, waiting `Retry-After` when the provider sends it.
- A client-side rate limit where a provider documents one.
- TLS verification is always on (there is no switch to turn it off), credentials go over
  plain HTTP only to loopback (the sandbox), and every request stays on the endpoint's
  origin: a read follows a redirect there (at most `MAX_REDIRECTS`), any other redirect is
  an error, so credentials never reach another host.
- A hostile or broken answer is refused within bounded time and memory: bodies are
  streamed and capped, each attempt has a total-time bound (httpx's read timeout restarts
  with every chunk, so a slow drip would never trip it), paginations are capped and loop
  checked. Each refusal is an `UnusableAnswer` naming the request and what was wrong.
- Error messages never carry credentials: query parameters that hold secrets are masked.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.wait import wait_exponential_jitter

from reconcile import __version__
from reconcile.engine.invalid_http import InvalidHttp
from reconcile.errors import ReconcileError
from reconcile.escape import printable

USER_AGENT = f"reconcile/{__version__} (video rooms as code)"
SECRET_QUERY_NAMES = frozenset({"secretkey", "secret_key", "apikey", "api_key", "token"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
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
MAX_REDIRECTS = 5  # hops a read follows on its own origin (browsers allow 20; APIs need 1)
READ_METHODS = frozenset({"GET", "HEAD"})
MAX_RETRY_AFTER = 60.0  # the longest Retry-After waited (asked for longer, it retries at 60 s)
Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger(__name__)
E = TypeVar("E", bound="UnusableAnswer")


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
    """No usable answer (after retries): refused, dropped, timed out, or (`UnusableAnswer`)
    an answer the client will not use."""

    def __init__(self, method: str, url: str, cause: BaseException,
                 detail: str | None = None) -> None:
        self.method = method
        self.url = redact_url(url)
        self.cause = cause
        detail = detail or _EXPLAINED.get(type(cause))
        super().__init__(f"{method} {self.url} failed: {type(cause).__name__}"
                         + (f" ({detail})" if detail else ""))


# Causes whose class name alone says little to someone reading a failed plan.
_EXPLAINED: dict[type[BaseException], str] = {
    httpx.RemoteProtocolError: "the connection closed before the whole answer came",
}


class UnusableAnswer(TransportError):
    """The provider answered, but with something the client refuses to use: too large,
    not JSON, a redirect, a pagination that loops or never ends, a malformed room. Never
    retried: the same request would get the same answer. (A cut-short body or a slow
    drip is a plain TransportError, retried like a dropped connection.)"""

    def __init__(self, problem: str, *, provider: str | None = None,
                 method: str | None = None, url: str | None = None) -> None:
        self.provider = provider
        self.problem = problem = printable(problem)  # it may quote the answer
        self.method = method or ""
        self.url = redact_url(url) if url else ""
        self.cause = self  # its own cause: the answer, not the connection, was the problem
        who = provider or "the provider"
        where = f" to {method} {self.url}" if method and url else ""
        ReconcileError.__init__(self, f"{who}'s answer{where} is unusable: {problem}")


class BodyTooLarge(UnusableAnswer):
    """More bytes than `HttpSettings.max_body_bytes`: reading stopped there."""


class NotJson(UnusableAnswer):
    """A body that does not parse as JSON (cut short, garbage, HTML from a proxy)."""


class RedirectRefused(UnusableAnswer):
    """A 3xx that is not followed: to another origin (the credentials would go along), in
    answer to a write, looping, past `MAX_REDIRECTS`, or with no usable Location."""


class PaginationError(UnusableAnswer):
    """Pages that loop back, repeat one another, or go on past `max_pages`."""


class LinkRefused(UnusableAnswer, TransportRefused):
    """A link in an answer that leaves the endpoint: it is never followed."""


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


def _context_for(scheme: str) -> ssl.SSLContext:
    """The verifying context for https; for plain http (loopback only, see check_endpoint)
    one that trusts no certificate at all, so that the CA bundle is never loaded for the
    sandbox, and a TLS connection made with it could never succeed."""
    if scheme == "https":
        return _tls_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no CA: refuses all


def segment(value: object) -> str:
    """A value (an id an answer gave) as one path segment: percent-encoded whole, so that
    no `/`, `..`, `?` or control character in it can change the request's target."""
    return quote(str(value), safe="")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(base_url: str, provider: str | None = None) -> None:
    """Refuse plain HTTP to anything but loopback: credentials would travel in clear.
    Parsed as httpx parses it, so the host checked is the host connected to."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme == "https" and url.host:
        return
    if url.scheme == "http" and is_loopback(url.host):
        return
    whose = f"the {provider} credentials" if provider else "credentials"
    port = f":{url.port}" if url.port else ""
    shown = f"{url.scheme}://{url.host}{port}" if url.scheme and url.host else repr(
        redact_url(base_url))  # never the userinfo: it may hold a credential
    raise TransportRefused(
        f"refusing to send {whose} to {shown}: only https://, or http:// on a loopback"
        " address (the sandbox), is allowed, so that no credential travels in clear")


def json_body(response: httpx.Response, provider: str | None = None) -> Any:
    """The answer's JSON; NotJson naming the request and where parsing stopped otherwise
    (never the body itself: it may echo a credential)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" ({exc.msg} at line {exc.lineno} column {exc.colno})" \
            if isinstance(exc, json.JSONDecodeError) else ""
        size = len(response.content)
        raise NotJson(f"the {size:,}-byte body is not JSON{where}", provider=provider,
                      method=response.request.method, url=str(response.request.url)) from None


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


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count:,} bytes"


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


def transient(exc: BaseException) -> bool:
    """A failure the same request may not meet again: a retryable status, or no answer
    at all. An answer refused (`UnusableAnswer`: a redirect, a body too large...) is a
    TransportError too, but repeating the request brings the same answer."""
    if isinstance(exc, HttpError):
        return exc.status in RETRY_STATUSES
    return isinstance(exc, TransportError) and not isinstance(exc, UnusableAnswer)


def unprocessed(exc: BaseException) -> bool:
    """Failures that prove the server did nothing: a 429, or no connection made. The only
    ones worth retrying for a create that has no natural key (Kaleyra's room POST)."""
    if isinstance(exc, HttpError):
        return exc.status == 429
    return isinstance(exc, TransportError) and isinstance(
        exc.cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class _Budget:
    """When one request stops being retried: after `attempts` failures, 429s aside, or
    `rate_limited_attempts` 429s."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.failed = self.limited = 0

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpError) and exc.status == 429:
            self.limited += 1
            return self.limited >= self.settings.rate_limited_attempts
        self.failed += 1
        return self.failed >= self.settings.attempts


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
                 connections: int = 4,
                 sleep: Sleep = asyncio.sleep,
                 provider: str | None = None) -> None:
        check_endpoint(base_url, provider)
        self.provider = provider  # named in UnusableAnswer messages
        self.settings = settings or HttpSettings()
        self.write_limit = write_limit
        self._sleep = sleep
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(httpx.URL(self.base_url))
        self._connections, self._auth = connections, auth
        self._headers = httpx.Headers({
            # identity: a compressed body can inflate a thousandfold inside one chunk,
            # past any size cap; uncompressed, the bytes counted are the bytes held.
            "User-Agent": USER_AGENT, "Accept": "application/json",
            "Accept-Encoding": "identity", **(headers or {})})
        self._timeout = httpx.Timeout(self.settings.timeout,
                                      connect=self.settings.connect_timeout).as_dict()
        self._client: httpx.AsyncClient | None = None  # made on first use

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client, made on first use: an account never read costs nothing."""
        if self._client is None:
            from reconcile.engine.transport import Transport  # aiohttp: only when used

            self._client = httpx.AsyncClient(
                auth=self._auth, follow_redirects=False, trust_env=False,
                transport=Transport(_context_for(self._origin[0]), self._connections))
        return self._client

    def build(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        """The request for `path` under the base URL, with this client's headers and
        timeouts: the URL parsed once (httpx's build_request merges it into the base URL
        and the client's settings anew each time, twice the CPU). No cookies are kept."""
        try:
            url = self.base_url + path if path.startswith("/") else \
                httpx.URL(self.base_url + "/").join(path)  # absolute: refused by _send
            return httpx.Request(method, url, headers=self._headers,
                                 extensions={"timeout": self._timeout}, **kwargs)
        except httpx.InvalidURL as exc:  # a value from an answer, not put through segment()
            raise TransportRefused(f"refusing to send {method} to an invalid address under"
                                   f" {self.base_url}: {exc}") from None

    async def request(self, method: str, path: str, *,
                      retry: Callable[[BaseException], bool] = transient,
                      **kwargs: Any) -> httpx.Response:
        """The 2xx answer, read whole, after retrying what is worth retrying; else
        HttpError, TransportError or (never retried) UnusableAnswer. `retry=unprocessed`
        for a write that must not be repeated once it may have reached the server."""
        retrying = AsyncRetrying(
            stop=_Budget(self.settings),
            wait=self._wait, retry=retry_if_exception(retry), reraise=True,
            sleep=self._sleep)
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    async def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.write_limit is not None and method not in READ_METHODS:
            await self.write_limit.acquire(self._sleep)
        client = self.client
        request = self.build(method, path, **kwargs)
        seen: set[str] = set()  # the addresses asked for, as sent (auth may add a query)
        while True:
            response = await self._send(client, request)
            if response.is_success:
                return response
            if not 300 <= response.status_code < 400:
                raise HttpError(method, str(response.request.url), response)
            request = self._redirected(response, seen)

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request
                    ) -> httpx.Response:
        """One request and its whole answer (read under the size cap), within the total
        time bound."""
        if _origin(request.url) != self._origin:  # credentials never leave the endpoint
            raise TransportRefused(f"refusing to send {redact_url(str(request.url))}: it"
                                   f" leaves {self.base_url}")
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                response = await client.send(request, stream=True)
                try:
                    await self._read(response)
                finally:
                    await response.aclose()
        except InvalidHttp:
            raise UnusableAnswer("it is not valid HTTP/1.1 (its framing or a header is"
                                 " malformed)", url=str(request.url), provider=self.provider,
                                 method=request.method) from None
        except httpx.TransportError as exc:
            # httpx's own words for a Location it cannot parse: the answer's fault.
            if str(exc).startswith("Invalid URL in location header"):
                raise RedirectRefused("a redirect with an unusable Location", url=str(
                    request.url), provider=self.provider, method=request.method) from None
            raise TransportError(request.method, str(request.url), exc) from None
        except TimeoutError as exc:
            raise TransportError(request.method, str(request.url), exc, detail=(
                f"no complete answer within {self.settings.total_timeout:g} s in all; bytes"
                " that come too slowly are a timeout too")) from None
        return response

    async def _read(self, response: httpx.Response) -> None:
        """Read the body into `response`, refusing it past the size cap: by its declared
        length before reading any, else as soon as the count passes the cap."""
        cap = self.settings.max_body_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise self._unusable(response, f"it is {encoding}-encoded, though reconcile asks"
                                           " for uncompressed answers (so that its size cap"
                                           " bounds memory)", UnusableAnswer)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._unusable(response, f"its body is {int(declared):,} bytes, over the"
                                           f" {_size(cap)} cap", BodyTooLarge)
        # h11 reads a declared length exactly, never more, unless the answer is chunked
        # too (chunked wins): only those two cases need counting.
        if not declared.isdigit() or "transfer-encoding" in response.headers:
            response.stream = _Capped(response.stream, cap, lambda: self._unusable(
                response, f"its body goes on past the {_size(cap)} cap; reading stopped"
                          " there", BodyTooLarge))
        await response.aread()

    def _redirected(self, response: httpx.Response, seen: set[str]) -> httpx.Request:
        """The request a redirect asks for, when it may be followed: a read, to this
        endpoint's own origin, not seen before, within MAX_REDIRECTS. Else RedirectRefused;
        its message names only the host, since the rest of a Location may hold a token."""
        status, sent, target = response.status_code, response.request, response.next_request
        seen.add(str(sent.url))
        if target is None:  # httpx names the next request of 301, 302, 303, 307 and 308
            problem = ("with no Location" if "location" not in response.headers else
                       "of a kind that is never followed")
        elif _origin(target.url) != self._origin:
            url = target.url
            where = url.host if url.host != sent.url.host else \
                f"{url.scheme}://{url.host}:{url.port or ''}".rstrip(":")
            problem = (f"to {where}; reconcile follows redirects only on the endpoint's own"
                       " origin (the credentials would go along)")
        elif sent.method not in READ_METHODS:
            problem = (f"in answer to a {sent.method}; a write is never sent again"
                       " elsewhere (apply's next plan shows where it stands)")
        elif str(target.url) in seen:
            problem = "that loops back to an address already asked for"
        elif len(seen) > MAX_REDIRECTS:
            problem = f"after {MAX_REDIRECTS} redirects already followed"
        else:
            log.debug("%s %s: %d, following it on the same origin", sent.method,
                      redact_url(str(sent.url)), status)
            return target
        raise self._unusable(response, f"{status}, a redirect {problem}", RedirectRefused)

    def _unusable(self, response: httpx.Response, problem: str, kind: type[E]) -> E:
        return kind(problem, provider=self.provider, method=response.request.method,
                    url=str(response.request.url))

    def local_path(self, url: str) -> str:
        """A link the provider returned (a next page) as a path under this client's base
        URL. Anything elsewhere is refused: credentials never leave the endpoint."""
        base = self.base_url
        if not url.startswith(base + "/"):
            raise TransportRefused(f"refusing to follow {redact_url(url)}: it leaves {base}")
        return url[len(base):]

    async def link_pages(self, first: httpx.Response, next_link: Callable[[Any], Any],
                         *, parse: Callable[[httpx.Response], Any] | None = None,
                         max_pages: int | None = None) -> AsyncIterator[Any]:
        """The pages of a list whose pages name the next one (each as `parse` reads it,
        JSON by default), followed verbatim on this endpoint only. A link seen before,
        or more than `max_pages` pages, is a PaginationError."""
        parse = parse or functools.partial(json_body, provider=self.provider)
        limit = max_pages if max_pages is not None else self.settings.max_pages
        response, seen, count = first, {str(first.request.url)}, 1
        while True:
            page = parse(response)
            yield page
            link = next_link(page)
            if not link:
                return
            if not isinstance(link, str):
                raise self._unusable(response, "its next-page link is not a string",
                                     PaginationError)
            if link in seen:
                raise self._unusable(response, f"the pagination loops back to"
                                               f" {redact_url(link)}", PaginationError)
            seen.add(link)
            count += 1
            if count > limit:
                raise self._unusable(response, f"the list goes on past {limit:,} pages;"
                                               " refusing to follow it further",
                                     PaginationError)
            try:
                path = self.local_path(link)
            except TransportRefused as refused:  # the answer's fault: the account's read fails
                raise self._unusable(response, str(refused), LinkRefused) from None
            response = await self.request("GET", path)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        backoff = wait_exponential_jitter(multiplier=self.settings.backoff_initial,
                                          max=self.settings.backoff_max)
        return float(backoff(state))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
