"""The Telnyx adapter and the planner, against the Telnyx emulator."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconcile.engine import planner
from reconcile.engine.http import HttpError
from reconcile.engine.plan import ABSENT, Action, LiveRoom
from reconcile.providers.telnyx.adapter import TelnyxProvider, _live, _name_taken
from reconcile.providers.telnyx.emulator import seed
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import SANDBOX_ENVIRON, connected, load_account, plan_file, telnyx_rooms_file

SANDBOX_PROVIDERS = ("telnyx",)
KEY = "KEYsandbox"
MISSING = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"

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


# -- unset values and error shapes (issue 12, defect 3) --------------------------------------

UNSET_SHAPES = [
    {"webhook_event_url": None, "webhook_event_failover_url": None,
     "webhook_timeout_secs": None, "active_session_id": None},  # null, as the SDK allows
    {"webhook_event_url": "", "webhook_event_failover_url": ""},  # "", as seed 001 echoes
    {},  # left out, as the spec's non-nullable types say
]


def test_null_empty_and_absent_all_read_as_unset(tmp_path: Path, server: SandboxServer
                                                 ) -> None:
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, webhook_event_url:"
                                               " null, webhook_timeout_secs: null,"
                                               " webhook_event_failover_url: null}\n")
    provider = TelnyxProvider(load_account(path, "telnyx"), None)  # type: ignore[arg-type]
    room = provider.account.rooms["rooms"][0].model
    lives = [_live({"id": "r1", "unique_name": "a", "max_participants": 10, **shape})
             for shape in UNSET_SHAPES]
    assert [live.fields for live in lives] == [{"unique_name": "a", "max_participants": 10}] * 3
    assert [live.active_session for live in lives] == [False] * 3
    assert [planner.diff(provider, "rooms", live, room) for live in lives] == [()] * 3


def test_empty_urls_plan_no_change_and_export_nothing(tmp_path: Path, server: SandboxServer,
                                                      sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"unique_name": "a", "webhook_event_url": "",
                                  "webhook_event_failover_url": ""}, {"unique_name": "b"}])
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, webhook_event_url:"
                                               " null}\n      - {unique_name: b,"
                                               " webhook_timeout_secs: null}\n")
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]

    async def export(provider: TelnyxProvider) -> list[dict[str, Any]]:
        return [provider.exportable_fields("rooms", live)
                for live in await provider.export_rooms("rooms")]

    assert connected(TelnyxProvider, load_account(path, "telnyx"), export) == [
        {"unique_name": "a"}, {"unique_name": "b"}]


def test_both_error_shapes_are_read(tmp_path: Path, server: SandboxServer) -> None:
    """A 404 is the spec's bare error object, a refused list its {success, message}; the
    adapter reads the provider's words from either, and from the wrapped `errors`."""
    path = telnyx_rooms_file(tmp_path, server, "")
    account = load_account(path, "telnyx")
    refused = load_account(path, "telnyx", {**SANDBOX_ENVIRON, "TELNYX_API_KEY": "KEYwrong"})

    async def missing(provider: TelnyxProvider) -> str:
        await provider.delete("rooms", LiveRoom("rooms", "x", MISSING, {}))  # gone: fine
        with pytest.raises(HttpError) as caught:
            await provider.http.request("GET", f"/v2/rooms/{MISSING}")
        return provider.error_message(caught.value)

    async def listing(provider: TelnyxProvider) -> str:
        with pytest.raises(HttpError) as caught:
            await provider.list_rooms("rooms")
        assert caught.value.status == 401
        return provider.error_message(caught.value)

    assert connected(TelnyxProvider, account, missing) == f"404: Room {MISSING} not found"
    assert connected(TelnyxProvider, refused, listing) == (
        "401: Authentication failed; check TELNYX_API_KEY, the credentials of account"
        f" `telnyx` ({path}:4:5)")


@pytest.mark.parametrize("body", [
    {"errors": [{"code": "422", "title": "Unprocessable entity",
                 "detail": "unique_name has already been taken",
                 "source": {"pointer": "/unique_name"}}]},
    {"code": "422", "title": "Unprocessable entity", "source": {"pointer": "/unique_name"}},
])
def test_a_taken_name_is_recognised_in_either_shape(body: dict[str, Any]) -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v2/rooms")
    assert _name_taken(HttpError("POST", str(request.url),
                                 httpx.Response(422, json=body, request=request)))
    assert not _name_taken(HttpError("POST", str(request.url), httpx.Response(
        422, json={"code": "422", "source": {"pointer": "/max_participants"}},
        request=request)))
