"""The Daily adapter against the Daily emulator over loopback: plan, apply, no-op, update
in place, rename, delete and prune, pagination, adoption, errors, faults and hostile
answers (docs/providers/daily.md)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.config import AccountConfig
from reconcile.engine.http import HttpError, HttpSettings, UnusableAnswer
from reconcile.engine.plan import ABSENT, Action, LiveRoom
from reconcile.engine.provider import NameTaken
from reconcile.exitcodes import CHANGES, OK
from reconcile.providers.daily import adapter
from reconcile.providers.daily.adapter import DailyProvider
from reconcile.providers.daily.emulator import domain_of, seed
from reconcile.providers.daily.emulator_limits import SWITCHES
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer
from reconcile.sandbox.update_mode import set_update_mode

from ...conftest import (
    SANDBOX_ACCOUNTS,
    SANDBOX_ENVIRON,
    RecordingHttp,
    connected,
    load_account,
    plan_file,
    rooms_file,
    sent,
)

SANDBOX_PROVIDERS = ("daily",)
KEY = SANDBOX_ACCOUNTS["daily"]  # the API key the rooms file's account uses
plan = partial(plan_file, DailyProvider)
SEED = 1


def daily_file(tmp_path: Path, server: SandboxServer, rooms: str, extra: str = "") -> Path:
    return rooms_file(tmp_path, server, "daily", rooms, extra)


def recording(settings: HttpSettings | None = None) -> Any:
    """What `connected` takes as `http`: a recording client with the Bearer header."""
    return lambda account: RecordingHttp(DailyProvider.base_url(account), settings=settings,
                                         headers=DailyProvider.auth_headers(account))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=SANDBOX_ENVIRON, catch_exceptions=False)


def stored(server: SandboxServer, name: str) -> dict[str, Any]:
    with SandboxControl(server.base_url) as control:
        data: dict[str, Any] = control.room("daily", KEY, "rooms", name)["data"]
    return data


# -- plans -----------------------------------------------------------------------------

def test_an_empty_domain_plans_creates_with_their_fields(tmp_path: Path,
                                                         server: SandboxServer) -> None:
    path = daily_file(tmp_path, server, "      - {name: a, privacy: private, max_participants:"
                                        " 20}\n      - {name: b}\n")
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, "not found or expired"), ("b", Action.CREATE, "not found or expired")]
    assert [(f.name, f.before, f.after) for f in account.changes[0].fields] == [
        ("name", ABSENT, "a"), ("privacy", ABSENT, "private"), ("max_participants", ABSENT, 20)]


def test_defaults_missing_from_config_are_no_drift(tmp_path: Path, server: SandboxServer,
                                                   sandbox: Sandbox) -> None:
    """Section 9: `config` omits defaults, so declaring a default plans no change; neither
    do undeclared fields nor keys the model does not know (autojoin)."""
    seed(sandbox, KEY, "rooms", [
        {"name": "a", "properties": {"enable_chat": True, "autojoin": True}},
        {"name": "adhoc"}])
    path = daily_file(tmp_path, server, "      - {name: a, privacy: public, enable_chat: true,"
                                        " max_participants: 200, enable_prejoin_ui: true,"
                                        " lang: en, enable_recording: null, exp: null}\n")
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [("a", Action.NOOP)]
    assert (account.managed, account.unmanaged) == (1, 1)


def test_drift_is_reported_field_by_field(tmp_path: Path, server: SandboxServer,
                                          sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a", "privacy": "private",
                                  "properties": {"max_participants": 20}}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("daily", KEY, "rooms", "a", {"max_participants": 5,
                                                         "privacy": "public"})
    path = daily_file(tmp_path, server, "      - {name: a, privacy: private,"
                                        " max_participants: 20}\n")
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (Action.UPDATE,
                                              "changed: max_participants, privacy")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        ("max_participants", 5, 20, False), ("privacy", "public", "private", False)]


def test_a_property_without_a_default_reads_as_unset(tmp_path: Path, server: SandboxServer,
                                                     sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a"}])
    (change,) = plan(daily_file(tmp_path, server, "      - {name: a, enable_recording: cloud,"
                                                  " exp: null, geo: null}\n")).changes
    assert [(f.name, f.before, f.after) for f in change.fields] == [
        ("enable_recording", ABSENT, "cloud")]  # the nulls ask for what is already so


def test_keys_daily_adds_inside_an_object_are_no_drift(tmp_path: Path, server: SandboxServer,
                                                        sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a", "properties": {"recordings_bucket": {
        "bucket_name": "b", "allow_streaming_from_bucket": False}}}])
    declared = "      - {name: a, recordings_bucket: {bucket_name: %s}}\n"
    assert [c.action for c in plan(daily_file(tmp_path, server, declared % "b")).changes] == [
        Action.NOOP]
    (change,) = plan(daily_file(tmp_path, server, declared % "c")).changes
    assert [(f.name, f.after) for f in change.fields] == [("recordings_bucket",
                                                           {"bucket_name": "c"})]


def test_a_rename_is_a_create_first_replacement(tmp_path: Path, server: SandboxServer,
                                                sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "old"}])
    path = daily_file(tmp_path, server, "      - {name: new, renamed_from: old}\n")
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (
        Action.REPLACE, "renamed from old; field name cannot change in place")
    assert change.replace_order == "create-first"


def test_listing_walks_cursor_pages_with_the_fewest_requests(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": f"r{i}"} for i in range(250)])
    path = daily_file(tmp_path, server, "      - {name: r0}\n      - {name: r249}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert [c.action for c in account.changes] == [Action.NOOP, Action.NOOP]
    assert account.unmanaged == 248
    assert sandbox.counter_table() == {"daily": {"GET": 3}}  # 100 + 100 + 50


def test_a_full_last_page_costs_one_more_empty_request(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": f"r{i}"} for i in range(200)])
    path = daily_file(tmp_path, server, "")
    sandbox.counters.clear()
    assert plan(path).unmanaged == 200
    assert sandbox.counter_table() == {"daily": {"GET": 3}}  # U12: never total_count


def test_the_page_cap_bounds_the_walk(tmp_path: Path, server: SandboxServer,
                                      sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": f"r{i}"} for i in range(300)])
    account = load_account(daily_file(tmp_path, server, ""), "daily")

    async def listing(provider: DailyProvider) -> None:
        await provider.list_rooms("rooms")

    with pytest.raises(Exception, match="the list goes on past 2 pages"):
        connected(DailyProvider, account, listing,
                  http=recording(HttpSettings(max_pages=2)))


# -- apply through the CLI ------------------------------------------------------------------

def test_apply_creates_then_plans_no_changes(tmp_path: Path, server: SandboxServer) -> None:
    path = daily_file(tmp_path, server, "      - {name: desk, privacy: private,"
                                        " enable_knocking: true, permissions: {canSend:"
                                        " [audio]}, max_participants: 200}\n")
    result = run("apply", "--auto-approve", str(path))
    assert result.exit_code == OK, result.output
    room = stored(server, "desk")
    assert (room["privacy"], room["enable_knocking"], room["permissions"]) == (
        "private", True, {"canSend": ["audio"]})
    assert run("plan", "--detailed-exitcode", str(path)).exit_code == OK


@pytest.mark.parametrize("mode", ["merge", "replace"])
def test_an_update_keeps_undeclared_settings_whichever_way_the_server_updates(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, mode: str) -> None:
    """U3: the body carries the live settings under the declared ones."""
    seed(sandbox, KEY, "rooms", [{"name": "a", "privacy": "private",
                                  "properties": {"enable_chat": True, "lang": "de",
                                                 "max_participants": 10}}])
    set_update_mode(sandbox, "daily", mode)
    path = daily_file(tmp_path, server, "      - {name: a, max_participants: 12}\n")
    result = run("apply", "--auto-approve", str(path))
    assert "~ daily.rooms[a] updated" in result.output, result.output
    room = stored(server, "a")
    assert (room["privacy"], room["enable_chat"], room["lang"], room["max_participants"]) == (
        "private", True, "de", 12)


def test_a_declared_null_resets_a_property(tmp_path: Path, server: SandboxServer,
                                           sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a", "properties": {"enable_recording": "cloud"}}])
    path = daily_file(tmp_path, server, "      - {name: a, enable_recording: null}\n")
    assert run("plan", "--detailed-exitcode", str(path)).exit_code == CHANGES
    run("apply", "--auto-approve", str(path))
    assert "enable_recording" not in stored(server, "a")  # U4
    assert run("plan", "--detailed-exitcode", str(path)).exit_code == OK


def test_prune_deletes_only_matching_undeclared_rooms(tmp_path: Path, server: SandboxServer,
                                                      sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "team-a"}, {"name": "team-old"}, {"name": "other"},
                                 {"name": "team-dash", "api_created": False}])
    path = daily_file(tmp_path, server, "      - {name: team-a}\n",
                      extra="    prune: {match: 'team-o*'}\n")
    result = run("apply", "--auto-approve", str(path))
    assert "- daily.rooms[team-old] deleted" in result.output, result.output
    with SandboxControl(server.base_url) as control:
        names = sorted(r["name"] for r in control.rooms("daily", KEY, "rooms"))
    assert names == ["other", "team-a", "team-dash"]


def test_a_prune_keeps_within_daily_delete_budget(tmp_path: Path, server: SandboxServer,
                                                  sandbox: Sandbox) -> None:
    """U8: with the domain's budgets on, deletes are paced to 2 a second, so a prune of
    five rooms ends without a failure and takes at least two seconds."""
    seed(sandbox, KEY, "rooms", [{"name": f"old-{i}"} for i in range(5)])
    SWITCHES.set(sandbox, KEY, {"rate_limits": True})
    path = daily_file(tmp_path, server, "", extra="    prune: {match: 'old-*'}\n")
    started = time.monotonic()
    result = run("apply", "--auto-approve", str(path))
    assert result.exit_code == OK, result.output
    assert result.output.count("deleted") >= 5 and time.monotonic() - started >= 2
    with SandboxControl(server.base_url) as control:
        assert control.rooms("daily", KEY, "rooms") == []


# -- the hooks one by one -------------------------------------------------------------------

def _account(tmp_path: Path, server: SandboxServer) -> AccountConfig:
    return load_account(daily_file(tmp_path, server, "      - {name: a, lang: fr}\n"), "daily")


def test_a_taken_name_is_adopted_after_the_refused_create(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a", "properties": {"lang": "de"}}])
    path = daily_file(tmp_path, server, "      - {name: a, lang: fr}\n")
    account = load_account(path, "daily")

    async def create(provider: DailyProvider) -> None:
        await provider.create("rooms", account.rooms["rooms"][0].model)

    with pytest.raises(NameTaken):  # U1: told by a GET, never by `info`
        connected(DailyProvider, account, create)


def test_a_room_that_expired_is_planned_as_a_create_that_says_so(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """U9, section 12.5: Daily answers for a room past its exp as for one never made, so
    the create's reason names both; the apply brings the room back under its name."""
    seed(sandbox, KEY, "rooms", [{"name": "brief",
                                  "properties": {"exp": int(time.time()) + 60}}])
    sandbox.clock.advance(120)
    path = daily_file(tmp_path, server, "      - {name: brief}\n")
    change = plan(path).changes[0]
    assert (change.action, change.reason) == (Action.CREATE, "not found or expired")
    assert "+ daily.rooms[brief]  (not found or expired)" in run("plan", str(path)).output
    assert run("apply", "--auto-approve", str(path)).exit_code == OK
    assert "exp" not in stored(server, "brief")


