"""The one planner (`engine/planner.py`) driving the real adapters against their emulators:
each provider hook is called, and its effect is visible in the plan, in `plan_room` and
in a saved plan's replan alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconcile.config import load
from reconcile.engine import planner
from reconcile.engine.plan import (
    AccountPlan,
    Action,
    Change,
    Plan,
    SavedAccount,
    SavedChange,
    SavedPlan,
)
from reconcile.engine.provider import Provider, RunContext
from reconcile.engine.run import open_accounts
from reconcile.providers.kaleyra.adapter import KaleyraProvider, load_state
from reconcile.providers.kaleyra.state import locked, state_path
from reconcile.providers.metered.adapter import MeteredProvider
from reconcile.providers.metered.emulator import seed as seed_metered
from reconcile.providers.twilio.adapter import TwilioProvider
from reconcile.providers.twilio.emulator import seed as seed_twilio
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ENVIRON, connected, load_account, plan_file, rooms_file
from ..providers.kaleyra.test_adapter import DOCTOR, PAIR, PATIENT, apply, record, seed_users

PAST = 1_600_000_000  # 2020-09-13T12:26:40Z
EXPIRED = "expired at 2020-09-13T12:26:40Z"


def kaleyra_file(tmp_path: Path, server: SandboxServer, rooms: str) -> Path:
    return rooms_file(tmp_path, server, "kaleyra", rooms, state=None)


def on_kaleyra(path: Path, kinds: tuple[str, ...] | None = None) -> AccountPlan:
    account = load_account(path, "kaleyra")
    with locked(state_path(path, "kaleyra"), 0):
        return connected(KaleyraProvider, account, lambda p: planner.plan(p, kinds),
                         state=load_state(account, path))


# -- Metered: `annotate` notes an expired room ---------------------------------------------

def test_metered_annotates_each_declared_expired_room_in_plan_and_plan_room(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_metered(sandbox, "acme", "rooms", [
        {"roomName": "old", "expireUnixSec": PAST},
        {"roomName": "team-gone", "expireUnixSec": PAST}])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: old, maxParticipants: 4}\n",
                      extra="    prune: {match: 'team-*'}\n")
    account = load_account(path, "metered", {"METERED_SECRET_KEY": "sandbox-secret-key"})

    async def both(provider: MeteredProvider) -> tuple[AccountPlan, Change]:
        whole = await planner.plan(provider)
        live = await provider.find("rooms", "old")
        return whole, await planner.plan_room(provider, "rooms", account.rooms["rooms"][0],
                                              live)

    whole, alone = connected(MeteredProvider, account, both)
    assert [(c.key, c.action, c.reason) for c in whole.changes] == [
        ("old", Action.UPDATE, f"changed: maxParticipants; {EXPIRED}"),
        # A deletion is not a declared room's change: `annotate` is not asked about it.
        ("team-gone", Action.DELETE, "pruned: matches team-*")]
    assert alone == whole.changes[0]  # one room planned alone: exactly the plan's change


# -- Twilio: `is_drift` keeps what no read shows out of the diff ---------------------------

def test_twilio_is_drift_drops_a_field_no_read_shows(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seed_twilio(sandbox, DEFAULT_CREDENTIALS["twilio"][0], "rooms", [{"unique_name": "a"}])
    path = rooms_file(tmp_path, server, "twilio",
                      "      - {unique_name: a, transcribe_participants_on_connect: true}\n")
    assert [(c.key, c.action) for c in plan_file(TwilioProvider, path).changes] == [
        ("a", Action.NOOP)]
    # The base's hook keeps every difference: the same room would then be replaced.
    monkeypatch.setattr(TwilioProvider, "is_drift", Provider.is_drift)
    (change,) = plan_file(TwilioProvider, path).changes
    assert (change.action, change.replace_paths) == (
        Action.REPLACE, ["transcribe_participants_on_connect"])


# -- Kaleyra: `annotate` marks new join URLs, `extra_deletions` plans its leftovers ---------

def replace_cut_short(tmp_path: Path, server: SandboxServer, sandbox: Sandbox
                      ) -> tuple[Path, dict[str, str]]:
    """Rooms a and b replaced with their old rooms left (the process "died" before the
    deletes), then b drifted again: a plans nothing, b a replace, both old rooms a
    deletion. Returns the rooms file and the old rooms' ids."""
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, recording: automatic, {PAIR}}}\n"
                                          f"      - {{name: b, recording: manual, {PAIR}}}\n")
    body = {"participants": [DOCTOR, PATIENT]}
    ids = record(path, sandbox, {"a": body, "b": body})
    apply(path)
    record(path, sandbox, {"b": body})
    return path, ids


def test_kaleyra_marks_a_replace_and_plans_the_leftover_of_one_cut_short(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path, ids = replace_cut_short(tmp_path, server, sandbox)
    account = on_kaleyra(path)
    assert [(c.key, c.action, c.reason, c.new_join_urls) for c in account.changes] == [
        ("a", Action.NOOP, "up to date", False),
        ("b", Action.REPLACE, "field recording cannot change in place; the new room has"
                              " new join URLs", True),
        (f"a@{ids['a']}", Action.DELETE, "replaced: the old room of a", False),
        (f"b@{ids['b']}", Action.DELETE, "replaced: the old room of b", False)]
    assert all(c.disruptive for c in account.changes if c.action is Action.REPLACE)
    # The hook is told the kinds planned: none planned, no leftover either.
    assert on_kaleyra(path, kinds=()).changes == []


def test_replan_plans_a_saved_plan_with_the_same_planner_and_hooks(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path, ids = replace_cut_short(tmp_path, server, sandbox)
    config = load(path, SANDBOX_ENVIRON)

    async def plan_then_replan() -> tuple[Plan, Plan]:
        async with open_accounts(list(config.accounts.values()), RunContext(str(path)),
                                 hold_locks=True) as run:
            planned = await run.plan()
            # Saved without the marks: the replan's come from the planner's own hooks.
            saved = saved_plan(path, planned, new_join_urls=False)
            replanned, skipped = await run.replan(saved, config)
            assert skipped == []
            return planned, replanned

    planned, replanned = asyncio.run(plan_then_replan())
    expected = [c for c in planned.changes() if c.action is not Action.NOOP]
    assert [c.key for c in expected] == ["b", f"a@{ids['a']}", f"b@{ids['b']}"]
    assert list(replanned.changes()) == expected
    assert [c.new_join_urls for c in replanned.changes()] == [True, False, False]


def saved_plan(path: Path, plan: Plan, *, new_join_urls: bool) -> SavedPlan:
    """`plan` as `plan --out` saves it, every change's `new_join_urls` set as given."""
    changes = tuple(
        SavedChange(c.account, c.provider, c.kind, c.key, c.action, c.reason,
                    c.live.fingerprint if c.live is not None else None,
                    new_join_urls=new_join_urls,
                    before=dict(c.live.fields) if c.live is not None else None)
        for c in plan.changes())
    accounts = tuple(SavedAccount(a.alias, a.provider, a.managed, a.unmanaged)
                     for a in plan.accounts)
    return SavedPlan(str(path.with_suffix(".json")), str(path), "", plan.checksum(),
                     accounts, changes)

