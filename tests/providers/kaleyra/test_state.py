"""The Kaleyra state file's store (state.py) on a real filesystem: format and round trip,
atomic saves, and SIGKILL at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reconcile.providers.kaleyra.state import (
    KaleyraState,
    StateError,
    locked,
    state_path,
)

from .conftest import (
    CREATED,
    ROOT,
    URL_A,
    participants,
    saved_state,
)


def test_a_create_intent_is_saved_until_settled_and_old_files_load_as_they_are(
        path: Path) -> None:
    saved_state(path)
    before = path.read_text(encoding="utf-8")
    assert "uncertain_creates" not in before  # written only when there is one
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")  # a file from before intents loads
        assert state.uncertain() == []
        doubt, done = state.intend("consult-43"), state.intend("consult-44")
        state.save()
        loaded = KaleyraState.load(path, "kaleyra")  # as the next plan, or a kill, sees it
        assert [(r.name, r.requested_at) for r in loaded.uncertain()] == [
            ("consult-43", doubt.requested_at), ("consult-44", done.requested_at)]
        assert doubt.requested_at.endswith("Z")
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
        state.settle(done)
        state.save()
        assert [r.name for r in KaleyraState.load(path, "kaleyra").uncertain()] == [
            "consult-43"]
        state.settle(doubt)
        state.save()
    assert path.read_text(encoding="utf-8") == before  # nothing left of them


def test_round_trip(path: Path) -> None:
    written = saved_state(path)
    loaded = KaleyraState.load(path, "kaleyra")
    assert not loaded.missing and loaded.warning() is None
    assert loaded.names() == ["b-room", "consult-42"]
    assert loaded.items() == written.items()
    entry = loaded.get("consult-42")
    assert entry is not None
    assert entry.room_id == "room_0123456789ab"
    assert entry.settings == {"recording": "automatic", "duration": 3600}
    assert entry.participants == tuple(participants())
    assert entry.created_at == CREATED
    assert loaded.unsaved() == []


def test_the_text_is_json_dumps_whatever_the_entries_went_through(path: Path) -> None:
    # to_json assembles the file from each entry's text, encoded once: it must still be
    # byte for byte what json.dumps writes, for an empty state, unicode, and entries
    # replaced and removed since their text was made.
    state = KaleyraState(path, "kaleyra")

    def expected() -> str:
        document = {"format_version": 1, "tool": "reconcile", "account": "kaleyra",
                    "rooms": {name: entry.as_json() for name, entry in state.items()}}
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    assert state.to_json() == expected()
    state.put("zürich", room_id="room_1", settings={"description": "née"},
              participants=participants())
    state.put("a", room_id="room_2", settings={}, participants=())
    assert state.to_json() == expected()
    state.put("a", room_id="room_3", settings={"recording": "manual"}, participants=())
    state.remove("zürich")
    assert state.to_json() == expected()
    assert '"room_3"' in state.to_json() and '"room_2"' not in state.to_json()


def test_stable_readable_format(path: Path) -> None:
    saved_state(path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    document = json.loads(text)
    # Sorted keys with two-space indentation: exactly what json.dumps gives for them.
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert document["format_version"] == 1 and document["tool"] == "reconcile"
    assert document["account"] == "kaleyra"
    assert list(document["rooms"]) == ["b-room", "consult-42"]
    assert document["rooms"]["consult-42"]["participants"][0] == {
        "user_id": "dr-lee", "url": URL_A}
    # Saving again, in any insertion order, changes nothing: no churn in git.
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        entry = state.remove("b-room")
        assert entry is not None
        state.put("b-room", room_id=entry.room_id, settings=entry.settings,
                  participants=entry.participants, created_at=entry.created_at)
        state.save()
    assert path.read_text(encoding="utf-8") == text


def test_new_file_is_private_and_existing_mode_is_kept(path: Path) -> None:
    saved_state(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.remove("b-room")
        state.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_remove_and_created_at_default(path: Path) -> None:
    saved_state(path)
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        assert state.remove("consult-42") is not None
        assert state.remove("never-there") is None
        entry = state.put("new", room_id="room_new", settings={}, participants=participants())
        assert state.unsaved() == ["consult-42", "new"]
        state.save()
    assert KaleyraState.load(path, "kaleyra").names() == ["b-room", "new"]
    assert entry.created_at.endswith("Z") and "T" in entry.created_at


def test_join_urls_and_descriptions_never_in_reprs(path: Path) -> None:
    state = saved_state(path)
    for text in (repr(state), repr(state.get("consult-42")), str(participants())):
        assert "SECRET" not in text


def test_put_refuses_what_would_corrupt_the_file(path: Path) -> None:
    state = saved_state(path)
    with pytest.raises(ValueError, match="already recorded for b-room"):
        state.put("x", room_id="room_ba9876543210", settings={}, participants=[])
    with pytest.raises(TypeError):
        state.put("x", room_id="room_x", settings={"bad": object()}, participants=[])
    assert "x" not in state


def test_a_room_id_is_free_again_once_its_entry_is_removed_or_replaced(path: Path) -> None:
    """put() finds a room_id's owner in an index kept by put and remove (it scanned every
    entry: applying n creates was quadratic), so the index must follow both."""
    with locked(path, 0):
        state = KaleyraState.load(saved_state(path).path, "kaleyra")
    state.put("consult-42", room_id="room_new", settings={}, participants=[])  # a replace
    state.put("retired", room_id="room_0123456789ab", settings={}, participants=[])
    with pytest.raises(ValueError, match="already recorded for consult-42"):
        state.put("x", room_id="room_new", settings={}, participants=[])
    state.remove("b-room")
    state.put("x", room_id="room_ba9876543210", settings={}, participants=[])
    state.put("x", room_id="room_ba9876543210", settings={"a": 1}, participants=[])  # again
    assert {n: e.room_id for n, e in state.items()} == {
        "consult-42": "room_new", "retired": "room_0123456789ab", "x": "room_ba9876543210"}


def test_missing_file_is_an_empty_state_with_a_warning(path: Path) -> None:
    state = KaleyraState.load(path, "kaleyra")
    assert state.missing and len(state) == 0
    warning = state.warning()
    assert warning is not None
    assert str(path) in warning and "create" in warning and "duplicate" in warning
    assert not path.exists() and not path.parent.exists()  # loading writes nothing


def test_missing_file_is_created_by_the_first_save(path: Path) -> None:
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.put("a", room_id="room_a", settings={}, participants=participants())
        state.save()
    assert not state.missing
    assert KaleyraState.load(path, "kaleyra").names() == ["a"]


def test_unreadable_file(path: Path) -> None:
    path.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(StateError, match="is a directory, not a state file"):
        KaleyraState.load(path, "kaleyra")


def test_put_needs_a_name_and_a_room_id(path: Path) -> None:
    state = KaleyraState.load(path, "kaleyra")
    for name, room_id in (("", "room_a"), ("a", "")):
        with pytest.raises(ValueError, match="needs a name and a room_id"):
            state.put(name, room_id=room_id, settings={}, participants=[])
    assert len(state) == 0


def test_a_failed_save_names_the_unsaved_deletion(path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    saved_state(path)
    before = path.read_bytes()

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.remove("consult-42")
        monkeypatch.setattr("reconcile.files._new_temp", no_space)  # before any byte is written
        with pytest.raises(StateError) as caught:
            state.save()
        monkeypatch.undo()
    message = str(caught.value)
    assert "No space left on device" in message
    assert "deletion of consult-42 (room_id room_0123456789ab)" in message
    assert "SECRET" not in message
    assert path.read_bytes() == before


def test_crash_before_the_rename_keeps_the_old_file(path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    saved_state(path)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.put("new-room", room_id="room_new", settings={}, participants=participants())
        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(StateError) as caught:
            state.save()
        monkeypatch.undo()
    message = str(caught.value)
    assert "No space left on device" in message and "previous content" in message
    assert "new-room (room_id room_new)" in message and "SECRET" not in message
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == [path.name, path.name + ".lock"]


def test_interrupt_before_the_rename_keeps_the_old_file(path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    saved_state(path)
    before = path.read_bytes()

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.remove("b-room")
        monkeypatch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            state.save()
        monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == [path.name, path.name + ".lock"]


def test_no_temp_files_after_saves(path: Path) -> None:
    saved_state(path)
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        for index in range(5):
            state.put(f"r{index}", room_id=f"room_{index}", settings={},
                      participants=participants())
            state.save()
    assert sorted(os.listdir(path.parent)) == [path.name, path.name + ".lock"]


def test_a_symlinked_state_file_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "volume" / "kaleyra.json"
    saved_state(real)
    link = tmp_path / "state.json"
    link.symlink_to(real)
    with locked(link, 0):
        state = KaleyraState.load(link, "kaleyra")
        state.remove("b-room")
        state.save()
    assert link.is_symlink()
    assert KaleyraState.load(real, "kaleyra").names() == ["consult-42"]
    with locked(real, 0), locked(link, 0):  # one lock, whichever name is used
        pass


def test_save_needs_the_lock(path: Path) -> None:
    state = KaleyraState.load(path, "kaleyra")
    state.put("a", room_id="room_a", settings={}, participants=[])
    with pytest.raises(RuntimeError, match="without holding locked"):
        state.save()
    assert not path.exists()


def test_save_refuses_to_overwrite_a_file_changed_behind_its_back(path: Path) -> None:
    saved_state(path)
    stale = KaleyraState.load(path, "kaleyra")  # e.g. read before taking the lock
    saved_state(path)  # another writer replaces the file
    stale.put("late", room_id="room_late", settings={}, participants=participants())
    after_other = path.read_bytes()
    with locked(path, 0), pytest.raises(StateError, match="changed on disk") as caught:
        stale.save()
    assert "late (room_id room_late)" in str(caught.value)
    assert path.read_bytes() == after_other


def test_state_path(tmp_path: Path) -> None:
    rooms = tmp_path / "infra" / "rooms.yaml"
    assert state_path(rooms, "kaleyra") == tmp_path / "infra/.reconcile/kaleyra-kaleyra.json"
    assert state_path(rooms, "k-eu", "state/k.json") == tmp_path / "infra/state/k.json"
    assert state_path(rooms, "k-eu", "/var/lib/k.json") == Path("/var/lib/k.json")
    assert state_path("rooms.yaml", "eu") == Path(".reconcile/kaleyra-eu.json")


WRITER = """
    import sys
    from reconcile.providers.kaleyra.state import KaleyraState, ParticipantUrl, locked
    path, run, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    urls = [ParticipantUrl("dr-lee", "https://x/SECRET-" + run + "-a"),
            ParticipantUrl("patient", "https://x/SECRET-" + run + "-b")]
    with locked(path, 10):
        state = KaleyraState.load(path, "kaleyra")
        print("ready", flush=True)
        for i in range(count):
            # Every third step deletes the room made two steps before.
            if i % 3 == 2:
                state.remove(f"{run}-{i - 2}")
                state.save()
                print(f"removed {run}-{i - 2}", flush=True)
            else:
                state.put(f"{run}-{i}", room_id=f"room_{run}_{i}",
                          settings={"recording": "none", "step": i}, participants=urls)
                state.save()
                print(f"put {run}-{i}", flush=True)
    print("done", flush=True)
