"""The HTTP layer every adapter shares: `HttpClient`, one provider account's connection.

Its rules live beside it, each in a module of its own, and are re-exported here:
- `http_retry`: retries on 429, 5xx and transport errors, with backoff and jitter, waiting
  `Retry-After` when the provider sends it; a client-side rate limit where a provider
  documents one.
- `http_origin`: TLS verification always on, credentials over plain HTTP only to loopback
  (the sandbox), every request on the endpoint's origin (a read follows a redirect there,
  at most `MAX_REDIRECTS`; any other redirect is an error).
- `http_limits`: a hostile or broken answer refused within bounded time and memory
  (bodies streamed and capped, a total-time bound per attempt, paginations capped and
  loop checked), each refusal an `UnusableAnswer` naming the request.
- `http_errors`: the errors, whose messages never carry credentials (query parameters
  that hold secrets are masked).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx

from reconcile import __version__
from reconcile.engine.http_errors import (
    SECRET_QUERY_NAMES,
    BodyTooLarge,
    E,
    HttpError,
    LinkRefused,
    NotJson,
    PaginationError,
    RedirectRefused,
    TransportError,
    TransportRefused,
    UnusableAnswer,
    parse_json,
    redact_url,
    refusal,
)
from reconcile.engine.http_limits import (
    MAX_BODY_BYTES,
    MAX_PAGES,
    TOTAL_TIMEOUT,
    HttpSettings,
    json_body,
    read_capped,
)
from reconcile.engine.http_origin import (
    MAX_REDIRECTS,
    READ_METHODS,
    _context_for,
    _tls_context,
    check_endpoint,
    is_loopback,
    origin,
    redirect_problem,
    segment,
)
from reconcile.engine.http_retry import (
    MAX_RETRY_AFTER,
    RETRY_STATUSES,
    Budget,
    RateLimiter,
    Sleep,
    transient,
    unprocessed,
)
from reconcile.engine.invalid_http import InvalidHttp

__all__ = [
    "MAX_BODY_BYTES", "MAX_PAGES", "MAX_REDIRECTS", "MAX_RETRY_AFTER", "READ_METHODS",
    "RETRY_STATUSES", "SECRET_QUERY_NAMES", "TOTAL_TIMEOUT", "USER_AGENT", "BodyTooLarge",
    "HttpClient", "HttpError", "HttpSettings", "LinkRefused", "NotJson", "PaginationError",
    "RateLimiter", "RedirectRefused", "Sleep", "TransportError", "TransportRefused",
    "UnusableAnswer", "_context_for", "_tls_context", "check_endpoint", "is_loopback",
    "json_body", "parse_json", "redact_url", "segment", "transient", "unprocessed",
]

USER_AGENT = f"reconcile/{__version__} (video rooms as code)"
log = logging.getLogger(__name__)


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing. Requests are built without cookies (`build`), so
    what httpx stored from every answer was never sent, except on a followed redirect;
    storing it cost about a tenth of a GET's CPU (urllib's cookie machinery, per answer)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    """httpx's client with a jar that keeps no cookie: a provider's Set-Cookie is never
    sent back, not even on a redirect it asks for."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies()


class HttpClient:
    """One provider account's connection: base URL, auth, retries, limits."""

    def __init__(self, base_url: str, *, auth: httpx.Auth | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 settings: HttpSettings | None = None,
                 rate_limits: Sequence[RateLimiter] = (),
                 connections: int = 4,
                 sleep: Sleep = asyncio.sleep,
                 provider: str | None = None) -> None:
        check_endpoint(base_url, provider)
        self.provider = provider  # named in UnusableAnswer messages
        self.settings = settings or HttpSettings()
        self.rate_limits = tuple(rate_limits)
        self._sleep = sleep
        self.base_url = base_url.rstrip("/")
        self._origin = origin(httpx.URL(self.base_url))
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

            self._client = _CookielessClient(
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
        budget = Budget(self.settings)
        while True:
            try:
                return await self._once(method, path, **kwargs)
            except Exception as exc:
                if not retry(exc) or budget.spent(exc):
                    raise
                delay = budget.delay(exc)
            await self._sleep(delay)

    async def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for limit in self.rate_limits:
            if limit.counts(method):
                await limit.acquire(self._sleep)
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
        if origin(request.url) != self._origin:  # credentials never leave the endpoint
            raise TransportRefused(f"refusing to send {redact_url(str(request.url))}: it"
                                   f" leaves {self.base_url}")
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                response = await client.send(request, stream=True)
                try:
                    await read_capped(response, self.settings.max_body_bytes,
                                      self.provider)
                finally:
                    await response.aclose()
                # httpx's stream (and the cap's check) refers back to the response: a cycle
                # that kept every answer, body and all, until the collector ran. Read
                # whole, the body needs no stream but a plain one.
                response.stream = httpx.ByteStream(response.content)
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

    def _redirected(self, response: httpx.Response, seen: set[str]) -> httpx.Request:
        """The request a redirect asks for, when `redirect_problem` finds none; else
        RedirectRefused."""
        seen.add(str(response.request.url))
        problem = redirect_problem(response, seen, self._origin)
        if problem is not None:
            raise self._unusable(response, f"{response.status_code}, a redirect {problem}",
                                 RedirectRefused)
        sent, target = response.request, response.next_request
        assert target is not None  # redirect_problem says so when there is none
        log.debug("%s %s: %d, following it on the same origin", sent.method,
                  redact_url(str(sent.url)), response.status_code)
        return target

    def _unusable(self, response: httpx.Response, problem: str, kind: type[E]) -> E:
        return refusal(response, problem, kind, self.provider)

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

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
