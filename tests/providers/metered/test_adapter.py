"""The Metered adapter and the planner, against the Metered emulator."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from reconcile.config import AccountConfig
from reconcile.engine import planner
from reconcile.engine.apply import apply_changes
from reconcile.engine.http import HttpError, HttpSettings, TransportError
from reconcile.engine.plan import ABSENT, AccountPlan, Action, LiveRoom
from reconcile.engine.provider import NameTaken
from reconcile.errors import ReconcileError
from reconcile.providers.metered.adapter import (
    MeteredAuthError,
    MeteredProvider,
    RoomGone,
    room_list,
)
from reconcile.providers.metered.emulator import seed
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

from ...conftest import RecordingHttp, Sent, connected, load_account, rooms_file, sent

SANDBOX_PROVIDERS = ("metered",)
KEY = "sandbox-secret-key"
APP = "acme"
PAST = 1_600_000_000  # 2020-09-13T12:26:40Z
FUTURE = 4_000_000_000
FAST = HttpSettings(attempts=1)  # error tests: no retry back-off
T = TypeVar("T")


def account_of(path: Path, key: str = KEY) -> AccountConfig:
    return load_account(path, "metered", {"METERED_SECRET_KEY": key})


def run(account: AccountConfig, action: Callable[[MeteredProvider], Awaitable[T]],
        settings: HttpSettings | None = None) -> tuple[T, list[Sent]]:
    """Runs `action` with a provider on a recording client; returns its result and requests."""

    async def recorded(provider: MeteredProvider) -> tuple[T, list[Sent]]:
        return await action(provider), sent(provider)

    return connected(MeteredProvider, account, recorded,
                     http=RecordingHttp.of(MeteredProvider, settings))


def plan(path: Path) -> AccountPlan:
    return run(account_of(path), planner.plan)[0]


def declared(account: AccountConfig, key: str) -> Any:
    return next(r.model for r in account.all_rooms() if r.key == key)


def stored(sandbox: Sandbox, name: str) -> dict[str, Any]:
    record = sandbox.store.find_live("metered", APP, "rooms", name)
    assert record is not None, name
    return record.data


# -- wiring ----------------------------------------------------------------------------

def test_base_url_is_the_app_host_or_the_endpoint(tmp_path: Path, server: SandboxServer
                                                  ) -> None:
    base_url = MeteredProvider.base_url
    assert base_url(account_of(rooms_file(tmp_path, None, "metered", ""))) == "https://acme.metered.live"
    assert base_url(account_of(rooms_file(tmp_path, server, "metered", ""))) == \
        f"{server.url('metered')}/{APP}"
    assert WRONG not in repr(MeteredProvider.auth(account_of(
        rooms_file(tmp_path, None, "metered", ""), key=WRONG)))


# -- plan ------------------------------------------------------------------------------

def test_empty_app_plans_creates_with_their_fields(tmp_path: Path, server: SandboxServer
                                                   ) -> None:
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: a, privacy: private}\n"
                                                   "      - {roomName: b}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, "not found"), ("b", Action.CREATE, "not found")]
    assert [(f.name, f.before, f.after) for f in account.changes[0].fields] == [
        ("roomName", ABSENT, "a"), ("privacy", ABSENT, "private")]
    assert (account.managed, account.unmanaged) == (0, 0)


ALL_FIELDS = """\
      - roomName: full
        privacy: private
        expireUnixSec: 4000000000
        notBeforeUnixSec: 1000
        ejectAtRoomExp: true
        deleteOnExp: false
        maxParticipants: 12
        autoJoin: true
        showInviteBox: false
        enableRequestToJoin: true
        enableChat: true
        newChatForMeetingSession: false
        enableScreenSharing: false
        joinVideoOn: false
        joinAudioOn: false
        enableRecording: true
        ownerOnlyBroadcast: true
        recordRoom: true
        ejectAfterElapsedTimeInSec: 7200
        meetingJoinWebhook: https://hooks.example.com/join
        meetingLeftWebhook: https://hooks.example.com/left
        meetingStartedWebhook: https://hooks.example.com/started
        meetingEndedWebhook: https://hooks.example.com/ended
        endMeetingAfterNoActivityInSec: 300
        audioOnlyRoom: false
        enableComposition: true
        compositionLayout: active_speaker
        recordComposition: true
        enableRTMPOut: true
        rtmpOutURL: rtmps://live.example.com/app/key
        enableLiveStreaming: true
        lang: fr
      - {roomName: bare}
