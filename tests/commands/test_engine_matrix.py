"""`plan` and `apply` through the real CLI, against each provider's emulator over loopback.

What differs between the providers (the key field, fields to declare and drift, what
changes in place, whether the API shows who is in a room) comes from each one's
tests/providers/<name>/cases.py; every test is written once and runs for each provider it
applies to. The rooms file points `endpoint:`
at the module's server, with credentials from `${…}` variables (`SANDBOX_ENVIRON`); the
live state is read back, and changed behind the tool's back, through the control API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import BLOCKED, CHANGES, OK
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.client import RoomView, SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, key_field, per_provider, rooms_file

KIND = "rooms"
FORCES = "  # forces replacement"
LIVE_SESSION = "  # disrupts a live session"
NEW_JOIN_URLS = "  # gives everyone new join URLs"
KALEYRA_REPLACE = "; the new room has new join URLs"  # what a Kaleyra replace's reason adds


@dataclass(frozen=True)
class Facts:
    """What a test needs to know of one provider."""

    provider: str
    key: str  # the room's key field
    fields: Mapping[str, tuple[Any, Any]]  # field -> (declared value, a drifted value)
    change: tuple[str, Any]  # a declared field, and a new value for it in the file
    in_place: bool  # whether those fields update in place (else: replace)
    rename_in_place: bool  # whether a change of the key updates in place
    sessions: bool  # whether the API shows who is in a room (the live-session guard)
    drift_visible: bool = True  # False: plans compare with a state file, not a read
    new_join_urls: bool = False  # whether a replace hands out new join URLs
    first_reason: str = "not found"  # why a room is created in a fresh account
    gone_reason: str = "not found"  # why a room deleted out of band is created ({id}: its id)
    new_reason: str = "not found"  # why a room is created in an account that has others
    extra: str = ""  # account settings every file of the provider needs

    @property
    def declared(self) -> dict[str, Any]:
        return {name: values[0] for name, values in self.fields.items()}

    @property
    def account(self) -> str:
        return SANDBOX_ACCOUNTS[self.provider]

    def address(self, key: str) -> str:
        return f"{self.provider}.{KIND}[{key}]"


# Each provider's facts: its key field, and its tests/providers/<name>/cases.py `ENGINE`.
BY_NAME = {provider: Facts(provider, key_field(provider), **facts)
           for provider, facts in per_provider("ENGINE").items()}


def providers(*names: str) -> list[Any]:
    """`parametrize` values: the named providers' facts (every registered provider's when
    none is named: one without facts fails the module's collection)."""
    return [pytest.param(BY_NAME[name], id=name) for name in names or PROVIDER_PACKAGES]


def value(data: Any) -> str:
    """A value as the plan text (and a YAML flow mapping) writes it: JSON."""
    return json.dumps(data)


def room(facts: Facts, name: str, fields: Mapping[str, Any] | None = None, **more: Any) -> str:
    """One room line of the file: the key, then `fields` (default: the declared ones)."""
    items = {facts.key: name, **(facts.declared if fields is None else fields), **more}
    return "      - {" + ", ".join(f"{k}: {value(v)}" for k, v in items.items()) + "}\n"


def changed(facts: Facts, key: str = "r1", **more: Any) -> str:
    """Room `key`'s line with the facts' `change` made to it."""
    name, new = facts.change
    return room(facts, key, {**facts.declared, name: new}, **more)


def header(facts: Facts, symbol: str, key: str, reason: str, *, occupied: bool = False
           ) -> str:
    """The first line of a change in the plan text, with the provider's marks."""
    marks = LIVE_SESSION if occupied else ""
    if symbol == "-/+" and facts.new_join_urls:
        reason += KALEYRA_REPLACE
        marks += NEW_JOIN_URLS
    return f"{symbol} {facts.address(key)}  ({reason}){marks}\n"


