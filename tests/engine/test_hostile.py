"""Hostile providers: every adapter, against its real emulator over loopback in hostile
mode, refuses each kind of bad answer with a typed error that says what was wrong, within
bounded time, never following it anywhere but the endpoint and never printing a
credential; and `reconcile plan` reports it as the account's failed read."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import load
from reconcile.engine import planner
from reconcile.engine.answers import MalformedAnswer
from reconcile.engine.http import (
    BodyTooLarge,
    HttpSettings,
    LinkRefused,
    NotJson,
    PaginationError,
    RedirectRefused,
    TransportError,
    UnusableAnswer,
    is_loopback,
)
from reconcile.engine.plan import AccountPlan, Action
from reconcile.engine.provider import Provider, RunContext
from reconcile.engine.run import open_accounts
from reconcile.errors import ReconcileError
from reconcile.exitcodes import ERROR
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ENVIRON, key_field, per_provider, rooms_file

T = TypeVar("T")
# Short enough that the slow drip and the endless chain end in a second or two; the
# settings a user gets are the defaults (60 s in all per attempt, 1,000 pages).
FAST = HttpSettings(timeout=2.0, connect_timeout=2.0, total_timeout=0.6, attempts=2,
                    backoff_initial=0.01, backoff_max=0.02, max_pages=20)
BOUND_S = 10.0  # generous: each case takes well under 2 s
EXTRA = {"kaleyra": ", participants: [{user_id: dr-lee, is_admin: true}, {user_id: pat}]"}
NAME = "hostile-a"
SECRETS = [value for name, value in SANDBOX_ENVIRON.items()
           if not name.endswith(("ACCOUNT_SID", "PROJECT_ID"))]  # principals, not secrets


@dataclass(frozen=True)
class Expect:
    kind: type[ReconcileError]
    pattern: str  # searched in the message


# What each mode must end in; a provider whose API has no such thing (no pages, no links)
# plans normally instead (None below).
EXPECTED: dict[str, Expect] = {
    "malformed_json": Expect(NotJson, r"the [\d,]+-byte body is not JSON \(.+ at line 1"
                                      r" column \d+\)"),
    "truncated": Expect(TransportError, r"failed: RemoteProtocolError \(the connection closed"
                                        r" before the whole answer came\)"),
    "loop": Expect(PaginationError, r"the pagination loops back to http://127\.0\.0\.1"),
    "endless": Expect(PaginationError, r"the list goes on past 20 pages; refusing to follow"),
    "foreign_link": Expect(LinkRefused, r"refusing to follow http://evil\.example/\S+: it"
                                        r" leaves http://127\.0\.0\.1:\d+/"),
    "huge": Expect(BodyTooLarge, r"its body goes on past the 8 MiB cap; reading stopped"),
    "huge_declared": Expect(BodyTooLarge, r"its body is [\d,]+ bytes, over the 8 MiB cap"),
    "redirect": Expect(RedirectRefused, r"302, a redirect to evil\.example; reconcile follows"
                                        r" redirects only on the endpoint's own origin \(the"
                                        r" credentials would go along\)"),
    "slow_drip": Expect(TransportError, r"failed: TimeoutError \(no complete answer within"
                                        r" 0\.6 s in all"),
}
# Where the providers' answers differ (each provider's tests/providers/<name>/cases.py
# `HOSTILE`): their own messages, or None where a mode plans normally. A broken or missing
# field is the provider's own; the other modes end in EXPECTED's kind of error.
OWN_KIND: dict[str, type[ReconcileError]] = {"wrong_type": MalformedAnswer,
                                             "missing_field": MalformedAnswer}
OVERRIDES: dict[tuple[str, str], Expect | None] = {
    (provider, mode): None if pattern is None else
    Expect(OWN_KIND[mode] if mode in OWN_KIND else EXPECTED[mode].kind, pattern)
    for provider, modes in per_provider("HOSTILE").items() for mode, pattern in modes.items()}
MODES = ("malformed_json", "truncated", "wrong_type", "missing_field", "loop", "endless",
         "foreign_link", "huge", "huge_declared", "redirect", "slow_drip")
CONFIG: dict[str, dict[str, Any]] = {"huge_declared": {"mode": "huge", "declare_size": True}}


def expected(provider: str, mode: str) -> Expect | None:
    return OVERRIDES[(provider, mode)] if (provider, mode) in OVERRIDES else EXPECTED[mode]


# -- only loopback, ever ----------------------------------------------------------------

@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any lookup or connection to a host that is not loopback fails the test: a client
    that followed a redirect or a foreign link would be caught here."""
    attempts: list[str] = []
    lookup, connect = socket.getaddrinfo, socket.socket.connect

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not is_loopback(name):
            attempts.append(name)
            raise OSError(f"test: no lookups of {name}")
        return lookup(host, *args, **kwargs)

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not is_loopback(str(address[0])):
            attempts.append(str(address[0]))
            raise OSError(f"test: no connections to {address[0]}")
        return connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield attempts
    assert attempts == [], f"the client tried to reach {attempts}"


# -- helpers ------------------------------------------------------------------------------

def live_file(tmp_path: Path, server: SandboxServer, provider: str) -> Path:
    """A rooms file declaring one room, which exists live (made through the adapter)."""
    path = rooms_file(tmp_path, server, provider,
                      f"      - {{{key_field(provider)}: {NAME}{EXTRA.get(provider, '')}}}\n")

    async def create(adapter: Provider) -> Any:
        room = next(adapter.account.all_rooms())
        return await adapter.create(room.kind, room.model)

    on(path, provider, create, HttpSettings())
    return path


