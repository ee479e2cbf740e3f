"""Apply, through the adapters against their emulators: order, faults, adoption."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from reconcile.config import AccountConfig
from reconcile.engine import planner
from reconcile.engine.apply import Outcome, apply_changes
from reconcile.engine.http import HttpClient, HttpSettings
from reconcile.engine.plan import AccountPlan, Action, LiveRoom
from reconcile.engine.provider import Provider
from reconcile.providers.metered.adapter import MeteredProvider
from reconcile.providers.telnyx.adapter import TelnyxProvider
from reconcile.providers.telnyx.emulator import seed
from reconcile.providers.twilio.adapter import TwilioProvider
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, connected, load_account, rooms_file, telnyx_rooms_file

SANDBOX_PROVIDERS = ("telnyx", "twilio", "metered")
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
        plan = await planner.plan(provider)
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
        plan = await planner.plan(provider)
        set_faults(sandbox, "telnyx", {"error_rate": 1, "error_statuses": [503]})
        return await apply_changes(provider, plan.changes, concurrency=2)

    (outcome,) = connected(TelnyxProvider, load_account(path, "telnyx"), run, http=client)
    assert outcome.status == "failed"
    assert outcome.message == "503: Unexpected error" or outcome.message.startswith("503: ")


def apply_after(adapter: type[Provider], path: Path, meanwhile: Callable[[], None]
                ) -> list[Outcome]:
    """Plan the file's account, run `meanwhile` (someone else's change), then apply."""
    async def run(provider: Provider) -> list[Outcome]:
        plan = await planner.plan(provider)
        meanwhile()
        return await apply_changes(provider, plan.changes, concurrency=2)

    return connected(adapter, load_account(path, adapter.type), run)


class ListLagsBehind(TelnyxProvider):
    """A provider that refuses a taken name before its reads show the room."""

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        return None


def test_a_taken_name_no_read_can_find_fails_with_a_clear_message(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: raced}\n"
                                               "      - {unique_name: free}\n")
    outcomes = apply_after(ListLagsBehind, path, lambda: seed(
        sandbox, KEY, "rooms", [{"unique_name": "raced"}]))
    assert [(o.change.key, o.status, o.message) for o in outcomes] == [
        ("raced", "failed", "the name is taken, and no live room of that name could be"
                            " found to adopt"),
        ("free", "applied", "")]
    assert live_names(sandbox) == ["free", "raced"]  # nothing made twice


def test_an_adopted_room_that_would_need_a_replace_is_left_for_the_next_plan(
        tmp_path: Path, server: SandboxServer) -> None:
    """Twilio changes no room in place: a room made under the planned name since the plan
    is adopted as it is, and the fields that differ are named."""
    path = rooms_file(tmp_path, server, "twilio",
                      "      - {unique_name: raced, max_participants: 10}\n")

    def someone_else_creates_it() -> None:
        with SandboxControl(server.base_url) as control:
            control.seed("twilio", SANDBOX_ACCOUNTS["twilio"], "rooms",
                         [{"unique_name": "raced", "max_participants": 20}])

    (outcome,) = apply_after(TwilioProvider, path, someone_else_creates_it)
    assert (outcome.status, outcome.message) == (
        "applied", "adopted the existing room of that name; max_participants still differ:"
                   " the next plan shows them")
    assert outcome.live is not None and outcome.live.fields["max_participants"] == 20


def test_an_update_of_a_room_removed_since_the_plan_fails_and_names_it(
        tmp_path: Path, server: SandboxServer) -> None:
    account = SANDBOX_ACCOUNTS["metered"]
    with SandboxControl(server.base_url) as control:
        control.seed("metered", account, "rooms", [{"roomName": "gone", "maxParticipants": 5}])
    path = rooms_file(tmp_path, server, "metered",
                      "      - {roomName: gone, maxParticipants: 6, privacy: public}\n")

    def someone_else_archives_it() -> None:
        with SandboxControl(server.base_url) as control:
            control.patch_room("metered", account, "rooms", "gone", {"archived": True})

    (outcome,) = apply_after(MeteredProvider, path, someone_else_archives_it)
    assert (outcome.change.action, outcome.status, outcome.message) == (
        Action.UPDATE, "failed", "metered room 'gone' of account 'metered' no longer exists")


def test_a_listener_that_raises_stops_new_changes_and_is_raised_when_those_under_way_end(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    rooms = "".join(f"      - {{unique_name: stop-{n}}}\n" for n in range(6))
    path = telnyx_rooms_file(tmp_path, server, rooms, "    concurrency: 3\n")
    heard: list[Outcome] = []

    def listener(outcome: Outcome) -> None:
        heard.append(outcome)
        raise LookupError("the listener's own")

    async def run(provider: TelnyxProvider) -> str:
        plan = await planner.plan(provider)
        try:
            await apply_changes(provider, plan.changes, concurrency=3, on_outcome=listener)
        except LookupError as exc:
            # Raised only now: nothing of the apply is left running.
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
            return "\n".join(exc.__notes__)
        raise AssertionError("the listener's exception was swallowed")

    note = connected(TelnyxProvider, load_account(path, "telnyx"), run)
    assert len(heard) == 1  # it hears nothing after it raised
    assert note == "apply stopped because on_progress raised: 3 applied, 0 failed, 3 not" \
                   " started; plan again"
    assert len(live_names(sandbox)) == 3  # the three under way finished; none started after