def forced_reason(fields: list[str], renamed: str | None = None) -> str:
    prefix = f"renamed from {renamed}; " if renamed else ""
    names = sorted(fields)
    if len(names) == 1:
        return f"{prefix}field {names[0]} cannot change in place"
    return f"{prefix}fields {', '.join(names)} cannot change in place"


def field_line(name: str, before: Any, after: Any, forced: bool) -> str:
    return f"    {name}: {value(before)} -> {value(after)}{FORCES if forced else ''}\n"


def left_alone(unmanaged: int) -> str:
    return f"({unmanaged} unmanaged room{'' if unmanaged == 1 else 's'} left alone)"


def summary(create: int = 0, update: int = 0, replace: int = 0, delete: int = 0,
            unmanaged: int = 0) -> str:
    return (f"Plan: {create} to create, {update} to update, {replace} to replace, {delete} to"
            f" delete {left_alone(unmanaged)}.\n")


def one_change(in_place: bool) -> str:
    """The summary of a plan that updates one room in place, or else replaces it."""
    return summary(update=1) if in_place else summary(replace=1)


@dataclass
class Harness:
    """One provider's account in a rooms file in `tmp_path`, on the module's server."""

    facts: Facts
    tmp_path: Path
    server: SandboxServer
    sandbox: Sandbox
    control: SandboxControl
    path: Path = field(init=False)

    def write(self, *rooms: str, extra: str = "") -> None:
        self.path = rooms_file(self.tmp_path, self.server, self.facts.provider, "".join(rooms),
                               self.facts.extra + extra)

    def cli(self, *args: str) -> Result:
        return CliRunner(env=SANDBOX_ENVIRON).invoke(cli, [*args, str(self.path)])

    def apply(self, *flags: str) -> Result:
        return self.cli("apply", "--auto-approve", *flags)

    def plan(self) -> Result:
        return self.cli("plan", "--detailed-exitcode")

    def converges(self, unmanaged: int = 0) -> None:
        """A plan has nothing to do."""
        again = self.plan()
        assert (again.exit_code, again.stdout) == (
            OK, f"No changes. {left_alone(unmanaged)}\n"), again.output

    def applies(self, count: int, *flags: str) -> Result:
        """Apply, which makes `count` changes, all of them successfully."""
        result = self.apply(*flags)
        assert result.exit_code == OK, result.output
        assert result.stdout.endswith(f"Apply: {count} applied, 0 failed, 0 skipped.\n")
        return result

    def make(self, *rooms: str, extra: str = "") -> None:
        """Write the file and apply it: the rooms exist, as declared."""
        self.write(*rooms, extra=extra)
        self.applies(len(rooms))

    # -- the live state, through the control API ---------------------------------------

    def keyed(self) -> list[tuple[str, RoomView]]:
        """Every live room with its key. Kaleyra rooms have none: theirs is the name the
        state file records for the room_id (`?<id>` for a room nobody recorded)."""
        rooms = self.control.rooms(self.facts.provider, self.facts.account, KIND, live=True)
        if self.facts.provider != "kaleyra":
            return [(str(r["name"]), r) for r in rooms]
        state = json.loads((self.tmp_path / "kaleyra-state.json").read_text())
        names = {entry["room_id"]: name for name, entry in state["rooms"].items()}
        return [(names.get(r["id"], f"?{r['id']}"), r) for r in rooms]

    def live_keys(self) -> list[str]:
        """The keys of the live rooms, sorted, duplicates kept."""
        return sorted(key for key, _ in self.keyed())

    def live_room(self, key: str) -> RoomView:
        """The one live room of that key."""
        (found,) = [r for k, r in self.keyed() if k == key]
        return found

    def people(self, key: str, **change: list[str]) -> None:
        """Participants join (`add`) or leave (`remove`): the sandbox keeps the session."""
        self.control.participants(self.facts.provider, self.facts.account, KIND,
                                  self.live_room(key)["id"], **change)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything apply could change: every stored room (ended ones too), the Kaleyra
        state; and counters cleared, so `writes` counts from here."""
        state = self.tmp_path / "kaleyra-state.json"
        self.sandbox.counters.clear()
        return (self.control.rooms(self.facts.provider, self.facts.account, KIND),
                state.read_bytes() if state.exists() else None)

    def writes(self) -> dict[str, int]:
        """Requests other than reads since `snapshot`."""
        table = self.sandbox.counter_table().get(self.facts.provider, {})
        return {method: n for method, n in table.items() if method != "GET"}


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path, server: SandboxServer,
        sandbox: Sandbox) -> Iterator[Harness]:
    """The harness for the test's `facts` parameter."""
    facts: Facts = request.node.callspec.params["facts"]
    with SandboxControl(server.base_url) as control:
        yield Harness(facts, tmp_path, server, sandbox, control)


