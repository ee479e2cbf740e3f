"""The Telnyx adapter and the planning template, against the Telnyx emulator."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from reconcile.engine.plan import ABSENT, Action
from reconcile.providers.telnyx.adapter import TelnyxProvider
from reconcile.providers.telnyx.emulator import seed
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import plan_file, telnyx_rooms_file

SANDBOX_PROVIDERS = ("telnyx",)
KEY = "KEYsandbox"

plan = partial(plan_file, TelnyxProvider)


def test_empty_account_plans_creates_with_their_fields(tmp_path: Path,
                                                       server: SandboxServer) -> None:
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, max_participants: 20}\n"
                                               "      - {unique_name: b}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, "not found"), ("b", Action.CREATE, "not found")]
    assert [(f.name, f.before, f.after) for f in account.changes[0].fields] == [
        ("unique_name", ABSENT, "a"), ("max_participants", ABSENT, 20)]
    assert (account.managed, account.unmanaged) == (0, 0)


def test_matching_rooms_are_noops_and_undeclared_ones_unmanaged(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "a", "max_participants": 20},
                                 {"unique_name": "b"}, {"unique_name": "adhoc"}, {}])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, max_participants: 20}\n"
                                               "      - {unique_name: b, max_participants: 10}\n")
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [("a", Action.NOOP),
                                                            ("b", Action.NOOP)]
    assert (account.managed, account.unmanaged) == (2, 1)  # the unnamed room is not counted


def test_drift_is_reported_field_by_field(tmp_path: Path, server: SandboxServer,
                                          sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "a", "max_participants": 20,
                                  "enable_recording": True}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("telnyx", KEY, "rooms", "a", {"max_participants": 5})
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, max_participants: 20,"
                                               " enable_recording: true}\n")
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (Action.UPDATE, "changed: max_participants")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        ("max_participants", 5, 20, False)]


def test_prune_deletes_only_matching_undeclared_rooms(tmp_path: Path, server: SandboxServer,
                                                       sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "team-a"}, {"unique_name": "team-old"},
                                 {"unique_name": "other"}])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: team-a}\n",
                             extra="    prune: {match: 'team-*'}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("team-a", Action.NOOP, "up to date"),
        ("team-old", Action.DELETE, "pruned: matches team-*")]
    assert account.unmanaged == 1


def test_listing_fetches_the_remaining_pages_after_the_first(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": f"r{i}"} for i in range(600)])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: r599}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert account.changes[0].action is Action.NOOP
    assert account.unmanaged == 599
    assert sandbox.counter_table() == {"telnyx": {"GET": 3}}  # ceil(600 / 250)


def test_a_live_session_makes_a_deletion_disruptive(tmp_path: Path, server: SandboxServer,
                                                     sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "team-live"}])
    with SandboxControl(server.base_url) as control:
        control.participants("telnyx", KEY, "rooms", "team-live", add=["alice"])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: keep}\n",
                             extra="    prune: {match: 'team-*'}\n")
    deletion = next(c for c in plan(path).changes if c.action is Action.DELETE)
    assert deletion.disruptive


def test_a_rename_is_an_update_in_place(tmp_path: Path, server: SandboxServer,
                                        sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "old-name", "max_participants": 12}])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: new-name, renamed_from:"
                                               " old-name, max_participants: 12}\n")
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (Action.UPDATE,
                                              "renamed from old-name; changed: unique_name")
    assert [(f.name, f.before, f.after) for f in change.fields] == [
        ("unique_name", "old-name", "new-name")]
