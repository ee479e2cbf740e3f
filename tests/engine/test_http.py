"""The shared HTTP layer against a real emulator with injected faults."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from reconcile import __version__
from reconcile.engine.http import (
    MAX_REDIRECTS,
    HttpClient,
    HttpError,
    HttpSettings,
    NotJson,
    RateLimiter,
    RedirectRefused,
    TransportError,
    TransportRefused,
    UnusableAnswer,
    check_endpoint,
    json_body,
    redact_url,
    segment,
)
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

SANDBOX_PROVIDERS = ("telnyx",)
KEY = "KEYsandbox"


class Sleeps:
    """Records the waits instead of sleeping them; may heal the sandbox after some."""

    def __init__(self, heal: Sandbox | None = None, after: int = 0) -> None:
        self.waits: list[float] = []
        self.heal, self.after = heal, after

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.heal is not None and len(self.waits) == self.after:
            set_faults(self.heal, "telnyx", {})


def client(server: SandboxServer, sleeps: Sleeps, **settings: Any) -> HttpClient:
    return HttpClient(server.url("telnyx"), headers={"Authorization": f"Bearer {KEY}"},
                      settings=HttpSettings(**settings), sleep=sleeps)


def posts(sandbox: Sandbox) -> int:
    return sandbox.counter_table().get("telnyx", {}).get("POST", 0)


def test_success_sends_user_agent_and_returns_the_answer(server: SandboxServer) -> None:
    seen: list[str] = []

    async def run() -> httpx.Response:
        async with client(server, Sleeps()) as http:
            http.client.event_hooks["request"].append(lambda request: _record(seen, request))
            return await http.request("POST", "/v2/rooms", json={"unique_name": "a"})

    response = asyncio.run(run())
    assert response.status_code == 201
    assert seen == [f"reconcile/{__version__} (video rooms as code)"]


async def _record(seen: list[str], request: httpx.Request) -> None:
    seen.append(request.headers["user-agent"])


def test_an_answer_is_freed_as_soon_as_it_is_dropped(server: SandboxServer) -> None:
    """No reference cycle keeps an answer (body and all) until the collector runs: with
    the collector's threshold raised (cli.py), a 10,000-room plan held about 15 MiB more."""
    async def run() -> None:
        async with client(server, Sleeps()) as http:
            response = await http.request("GET", "/v2/rooms")
            assert response.json()["data"] == []  # read whole, still readable
            answer = weakref.ref(response)
            del response
            assert answer() is None

    gc.disable()
    try:
        asyncio.run(run())
    finally:
        gc.enable()


def test_one_pool_serves_the_connections_asked_for(server: SandboxServer) -> None:
    """One pool per account, of `connections` connections, made on first use."""
    http = HttpClient(server.url("telnyx"), headers={"Authorization": f"Bearer {KEY}"},
                      connections=16)
    assert http._client is None  # nothing built before the first request

    async def run() -> list[int]:
        async with http:
            answers = await asyncio.gather(*(http.request("GET", "/v2/rooms")
                                             for _ in range(64)))
            connector = http.client._transport._inner.client.connector  # type: ignore[attr-defined]
            assert connector.limit == 16
            return [answer.status_code for answer in answers]

    assert set(asyncio.run(run())) == {200}


def test_429_waits_retry_after_then_succeeds(server: SandboxServer, sandbox: Sandbox) -> None:
    set_faults(sandbox, "telnyx", {"burst_429": {"rate": 1, "length": 5, "retry_after": 3}})
    sleeps = Sleeps(heal=sandbox, after=2)  # the provider recovers after two waits

    async def run() -> httpx.Response:
        async with client(server, sleeps) as http:
            return await http.request("GET", "/v2/rooms")

    response = asyncio.run(run())
    assert response.status_code == 200
    assert sleeps.waits == [3.0, 3.0]


def test_429s_are_counted_apart_from_the_other_failures(server: SandboxServer,
                                                        sandbox: Sandbox) -> None:
    # A burst of 429s longer than a request's tries, then a 5xx: the 429s say nothing was
    # done and when to come back, so they use none of the five tries.
    set_faults(sandbox, "telnyx", {"burst_429": {"rate": 1, "length": 7, "retry_after": 0}})
    answers = iter([{"error_rate": 1, "error_statuses": [502]}, {}])

    async def heal_after_the_burst(seconds: float) -> None:
        if sandbox.counter_table()["telnyx"]["POST"] >= 7:
            set_faults(sandbox, "telnyx", next(answers, {}))

    async def run() -> httpx.Response:
        async with HttpClient(server.url("telnyx"), headers={"Authorization": f"Bearer {KEY}"},
                              settings=HttpSettings(attempts=5),
                              sleep=heal_after_the_burst) as http:
            return await http.request("POST", "/v2/rooms", json={"unique_name": "a"})

    assert asyncio.run(run()).status_code == 201
    assert posts(sandbox) == 9  # seven 429s, a 502, then the room

    set_faults(sandbox, "telnyx", {"burst_429": {"rate": 1, "length": 100, "retry_after": 0}})
    sleeps = Sleeps()

    async def limited() -> None:
        async with client(server, sleeps, rate_limited_attempts=12) as http:
            await http.request("GET", "/v2/rooms")

    with pytest.raises(HttpError) as caught:  # yet a provider that never lets up is left
        asyncio.run(limited())
    assert caught.value.status == 429 and sandbox.counter_table()["telnyx"]["GET"] == 12