def assert_blocked(rig: Harness, result: Result, before: tuple[Any, ...], *messages: str
                   ) -> None:
    """Exit 3, each message on stderr, and nothing written to the provider."""
    assert result.exit_code == BLOCKED, result.output
    blocked = [line for line in result.stderr.splitlines() if line.startswith("blocked: ")]
    assert blocked == [f"blocked: {message}" for message in messages]
    assert "Apply:" not in result.stdout
    assert rig.writes() == {}
    assert rig.snapshot() == before


# -- 1. create from empty, then nothing to do --------------------------------------------

@pytest.mark.parametrize("facts", providers())
def test_create_from_empty_then_no_changes(rig: Harness, facts: Facts) -> None:
    rig.write(room(facts, "r1"))
    result = rig.apply()
    assert result.exit_code == OK, result.output
    assert result.stdout.startswith(header(facts, "+", "r1", facts.first_reason))
    shown = result.stdout.split("\n\n")[0].splitlines()[1:]  # in the model's field order
    assert {f"    {k}: {value(v)}" for k, v in {facts.key: "r1", **facts.declared}.items()
            } <= set(shown)  # Kaleyra also shows its participants (from `defaults`), masked
    assert summary(create=1) + "Apply: 1 applied, 0 failed, 0 skipped.\n" in result.stdout
    assert f"+ {facts.address('r1')} created" in result.stderr
    rig.converges()
    assert rig.live_keys() == ["r1"]
    data = rig.live_room("r1")["data"]
    assert {name: data.get(name) for name in facts.fields} == facts.declared


# -- 2. changes made behind the tool's back ----------------------------------------------

@pytest.mark.parametrize("facts", [p for p in providers() if p.values[0].drift_visible])
def test_an_out_of_band_change_is_planned_field_by_field_then_undone(
        rig: Harness, facts: Facts) -> None:
    rig.make(room(facts, "r1"))
    before = rig.live_room("r1")["id"]
    rig.control.patch_room(facts.provider, facts.account, KIND, "r1",
                           {name: drifted for name, (_, drifted) in facts.fields.items()})
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    names = sorted(facts.fields)
    if facts.in_place:
        first = header(facts, "~", "r1", f"changed: {', '.join(names)}")
    else:
        first = header(facts, "-/+", "r1", forced_reason(names))
    assert result.stdout == first + "".join(
        field_line(name, facts.fields[name][1], facts.fields[name][0], not facts.in_place)
        for name in names) + "\n" + one_change(facts.in_place)
    rig.applies(1)
    rig.converges()
    assert rig.live_keys() == ["r1"]  # a replace leaves no second room behind
    after = rig.live_room("r1")
    assert {name: after["data"][name] for name in facts.fields} == facts.declared
    assert (after["id"] == before) is facts.in_place


@pytest.mark.parametrize("facts", providers())
def test_a_room_deleted_out_of_band_is_planned_as_a_create(rig: Harness, facts: Facts
                                                          ) -> None:
    rig.make(room(facts, "r1"), room(facts, "r2"))
    gone = rig.live_room("r1")["id"]
    rig.control.delete_room(facts.provider, facts.account, KIND, gone)
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    assert result.stdout.startswith(header(facts, "+", "r1", facts.gone_reason.format(
        id=gone)))
    assert result.stdout.endswith(summary(create=1))
    rig.applies(1)
    rig.converges()
    assert rig.live_keys() == ["r1", "r2"]