"""


def test_rooms_just_created_plan_as_noops(tmp_path: Path, server: SandboxServer) -> None:
    account = account_of(rooms_file(tmp_path, server, "metered", ALL_FIELDS))

    async def create_then_plan(provider: MeteredProvider) -> AccountPlan:
        for room in account.all_rooms():
            await provider.create("rooms", room.model)
        return await planner.plan(provider)

    result, sent = run(account, create_then_plan)
    assert [(c.key, c.action, c.reason) for c in result.changes] == [
        ("full", Action.NOOP, "up to date"), ("bare", Action.NOOP, "up to date")]
    # U1: privacy is always sent, "public" when the room declares none.
    assert sent[1] == ("POST", "/api/v1/room", {"privacy": "public", "roomName": "bare"})


def test_seeded_rooms_match_undeclared_and_archived_ones_are_left_out(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a", "maxParticipants": 20},
                                 {"roomName": "b", "enableChat": True},
                                 {"roomName": "adhoc"}, {"roomName": "gone"}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("metered", APP, "rooms", "gone", {"archived": True})
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: a, maxParticipants: 20}\n"
                                                   "      - {roomName: b}\n"
                                                   "      - {roomName: gone}\n")
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [
        ("a", Action.NOOP), ("b", Action.NOOP), ("gone", Action.CREATE)]
    assert (account.managed, account.unmanaged) == (2, 1)


def test_drift_is_reported_field_by_field_on_declared_fields_only(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a", "privacy": "private",
                                  "maxParticipants": 20, "enableChat": True}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("metered", APP, "rooms", "a", {
            "privacy": "public", "maxParticipants": 5,
            "joinVideoOn": False})  # undeclared: never drift (U15)
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: a, privacy: private,"
                                                   " maxParticipants: 20, enableChat: true,"
                                                   " recordComposition: false}\n")
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (
        Action.UPDATE, "changed: maxParticipants, privacy, recordComposition")
    # U14: a declared field the live room lacks is unset, not a provider default.
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        ("maxParticipants", 5, 20, False), ("privacy", "public", "private", False),
        ("recordComposition", ABSENT, False, False)]


def test_prune_deletes_only_matching_undeclared_rooms(tmp_path: Path, server: SandboxServer,
                                                       sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "team-a"}, {"roomName": "team-old"},
                                 {"roomName": "other"}])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: team-a}\n",
                      extra="    prune: {match: 'team-*'}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason, c.disruptive) for c in account.changes] == [
        ("team-a", Action.NOOP, "up to date", False),
        ("team-old", Action.DELETE, "pruned: matches team-*", False)]
    assert account.unmanaged == 1


def test_a_rename_in_the_file_plans_a_create_and_leaves_or_prunes_the_old_name(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    # The name is the only identity: a renamed room is a new room plus a leftover.
    seed(sandbox, APP, "rooms", [{"roomName": "team-old"}])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: team-new}\n",
                      extra="    prune: {match: 'team-*'}\n")
    assert [(c.key, c.action) for c in plan(path).changes] == [
        ("team-new", Action.CREATE), ("team-old", Action.DELETE)]


def test_listing_is_one_request_whatever_the_number_of_rooms(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": f"r{i}"} for i in range(1500)])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: r1499}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert account.changes[0].action is Action.NOOP
    assert account.unmanaged == 1499
    assert sandbox.counter_table() == {"metered": {"GET": 1}}  # U5: no pagination


def test_metered_shows_no_sessions(tmp_path: Path, server: SandboxServer, sandbox: Sandbox
                                   ) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "team-live"}])
    with SandboxControl(server.base_url) as control:
        control.participants("metered", APP, "rooms", "team-live", add=["alice"])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: keep}\n",
                      extra="    prune: {match: 'team-*'}\n")
    deletion = next(c for c in plan(path).changes if c.action is Action.DELETE)
    assert MeteredProvider.capabilities.sessions is False
    assert deletion.live is not None and deletion.live.active_session is None
    assert not deletion.disruptive


# -- U16: expiry ---------------------------------------------------------------------------

def test_an_expired_room_says_so_in_its_reason(tmp_path: Path, server: SandboxServer,
                                                sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [
        {"roomName": "old", "expireUnixSec": PAST},
        {"roomName": "drifted", "expireUnixSec": PAST, "maxParticipants": 3},
        {"roomName": "renewed", "expireUnixSec": PAST},
        {"roomName": "later", "expireUnixSec": FUTURE}])
    path = rooms_file(tmp_path, server, "metered", f"""\
      - {{roomName: old, expireUnixSec: {PAST}}}
      - {{roomName: drifted, maxParticipants: 4}}
      - {{roomName: renewed, expireUnixSec: {FUTURE}}}
      - {{roomName: later}}
