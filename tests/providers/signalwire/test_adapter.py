"""The SignalWire adapter and the planner, against the SignalWire emulator.

Both kinds are planned everywhere: rooms and conferences are separate resources, and the same
name in each is two different rooms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from reconcile.engine import planner
from reconcile.engine.apply import apply_changes
from reconcile.engine.http import HttpError
from reconcile.engine.plan import ABSENT, AccountPlan, Action, LiveRoom
from reconcile.engine.provider import NameTaken
from reconcile.providers.signalwire.adapter import SignalWireProvider, _name_taken
from reconcile.providers.signalwire.emulator import seed
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import Endpoint, RecordingHttp, Sent, connected, load_account, rooms_file, sent

SANDBOX_PROVIDERS = ("signalwire",)
SPACE = "acme"
ENV = {"SIGNALWIRE_PROJECT_ID": "a1b2c3d4-project", "SIGNALWIRE_TOKEN": "PTsandbox"}
KINDS = ("rooms", "conferences")
T = TypeVar("T")


def signalwire_file(tmp_path: Path, server: Endpoint, rooms: list[str] | None = None,
                    conferences: list[str] | None = None, extra: str = "") -> Path:
    """An account with one YAML flow mapping per room of each kind."""
    def lines(items: list[str] | None) -> str:
        return "".join(f"      - {item}\n" for item in items or ())

    return rooms_file(tmp_path, server, "signalwire",
                      {"rooms": lines(rooms), "conferences": lines(conferences)}, extra)


def run(path: Path, action: Callable[[SignalWireProvider], Awaitable[T]]) -> T:
    """Run `action` with a provider on a recording client."""
    return connected(SignalWireProvider, load_account(path, "signalwire", ENV), action,
                     http=RecordingHttp.of(SignalWireProvider))


def plan(path: Path) -> AccountPlan:
    return run(path, planner.plan)


async def create_all(provider: SignalWireProvider) -> list[LiveRoom]:
    return [await provider.create(room.kind, room.model)
            for room in provider.account.all_rooms()]


def summary(account: AccountPlan) -> list[tuple[str, str, Action, str]]:
    return [(c.kind, c.key, c.action, c.reason) for c in account.changes]


# -- connection --------------------------------------------------------------------------


def test_base_url_is_the_endpoint_or_the_space_host(tmp_path: Path,
                                                    server: SandboxServer) -> None:
    endpoint = f"{server.url('signalwire')}/{SPACE}/"
    account = load_account(signalwire_file(tmp_path, endpoint), "signalwire", ENV)
    assert SignalWireProvider.base_url(account) == f"{server.url('signalwire')}/{SPACE}"
    assert SignalWireProvider.auth(account) == ("a1b2c3d4-project", "PTsandbox")
    account = load_account(signalwire_file(tmp_path, None), "signalwire", ENV)
    assert SignalWireProvider.base_url(account) == "https://acme.signalwire.com"
    assert [limit.requests for limit in SignalWireProvider.rate_limits()] == [13_800]


def test_only_name_forces_a_replacement() -> None:
    capabilities = SignalWireProvider.capabilities
    assert capabilities.forces_replacement("name")
    for field in ("display_name", "max_members", "size", "meta", "dark_primary",
                  "tone_on_entry_and_exit", "join_from"):
        assert not capabilities.forces_replacement(field), field


# -- planning ----------------------------------------------------------------------------


def test_empty_account_plans_creates_for_both_kinds(tmp_path: Path,
                                                    server: SandboxServer) -> None:
    path = signalwire_file(tmp_path, server, rooms=["{name: a, max_members: 5}"],
                           conferences=["{name: a, size: large}"])
    account = plan(path)
    assert summary(account) == [("rooms", "a", Action.CREATE, "not found"),
                                ("conferences", "a", Action.CREATE, "not found")]
    assert [(f.name, f.before, f.after) for f in account.changes[1].fields] == [
        ("name", ABSENT, "a"), ("size", ABSENT, "large")]
    assert (account.managed, account.unmanaged) == (0, 0)


def test_created_rooms_plan_as_noops(tmp_path: Path, server: SandboxServer) -> None:
    # Every normalisation at once: date-only and offset timestamps, colour case, explicit
    # defaults, a declared null, a conference without display_name, PUT-only flags.
    path = signalwire_file(
        tmp_path, server,
        rooms=['{name: town-hall, join_from: "2030-01-31", join_until:'
               ' "2030-02-01T10:00:00+02:00", remove_at: "2030-02-02T00:00:00.250000Z",'
               ' max_members: 20, quality: 720p, record_on_start: false,'
               ' sync_audio_video: false, display_name: null, meta: {team: [a, b]}}'],
        conferences=['{name: town-hall, dark_primary: "#0a0b0c", light_background: "#ffffff",'
                     ' size: medium, enable_chat: true, tone_on_entry_and_exit: true,'
                     ' join_from: "2030-01-31T01:00:00-01:00"}'])
    run(path, create_all)
    account = plan(path)
    assert summary(account) == [("rooms", "town-hall", Action.NOOP, "up to date"),
                                ("conferences", "town-hall", Action.NOOP, "up to date")]
    room, conference = (c.live for c in account.changes)
    assert room is not None and conference is not None
    assert room.fields["join_from"] == "2030-01-31T00:00:00Z"
    assert room.fields["join_until"] == "2030-02-01T08:00:00Z"
    assert room.fields["remove_at"] == "2030-02-02T00:00:00.250000Z"
    assert room.fields["display_name"] == conference.fields["display_name"] == "town-hall"
    assert conference.fields["join_from"] == "2030-01-31T02:00:00Z"
    assert conference.fields["tone_on_entry_and_exit"] is True
    assert room.id != conference.id


def test_conference_bodies_carry_display_name_and_never_meta_or_a_put_name(
        tmp_path: Path, server: SandboxServer) -> None:
    path = signalwire_file(tmp_path, server, conferences=[
        "{name: c1, size: small, room_join_video_off: true}"])

    async def create(provider: SignalWireProvider) -> list[Sent]:
        await create_all(provider)
        return sent(provider)

    post, put = run(path, create)
    assert post[:2] == ("POST", "/api/video/conferences")
    assert post[2] == {"name": "c1", "display_name": "c1", "size": "small"}  # no PUT-only flag
    assert put[0] == "PUT" and put[1].startswith("/api/video/conferences/")
    # The PUT carries the room as it is, with the declared fields over it (U4), but never
    # `name` (U13) or `meta` (U10).
    assert put[2] == {"display_name": "c1", "size": "small", "room_join_video_off": True}
    assert not {"name", "meta"} & set(put[2])


def test_matching_rooms_are_noops_and_undeclared_ones_unmanaged(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": "a"}, {"name": "adhoc"}])
    seed(sandbox, SPACE, "conferences", [{"name": "a", "display_name": "a"},
                                         {"name": "b", "display_name": "Bee"},
                                         {"display_name": "auto-named"}])
    path = signalwire_file(
        tmp_path, server,
        rooms=["{name: a, display_name: a, max_members: 20, quality: 720p,"
               " layout: grid-responsive, record_on_start: false,"
               " enable_room_previews: false, sync_audio_video: false}"],
        conferences=['{name: a, size: medium, enable_chat: true, dark_primary: "#044EF4",'
                     ' light_negative: "#f42c50", user_join_video_off: false}',
                     "{name: b, display_name: Bee}"])
    account = plan(path)
    assert summary(account) == [
        ("rooms", "a", Action.NOOP, "up to date"),
        ("conferences", "a", Action.NOOP, "up to date"),
        ("conferences", "b", Action.NOOP, "up to date")]
    assert (account.managed, account.unmanaged) == (3, 2)  # adhoc, and the generated name


def test_drift_is_reported_field_by_field(tmp_path: Path, server: SandboxServer,
                                          sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": "r", "max_members": 10,
                                    "join_from": "2030-01-01"}])
    seed(sandbox, SPACE, "conferences", [{"name": "c", "display_name": "C",
                                          "dark_primary": "#AABBCC"}])
    with SandboxControl(server.base_url) as control:
        control.patch_room("signalwire", SPACE, "rooms", "r", {
            "max_members": 12, "quality": "1080p", "record_on_start": None,
            "join_from": "2030-01-01T01:00:00+01:00"})  # the same instant: no drift
        control.patch_room("signalwire", SPACE, "conferences", "c", {
            "dark_primary": "#aabbcc", "size": "large", "display_name": "Other"})
    path = signalwire_file(
        tmp_path, server,
        rooms=['{name: r, max_members: 10, quality: 720p, record_on_start: false,'
               ' join_from: "2030-01-01"}'],
        conferences=['{name: c, display_name: C, dark_primary: "#AABBCC", size: medium}'])
    room, conference = plan(path).changes
    assert (room.action, room.reason) == (Action.UPDATE, "changed: max_members, quality")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in room.fields] == [
        ("max_members", 12, 10, False), ("quality", "1080p", "720p", False)]
    assert (conference.action, conference.reason) == (Action.UPDATE,
                                                      "changed: display_name, size")
    assert [(f.name, f.before, f.after) for f in conference.fields] == [
        ("display_name", "Other", "C"), ("size", "large", "medium")]


def test_update_in_place_puts_the_live_room_under_the_declared_fields(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": "r", "max_members": 10, "quality": "1080p"}])
    seed(sandbox, SPACE, "conferences", [{"name": "c", "display_name": "Kept",
                                          "size": "small"}])
    path = signalwire_file(tmp_path, server,
                           rooms=["{name: r, max_members: 30, quality: 1080p}"],
                           conferences=["{name: c, size: large, enable_chat: false}"])

    async def apply(provider: SignalWireProvider) -> list[Sent]:
        for change in (await planner.plan(provider)).changes:
            assert change.action is Action.UPDATE and change.live is not None
            await provider.update(change.kind, change.live, change.desired, change.fields)
        return [s for s in sent(provider) if s[0] == "PUT"]

    (_, room_path, room_body), (_, conference_path, conference_body) = run(path, apply)
    assert room_path.startswith("/api/video/rooms/")
    # The live settings, the declared ones over them (U4): undeclared fields are sent as
    # the provider has them, so a PUT that replaces keeps them too.
    assert room_body == {"max_members": 30, "quality": "1080p", "display_name": "r"}
    assert conference_path.startswith("/api/video/conferences/")
    assert {k: conference_body[k] for k in ("size", "enable_chat", "display_name")} == {
        "size": "large", "enable_chat": False, "display_name": "Kept"}
    assert not {"name", "meta"} & set(conference_body)
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]
    with SandboxControl(server.base_url) as control:
        assert control.room("signalwire", SPACE, "conferences", "c")["data"][
            "display_name"] == "Kept"


def test_a_rename_is_a_replace_of_each_kind(tmp_path: Path, server: SandboxServer,
                                            sandbox: Sandbox) -> None:
    for kind in KINDS:
        seed(sandbox, SPACE, kind, [{"name": "old", "display_name": "old"}])
    with SandboxControl(server.base_url) as control:
        control.participants("signalwire", SPACE, "conferences", "old", add=["alice"])
    path = signalwire_file(tmp_path, server, rooms=["{name: new, renamed_from: old}"],
                           conferences=["{name: new, renamed_from: old, display_name: old}"])

    async def plan_and_apply(provider: SignalWireProvider) -> AccountPlan:
        account = await planner.plan(provider)
        outcomes = await apply_changes(provider, account.changes, concurrency=4)
        assert [o.status for o in outcomes] == ["applied", "applied"]
        return account

    account = run(path, plan_and_apply)
    reason = "renamed from old; field name cannot change in place"
    assert summary(account) == [(kind, "new", Action.REPLACE, reason) for kind in KINDS]
    for change in account.changes:
        assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] \
            == [("name", "old", "new", True)]
        assert change.actions == ["delete", "create"]
    assert [c.disruptive for c in account.changes] == [False, True]
    assert account.managed == 2
    with SandboxControl(server.base_url) as control:
        for kind in KINDS:
            assert [r["name"] for r in control.rooms("signalwire", SPACE, kind, live=True)] \
                == ["new"]
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]


def test_prune_deletes_only_matching_undeclared_rooms_of_each_kind(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    for kind in KINDS:
        seed(sandbox, SPACE, kind, [{"name": n, "display_name": n}
                                    for n in ("team-a", "team-old", "other")])
    path = signalwire_file(tmp_path, server, rooms=["{name: team-a}"],
                           conferences=["{name: team-a}"], extra="    prune: {match: 'team-*'}\n")
    account = plan(path)
    assert summary(account) == [
        (kind, key, action, reason) for kind in KINDS for key, action, reason in (
            ("team-a", Action.NOOP, "up to date"),
            ("team-old", Action.DELETE, "pruned: matches team-*"))]
    assert account.unmanaged == 2


def test_listing_uses_the_fewest_requests(tmp_path: Path, server: SandboxServer,
                                          sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": f"r{i}"} for i in range(2500)])
    seed(sandbox, SPACE, "conferences", [{"name": f"c{i}", "display_name": "c"}
                                         for i in range(1000)])
    path = signalwire_file(tmp_path, server, rooms=["{name: r2499}"], conferences=["{name: c0}"])
    sandbox.counters.clear()
    account = plan(path)
    assert [c.action for c in account.changes] == [Action.NOOP, Action.NOOP]
    assert (account.managed, account.unmanaged) == (2, 2499 + 999)
    # ceil(2500 / 1000) + ceil(1000 / 1000): no empty page after an exact multiple.
    assert sandbox.counter_table() == {"signalwire": {"GET": 4}}


def test_listing_survives_429s_between_pages(tmp_path: Path, server: SandboxServer,
                                             sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": f"r{i}"} for i in range(2100)])
    with SandboxControl(server.base_url) as control:
        control.set_faults("signalwire", seed=7,
                           burst_429={"rate": 0.4, "length": 1, "retry_after": 0})
    path = signalwire_file(tmp_path, server, rooms=["{name: r0}", "{name: r2099}"])
    sandbox.counters.clear()
    account = plan(path)
    assert [c.action for c in account.changes] == [Action.NOOP, Action.NOOP]
    assert account.unmanaged == 2098
    assert sandbox.counter_table()["signalwire"]["GET"] > 4  # retried, same page tokens


def test_a_live_session_makes_a_deletion_disruptive(tmp_path: Path, server: SandboxServer,
                                                     sandbox: Sandbox) -> None:
    for kind in KINDS:
        seed(sandbox, SPACE, kind, [{"name": "team-live", "display_name": "x"},
                                    {"name": "team-idle", "display_name": "x"}])
    with SandboxControl(server.base_url) as control:
        for kind in KINDS:
            control.participants("signalwire", SPACE, kind, "team-live", add=["alice"])
    path = signalwire_file(tmp_path, server, extra="    prune: {match: 'team-*'}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert [(c.kind, c.key, c.action, c.disruptive) for c in account.changes] == [
        (kind, key, Action.DELETE, key == "team-live")
        for kind in KINDS for key in ("team-idle", "team-live")]
    assert sandbox.counter_table() == {"signalwire": {"GET": 2}}  # sessions come with the list


# -- each hook ---------------------------------------------------------------------------


def test_create_raises_name_taken_per_kind(tmp_path: Path, server: SandboxServer) -> None:
    path = signalwire_file(tmp_path, server, rooms=["{name: dup}"], conferences=["{name: dup}"])

    async def twice(provider: SignalWireProvider) -> None:
        created = await create_all(provider)  # the same name in both kinds is fine
        assert [(r.kind, r.key) for r in created] == [("rooms", "dup"), ("conferences", "dup")]
        for room in provider.account.all_rooms():
            with pytest.raises(NameTaken):
                await provider.create(room.kind, room.model)

    run(path, twice)


def test_apply_adopts_a_room_whose_create_already_happened(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = signalwire_file(tmp_path, server, rooms=["{name: late, max_members: 9}"],
                           conferences=["{name: late, size: small}"])
    stale = plan(path)  # both creates; then the rooms appear before apply runs
    seed(sandbox, SPACE, "rooms", [{"name": "late", "max_members": 2}])
    seed(sandbox, SPACE, "conferences", [{"name": "late", "display_name": "Late",
                                          "size": "large"}])

    async def apply(provider: SignalWireProvider) -> list[str]:
        outcomes = await apply_changes(provider, stale.changes, concurrency=4)
        assert [o.status for o in outcomes] == ["applied", "applied"]
        return [o.message for o in outcomes]

    assert run(path, apply) == ["adopted the existing room of that name and updated it"] * 2
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]
    with SandboxControl(server.base_url) as control:
        assert len(control.rooms("signalwire", SPACE, "rooms", live=True)) == 1
        assert control.room("signalwire", SPACE, "conferences", "late")["data"][
            "display_name"] == "Late"  # undeclared: left as the provider has it


@pytest.mark.parametrize("code", ["not_unique_within_project", "not_unique_within_space",
                                  "value_not_unique"])
def test_each_duplicate_code_means_name_taken(code: str) -> None:
    def error(attribute: str, status: int = 422) -> HttpError:
        request = httpx.Request("POST", "https://acme.signalwire.com/api/video/rooms")
        body = {"errors": [{"type": "validation_error", "code": "invalid_parameter",
                            "attribute": "quality"},
                           {"type": "validation_error", "code": code, "attribute": attribute}]}
        return HttpError("POST", str(request.url),
                         httpx.Response(status, json=body, request=request))

    assert _name_taken(error("name"))
    assert not _name_taken(error("display_name"))
    assert not _name_taken(error("name", status=400))


def test_find_update_delete(tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": "r", "max_members": 3}])
    seed(sandbox, SPACE, "conferences", [{"name": "c", "display_name": "C"}])
    with SandboxControl(server.base_url) as control:
        control.participants("signalwire", SPACE, "rooms", "r", add=["alice"])
    path = signalwire_file(tmp_path, server, rooms=["{name: r, max_members: 4}"],
                           conferences=["{name: c, display_name: D}"])

    async def hooks(provider: SignalWireProvider) -> None:
        room = await provider.find("rooms", "r")
        conference = await provider.find("conferences", "c")
        assert room is not None and conference is not None
        assert (room.key, room.fields["max_members"], room.active_session) == ("r", 3, True)
        assert (conference.key, conference.active_session) == ("c", False)
        assert await provider.find("rooms", "c") is None  # kinds do not mix
        assert await provider.find("conferences", "r") is None
        assert await provider.find("rooms", "00000000-0000-4000-8000-000000000000") is None
        for live, declared in ((room, "rooms"), (conference, "conferences")):
            model = provider.account.rooms[declared][0].model
            updated = await provider.update(declared, live, model, ())
            assert updated.id == live.id
            assert planner.diff(provider, declared, updated, model) == ()
            await provider.delete(declared, updated)
            await provider.delete(declared, updated)  # already gone: not an error
            assert await provider.find(declared, live.key or "") is None
        find_by_name = [s for s in sent(provider) if s[1] == "/api/video/rooms/r"]
        assert len(find_by_name) == 2  # rooms are looked up by name, not listed

    run(path, hooks)


@pytest.mark.parametrize(("session", "active"), [
    ("absent", False),  # what the spec shows, and the emulator answers
    (None, False),  # null, as the emulator answered before
    ({"id": "s", "status": "in-progress"}, True),
    ({"id": "s", "status": "completed"}, False),
])
def test_an_absent_or_null_active_session_means_nobody_is_in(
        tmp_path: Path, server: SandboxServer, session: object, active: bool) -> None:
    provider = SignalWireProvider(load_account(signalwire_file(tmp_path, server), "signalwire"),
                                  None)  # type: ignore[arg-type]
    room = {"id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "name": "r"}
    if session != "absent":
        room["active_session"] = session  # type: ignore[assignment]
    assert provider._live("rooms", room, sessions=True).active_session is active


def test_a_room_without_a_session_lists_without_the_key_and_plans_idle(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, SPACE, "rooms", [{"name": "idle"}, {"name": "busy"}])
    with SandboxControl(server.base_url) as control:
        control.participants("signalwire", SPACE, "rooms", "busy", add=["ann"])
    path = signalwire_file(tmp_path, server, rooms=["{name: idle}", "{name: busy}"])
    account = load_account(path, "signalwire")

    async def listed(provider: SignalWireProvider) -> dict[str | None, bool | None]:
        return {room.key: room.active_session for room in await provider.list_rooms("rooms")}

    assert connected(SignalWireProvider, account, listed) == {"idle": False, "busy": True}