# -- 3, 4, 5. updates in place, replaces, renames -----------------------------------------

@pytest.mark.parametrize("facts", providers())
def test_a_changed_field_updates_in_place_or_replaces(rig: Harness, facts: Facts) -> None:
    rig.make(room(facts, "r1"))
    before = rig.live_room("r1")["id"]
    name, new = facts.change
    rig.write(changed(facts))
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    old = facts.declared[name]
    if facts.in_place:
        expected = header(facts, "~", "r1", f"changed: {name}") + field_line(name, old, new,
                                                                             False)
    else:
        expected = header(facts, "-/+", "r1", forced_reason([name])) + field_line(
            name, old, new, True)
    assert result.stdout == expected + "\n" + one_change(facts.in_place)
    verb = "updated" if facts.in_place else "replaced"
    assert f"{facts.address('r1')} {verb}" in rig.applies(1).stderr
    rig.converges()
    assert rig.live_keys() == ["r1"]  # exactly one: the replaced room is gone
    after = rig.live_room("r1")
    assert after["data"][name] == new
    assert (after["id"] == before) is facts.in_place


@pytest.mark.parametrize("facts", providers())
def test_a_rename_with_renamed_from(rig: Harness, facts: Facts) -> None:
    rig.make(room(facts, "r1"))
    before = rig.live_room("r1")["id"]
    rig.write(room(facts, "r2", renamed_from="r1"))
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    if facts.rename_in_place:
        first = header(facts, "~", "r2", f"renamed from r1; changed: {facts.key}")
    else:
        first = header(facts, "-/+", "r2", forced_reason([facts.key], renamed="r1"))
    in_place = facts.rename_in_place
    assert result.stdout == first + field_line(facts.key, "r1", "r2", not in_place) + \
        "\n" + one_change(in_place)
    rig.applies(1)
    rig.converges()
    assert rig.live_keys() == ["r2"]
    assert (rig.live_room("r2")["id"] == before) is in_place


# -- 6. Twilio rooms end by themselves -------------------------------------------------------

@pytest.mark.parametrize("facts", providers("twilio"))
@pytest.mark.parametrize("used", [False, True], ids=["never-used", "emptied"])
def test_a_room_that_ended_by_itself_is_created_again(rig: Harness, facts: Facts, used: bool
                                                      ) -> None:
    """Twilio ends a room `unused_room_timeout` minutes after it was made if nobody ever
    joined, else `empty_room_timeout` minutes after the last one left."""
    timeouts = {"empty_room_timeout": 3, "unused_room_timeout": 60} if used else \
        {"empty_room_timeout": 60, "unused_room_timeout": 3}
    rig.make(room(facts, "standup", timeouts))
    first = rig.live_room("standup")["id"]
    if used:
        rig.people("standup", add=["alice"])
        rig.people("standup", remove=["alice"])
    rig.control.advance(minutes=2)
    rig.converges()  # not yet
    rig.control.advance(minutes=2)  # past the timeout that applies
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    assert result.stdout == header(facts, "+", "standup", "ended") + "".join(
        f"    {name}: {value(v)}\n" for name, v in {"unique_name": "standup", **timeouts}.items()
    ) + "\n" + summary(create=1)
    rig.applies(1)
    rig.converges()
    assert rig.live_keys() == ["standup"]
    assert rig.live_room("standup")["id"] != first
    ended = rig.control.rooms(facts.provider, facts.account, KIND, live=False)
    assert [(r["id"], r["data"]["status"]) for r in ended] == [(first, "completed")]


# -- 7. prune ---------------------------------------------------------------------------

PRUNE = '    prune: {match: "x-*"}\n'