""")
    changes = plan(path).changes
    assert [(c.key, c.action, c.reason) for c in changes] == [
        ("old", Action.NOOP, "expired at 2020-09-13T12:26:40Z"),
        ("drifted", Action.UPDATE, "changed: maxParticipants; expired at 2020-09-13T12:26:40Z"),
        ("renewed", Action.UPDATE, "changed: expireUnixSec; expired at 2020-09-13T12:26:40Z"),
        ("later", Action.NOOP, "up to date")]
    assert [c.live.status for c in changes if c.live] == ["expired"] * 3 + [None]


# -- replace -----------------------------------------------------------------------------

def test_a_rename_is_a_create_first_replacement(tmp_path: Path, server: SandboxServer,
                                                 sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "old", "maxParticipants": 8}])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: new, renamed_from: old,"
                                                   " maxParticipants: 8}\n")

    async def plan_and_apply(provider: MeteredProvider) -> AccountPlan:
        account = await planner.plan(provider)
        outcomes = await apply_changes(provider, account.changes, concurrency=4)
        assert [(o.status, o.message) for o in outcomes] == [("applied", "")]
        return account

    account, sent = run(account_of(path), plan_and_apply)
    (change,) = account.changes
    assert (change.action, change.reason) == (
        Action.REPLACE, "renamed from old; field roomName cannot change in place")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        ("roomName", "old", "new", True)]
    assert change.actions == ["create", "delete"]  # U8: the new room first
    assert [(m, p) for m, p, _ in sent[1:]] == [("POST", "/api/v1/room"),
                                                ("DELETE", "/api/v1/room/old")]
    with SandboxControl(server.base_url) as control:
        assert [r["data"]["roomName"] for r in control.rooms("metered", APP, "rooms", live=True)
                ] == ["new"]
    assert [c.action for c in plan(path).changes] == [Action.NOOP]


# -- hooks -------------------------------------------------------------------------------

def test_create_returns_the_room_and_a_duplicate_raises_name_taken(
        tmp_path: Path, server: SandboxServer) -> None:
    account = account_of(rooms_file(tmp_path, server, "metered",
                                    "      - {roomName: a, autoJoin: true}\n"))
    room = declared(account, "a")

    async def twice(provider: MeteredProvider) -> LiveRoom:
        live = await provider.create("rooms", room)
        with pytest.raises(NameTaken):
            await provider.create("rooms", room)
        return live

    live, _ = run(account, twice)
    assert (live.kind, live.key, live.status, live.active_session) == ("rooms", "a", None, None)
    assert len(live.id) == 24
    assert live.fields["autoJoin"] is True and live.fields["privacy"] == "public"
    assert live.join_urls == (f"{server.url('metered')}/{APP}/a",)


def test_update_puts_the_live_room_under_the_declared_set_with_privacy_no_roomname(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a", "privacy": "private", "maxParticipants": 2,
                                  "enableChat": True}])
    path = rooms_file(tmp_path, server, "metered", "      - {roomName: a, maxParticipants: 9,"
                                                   " enableChat: true}\n")
    account = account_of(path)

    async def update(provider: MeteredProvider) -> tuple[LiveRoom, AccountPlan]:
        (change,) = (await planner.plan(provider)).changes
        assert change.live is not None and change.desired is not None
        updated = await provider.update("rooms", change.live, change.desired, change.fields)
        return updated, await planner.plan(provider)

    (updated, after), sent = run(account, update)
    # U7: the live room with every declared field over it, not just the change; privacy
    # always (the live value when undeclared, so the PUT never opens a private room); U8:
    # never roomName.
    method, where, body = sent[1]
    assert (method, where) == ("PUT", "/api/v1/room/a")
    assert {k: body[k] for k in ("maxParticipants", "enableChat", "privacy", "joinVideoOn",
                                 "lang")} == {"maxParticipants": 9, "enableChat": True,
                                              "privacy": "private", "joinVideoOn": True,
                                              "lang": "en"}
    assert "roomName" not in body
    assert updated.fields["maxParticipants"] == 9
    assert stored(sandbox, "a")["privacy"] == "private"
    assert [c.action for c in after.changes] == [Action.NOOP]


def test_update_sends_public_when_neither_file_nor_room_has_privacy(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a"}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("metered", APP, "rooms", "a", {"privacy": None})  # U14: unset
    account = account_of(rooms_file(tmp_path, server, "metered",
                                    "      - {roomName: a, autoJoin: true}\n"))

    async def update(provider: MeteredProvider) -> LiveRoom:
        live = await provider.find("rooms", "a")
        assert live is not None and "privacy" not in live.fields
        return await provider.update("rooms", live, declared(account, "a"), ())

    updated, sent = run(account, update)
    method, where, body = sent[-1]
    assert (method, where, body["autoJoin"], body["privacy"]) == (
        "PUT", "/api/v1/room/a", True, "public")
    assert updated.fields["privacy"] == "public"


def test_update_of_a_room_archived_meanwhile_says_it_is_gone(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a"}])
    account = account_of(rooms_file(tmp_path, server, "metered",
                                    "      - {roomName: a, autoJoin: true}\n"))

    async def update(provider: MeteredProvider) -> None:
        live = await provider.find("rooms", "a")
        assert live is not None
        await provider.delete("rooms", live)
        await provider.update("rooms", live, declared(account, "a"), ())

    with pytest.raises(RoomGone, match="'a' of account 'metered' no longer exists"):
        run(account, update)


def test_delete_archives_and_deleting_again_is_not_an_error(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a"}, {"roomName": "b"}])
    account = account_of(rooms_file(tmp_path, server, "metered", ""))

    async def delete_twice(provider: MeteredProvider) -> list[LiveRoom]:
        live = await provider.find("rooms", "a")
        assert live is not None
        await provider.delete("rooms", live)
        await provider.delete("rooms", live)  # already archived: what we wanted
        return await provider.list_rooms("rooms")

    after, sent = run(account, delete_twice)
    assert [r.key for r in after] == ["b"]
    assert [(m, p) for m, p, _ in sent] == [
        ("GET", "/api/v1/room/a"), ("DELETE", "/api/v1/room/a"),
        ("DELETE", "/api/v1/room/a"), ("GET", "/api/v1/room/a"), ("GET", "/api/v1/rooms")]
    with SandboxControl(server.base_url) as control:
        (archived,) = control.rooms("metered", APP, "rooms", live=False)
    assert archived["data"]["archived"] is True  # U6: kept, archived


def test_find_gets_one_room_and_none_for_unknown_or_archived(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, APP, "rooms", [{"roomName": "a", "maxParticipants": 4}, {"roomName": "b"}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("metered", APP, "rooms", "b", {"archived": True})
    account = account_of(rooms_file(tmp_path, server, "metered", ""))

    async def find_all(provider: MeteredProvider) -> list[LiveRoom | None]:
        return [await provider.find("rooms", name) for name in ("a", "b", "nope")]

    sandbox.counters.clear()
    (a, b, nope), _ = run(account, find_all)
    assert a is not None and (a.key, a.fields["maxParticipants"]) == ("a", 4)
    assert (b, nope) == (None, None)  # U4, U6: 400 "Invalid request" is absent
    assert sandbox.counter_table() == {"metered": {"GET": 3}}  # one GET each, no listing


def test_list_answers_may_be_wrapped_and_archived_entries_are_ignored() -> None:
    rooms = [{"roomName": "a"}, {"roomName": "z", "archived": True}]
    for body in (rooms, {"rooms": rooms}, {"data": rooms}):
        assert room_list(body) == [{"roomName": "a"}]
    with pytest.raises(ReconcileError, match="unexpected body"):
        room_list({"success": False})


# -- the secret key ----------------------------------------------------------------------

WRONG = "not-the-key-0123456789"


def leaked(secret: str, exc: BaseException | None, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Where the secret shows: the error chain's messages and reprs, and every log line."""
    places = []
    while exc is not None:
        places += [str(exc), repr(exc), str(getattr(exc, "url", ""))]
        exc = exc.__cause__ or exc.__context__
    places += [caplog.text, *(r.getMessage() for r in caplog.records)]
    return [p for p in places if secret in p]


