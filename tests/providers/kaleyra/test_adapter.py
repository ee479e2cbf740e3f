"""The Kaleyra adapter against the Kaleyra emulator over real HTTP, with a real state file."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from reconcile.engine import planner
from reconcile.engine.http import HttpError, HttpSettings
from reconcile.engine.plan import ABSENT, AccountPlan, Action
from reconcile.providers.kaleyra.adapter import (
    CreateOutcomeUnknown,
    KaleyraProvider,
    load_state,
)
from reconcile.providers.kaleyra.emulator import seed
from reconcile.providers.kaleyra.state import (
    KaleyraState,
    ParticipantUrl,
    locked,
    state_path,
)
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import connected, load_account, rooms_file

SANDBOX_PROVIDERS = ("kaleyra",)
KEY = "ak_live_sandbox"
FAST = HttpSettings(attempts=3, backoff_initial=0.01, backoff_max=0.02)
T = TypeVar("T")

DOCTOR = {"user_id": "doctor", "is_admin": True}
PATIENT = {"user_id": "patient"}
PAIR = "participants: [{user_id: doctor, is_admin: true}, {user_id: patient}]"


def kaleyra_file(tmp_path: Path, server: SandboxServer, rooms: str, extra: str = "") -> Path:
    """The shared rooms file, with no `state:` setting: the state file's default place."""
    return rooms_file(tmp_path, server, "kaleyra", rooms, extra, state=None)


def state_file(path: Path) -> Path:
    return state_path(path, "kaleyra")


account_of = partial(load_account, provider="kaleyra")


def run(path: Path, action: Callable[[KaleyraProvider], Awaitable[T]]) -> T:
    """One adapter over a fresh load of the state, under the apply lock (saves need it)."""
    account = account_of(path)
    with locked(state_file(path), 0):
        return connected(KaleyraProvider, account, action,
                         http=partial(KaleyraProvider.connect, settings=FAST),
                         state=load_state(account, path))


def plan(path: Path) -> AccountPlan:
    return run(path, planner.plan)


def apply(path: Path) -> None:
    """What apply does with creates: one adapter, the rooms created concurrently."""
    account = account_of(path)

    async def create_all(provider: KaleyraProvider) -> None:
        await asyncio.gather(*(provider.create("rooms", room.model)
                               for room in account.all_rooms()))

    run(path, create_all)


def state(path: Path) -> KaleyraState:
    return KaleyraState.load(state_file(path), "kaleyra")


def seed_users(sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "users", [{"user_id": "doctor", "role": "plus"},
                                 {"user_id": "patient", "role": "basic"}])