@pytest.mark.parametrize("facts", providers())
def test_prune_deletes_only_undeclared_rooms_that_match(rig: Harness, facts: Facts) -> None:
    rig.make(room(facts, "x-keep"), room(facts, "x-old"), room(facts, "other"))
    rig.write(room(facts, "x-keep"), extra=PRUNE)
    result = rig.plan()
    assert result.exit_code == CHANGES, result.output
    assert result.stdout == header(facts, "-", "x-old", "pruned: matches x-*") + "\n" + \
        summary(delete=1, unmanaged=1)
    # One delete of one managed room: under safety.min_managed_rooms, so no threshold.
    assert f"- {facts.address('x-old')} deleted" in rig.applies(1).stderr
    rig.converges(unmanaged=1)
    assert rig.live_keys() == ["other", "x-keep"]


# -- 8. safety rails: exit 3, a way to proceed, and nothing changed -----------------------

def replacing_edit(facts: Facts, key: str = "r1", renamed: str = "r2", **more: Any
                   ) -> tuple[str, str, str] | None:
    """A file edit that replaces room `key` (by a changed field, else by a rename to
    `renamed`): its room line, its key then, and the plan's reason (before any Kaleyra
    suffix); None where no edit replaces (Telnyx)."""
    if not facts.in_place:
        return changed(facts, key, **more), key, forced_reason([facts.change[0]])
    if not facts.rename_in_place:
        return room(facts, renamed, renamed_from=key, **more), renamed, \
            forced_reason([facts.key], renamed=key)
    return None


@pytest.mark.parametrize("facts", providers())
def test_the_destroy_threshold_blocks_until_forced(rig: Harness, facts: Facts) -> None:
    names = [f"x-{i:02d}" for i in range(14)]
    rig.make(*(room(facts, name) for name in names))
    # Four rooms deleted or replaced: two replaced where the provider replaces, the others
    # pruned; 4 of 12 (or 10) managed rooms is over the default 30%.
    edits = [replacing_edit(facts, name, f"{name}-v2") for name in names[:2]]
    replaced = [edit for edit in edits if edit is not None]
    kept = 14 - (4 - len(replaced))
    lines = [edit[0] for edit in replaced] + [room(facts, n) for n in names[len(replaced):kept]]
    rig.write(*lines, extra=PRUNE)
    before = rig.snapshot()
    result = rig.apply()
    assert_blocked(rig, result, before,
                   f"{facts.provider}: the plan deletes or replaces 4 of {kept} managed rooms"
                   f" ({400 // kept}%, over the 30% limit); check the plan, then rerun with"
                   " --force, or raise safety.max_destroy_percent")
    assert result.stdout.endswith(summary(replace=len(replaced), delete=4 - len(replaced)))
    rig.applies(4, "--force")
    rig.converges()
    keys = [edit[1] for edit in replaced] + names[len(replaced):kept]  # those of `lines`
    assert rig.live_keys() == sorted(keys)
    # Under safety.min_managed_rooms (10) managed rooms, no share is too many.
    rig.write(*lines[:7], extra=PRUNE)
    rig.applies(kept - 7)
    assert rig.live_keys() == sorted(keys[:7])


def updating_edit(facts: Facts, **more: Any) -> tuple[str, str, str]:
    """A file edit that updates room r1 in place (where the provider can): as above."""
    return changed(facts, **more), "r1", f"changed: {facts.change[0]}"


@pytest.mark.parametrize("facts", providers())
def test_prevent_destroy_blocks_a_replace_whatever_the_flags(rig: Harness, facts: Facts
                                                              ) -> None:
    rig.make(room(facts, "r1"))
    edit = replacing_edit(facts, prevent_destroy=True)
    if edit is None:  # Telnyx replaces nothing: an update in place is never blocked
        line, _, reason = updating_edit(facts, prevent_destroy=True)
        rig.write(line)
        assert header(facts, "~", "r1", reason) in rig.applies(1).stdout
        rig.converges()
        return
    line, key, reason = edit
    rig.write(line)
    before = rig.snapshot()
    result = rig.apply("--force", "--allow-disruption")  # neither overrides it
    said = reason + (KALEYRA_REPLACE if facts.new_join_urls else "")
    assert_blocked(rig, result, before,
                   f"{facts.address(key)}: prevent_destroy is set, and the plan would replace"
                   f" it ({said}); remove prevent_destroy from the room to allow it")
    assert result.stdout.startswith(header(facts, "-/+", key, reason))
    unguarded = replacing_edit(facts)  # as the message says
    assert unguarded is not None
    rig.write(unguarded[0])
    rig.applies(1)
    rig.converges()
    assert rig.live_keys() == [key]