def test_a_create_whose_reply_is_lost_is_adopted_on_its_retry(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """The room is stored, the reply lost; the retry meets the taken name (U1), and apply
    adopts the room instead of failing or making a second one."""
    # seeded: the first POST is stored and its reply dropped, its retry answered
    set_faults(sandbox, "daily", {"commit_then_fail": {"rate": 0.5, "mode": "drop"},
                                  "seed": SEED})
    path = daily_file(tmp_path, server, "      - {name: a, max_participants: 9}\n")
    result = run("apply", "--auto-approve", str(path))
    set_faults(sandbox, "daily", None)
    assert "adopted the existing room of that name" in result.output, result.output
    with SandboxControl(server.base_url) as control:
        assert [r["name"] for r in control.rooms("daily", KEY, "rooms")] == ["a"]
    assert run("plan", "--detailed-exitcode", str(path)).exit_code == OK


def test_an_update_of_a_room_gone_meanwhile_creates_it(tmp_path: Path, server: SandboxServer
                                                       ) -> None:
    account = _account(tmp_path, server)
    room = account.rooms["rooms"][0].model

    async def update(provider: DailyProvider) -> LiveRoom:
        gone = LiveRoom("rooms", "a", "3f6c2a9e-8b41-4d0e-b7a5-1c2d9e4f6a70", {"name": "a"})
        return await provider.update("rooms", gone, room, ())

    live = connected(DailyProvider, account, update)  # U13
    assert (live.key, live.fields["lang"]) == ("a", "fr")
    assert live.join_urls == (f"https://{domain_of(KEY)}.daily.co/a",)


def test_delete_of_an_unknown_or_expired_room_is_not_an_error(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "brief",
                                  "properties": {"exp": int(time.time()) + 60}}])
    sandbox.clock.advance(120)
    account = _account(tmp_path, server)

    async def delete(provider: DailyProvider) -> list[Any]:
        for name in ("ghost", "brief"):
            await provider.delete("rooms", LiveRoom("rooms", name, name, {}))
        return sent(provider)

    assert [m for m, _, _ in connected(DailyProvider, account, delete,
                                       http=recording())] == [
        "DELETE", "DELETE"]


