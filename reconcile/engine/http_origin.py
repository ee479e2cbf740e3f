"""Where credentials may go: the endpoint's rules, its origin, redirects and TLS.

TLS verification is always on (there is no switch to turn it off), credentials go over
plain HTTP only to loopback (the sandbox), and every request stays on the endpoint's
origin: a read follows a redirect there (at most `MAX_REDIRECTS`), any other redirect is
an error, so credentials never reach another host.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from urllib.parse import quote

import httpx

from reconcile.engine.http_errors import TransportRefused, redact_url

MAX_REDIRECTS = 5  # hops a read follows on its own origin (browsers allow 20; APIs need 1)
READ_METHODS = frozenset({"GET", "HEAD"})
Origin = tuple[str, str, int | None]


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


def origin(url: httpx.URL) -> Origin:
    return url.scheme, url.host, url.port


def redirect_problem(response: httpx.Response, seen: set[str], own: Origin) -> str | None:
    """Why the redirect `response` asks for may not be followed, or None when it may: a
    read, to the endpoint's own origin `own`, to an address not in `seen`, within
    MAX_REDIRECTS. The words name only the host, since the rest of a Location may hold a
    token."""
    sent, target = response.request, response.next_request
    if target is None:  # httpx names the next request of 301, 302, 303, 307 and 308
        return ("with no Location" if "location" not in response.headers else
                "of a kind that is never followed")
    if origin(target.url) != own:
        url = target.url
        where = url.host if url.host != sent.url.host else \
            f"{url.scheme}://{url.host}:{url.port or ''}".rstrip(":")
        return (f"to {where}; reconcile follows redirects only on the endpoint's own"
                " origin (the credentials would go along)")
    if sent.method not in READ_METHODS:
        return (f"in answer to a {sent.method}; a write is never sent again"
                " elsewhere (apply's next plan shows where it stands)")
    if str(target.url) in seen:
        return "that loops back to an address already asked for"
    if len(seen) > MAX_REDIRECTS:
        return f"after {MAX_REDIRECTS} redirects already followed"
    return None