@pytest.mark.parametrize("facts", providers())
def test_the_live_session_guard(rig: Harness, facts: Facts) -> None:
    """People in a room: where the API shows them, replacing or deleting that room blocks
    until --allow-disruption; Metered and Kaleyra show nobody, so nothing blocks there (a
    Kaleyra replace is marked for its new join URLs, which is no live session)."""
    rig.make(room(facts, "r1"), room(facts, "x-busy"))
    for key in ("r1", "x-busy"):
        rig.people(key, add=["alice"])
    edit = replacing_edit(facts)
    line, key, reason = edit or updating_edit(facts)
    rig.write(line, extra=PRUNE)
    replaced = edit is not None
    changed = header(facts, "-/+" if replaced else "~", key, reason,
                     occupied=replaced and facts.sessions)
    deleted = header(facts, "-", "x-busy", "pruned: matches x-*", occupied=facts.sessions)
    planned = rig.plan()
    assert planned.exit_code == CHANGES, planned.output
    assert changed in planned.stdout and deleted in planned.stdout
    assert (LIVE_SESSION in planned.stdout) is facts.sessions
    if facts.sessions:
        before = rig.snapshot()
        occupied = [(key, "replace")] if replaced else []  # an update disrupts nobody
        occupied.append(("x-busy", "delete"))
        assert_blocked(rig, rig.apply(), before, *(
            f"{facts.address(k)}: people are in this room now, and the plan would {verb} it;"
            " rerun with --allow-disruption to go ahead anyway" for k, verb in occupied))
        rig.applies(2, "--allow-disruption")
    else:
        rig.applies(2)
    rig.converges()
    assert rig.live_keys() == [key]


# -- bugs these found, since fixed ----------------------------------------------------------

@pytest.mark.parametrize("facts", providers())
def test_the_threshold_blocks_deletes_when_no_room_is_managed_yet(rig: Harness, facts: Facts
                                                                  ) -> None:
    rig.make(room(facts, "x-old"))
    # A first run on an account with leftovers: nothing declared is live yet.
    rig.write(room(facts, "y-new"), extra=PRUNE + "    safety: {min_managed_rooms: 0}\n")
    before = rig.snapshot()
    result = rig.apply()
    assert result.exit_code == BLOCKED, repr(result.exception)
    assert result.stderr.startswith(f"blocked: {facts.provider}: the plan deletes or replaces")
    assert "--force" in result.stderr
    assert rig.writes() == {}
    assert rig.snapshot() == before


@pytest.mark.parametrize("facts", providers())
def test_a_plan_does_not_depend_on_the_order_of_the_rooms(rig: Harness, facts: Facts) -> None:
    rig.make(room(facts, "old"))
    renamed, kept = room(facts, "new", renamed_from="old"), room(facts, "old")
    plans = []
    for lines in ((kept, renamed), (renamed, kept)):
        rig.write(*lines)
        result = rig.plan()
        assert result.exit_code == CHANGES, result.output
        plans.append(sorted(line for line in result.stdout.splitlines()
                            if line and not line.startswith(" ")))  # headers and summary
    # `old` is declared, so it keeps its live room; `new` is made.
    assert plans[0] == [header(facts, "+", "new", facts.new_reason).rstrip("\n"),
                        summary(create=1).rstrip("\n")]
    assert plans[1] == plans[0]