"""


def _writer(path: Path, run: str, count: int) -> subprocess.Popen[str]:
    script = textwrap.dedent(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", script, str(path), run, str(count)],
                            env=env, stdout=subprocess.PIPE, text=True)


def _replay(names: set[str], line: str) -> None:
    verb, name = line.split()
    if verb == "put":
        names.add(name)
    else:
        names.discard(name)


def _next_step(run: str, done: int) -> str:
    """The operation the writer performs after `done` confirmed steps."""
    return f"removed {run}-{done - 2}" if done % 3 == 2 else f"put {run}-{done}"


def test_sigkill_at_random_moments_loses_no_saved_room(path: Path) -> None:
    seed = int(os.environ.get("STATE_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    expected: set[str] = set()
    for run_index in range(6):
        run = f"r{run_index}"
        child = _writer(path, run, 100_000)
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.01, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        lines = [line.strip() for line in child.stdout if line.strip()]
        assert "done" not in lines, f"seed {seed}: the kill came too late"
        confirmed = set(expected)
        for line in lines:
            _replay(confirmed, line)
        # The step in flight may or may not have reached the disk, never half of it.
        in_flight = set(confirmed)
        _replay(in_flight, _next_step(run, len(lines)))
        state = KaleyraState.load(path, "kaleyra")  # parses: never a half-written file
        on_disk = set(state.names())
        assert on_disk in (confirmed, in_flight), (
            f"seed {seed}, run {run}: lost {sorted(confirmed - on_disk)}, "
            f"unexpected {sorted(on_disk - confirmed - in_flight)}")
        expected = on_disk
    with locked(path, 0):  # the next apply sweeps temp files the kills left
        pass
    assert sorted(os.listdir(path.parent)) == [path.name, path.name + ".lock"]


def test_reader_never_sees_a_half_written_file(path: Path) -> None:
    saved_state(path)
    child = _writer(path, "w", 400)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    reads = 0
    while child.poll() is None or reads == 0:
        KaleyraState.load(path, "kaleyra")  # plan reads without the lock
        reads += 1
    assert child.wait(30) == 0
    assert reads > 10
    assert KaleyraState.load(path, "kaleyra").get("w-399") is not None