def record(path: Path, sandbox: Sandbox, rooms: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Rooms made earlier: created on the emulator and recorded in the state file, each
    with the create body as its settings (what the adapter records). Returns room_ids."""
    made = seed(sandbox, KEY, "rooms", list(rooms.values()))
    with locked(state_file(path), 0):
        current = state(path)
        for name, body, room in zip(rooms, rooms.values(), made, strict=True):
            current.put(name, room_id=room["room_id"], settings=body,
                        participants=[ParticipantUrl(p["user_id"], p["url"])
                                      for p in room["participants"]])
        current.save()
    return {name: room["room_id"] for name, room in zip(rooms, made, strict=True)}


def room_ids(sandbox: Sandbox) -> set[str]:
    return {record.id for record in sandbox.store.list("kaleyra", KEY, "rooms")}


# -- plan ----------------------------------------------------------------------------------

def test_without_a_state_file_every_room_is_a_create_and_a_warning(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
        caplog: pytest.LogCaptureFixture) -> None:
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, recording: automatic, {PAIR}}}\n"
                                          f"      - {{name: b, {PAIR}}}\n")
    with caplog.at_level(logging.WARNING):
        account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, "not found (no state file)"),
        ("b", Action.CREATE, "not found (no state file)")]
    assert [(f.name, f.before, f.after) for f in account.changes[0].fields] == [
        ("name", ABSENT, "a"), ("recording", ABSENT, "automatic"),
        ("participants", ABSENT, [{"user_id": "doctor", "is_admin": True},
                                  {"user_id": "patient", "is_admin": False}])]
    assert [r.message for r in caplog.records].count(
        state(path).warning()) == 1  # once, not per kind or room
    assert sandbox.counter_table() == {}  # nothing recorded, nothing to ask
    assert not state_file(path).exists()  # plan writes nothing


def test_created_rooms_are_recorded_and_then_plan_as_noops(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = kaleyra_file(tmp_path, server, f"""\
      - name: a
        description: Dr Lee sees patient 42
        duration: 3600
        participants:
          - {{user_id: patient, tools: {{chat: true, whiteboard: false}}}}
          - {{user_id: doctor, is_admin: true, role: plus}}
      - {{name: b, {PAIR}}}
""")
    apply(path)
    saved = state(path)
    assert saved.names() == ["a", "b"]
    assert {saved.get(n).room_id for n in ("a", "b")} == room_ids(sandbox)  # type: ignore[union-attr]
    assert "Dr Lee" not in state_file(path).read_text()  # PII: only its digest is kept
    assert len(saved.get("a").participants) == 2  # type: ignore[union-attr]
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [("a", Action.NOOP),
                                                            ("b", Action.NOOP)]
    assert account.managed == 2


def test_users_are_created_once_each_with_their_role(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    # doctor is a plain participant in b but an admin in a: created plus, once.
    path = kaleyra_file(tmp_path, server, f"""\
      - {{name: a, {PAIR}}}
      - name: b
        participants: [{{user_id: nurse, is_admin: true}}, {{user_id: doctor}},
                       {{user_id: patient}}]
""")
    seed(sandbox, KEY, "users", [{"user_id": "patient", "role": "basic"}])  # exists already
    apply(path)
    users = {u.id: u.data["role"] for u in sandbox.store.list("kaleyra", KEY, "users")}
    assert users == {"doctor": "plus", "patient": "basic", "nurse": "plus"}
    assert sandbox.counter_table() == {"kaleyra": {"POST": 3 + 2}}  # 3 users, 2 rooms


def test_participant_order_and_explicit_defaults_are_not_drift(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, """\
      - name: a
        recording: none
        call_type: audio_video
        participants: [{user_id: patient, is_admin: false}, {user_id: doctor, is_admin: true}]
""")
    record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]}})
    (change,) = plan(path).changes
    assert (change.action, change.reason) == (Action.NOOP, "up to date")


def test_any_drift_is_a_disruptive_create_first_replace(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, recording: automatic,"
                                          f" duration: 3600, {PAIR}}}\n")
    ids = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT],
                                       "recording": "manual"}})
    (change,) = plan(path).changes
    assert change.action is Action.REPLACE
    assert change.reason == ("fields duration, recording cannot change in place; the new "
                             "room has new join URLs")
    assert [(f.name, f.before, f.after, f.forces_replacement) for f in change.fields] == [
        ("duration", None, 3600, True), ("recording", "manual", "automatic", True)]
    assert change.disruptive and change.new_join_urls
    assert not change.live_session  # Kaleyra shows no sessions: the guard does not block
    assert change.actions == ["create", "delete"]
    assert change.live is not None and change.live.id == ids["a"]
    assert len(change.live.join_urls) == 2


def test_a_changed_description_is_shown_as_digests(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, description: new text, {PAIR}}}\n")
    record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT],
                                 "description": "old text"}})
    (change,) = plan(path).changes
    (field,) = change.fields
    assert (change.action, field.name, field.forces_replacement) == (
        Action.REPLACE, "description", True)
    assert field.before.startswith("sha256:") and field.after.startswith("sha256:")
    assert "text" not in repr(change.fields)


def test_a_room_deleted_out_of_band_plans_a_create(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n"
                                          f"      - {{name: b, {PAIR}}}\n")
    ids = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]},
                                 "b": {"participants": [DOCTOR, PATIENT]}})
    with SandboxControl(server.base_url) as control:
        control.delete_room("kaleyra", KEY, "rooms", ids["a"])
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.CREATE, f"missing: room_id {ids['a']} not found"),
        ("b", Action.NOOP, "up to date")]
    apply_one(path, "a")  # the gone room is replaced in the state, not kept as retired
    assert state(path).names() == ["a", "b"]
    assert [c.action for c in plan(path).changes] == [Action.NOOP, Action.NOOP]


def apply_one(path: Path, name: str) -> None:
    """Plan, then create `name`, in one adapter (as apply does)."""
    async def go(provider: KaleyraProvider) -> None:
        account = await planner.plan(provider)
        change = next(c for c in account.changes if c.key == name)
        await provider.create("rooms", change.desired)

    run(path, go)


def test_prune_deletes_only_matching_undeclared_rooms(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: team-a, {PAIR}}}\n",
                        extra="    prune: {match: 'team-*'}\n")
    body = {"participants": [DOCTOR, PATIENT]}
    record(path, sandbox, {"team-a": body, "team-old": body, "other": body})
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("team-a", Action.NOOP, "up to date"),
        ("team-old", Action.DELETE, "pruned: matches team-*")]
    assert (account.managed, account.unmanaged) == (1, 1)
    assert not account.changes[1].disruptive  # Kaleyra shows no sessions


def test_one_get_per_recorded_room_and_no_list(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    body = {"participants": [DOCTOR, PATIENT]}
    record(tmp_path / "rooms.yaml", sandbox, {f"r{i}": body for i in range(40)})
    path = kaleyra_file(tmp_path, server, f"      - {{name: r39, {PAIR}}}\n")
    sandbox.counters.clear()
    account = plan(path)
    assert account.changes[0].action is Action.NOOP
    assert account.unmanaged == 39
    assert sandbox.counter_table() == {"kaleyra": {"GET": 40}}  # no list call exists (U5)


# -- the hooks, as apply calls them --------------------------------------------------------

def test_a_replace_creates_the_new_room_before_deleting_the_old(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, recording: automatic, {PAIR}}}\n")
    old = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]}})["a"]
    seen: list[tuple[str, set[str], list[str]]] = []

    async def replace(provider: KaleyraProvider) -> None:
        (change,) = (await planner.plan(provider)).changes
        assert change.live is not None
        for step in change.actions:  # as apply runs a replace
            if step == "create":
                await provider.create("rooms", change.desired)
            else:
                await provider.delete("rooms", change.live)
            seen.append((step, room_ids(sandbox), state(path).names()))

    run(path, replace)
    (created, both, recorded), (deleted, after, final) = seen
    new = state(path).get("a").room_id  # type: ignore[union-attr]
    assert (created, both) == ("create", {old, new})  # the old room is still there
    assert recorded == ["a", f"a@{old}"]  # ... and still on record
    assert (deleted, after, final) == ("delete", {new}, ["a"])
    assert [c.action for c in plan(path).changes] == [Action.NOOP]


def test_creates_that_finish_together_share_a_save_and_each_is_on_file_when_done(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seed_users(sandbox)
    names = [f"r{i}" for i in range(24)]
    path = kaleyra_file(tmp_path, server, "".join(f"      - {{name: {n}, {PAIR}}}\n"
                                                  for n in names))
    saves: list[list[str]] = []
    real_save = KaleyraState.save

    def counted_save(self: KaleyraState) -> None:
        real_save(self)
        saves.append(state(path).names())  # what the file holds after this save

    monkeypatch.setattr(KaleyraState, "save", counted_save)
    on_file_when_done: list[bool] = []

    async def create_all(provider: KaleyraProvider) -> None:
        async def one(room: Any) -> None:
            await provider.create("rooms", room)
            on_file_when_done.append(room.key in state(path).names())

        await asyncio.gather(*(one(r.model) for r in account_of(path).all_rooms()))

    run(path, create_all)
    assert on_file_when_done == [True] * len(names)  # never reported before it is saved
    assert 1 <= len(saves) < len(names)  # ... yet fewer saves than creates
    assert saves[-1] == sorted(names)
    assert len(room_ids(sandbox)) == len(names)


def test_a_replace_cut_short_plans_the_old_rooms_deletion(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, recording: automatic, {PAIR}}}\n")
    old = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]}})["a"]
    apply(path)  # the create half of the replace; the process then "dies"
    account = plan(path)
    assert [(c.key, c.action, c.reason) for c in account.changes] == [
        ("a", Action.NOOP, "up to date"),
        (f"a@{old}", Action.DELETE, "replaced: the old room of a")]

    async def finish(provider: KaleyraProvider) -> None:
        leftover = (await planner.plan(provider)).changes[1].live
        assert leftover is not None and leftover.id == old
        await provider.delete("rooms", leftover)

    run(path, finish)
    assert state(path).names() == ["a"]
    assert old not in room_ids(sandbox)


def test_delete_removes_the_room_and_its_entry_and_tolerates_a_gone_room(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, "")
    ids = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]},
                                 "b": {"participants": [DOCTOR, PATIENT]}})

    async def delete_twice(provider: KaleyraProvider) -> None:
        live = await provider.find("rooms", "a")
        assert live is not None
        await provider.delete("rooms", live)
        await provider.delete("rooms", live)  # 404: already deleted

    run(path, delete_twice)
    assert room_ids(sandbox) == {ids["b"]}
    assert state(path).names() == ["b"]


def test_find_is_the_state_entry_confirmed_by_a_get(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed_users(sandbox)
    path = kaleyra_file(tmp_path, server, "")
    ids = record(path, sandbox, {"a": {"participants": [DOCTOR, PATIENT]},
                                 "b": {"participants": [DOCTOR, PATIENT]}})
    with SandboxControl(server.base_url) as control:
        control.delete_room("kaleyra", KEY, "rooms", ids["b"])

    async def find_all(provider: KaleyraProvider) -> list[Any]:
        return [await provider.find("rooms", name) for name in ("a", "b", "nope")]

    found, gone, unknown = run(path, find_all)
    assert found is not None and (found.key, found.id) == ("a", ids["a"])
    assert found.fields["participants"][0] == {"user_id": "doctor", "is_admin": True}
    assert all(url.startswith("https://sandbox.bandyer.com/eu/") for url in found.join_urls)
    assert (gone, unknown) == (None, None)


def create_b_after_a(path: Path, server: SandboxServer, faults: dict[str, Any]) -> None:
    """Create room a (which creates the users), then room b with `faults` on."""
    account = account_of(path)
    a, b = (room.model for room in account.all_rooms())

    async def go(provider: KaleyraProvider) -> None:
        await provider.create("rooms", a)
        with SandboxControl(server.base_url) as control:
            control.set_faults("kaleyra", faults)
            control.clear_counters()
        await provider.create("rooms", b)  # users known: only the room POST is sent

    run(path, go)


@pytest.mark.parametrize("faults", [
    {"commit_then_fail": {"rate": 1, "mode": "drop"}},  # the room is made, the reply lost
    {"error_rate": 1, "error_statuses": [502]},
], ids=["dropped-reply", "5xx"])
def test_a_room_post_that_may_have_committed_is_not_retried(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, faults: dict[str, Any]
        ) -> None:
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n"
                                          f"      - {{name: b, {PAIR}}}\n")
    with pytest.raises(CreateOutcomeUnknown, match="Kaleyra console"):
        create_b_after_a(path, server, faults)
    assert sandbox.counter_table() == {"kaleyra": {"POST": 1}}  # sent once, never again
    assert state(path).names() == ["a"]
    # The attempt stays on record, as uncertain, with the time it was about to be sent.
    (intent,) = state(path).uncertain()
    assert intent.name == "b" and intent.requested_at.endswith("Z")
    sandbox.faults.clear()
    # The next plan names it, with its time and what to check, and still creates b.
    account = plan(path)
    (named,) = account.uncertain
    assert (named.address, named.requested_at) == ("kaleyra.rooms[b]", intent.requested_at)
    assert "Kaleyra console" in named.check and str(state_file(path)) in named.check
    assert [(c.key, c.action) for c in account.changes if c.action is not Action.NOOP] == [
        ("b", Action.CREATE)]
    b = list(account_of(path).all_rooms())[1].model
    run(path, lambda provider: provider.create("rooms", b))
    # b exists now; the earlier attempt stays in doubt until someone has checked.
    assert state(path).names() == ["a", "b"] and state(path).uncertain() == [intent]


def test_a_429_on_the_room_post_is_retried(tmp_path: Path, server: SandboxServer,
                                            sandbox: Sandbox) -> None:
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n"
                                          f"      - {{name: b, {PAIR}}}\n")
    with pytest.raises(HttpError) as refused:  # every answer is a 429: refused, not made
        create_b_after_a(path, server, {"burst_429": {"rate": 1, "retry_after": 0}})
    assert refused.value.status == 429
    assert sandbox.counter_table() == {"kaleyra": {"POST": FAST.rate_limited_attempts}}
    assert len(room_ids(sandbox)) == 1
    assert state(path).uncertain() == []  # refused: nothing was made, nothing in doubt


def test_the_base_url_comes_from_the_endpoint_or_the_region(tmp_path: Path,
                                                            server: SandboxServer) -> None:
    path = kaleyra_file(tmp_path, server, "")
    account = account_of(path)
    assert KaleyraProvider.base_url(account) == f"{server.url('kaleyra')}/eu"
    for environment, host in (("production", "api.in"), ("sandbox", "api.sandbox.in")):
        other = dataclasses.replace(account, settings=account.settings.model_copy(update={
            "endpoint": None, "region": "in", "environment": environment}))
        assert KaleyraProvider.base_url(other) == f"https://{host}.bandyer.com"


# -- the documented v1 answer and the user step (issue 12, defect 7) ------------------------

def _answers_v1(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        switched = http.post(f"/_sandbox/providers/kaleyra/companies/{KEY}/answers",
                             json={"v1": True})
    assert switched.json() == {"v1": True}


def test_the_documented_v1_answer_is_read_for_create_and_plan(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """`{"room": {"room_id", "user_urls": [{"user", "url", "tools", "is_admin"}]}}`."""
    _answers_v1(server)
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n")
    apply(path)
    entry = state(path).get("a")
    assert entry is not None and {entry.room_id} == room_ids(sandbox)
    [record] = sandbox.store.list("kaleyra", KEY, "rooms")
    assert sorted((p.user_id, p.url) for p in entry.participants) == sorted(
        (p["user_id"], p["url"]) for p in record.data["participants"])
    account = plan(path)
    assert [(c.key, c.action) for c in account.changes] == [("a", Action.NOOP)]
    assert sorted(account.changes[0].live.join_urls) == sorted(  # type: ignore[union-attr]
        p["url"] for p in record.data["participants"])