def test_a_refused_key_is_an_auth_error_that_never_shows_the_key(
        tmp_path: Path, server: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconcile")
    account = account_of(rooms_file(tmp_path, server, "metered", "      - {roomName: a}\n"),
                         key=WRONG)
    for action in (planner.plan, lambda p: p.find("rooms", "a"),
                   lambda p: p.create("rooms", declared(account, "a"))):
        with pytest.raises(MeteredAuthError, match="secret key was refused") as info:
            run(account, action)
        assert "401 Invalid secretKey" in str(info.value)
        assert leaked(WRONG, info.value, caplog) == []


def test_other_failures_never_show_the_key(tmp_path: Path, server: SandboxServer,
                                           sandbox: Sandbox,
                                           caplog: pytest.LogCaptureFixture) -> None:
    account = account_of(rooms_file(tmp_path, server, "metered", "      - {roomName: a}\n"))
    set_faults(sandbox, "metered", {"error_rate": 1.0, "error_statuses": [503]})
    with pytest.raises(HttpError) as server_error:
        run(account, planner.plan, FAST)
    assert server_error.value.status == 503
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    dead = account_of(rooms_file(tmp_path, f"http://127.0.0.1:{port}/{APP}", "metered", ""))
    with pytest.raises(TransportError) as refused:
        run(dead, lambda p: p.list_rooms("rooms"), FAST)
    assert "secretKey=***" in str(server_error.value)  # the http layer's mask
    assert leaked(KEY, server_error.value, caplog) == leaked(KEY, refused.value, caplog) == []


def test_http_logs_never_show_the_key(tmp_path: Path, server: SandboxServer,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = account_of(rooms_file(tmp_path, server, "metered", "      - {roomName: a}\n"))
    run(account, planner.plan)
    assert caplog.records  # httpx did log the request
    assert leaked(KEY, None, caplog) == []
