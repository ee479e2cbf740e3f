"""What the HTTP layer raises, and the masking of secrets in what it says.

Every message names the request by its URL with secret-bearing query values masked
(`redact_url`); httpx's own log records are masked the same way. A refused answer is an
`UnusableAnswer` (never retried: the same request gets the same answer).
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from reconcile.errors import ReconcileError
from reconcile.escape import printable

SECRET_QUERY_NAMES = frozenset({"secretkey", "secret_key", "apikey", "api_key", "token"})
E = TypeVar("E", bound="UnusableAnswer")


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


def refusal(response: httpx.Response, problem: str, kind: type[E],
            provider: str | None) -> E:
    """An `UnusableAnswer` of `kind` naming the request `response` answers."""
    return kind(problem, provider=provider, method=response.request.method,
                url=str(response.request.url))


def parse_json(content: bytes) -> Any:
    """json.loads, where nesting deeper than the parser's recursion limit (`[[[[…`, a
    hostile answer's cheapest crash) is a ValueError like any other bad JSON."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return parse_json(response.content)
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