def test_deletes_keep_within_every_window_of_the_budget(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Daily's delete budget has a second window (50 in 30 s): scaled down to 3 in 2 s
    beside 10 a second, four deletes take at least two seconds."""
    monkeypatch.setattr(adapter, "DELETE_BUDGETS", ((10, 1.0), (3, 2.0)))
    seed(sandbox, KEY, "rooms", [{"name": f"r{i}"} for i in range(4)])
    account = _account(tmp_path, server)

    async def delete(provider: DailyProvider) -> float:
        started = time.monotonic()
        for i in range(4):
            await provider.delete("rooms", LiveRoom("rooms", f"r{i}", f"r{i}", {}))
        return time.monotonic() - started

    assert connected(DailyProvider, account, delete) >= 2
    with SandboxControl(server.base_url) as control:
        assert control.rooms("daily", KEY, "rooms") == []


def test_find_reads_one_room_by_name(tmp_path: Path, server: SandboxServer,
                                     sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a", "properties": {"autojoin": True,
                                                              "enable_chat": True}}])
    account = _account(tmp_path, server)

    async def find(provider: DailyProvider) -> tuple[LiveRoom | None, LiveRoom | None]:
        return await provider.find("rooms", "a"), await provider.find("rooms", "zz")

    found, missing = connected(DailyProvider, account, find)
    assert missing is None and found is not None
    assert found.fields == {"name": "a", "privacy": "public", "enable_chat": True}


def test_errors_read_daily_info_and_a_refused_key_names_the_variable(
        tmp_path: Path, server: SandboxServer) -> None:
    path = daily_file(tmp_path, server, "")
    refused = load_account(path, "daily", {**SANDBOX_ENVIRON, "DAILY_API_KEY": "wrong"})

    async def listing(provider: DailyProvider) -> str:
        with pytest.raises(HttpError) as caught:
            await provider.list_rooms("rooms")
        return provider.error_message(caught.value)

    message = connected(DailyProvider, refused, listing)
    assert message.startswith("401: authentication-error: The API key is not valid; check"
                              " DAILY_API_KEY"), message
    assert "wrong" not in message


# -- faults and hostile answers ----------------------------------------------------------------

def test_rate_limits_and_server_errors_are_retried(tmp_path: Path, server: SandboxServer,
                                                   sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "rooms", [{"name": f"r{i}"} for i in range(250)])
    set_faults(sandbox, "daily", {"burst_429": {"rate": 0.3, "length": 2, "retry_after": 0},
                                  "error_rate": 0.3, "error_statuses": [500, 503], "seed": 7})
    path = daily_file(tmp_path, server, "      - {name: r0}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert ([c.action for c in account.changes], account.unmanaged) == ([Action.NOOP], 249)
    assert sandbox.counter_table()["daily"]["GET"] > 3  # the faults did strike


@pytest.mark.parametrize(("mode", "pattern"), [
    ("wrong_type", r"data\[0\]\.name is an integer, expected a string"),
    ("missing_field", r"data\[0\]\.id \(of room 'a'\) is missing"),
    ("malformed_json", r"the \d+-byte body is not JSON"),
    ("loop", r"the pages loop: a second page ends at room hostile-loop-\d+"),
    ("endless", r"the list goes on past 20 pages; refusing to follow"),
])
def test_hostile_list_answers_are_refused(tmp_path: Path, server: SandboxServer,
                                          sandbox: Sandbox, mode: str, pattern: str) -> None:
    seed(sandbox, KEY, "rooms", [{"name": "a"}])
    set_faults(sandbox, "daily", {"hostile": {"mode": mode}})
    account = load_account(daily_file(tmp_path, server, "      - {name: a}\n"), "daily")

    async def listing(provider: DailyProvider) -> None:
        await provider.list_rooms("rooms")

    sandbox.counters.clear()
    with pytest.raises(UnusableAnswer, match=pattern):
        connected(DailyProvider, account, listing, http=recording(HttpSettings(max_pages=20)))
    assert sandbox.counter_table()["daily"]["GET"] <= 20  # refused, never retried
