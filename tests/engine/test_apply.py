"""Apply, through the Telnyx adapter against its emulator: order, faults, adoption."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from reconcile.config import AccountConfig
from reconcile.engine.apply import Outcome, apply_changes
from reconcile.engine.http import HttpClient, HttpSettings
from reconcile.engine.plan import AccountPlan, Action
from reconcile.providers.telnyx.adapter import TelnyxProvider
from reconcile.providers.telnyx.emulator import seed
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

from ..conftest import connected, load_account, telnyx_rooms_file

SANDBOX_PROVIDERS = ("telnyx",)
KEY = "KEYsandbox"


async def _no_sleep(seconds: float) -> None:
    return None


def plan_and_apply(path: Path, *, apply: bool = True, attempts: int = 5,
                   sleep: Callable[[float], Awaitable[None]] = _no_sleep
                   ) -> tuple[AccountPlan, list[Outcome]]:
    def client(account: AccountConfig) -> HttpClient:
        assert account.settings.endpoint is not None
        return HttpClient(account.settings.endpoint,
                          headers={"Authorization": f"Bearer {KEY}"},
                          settings=HttpSettings(attempts=attempts, timeout=2), sleep=sleep)

    async def run(provider: TelnyxProvider) -> tuple[AccountPlan, list[Outcome]]:
        plan = await provider.plan()
        outcomes = await apply_changes(provider, plan.changes,
                                       concurrency=provider.account.settings.concurrency) \
            if apply else []
        return plan, outcomes

    return connected(TelnyxProvider, load_account(path, "telnyx"), run, http=client)


def live_names(sandbox: Sandbox) -> list[str]:
    return sorted(r.name or "" for r in sandbox.store.list("telnyx", KEY, "rooms"))


def test_creates_updates_and_deletes_then_converges(tmp_path: Path, server: SandboxServer,
                                                    sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "team-old"},
                                 {"unique_name": "b", "max_participants": 3}])
    path = telnyx_rooms_file(tmp_path, server,
                             "      - {unique_name: a, max_participants: 20}\n"
                             "      - {unique_name: b, max_participants: 30}\n",
                             extra="    prune: {match: 'team-*'}\n")
    _, outcomes = plan_and_apply(path)
    assert sorted((o.change.key, o.change.action, o.status) for o in outcomes) == [
        ("a", Action.CREATE, "applied"), ("b", Action.UPDATE, "applied"),
        ("team-old", Action.DELETE, "applied")]
    assert live_names(sandbox) == ["a", "b"]
    again, outcomes = plan_and_apply(path)
    assert [c.action for c in again.changes] == [Action.NOOP, Action.NOOP]
    assert outcomes == []


def test_a_lost_create_reply_is_adopted_not_duplicated(tmp_path: Path, server: SandboxServer,
                                                        sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server,
                             "      - {unique_name: kept, max_participants: 12}\n")
    # The create is stored and its reply dropped; the provider recovers before the retry.
    set_faults(sandbox, "telnyx", {"commit_then_fail": {"rate": 1, "mode": "drop"}})

    async def recover(seconds: float) -> None:
        set_faults(sandbox, "telnyx", {})

    _, outcomes = plan_and_apply(path, attempts=3, sleep=recover)
    (outcome,) = outcomes
    assert (outcome.status, outcome.message) == (
        "applied", "adopted the existing room of that name")
    assert live_names(sandbox) == ["kept"]
    again, _ = plan_and_apply(path, apply=False)
    assert [c.action for c in again.changes] == [Action.NOOP]


def test_transport_failures_are_reported_and_others_continue(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "keep", "max_participants": 3}])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: keep, max_participants: 4}\n")
    set_faults(sandbox, "telnyx", {"error_rate": 1, "error_statuses": [503]})

    def client(account: AccountConfig) -> HttpClient:
        return HttpClient(server.url("telnyx"), headers={"Authorization": f"Bearer {KEY}"},
                          settings=HttpSettings(attempts=2), sleep=_no_sleep)

    async def run(provider: TelnyxProvider) -> list[Outcome]:
        set_faults(sandbox, "telnyx", {})
        plan = await provider.plan()
        set_faults(sandbox, "telnyx", {"error_rate": 1, "error_statuses": [503]})
        return await apply_changes(provider, plan.changes, concurrency=2)

    (outcome,) = connected(TelnyxProvider, load_account(path, "telnyx"), run, http=client)
    assert outcome.status == "failed"
    assert outcome.message == "503: Unexpected error" or outcome.message.startswith("503: ")