def on(path: Path, provider: str, use: Callable[[Provider], Awaitable[T]],
       settings: HttpSettings = FAST) -> T:
    """`use` on the account's provider, opened as a plan or apply opens it."""
    async def main() -> T:
        accounts = load(path, SANDBOX_ENVIRON).accounts.values()
        async with open_accounts(accounts, RunContext(str(path)), hold_locks=True,
                                 http=settings) as run:
            return await use(run.providers[provider])

    return asyncio.run(main())


def gets(sandbox: Sandbox, provider: str) -> int:
    return sandbox.counter_table().get(provider, {}).get("GET", 0)


def hostile(mode: str) -> dict[str, Any]:
    return {"hostile": CONFIG.get(mode, {"mode": mode})}


# -- every adapter, every case ------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_adapter_refuses_each_hostile_answer(
        provider: str, mode: str, tmp_path: Path, server: SandboxServer,
        sandbox: Sandbox) -> None:
    path = live_file(tmp_path, server, provider)
    set_faults(sandbox, provider, hostile(mode))
    sandbox.counters.clear()
    want = expected(provider, mode)
    started = time.monotonic()
    if want is None:  # nothing of the kind in this API: the plan is as usual
        plan: AccountPlan = on(path, provider, planner.plan)
        assert time.monotonic() - started < BOUND_S
        assert [c.action for c in plan.changes] == [Action.NOOP]
        assert gets(sandbox, provider) == 1  # no page or link followed
        return
    with pytest.raises(ReconcileError) as caught:
        on(path, provider, planner.plan)
    elapsed = time.monotonic() - started
    error = caught.value
    assert elapsed < BOUND_S, f"{mode} took {elapsed:.1f} s"
    assert isinstance(error, want.kind), repr(error)
    assert re.search(want.pattern, str(error)), str(error)
    assert isinstance(error, TransportError)  # what plan, show and apply report per account
    if isinstance(error, UnusableAnswer):
        assert error.provider == provider
        assert gets(sandbox, provider) <= FAST.max_pages + 1  # refused, not retried
    assert not [secret for secret in SECRETS if secret in str(error)]


@pytest.mark.parametrize("status", [301, 307])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_adapter_follows_a_redirect_on_its_own_origin(
        provider: str, status: int, tmp_path: Path, server: SandboxServer,
        sandbox: Sandbox) -> None:
    """A provider that moved an address on its own host: each read is redirected once,
    followed (credentials and all: it is the same origin), and the plan is as usual."""
    path = live_file(tmp_path, server, provider)
    sandbox.counters.clear()
    assert [c.action for c in on(path, provider, planner.plan).changes] \
        == [Action.NOOP]
    direct = gets(sandbox, provider)
    set_faults(sandbox, provider, {"hostile": {"mode": "moved", "redirect_status": status}})
    sandbox.counters.clear()
    plan: AccountPlan = on(path, provider, planner.plan)
    assert [c.action for c in plan.changes] == [Action.NOOP]
    assert gets(sandbox, provider) == 2 * direct


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_back_to_the_same_address_is_a_loop(
        provider: str, tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = live_file(tmp_path, server, provider)
    set_faults(sandbox, provider, {"hostile": {"mode": "redirect",
                                               "location": server.base_url}})
    sandbox.counters.clear()
    with pytest.raises(RedirectRefused, match=r"302, a redirect that loops back to an address"
                                              r" already asked for"):
        on(path, provider, planner.plan)
    assert gets(sandbox, provider) == 1


def test_the_size_cap_is_what_bounds_memory(tmp_path: Path, server: SandboxServer,
                                            sandbox: Sandbox) -> None:
    """A body of any size is cut at the cap: a smaller cap stops a smaller body."""
    path = live_file(tmp_path, server, "telnyx")
    set_faults(sandbox, "telnyx", {"hostile": {"mode": "huge", "size_bytes": 300_000}})
    small = dataclasses.replace(FAST, max_body_bytes=100_000)
    with pytest.raises(BodyTooLarge, match=r"goes on past the 100,000 bytes cap"):
        on(path, "telnyx", planner.plan, small)
    # Under the cap, the same padding is read (and ignored): the cap, not the mode, refuses.
    set_faults(sandbox, "telnyx", {"hostile": {"mode": "huge", "size_bytes": 50_000}})
    plan = on(path, "telnyx", planner.plan, small)
    assert [c.action for c in plan.changes] == [Action.NOOP]


# -- through the CLI ------------------------------------------------------------------------

CLI_MODES = ("malformed_json", "wrong_type", "huge", "redirect")


@pytest.mark.parametrize("mode", CLI_MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plan_reports_the_accounts_failed_read(
        provider: str, mode: str, tmp_path: Path, server: SandboxServer,
        sandbox: Sandbox) -> None:
    path = live_file(tmp_path, server, provider)
    set_faults(sandbox, provider, hostile(mode))
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["plan", str(path)], env=SANDBOX_ENVIRON)
    assert time.monotonic() - started < BOUND_S
    assert result.exit_code == ERROR, result.output
    want = expected(provider, mode)
    assert want is not None
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"reconcile: {provider}: reading the live rooms failed: {provider}'s"
                           " answer to GET http://127.0.0.1:"), line
    assert re.search(want.pattern, line), line
    assert "Traceback" not in result.output
    assert not [secret for secret in SECRETS if secret in result.output]