def test_5xx_backs_off_exponentially_and_gives_up(server: SandboxServer,
                                                  sandbox: Sandbox) -> None:
    set_faults(sandbox, "telnyx", {"error_rate": 1, "error_statuses": [503]})
    sleeps = Sleeps()

    async def run() -> None:
        async with client(server, sleeps, attempts=4, backoff_initial=0.5) as http:
            await http.request("GET", "/v2/rooms")

    with pytest.raises(HttpError) as caught:
        asyncio.run(run())
    assert caught.value.status == 503
    assert len(sleeps.waits) == 3
    assert all(0.5 <= wait <= 8.0 + 1 for wait in sleeps.waits)
    assert sleeps.waits[2] >= 2.0  # 0.5 * 2**2, plus jitter
    assert sandbox.counter_table()["telnyx"]["GET"] == 4


def test_4xx_is_not_retried(server: SandboxServer, sandbox: Sandbox) -> None:
    sleeps = Sleeps()

    async def run() -> None:
        async with client(server, sleeps) as http:
            await http.request("GET", "/v2/rooms/00000000-0000-4000-8000-000000000000")

    with pytest.raises(HttpError) as caught:
        asyncio.run(run())
    assert caught.value.status == 404
    assert caught.value.body["code"] == "404"  # the bare error object (docs/providers/telnyx.md U4)
    assert sleeps.waits == []


def test_dropped_connection_is_retried_and_the_write_was_stored(
        server: SandboxServer, sandbox: Sandbox) -> None:
    set_faults(sandbox, "telnyx", {"commit_then_fail": {"rate": 1, "mode": "drop"}})
    sleeps = Sleeps(heal=sandbox, after=1)

    async def run() -> None:
        async with client(server, sleeps, attempts=2) as http:
            await http.request("POST", "/v2/rooms", json={"unique_name": "kept"})

    with pytest.raises(HttpError) as caught:  # the retry meets the stored room's name
        asyncio.run(run())
    assert caught.value.status == 422
    assert posts(sandbox) == 2
    assert len(sleeps.waits) == 1


def test_a_timeout_is_a_transport_error(server: SandboxServer, sandbox: Sandbox) -> None:
    set_faults(sandbox, "telnyx", {"latency_ms": 800})

    async def run() -> None:
        async with client(server, Sleeps(), attempts=1, timeout=0.2) as http:
            await http.request("GET", "/v2/rooms")

    with pytest.raises(TransportError) as caught:
        asyncio.run(run())
    assert str(caught.value) == (f"GET {server.url('telnyx')}/v2/rooms failed: ReadTimeout")


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    async def run() -> None:
        limiter = RateLimiter(2, 10.0, clock=lambda: now[0])
        for _ in range(5):
            await limiter.acquire(sleep)

    asyncio.run(run())
    assert sleeps == [10.0, 10.0]


