"""The Twilio adapter and the planner, against the Twilio emulator over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconcile.engine import planner
from reconcile.engine.http import HttpError
from reconcile.engine.plan import ABSENT, Action, LiveRoom
from reconcile.engine.provider import NameTaken
from reconcile.providers.twilio.adapter import ProductRetired, TwilioProvider
from reconcile.providers.twilio.emulator import seed
from reconcile.providers.twilio.model import TwilioRoom
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import connected, load_account, plan_file, rooms_file

SANDBOX_PROVIDERS = ("twilio",)
ACCOUNT = DEFAULT_CREDENTIALS["twilio"][0]


account_of = partial(load_account, provider="twilio")
run = partial(connected, TwilioProvider)
plan = partial(plan_file, TwilioProvider)


def room(**fields: Any) -> TwilioRoom:
    return TwilioRoom.model_validate(fields)


def gets(sandbox: Sandbox) -> int:
    return sandbox.counter_table().get("twilio", {}).get("GET", 0)


def test_empty_account_plans_creates_with_their_fields(tmp_path: Path,
                                                       server: SandboxServer) -> None:
    path = rooms_file(tmp_path, server, "twilio", "      - {unique_name: a, max_participants: 20}\n"
                                                  "      - {unique_name: b}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, "not found"), ("b", Action.CREATE, "not found")]
    assert [(f.name, f.before, f.after) for f in account.changes[0].fields] == [
        ("unique_name", ABSENT, "a"), ("max_participants", ABSENT, 20)]
    assert (account.managed, account.unmanaged) == (0, 0)


def test_matching_rooms_are_noops_and_undeclared_ones_unmanaged(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": "a", "max_participants": 20, "video_codecs": ["VP8", "H264"]},
        {"unique_name": "b"}, {"unique_name": "adhoc"}, {},  # {}: named after its sid
        {"unique_name": "gone", "status": "completed"},
        {"unique_name": "broken", "status": "failed"}])
    path = rooms_file(tmp_path, server, "twilio", """\
      - {unique_name: a, max_participants: 20, video_codecs: [H264, VP8], enable_turn: false}
      - {unique_name: b, type: group, max_participants: 50, empty_room_timeout: 5,
         status_callback_method: POST, video_codecs: [], media_region: us1,
         audio_only: false, large_room: false, status_callback: null}
""")
    sandbox.counters.clear()
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [("a", Action.NOOP),
                                                            ("b", Action.NOOP)]
    assert (account.managed, account.unmanaged) == (2, 1)  # the sid-named room is not counted
    assert sandbox.counter_table() == {"twilio": {"GET": 1}}  # no session or history reads


def test_a_room_the_adapter_creates_plans_as_a_noop(tmp_path: Path,
                                                     server: SandboxServer) -> None:
    declared = """\
      - unique_name: full
        type: group
        max_participants: 12
        max_participant_duration: 3600
        empty_room_timeout: 7
        unused_room_timeout: 9
        status_callback: https://hooks.example.com/video
        status_callback_method: GET
        record_participants_on_connect: true
        transcribe_participants_on_connect: true
        transcriptions_configuration: {languageCode: en-US}
        recording_rules: [{type: exclude, all: true}, {type: include, kind: audio}]
        video_codecs: [VP8, H264]
        media_region: ie1
        large_room: true
        enable_turn: false
      - {unique_name: voice, audio_only: true, video_codecs: []}
