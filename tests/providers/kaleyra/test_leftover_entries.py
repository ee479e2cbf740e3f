"""State entries whose room is gone: a delete (or a replace's delete) whose DELETE went
through while the apply was killed before the file said so. Plan shows a deletion that
forgets the entry, apply (also of a saved plan) clears it, and then nothing is left to do.
Without it the entry of an undeclared room stayed on record forever, and a saved plan's
deletion of a retired entry was skipped at every apply ("the room is gone")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.providers.kaleyra.state import KaleyraState, locked
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import KALEYRA_STATE, SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, rooms_file

SANDBOX_PROVIDERS = ("kaleyra",)
ROOM = "      - {{name: {name}, description: '{name} v{version}', participants:" \
       " [{{user_id: doc, is_admin: true}}, {{user_id: pat}}]}}\n"


def reconcile(*args: str) -> tuple[int, str]:
    result = CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))
    return result.exit_code, result.output + result.stderr


def declare(tmp_path: Path, server: SandboxServer, **versions: int) -> Path:
    return rooms_file(tmp_path, server, "kaleyra", "".join(
        ROOM.format(name=name, version=version) for name, version in versions.items()))


def drop_room(sandbox: Sandbox, room_id: str) -> None:
    """The room's DELETE went through; the apply that sent it died before saving."""
    record = sandbox.store.get("kaleyra", SANDBOX_ACCOUNTS["kaleyra"], "rooms", room_id)
    assert record is not None
    sandbox.store.delete(record)


def recorded(tmp_path: Path) -> list[str]:
    return KaleyraState.load(tmp_path / KALEYRA_STATE, "kaleyra").names()


def room_id(tmp_path: Path, name: str) -> str:
    entry = KaleyraState.load(tmp_path / KALEYRA_STATE, "kaleyra").get(name)
    assert entry is not None
    return entry.room_id


@pytest.mark.parametrize("saved", [False, True], ids=["apply", "apply-saved-plan"])
def test_an_undeclared_entry_whose_room_is_gone_is_forgotten(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, saved: bool) -> None:
    path = declare(tmp_path, server, a=1, b=1)
    assert reconcile("apply", "--auto-approve", str(path))[0] == 0
    gone = room_id(tmp_path, "b")
    declare(tmp_path, server, a=1)  # b no longer declared (and not pruned) ...
    drop_room(sandbox, gone)  # ... and its room is gone, its entry still on record

    code, output = reconcile("plan", "--out", str(tmp_path / "plan.json"), str(path))
    assert code == 0, output
    assert f"- kaleyra.rooms[b@{gone}]  (missing: room_id {gone} not found; its state entry is" \
           " forgotten)" in output
    target = str(tmp_path / "plan.json") if saved else str(path)
    code, output = reconcile("apply", "--auto-approve", target)
    assert code == 0, output
    assert f"- kaleyra.rooms[b@{gone}] deleted" in output
    assert recorded(tmp_path) == ["a"]
    code, output = reconcile("plan", str(path))
    assert code == 0 and output.startswith("No changes."), output


def test_a_declared_entry_whose_room_is_gone_is_created_again(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = declare(tmp_path, server, a=1)
    assert reconcile("apply", "--auto-approve", str(path))[0] == 0
    gone = room_id(tmp_path, "a")
    drop_room(sandbox, gone)
    code, output = reconcile("apply", "--auto-approve", str(path))
    assert code == 0, output
    assert f"+ kaleyra.rooms[a]  (missing: room_id {gone} not found)" in output
    assert recorded(tmp_path) == ["a"] and room_id(tmp_path, "a") != gone


def test_a_saved_plan_clears_a_retired_entry_whose_room_is_gone(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = declare(tmp_path, server, a=1)
    assert reconcile("apply", "--auto-approve", str(path))[0] == 0
    old = room_id(tmp_path, "a")
    declare(tmp_path, server, a=2)  # a replace: create-first, then the old room's delete
    state = tmp_path / KALEYRA_STATE
    entry = KaleyraState.load(state, "kaleyra").get("a")
    assert entry is not None
    assert reconcile("apply", "--auto-approve", str(path))[0] == 0
    # Put back what a kill between the old room's DELETE and the save leaves: the old
    # room gone, its retired entry still on record.
    with locked(state, 0):
        current = KaleyraState.load(state, "kaleyra")
        current.put(f"a@{old}", room_id=old, settings=entry.settings,
                    participants=entry.participants, created_at=entry.created_at)
        current.save()
    assert recorded(tmp_path) == ["a", f"a@{old}"]

    code, output = reconcile("plan", "--out", str(tmp_path / "plan.json"), str(path))
    assert code == 0 and f"- kaleyra.rooms[a@{old}]  (replaced: the old room of a)" in output
    code, output = reconcile("apply", str(tmp_path / "plan.json"))
    assert code == 0, output
    assert recorded(tmp_path) == ["a"]
    code, output = reconcile("plan", str(path))
    assert code == 0 and output.startswith("No changes."), output