def test_a_rate_limit_counts_writes_or_the_methods_it_names() -> None:
    writes, deletes = RateLimiter(1, 1.0), RateLimiter(1, 1.0, methods=frozenset({"DELETE"}))
    assert [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE") if writes.counts(m)] \
        == ["POST", "PUT", "PATCH", "DELETE"]
    assert [m for m in ("GET", "POST", "DELETE") if deletes.counts(m)] == ["DELETE"]


@pytest.mark.parametrize("url", ["http://api.telnyx.com", "http://10.0.0.5:8080",
                                 "ftp://127.0.0.1", "http://example.com"])
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(TransportRefused, match="refusing to send credentials"):
        check_endpoint(url)


@pytest.mark.parametrize("url", ["https://api.telnyx.com", "http://127.0.0.1:8787/x",
                                 "http://localhost:1", "http://[::1]:80"])
def test_https_and_loopback_are_allowed(url: str) -> None:
    check_endpoint(url)


def test_secrets_in_query_strings_are_masked() -> None:
    assert redact_url("https://a.metered.live/api/v1/rooms?secretKey=S3CR3T&x=1") == \
        "https://a.metered.live/api/v1/rooms?secretKey=***&x=1"
    assert redact_url("https://h/p") == "https://h/p"


def test_links_are_followed_only_under_the_endpoint() -> None:
    http = HttpClient("http://127.0.0.1:9/twilio")
    assert http.local_path("http://127.0.0.1:9/twilio/v1/Rooms?Page=1&PageToken=PTx") == \
        "/v1/Rooms?Page=1&PageToken=PTx"
    for elsewhere in ("https://evil.example.com/twilio/v1/Rooms?Page=1",
                      "http://127.0.0.1:9/other/v1/Rooms?Page=1",
                      "http://127.0.0.1:10/twilio/v1/Rooms"):
        with pytest.raises(TransportRefused, match="refusing to follow"):
            http.local_path(elsewhere)


def test_a_pagination_loop_and_an_endless_chain_are_errors(server: SandboxServer) -> None:
    from reconcile.errors import ReconcileError

    async def pages(next_link: Any, max_pages: int = 10_000) -> int:
        async with client(server, Sleeps()) as http:
            first = await http.request("GET", "/v2/rooms")
            return len([body async for body in http.link_pages(first, next_link,
                                                               max_pages=max_pages)])

    loop = server.url("telnyx") + "/v2/rooms?page[number]=1"
    with pytest.raises(ReconcileError, match="loops back"):
        asyncio.run(pages(lambda body: loop))
    counter = iter(range(1, 1000))
    with pytest.raises(ReconcileError, match="past 5 pages"):
        asyncio.run(pages(lambda body: f"{loop}&n={next(counter)}", max_pages=5))
    assert asyncio.run(pages(lambda body: None)) == 1


# -- answers canned byte by byte: redirects, framing --------------------------------------

@dataclass
class Canned:
    """A loopback HTTP server whose answers are canned by path; it records what it got."""

    answers: dict[str, tuple[int, dict[str, str]]]
    raw: dict[str, bytes] = field(default_factory=dict)  # whole answers, sent as they are
    port: int = 0
    got: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    cookies: list[str] = field(default_factory=list)  # each request's Cookie header

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, head: bytes) -> bytes:
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        # Field names are case-insensitive (RFC 9110 5.1); aiohttp sends them lowercase.
        headers = {name.lower(): value for name, value in
                   (line.split(": ", 1) for line in lines[1:] if ": " in line)}
        self.got.append((method, path, headers.get("authorization", "")))
        self.cookies.append(headers.get("cookie", ""))
        if path in self.raw:
            return self.raw[path]
        status, extra = self.answers.get(path, (200, {}))
        body = b'{"ok": true}' if status == 200 else b""
        fields = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        return (f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{fields}"
                "Connection: close\r\n\r\n").encode() + body


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned({})
    listener = socket.create_server(("127.0.0.1", 0))
    server.port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                if head:
                    conn.sendall(server.answer(head.split(b"\r\n\r\n")[0]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close alone would not)
    listener.close()
    thread.join(timeout=5)


def fetch(server: Canned, method: str = "GET", path: str = "/start",
          **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        async with HttpClient(server.url, headers={"Authorization": "Bearer S3CR3T"},
                              settings=HttpSettings(attempts=1)) as http:
            return await http.request(method, path, **kwargs)

    return asyncio.run(run())


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_read_follows_a_redirect_on_the_same_origin(canned: Canned,
                                                       status: int) -> None:
    canned.answers = {"/start": (status, {"Location": "/moved?page=2"}),
                          "/moved?page=2": (status, {"Location": f"{canned.url}/end"})}
    response = fetch(canned)
    assert response.json() == {"ok": True}
    assert str(response.request.url) == f"{canned.url}/end"
    assert canned.got == [("GET", path, "Bearer S3CR3T")
                              for path in ("/start", "/moved?page=2", "/end")]


def test_a_cookie_an_answer_sets_is_never_sent_back_not_even_on_its_redirect(
        canned: Canned) -> None:
    """The client keeps no cookies: requests are built without them, and a provider's
    Set-Cookie is not carried to the redirect it asks for either."""
    canned.answers = {"/start": (302, {"Location": "/end", "Set-Cookie": "session=abc"})}

    async def run() -> None:
        async with HttpClient(canned.url, settings=HttpSettings(attempts=1)) as http:
            for _ in range(2):
                await http.request("GET", "/start")
            assert not list(http.client.cookies.jar)

    asyncio.run(run())
    assert [path for _, path, _ in canned.got] == ["/start", "/end"] * 2
    assert canned.cookies == [""] * 4


@pytest.mark.parametrize(("location", "problem"), [
    ("http://evil.example/steal", r"to evil\.example; reconcile follows redirects only on the"
                                  r" endpoint's own origin \(the credentials would go along\)"),
    ("https://127.0.0.1/start", r"to https://127\.0\.0\.1; reconcile follows redirects only"),
    ("http://127.0.0.1:9/start", r"to http://127\.0\.0\.1:9; reconcile follows redirects"),
    ("/start", r"that loops back to an address already asked for"),
    ("http://[::1", r"with an unusable Location"),
    ("", r"with no Location"),
])
def test_any_other_redirect_is_refused_without_following_it(
        canned: Canned, location: str, problem: str) -> None:
    canned.answers = {"/start": (302, {"Location": location} if location else {})}
    with pytest.raises(RedirectRefused, match=r"answer to GET http://127\.0\.0\.1:\d+/start is"
                                              r" unusable: (302, )?a redirect " + problem):
        fetch(canned)
    assert [path for _, path, _ in canned.got] == ["/start"]  # nothing sent elsewhere


@pytest.mark.parametrize("status", [300, 304, 305])
def test_a_3xx_that_is_no_redirect_to_follow_is_refused(canned: Canned,
                                                        status: int) -> None:
    canned.answers = {"/start": (status, {"Location": "/other"})}
    with pytest.raises(RedirectRefused, match=f"{status}, a redirect of a kind that is never"
                                              " followed"):
        fetch(canned)
    assert len(canned.got) == 1


def test_a_chain_of_redirects_stops_after_the_limit(canned: Canned) -> None:
    canned.answers = {f"/hop{i}": (307, {"Location": f"/hop{i + 1}"}) for i in range(10)}
    with pytest.raises(RedirectRefused, match=f"after {MAX_REDIRECTS} redirects already"
                                              " followed"):
        fetch(canned, path="/hop0")
    assert len(canned.got) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_write_answered_with_a_redirect_is_not_sent_again(canned: Canned,
                                                            method: str) -> None:
    canned.answers = {"/start": (307, {"Location": "/elsewhere"})}
    with pytest.raises(RedirectRefused, match=f"307, a redirect in answer to a {method}; a"
                                              " write is never sent again elsewhere"):
        fetch(canned, method, json={"name": "a"})
    assert [(m, path) for m, path, _ in canned.got] == [(method, "/start")]


def test_a_declared_length_beside_chunks_is_refused(canned: Canned) -> None:
    """A small Content-Length beside chunked framing must not let an endless chunked body
    past the cap: such an answer is not valid HTTP/1.1, and is refused unread, at once."""
    chunk = b"x" * 4096
    canned.raw["/start"] = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding:"
                            b" chunked\r\n\r\n" + b"1000\r\n" + chunk + b"\r\n") * 1 \
        + (b"1000\r\n" + chunk + b"\r\n") * 8 + b"0\r\n\r\n"

    async def run() -> httpx.Response:
        async with HttpClient(canned.url, settings=HttpSettings(
                attempts=1, max_body_bytes=10_000)) as http:
            return await http.request("GET", "/start")

    with pytest.raises(UnusableAnswer, match=r"is not valid HTTP/1\.1") as caught:
        asyncio.run(run())
    assert "chunked" not in str(caught.value)  # the parser's quote of the bytes stays out
    assert len(canned.got) == 1  # never retried


def test_an_id_from_an_answer_is_one_path_segment(canned: Canned) -> None:
    """Found by the answer fuzzer: a Twilio sid of "\\t" made httpx raise InvalidURL out of
    plan. An id goes into a path percent-encoded whole, so that no `/`, `..`, `?` or
    control character in it can change the request's target."""
    assert segment("a/../b?c=1\t") == "a%2F..%2Fb%3Fc%3D1%09"
    fetch(canned, path=f"/v1/Rooms/{segment('../../users/x')}/Participants")
    assert canned.got[-1][1] == "/v1/Rooms/..%2F..%2Fusers%2Fx/Participants"


def test_an_address_httpx_cannot_parse_is_refused_as_a_reconcile_error() -> None:
    http = HttpClient("http://127.0.0.1:9")
    with pytest.raises(TransportRefused, match="refusing to send GET to an invalid address"):
        http.build("GET", "/v1/Rooms/\t/Participants")


def test_an_answer_nested_past_the_parsers_limit_is_unusable_not_a_crash(
        canned: Canned) -> None:
    """`[[[[…` costs a provider 100 KB and crashed json.loads with a RecursionError: as a
    2xx it is NotJson, as an error answer its body is kept as text."""
    deep = b"[" * 100_000
    head = f"Content-Length: {len(deep)}\r\nConnection: close\r\n\r\n".encode()
    canned.raw = {"/start": b"HTTP/1.1 200 OK\r\n" + head + deep,
                  "/bad": b"HTTP/1.1 400 X\r\n" + head + deep}
    with pytest.raises(NotJson, match=r"the 100,000-byte body is not JSON"):
        json_body(fetch(canned))
    with pytest.raises(HttpError) as caught:
        fetch(canned, path="/bad")
    assert caught.value.body == deep.decode()[:2000]