"""
    account = account_of(rooms_file(tmp_path, server, "twilio", declared))

    async def create_all(provider: TwilioProvider) -> list[Any]:
        return [await provider.create("rooms", r.model) for r in account.rooms["rooms"]]

    full, voice = run(account, create_all)
    assert (full.key, full.status, full.fields["video_codecs"]) == ("full", "in-progress",
                                                                     ["H264", "VP8"])
    assert full.fields["recording_rules"] == [{"type": "exclude", "all": True},
                                              {"type": "include", "kind": "audio"}]
    assert voice.fields["video_codecs"] == []
    changes = plan(rooms_file(tmp_path, server, "twilio", declared)).changes
    assert [(c.key, c.action) for c in changes] == [("full", Action.NOOP),
                                                    ("voice", Action.NOOP)]


@pytest.mark.parametrize(("field", "declared", "drifted"), [
    ("max_participants", 20, 8),
    ("max_participant_duration", 3600, 14400),
    ("empty_room_timeout", 10, 5),
    ("unused_room_timeout", 10, 30),
    ("status_callback", "https://hooks.example.com/a", None),
    ("status_callback_method", "GET", "POST"),
    ("record_participants_on_connect", True, False),
    ("video_codecs", ["H264"], ["VP8"]),
    ("media_region", "de1", "us1"),
    ("large_room", True, False),
    ("type", "group", "group-small"),
])
def test_any_drift_is_a_replace_forced_by_that_field(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, field: str, declared: Any,
        drifted: Any) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a", field: declared}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("twilio", ACCOUNT, "rooms", "a", {field: drifted})
    rooms = f"      - {{unique_name: a, {field}: {_yaml(declared)}}}\n"
    (change,) = plan(rooms_file(tmp_path, server, "twilio", rooms)).changes
    assert (change.action, change.reason) == (Action.REPLACE,
                                              f"field {field} cannot change in place")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        (field, drifted, declared, True)]
    assert change.actions == ["delete", "create"]  # end the room, then create it again
    assert not change.disruptive


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "[" + ", ".join(value) + "]" if isinstance(value, list) else str(value)


def test_drift_in_several_fields_lists_each(tmp_path: Path, server: SandboxServer,
                                            sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a", "max_participants": 20,
                                      "audio_only": True}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("twilio", ACCOUNT, "rooms", "a", {
            "max_participants": 5, "audio_only": False, "media_region": "jp1"})
    rooms = "      - {unique_name: a, max_participants: 20, audio_only: true}\n"
    (change,) = plan(rooms_file(tmp_path, server, "twilio", rooms)).changes
    assert change.reason == "fields audio_only, max_participants cannot change in place"
    assert change.replace_paths == ["audio_only", "max_participants"]  # media_region: undeclared


def test_drifted_recording_rules_are_read_from_their_sub_resource(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    rules = [{"type": "include", "all": True}]
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "rec", "recording_rules": rules},
                                     {"unique_name": "plain"}])
    declared = ("      - {unique_name: rec, recording_rules: [{type: include, all: true}]}\n"
                "      - {unique_name: plain}\n")
    path = rooms_file(tmp_path, server, "twilio", declared)
    sandbox.counters.clear()
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]
    assert gets(sandbox) == 2  # the list, and one room's rules: only it declares them
    with SandboxControl(server.base_url) as control:
        control.patch_room("twilio", ACCOUNT, "rooms", "rec",
                           {"_recording_rules": [{"type": "exclude", "all": True}]})
    (change, _) = plan(path).changes
    assert (change.action, change.replace_paths) == (Action.REPLACE, ["recording_rules"])


def test_settings_no_read_shows_are_never_drift(tmp_path: Path, server: SandboxServer,
                                                sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a"}])
    rooms = ("      - {unique_name: a, transcribe_participants_on_connect: true,"
             " transcriptions_configuration: {languageCode: fr-FR}}\n")
    (change,) = plan(rooms_file(tmp_path, server, "twilio", rooms)).changes
    assert change.action is Action.NOOP


def test_a_room_that_ended_by_itself_plans_as_a_create_because_it_ended(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = rooms_file(tmp_path, server, "twilio",
                      "      - {unique_name: standup, unused_room_timeout: 3}\n"
                      "      - {unique_name: never}\n")
    account = account_of(path)
    run(account, lambda provider: provider.create("rooms", account.rooms["rooms"][0].model))
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.CREATE]
    with SandboxControl(server.base_url) as control:
        control.advance(minutes=4)  # past unused_room_timeout: nobody ever joined
    sandbox.counters.clear()
    changes = plan(path).changes
    assert [(c.key, c.action, c.reason) for c in changes] == [
        ("standup", Action.CREATE, "ended"), ("never", Action.CREATE, "not found")]
    assert gets(sandbox) == 3  # the list, then one completed-room lookup per create


def test_prune_ends_only_matching_undeclared_rooms(tmp_path: Path, server: SandboxServer,
                                                    sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "team-a"}, {"unique_name": "team-old"},
                                     {"unique_name": "other"}])
    path = rooms_file(tmp_path, server, "twilio", "      - {unique_name: team-a}\n",
                      extra="    prune: {match: 'team-*'}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason, c.disruptive) for c in account.changes] == [
        ("team-a", Action.NOOP, "up to date", False),
        ("team-old", Action.DELETE, "pruned: matches team-*", False)]
    assert account.unmanaged == 1


def test_listing_takes_the_fewest_pages_of_the_largest_size(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": f"r{i}"} for i in range(2100)])
    path = rooms_file(tmp_path, server, "twilio", "      - {unique_name: r2099}\n"
                                                  "      - {unique_name: r0}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert [c.action for c in account.changes] == [Action.NOOP, Action.NOOP]
    assert account.unmanaged == 2098
    assert sandbox.counter_table() == {"twilio": {"GET": 3}}  # ceil(2100 / 1000)


def test_people_in_the_room_make_replaces_and_deletes_disruptive(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a", "max_participants": 5},
                                     {"unique_name": "team-live"}, {"unique_name": "team-left"}])
    with SandboxControl(server.base_url) as control:
        for name in ("a", "team-live", "team-left"):
            control.participants("twilio", ACCOUNT, "rooms", name, add=["alice"])
        control.participants("twilio", ACCOUNT, "rooms", "team-left", remove=["alice"])
    path = rooms_file(tmp_path, server, "twilio", "      - {unique_name: a, max_participants: 9}\n",
                      extra="    prune: {match: 'team-*'}\n")
    assert [(c.key, c.action, c.disruptive) for c in plan(path).changes] == [
        ("a", Action.REPLACE, True), ("team-left", Action.DELETE, False),
        ("team-live", Action.DELETE, True)]


def test_hooks_create_find_delete(tmp_path: Path, server: SandboxServer,
                                  sandbox: Sandbox) -> None:
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))
    desired = room(unique_name="a", max_participants=7, video_codecs=["H264"],
                   record_participants_on_connect=True)

    async def scenario(provider: TwilioProvider) -> None:
        created = await provider.create("rooms", desired)
        assert created.key == "a" and created.id.startswith("RM")
        assert created.fields["max_participants"] == 7
        assert created.fields["video_codecs"] == ["H264"]
        assert created.fields["record_participants_on_connect"] is True
        with pytest.raises(NameTaken):  # U1: 53113 among in-progress rooms
            await provider.create("rooms", desired)
        assert await provider.find("rooms", "a") == created
        assert await provider.find("rooms", "nope") is None
        assert await provider.session_active("rooms", created) is False
        await provider.delete("rooms", created)
        assert await provider.find("rooms", "a") is None
        assert await provider.missing_reason("rooms", "a") == "ended"
        await provider.delete("rooms", created)  # already ended: 53112, a GET confirms
        again = await provider.create("rooms", desired)  # the name is free once ended
        assert again.id != created.id
        with pytest.raises(NotImplementedError):
            await provider.update("rooms", again, desired, ())

    run(account, scenario)
    ended = sandbox.store.list("twilio", ACCOUNT, "rooms", live=False)
    assert [r.data["status"] for r in ended] == ["completed"]


def test_delete_of_an_unknown_room_is_done(tmp_path: Path, server: SandboxServer) -> None:
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))

    async def scenario(provider: TwilioProvider) -> None:
        live = await provider.create("rooms", room(unique_name="a"))
        ghost = type(live)("rooms", "ghost", "RM" + "0" * 32, {})
        await provider.delete("rooms", ghost)

    run(account, scenario)


def test_other_create_errors_are_not_name_taken(tmp_path: Path, server: SandboxServer
                                                ) -> None:
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))
    bad = TwilioRoom.model_construct(unique_name="a", empty_room_timeout=99)
    bad.model_fields_set.add("empty_room_timeout")
    with pytest.raises(HttpError) as caught:
        run(account, lambda provider: provider.create("rooms", bad))
    assert caught.value.body["code"] == 53109


# -- legacy room types (U14) --------------------------------------------------------------

def switch(server: SandboxServer, **switches: Any) -> None:
    response = httpx.post(f"{server.control_url}/providers/twilio/accounts/{ACCOUNT}/switches",
                          json=switches)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("legacy", ["go", "peer-to-peer", "group-small"])
def test_a_legacy_type_that_reads_back_as_group_is_no_change(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, legacy: str) -> None:
    switch(server, legacy_types_as_group=True)
    path = rooms_file(tmp_path, server, "twilio", f"      - {{unique_name: a, type: {legacy}}}\n")
    account = account_of(path)
    created = run(account, lambda provider: provider.create("rooms", account.rooms["rooms"][0]
                                                           .model))
    assert created.fields["type"] == "group"
    assert [(c.key, c.action) for c in plan(path).changes] == [("a", Action.NOOP)]


def test_a_live_legacy_room_declared_as_group_is_still_replaced(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a", "type": "peer-to-peer"}])
    path = rooms_file(tmp_path, server, "twilio", "      - {unique_name: a, type: group}\n")
    (change,) = plan(path).changes
    assert change.action is Action.REPLACE
    assert [(f.name, f.before, f.after) for f in change.fields] == [
        ("type", "peer-to-peer", "group")]


# -- the end of service (U15) -------------------------------------------------------------

END = date(2026, 12, 5)


@pytest.mark.parametrize("retired", [True, 401, 403, 404, 410])
def test_a_retired_product_is_one_clear_error_never_room_not_found(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, retired: bool | int) -> None:
    seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "a"}])
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))
    live = run(account, lambda provider: provider.find("rooms", "a"), today=END)
    assert live is not None
    switch(server, retired=retired)
    for use in (planner.plan, lambda p: p.delete("rooms", live),
                lambda p: p.session_active("rooms", live),
                lambda p: p.create("rooms", room(unique_name="b"))):
        with pytest.raises(ProductRetired) as caught:
            run(account, use, today=END)
        message = str(caught.value)
        assert message.startswith("twilio: Twilio answered ")
        assert "Programmable Video may have ended for this account" in message
        assert "2026-12-05" in message and "docs/migration.md" in message
        assert "not found" not in message
    assert sandbox.store.get("twilio", ACCOUNT, "rooms", live.id).data["status"] == \
        "in-progress"  # the failed delete did not pass for done


@pytest.mark.parametrize(("retired", "before_the_date"), [
    (401, HttpError), (403, HttpError), (404, ProductRetired), (410, ProductRetired)])
def test_before_the_end_date_only_a_gone_room_list_means_retired(
        tmp_path: Path, server: SandboxServer, retired: int,
        before_the_date: type[Exception]) -> None:
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))
    switch(server, retired=retired)
    with pytest.raises(before_the_date):  # 401/403: the credentials, most likely
        run(account, planner.plan, today=END - timedelta(days=1))


def test_a_room_404_while_the_list_answers_is_an_ordinary_gone_room(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    account = account_of(rooms_file(tmp_path, server, "twilio", "      - {unique_name: a}\n"))
    ghost = LiveRoom("rooms", "ghost", "RM" + "0" * 32, {})
    sandbox.counters.clear()
    run(account, lambda provider: provider.delete("rooms", ghost), today=END)
    # The 404 was checked against the room list (one GET) before it counted as "gone".
    assert sandbox.counter_table()["twilio"] == {"POST": 1, "GET": 1}


def test_the_end_of_service_notice_starts_on_the_date() -> None:
    assert TwilioProvider.notices(END - timedelta(days=1)) == []
    (notice,) = TwilioProvider.notices(END)
    assert "December 5, 2026" in notice and "docs/migration.md" in notice
    assert TwilioProvider.notices(END + timedelta(days=400)) == [notice]
