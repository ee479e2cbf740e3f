"""The Kaleyra state file on a real filesystem: format, damage, atomic saves, the lock
across real processes, and SIGKILL at random moments."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.errors import ReconcileError
from reconcile.providers.kaleyra.state import (
    DESCRIPTION_DIGEST_KEY,
    KaleyraState,
    ParticipantUrl,
    StateError,
    StateLockedError,
    locked,
    state_path,
    stored_settings,
)

ROOT = Path(__file__).resolve().parents[3]
URL_A = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/SECRETaaaaaaaaaaaaaaa"
URL_B = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/SECRETbbbbbbbbbbbbbbb"
CREATED = "2024-05-01T12:00:00Z"


def participants() -> list[ParticipantUrl]:
    return [ParticipantUrl("dr-lee", URL_A), ParticipantUrl("patient-42", URL_B)]


def saved_state(path: Path, account: str = "kaleyra") -> KaleyraState:
    """A file with two rooms, written the way apply writes it."""
    with locked(path, 0):
        state = KaleyraState.load(path, account)
        state.put("consult-42", room_id="room_0123456789ab", participants=participants(),
                  settings={"recording": "automatic", "duration": 3600},
                  created_at=CREATED)
        state.put("b-room", room_id="room_ba9876543210", participants=participants(),
                  settings={"call_type": "audio_only"}, created_at=CREATED)
        state.save()
    return state


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".reconcile" / "kaleyra-kaleyra.json"


# ---------------------------------------------------------------- format and round trip

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


def test_description_is_stored_as_a_digest(path: Path) -> None:
    declared = {"recording": "none", "description": "Consult for Jane Roe"}
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        entry = state.put("c", room_id="room_c", settings=declared,
                          participants=participants())
        state.save()
    assert "Jane Roe" not in path.read_text(encoding="utf-8")
    assert "description" not in entry.settings
    assert len(entry.settings[DESCRIPTION_DIGEST_KEY]) == 64
    # The engine compares the stored form of what is declared now with the entry.
    assert stored_settings(declared) == entry.settings
    assert stored_settings(entry.settings) == entry.settings
    assert stored_settings({**declared, "description": "other"}) != entry.settings


def test_put_refuses_what_would_corrupt_the_file(path: Path) -> None:
    state = saved_state(path)
    with pytest.raises(ValueError, match="already recorded for b-room"):
        state.put("x", room_id="room_ba9876543210", settings={}, participants=[])
    with pytest.raises(TypeError):
        state.put("x", room_id="room_x", settings={"bad": object()}, participants=[])
    assert "x" not in state


# ---------------------------------------------------------------- missing and damaged

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


def _good_document() -> dict[str, object]:
    return {"format_version": 1, "tool": "reconcile", "account": "kaleyra",
            "rooms": {"consult-42": {"room_id": "room_1", "settings": {},
                                     "created_at": CREATED,
                                     "participants": [{"user_id": "u", "url": URL_A}]}}}


def _with(change: str) -> str:
    document = json.loads(json.dumps(_good_document()))
    exec(change, {"d": document})
    return json.dumps(document, indent=2)


GOOD = json.dumps(_good_document(), indent=2) + "\n"

DAMAGED = {
    "not json": ("{format_version: 1}", ["not valid JSON"]),
    "truncated": (GOOD[: len(GOOD) // 2], ["not valid JSON", "truncated"]),
    "empty": ("", ["is empty"]),
    "not utf-8": ('{"a": "\xff"}'.encode("latin-1"), ["not UTF-8"]),
    "merge conflict": (GOOD.replace('"rooms": {', '"rooms": {\n<<<<<<< HEAD\n=======\n'
                                    '>>>>>>> main\n'), ["merge conflict"]),
    "newer version": (_with("d['format_version'] = 2"),
                      ["format_version 2", "Upgrade reconcile"]),
    "older version": (_with("d['format_version'] = 0"), ["format_version 0"]),
    "version as text": (_with("d['format_version'] = '1'"),
                        ["format_version: must be a whole number, not a string"]),
    "no version": (_with("del d['format_version']"), ["format_version is missing"]),
    "array": ("[]", ["the document: must be an object, not an array"]),
    "other tool": (_with("d['tool'] = 'terraform'"), ["tool: must be"]),
    "other account": (_with("d['account'] = 'kaleyra-us'"),
                      ['belongs to account "kaleyra-us"', "own `state:` path"]),
    "unknown key": (_with("d['extra'] = 1"), ["unknown key extra"]),
    "rooms as list": (_with("d['rooms'] = []"), ["rooms: must be an object"]),
    "no room_id": (_with("del d['rooms']['consult-42']['room_id']"),
                   ["rooms.consult-42: missing room_id"]),
    "url not text": (_with("d['rooms']['consult-42']['participants'][0]['url'] = 7"),
                     ["rooms.consult-42.participants[0].url: must be a non-empty string, "
                      "not a whole number"]),
    "bad date": (_with("d['rooms']['consult-42']['created_at'] = 'yesterday'"),
                 ["created_at: must be an ISO 8601"]),
    "shared room_id": (_with("d['rooms']['other'] = d['rooms']['consult-42']"),
                       ["rooms.other.room_id: is also the room_id of consult-42"]),
    "duplicate key": (GOOD.replace('"account": "kaleyra",',
                                   '"account": "kaleyra", "account": "kaleyra",'),
                      ['"account" appears twice']),
    "empty room name": (_with("d['rooms'][''] = d['rooms'].pop('consult-42')"),
                        ["rooms: a room name is empty"]),
    "empty room_id": (_with("d['rooms']['consult-42']['room_id'] = ''"),
                      ["rooms.consult-42.room_id: must be a non-empty string"]),
    "uncertain not a list": (_with("d['uncertain_creates'] = {}"),
                             ["uncertain_creates: must be an array, not an object"]),
    "uncertain with no time": (_with("d['uncertain_creates'] = [{'name': 'a'}]"),
                               ["uncertain_creates[0]: missing requested_at"]),
    "uncertain bad time": (_with("d['uncertain_creates'] = [{'name': 'a', 'requested_at':"
                                 " 'noon'}]"),
                           ["uncertain_creates[0].requested_at: must be an ISO 8601"]),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_file_is_a_clear_error_and_left_untouched(path: Path, case: str) -> None:
    content, fragments = DAMAGED[case]
    raw = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    with pytest.raises(StateError) as caught:
        KaleyraState.load(path, "kaleyra")
    message = str(caught.value)
    assert isinstance(caught.value, ReconcileError)
    assert message.startswith(f"Kaleyra state file {path} ")
    for fragment in fragments:
        assert fragment in message
    assert "SECRET" not in message  # never echo content
    if case not in ("newer version", "other account", "merge conflict"):
        assert "Restore it from git or from the pipeline artifact" in message
        assert "Do not delete" in message
    assert path.read_bytes() == raw
    assert os.listdir(path.parent) == [path.name]


def test_unreadable_file(path: Path) -> None:
    path.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(StateError, match="is a directory, not a state file"):
        KaleyraState.load(path, "kaleyra")


def test_a_state_path_below_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    path = tmp_path / "plain-file" / "kaleyra-kaleyra.json"
    with pytest.raises(StateError, match="cannot create the folder of Kaleyra state file"), \
            locked(path, 0):
        pass
    with pytest.raises(StateError, match=r"cannot be read \(Not a directory\)"):
        KaleyraState.load(path, "kaleyra")


def test_a_lock_file_that_cannot_be_opened_is_a_clear_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    (path.parent / (path.name + ".lock")).mkdir()  # a folder where the lock file goes
    with pytest.raises(StateError, match=r"cannot create the lock file .*\.lock of Kaleyra"
                                         r" state file .*: Is a directory"), locked(path, 0):
        pass


def _locking_ends(path: Path) -> BaseException | None:
    """What `locked(path, None)` (wait forever) raises, from a thread given 10 s: an
    uncreatable lock file used to be taken for one another apply holds."""
    outcome: list[BaseException | None] = []

    def lock() -> None:
        try:
            with locked(path, None):
                outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=lock, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, f"locking {path} still waits after 10 s"
    return outcome[0]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_uncreatable_lock_file_is_an_immediate_error_not_a_wait() -> None:
    """Under /proc no file can be created, for root too (ENOENT)."""
    error = _locking_ends(Path("/proc/self/kaleyra.json"))
    assert isinstance(error, StateError) and not isinstance(error, StateLockedError)
    assert re.fullmatch(r"cannot create the lock file /proc/\d+/kaleyra\.json\.lock of"
                        r" Kaleyra state file /proc/self/kaleyra\.json: No such file or"
                        r" directory", str(error)), error


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder no file can be created in, by root too: immutable (chattr +i) when run as
    root, else mode 0555."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("root, and chattr +i is not available here")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_a_state_file_in_a_read_only_folder_is_an_immediate_error(read_only: Path) -> None:
    error = _locking_ends(read_only / "kaleyra.json")
    assert isinstance(error, StateError) and not isinstance(error, StateLockedError)
    assert str(error).startswith(f"cannot create the lock file {read_only}/kaleyra.json.lock"
                                 f" of Kaleyra state file {read_only}/kaleyra.json: ")
    assert str(error).endswith(("Permission denied", "Operation not permitted"))


def test_put_needs_a_name_and_a_room_id(path: Path) -> None:
    state = KaleyraState.load(path, "kaleyra")
    for name, room_id in (("", "room_a"), ("a", "")):
        with pytest.raises(ValueError, match="needs a name and a room_id"):
            state.put(name, room_id=room_id, settings={}, participants=[])
    assert len(state) == 0


def test_a_null_description_is_kept_out_of_the_stored_settings() -> None:
    assert stored_settings({"recording": "none", "description": None}) == {"recording": "none"}


# ---------------------------------------------------------------- atomic saves

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


def test_stale_temp_files_are_removed_under_the_lock(path: Path) -> None:
    saved_state(path)
    stale = path.parent / f".{path.name}.abc123.tmp"
    stale.write_text('{"half": ', encoding="utf-8")
    other = path.parent / "unrelated.tmp"
    other.write_text("keep", encoding="utf-8")
    with locked(path, 0):
        pass
    assert not stale.exists() and other.exists()


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


def test_lock_is_reentrant_in_one_process(path: Path) -> None:
    with locked(path, 0), locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        state.save()
    with locked(path, 0):  # released once the outer block ends
        pass


def test_another_thread_waits_like_another_process(path: Path) -> None:
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with locked(path, 0.1):
                pass
        except BaseException as exc:
            failures.append(exc)

    with locked(path, 0):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
    assert len(failures) == 1 and isinstance(failures[0], StateLockedError)
    thread = threading.Thread(target=second)
    thread.start()
    thread.join(10)
    assert len(failures) == 1


def test_negative_timeout_is_refused(path: Path) -> None:
    with pytest.raises(ValueError), locked(path, -1):
        pass


# ---------------------------------------------------------------- state_path

def test_state_path(tmp_path: Path) -> None:
    rooms = tmp_path / "infra" / "rooms.yaml"
    assert state_path(rooms, "kaleyra") == tmp_path / "infra/.reconcile/kaleyra-kaleyra.json"
    assert state_path(rooms, "k-eu", "state/k.json") == tmp_path / "infra/state/k.json"
    assert state_path(rooms, "k-eu", "/var/lib/k.json") == Path("/var/lib/k.json")
    assert state_path("rooms.yaml", "eu") == Path(".reconcile/kaleyra-eu.json")


# ---------------------------------------------------------------- other processes

def _child(script: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


HOLDER = """
    import sys
    from reconcile.providers.kaleyra.state import locked
    with locked({path!r}, None):
        print("locked", flush=True)
        sys.stdin.readline()  # hold until the test says so
    print("released", flush=True)
"""


@pytest.fixture
def holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock until a line is written to its stdin."""
    child = _child(HOLDER.format(path=str(path)))
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline() == "locked\n"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(10)


def _release(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def test_second_apply_fails_after_the_timeout(path: Path,
                                              holder: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    with pytest.raises(StateLockedError) as caught, locked(path, 0.2):
        pytest.fail("got a lock another process holds")
    waited = time.monotonic() - started
    assert 0.2 <= waited < 5
    message = str(caught.value)
    assert isinstance(caught.value, ReconcileError)
    assert f"another apply holds the lock on Kaleyra state file {path}" in message
    assert "waited 0.2 s" in message and "--lock-timeout" in message

    started = time.monotonic()
    with pytest.raises(StateLockedError, match=r"did not wait \(--lock-timeout 0\)"), \
            locked(path, 0):
        pass
    assert time.monotonic() - started < 0.2

    _release(holder)
    assert holder.stdout is not None and holder.stdout.readline() == "released\n"
    with locked(path, 0):
        pass


def test_second_apply_waits_for_the_first(path: Path, holder: subprocess.Popen[str]) -> None:
    timer = threading.Timer(0.5, _release, (holder,))
    timer.start()
    started = time.monotonic()
    try:
        with locked(path, 20):
            waited = time.monotonic() - started
            assert holder.wait(10) == 0  # the holder is gone: it did release first
    finally:
        timer.cancel()
    assert 0.4 <= waited < 20


def test_killed_holder_leaves_no_stale_lock(path: Path,
                                            holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    with locked(path, 5):
        pass


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


# ---------------------------------------------------------------- files main wrote

WRITTEN_BY_MAIN = Path(__file__).parent / "written_by_main"


@pytest.mark.parametrize("name", ["state-main.json", "state-main-with-intents.json"])
def test_a_file_written_before_the_pydantic_model_loads_and_saves_unchanged(
        tmp_path: Path, name: str) -> None:
    """Both files were written by main's KaleyraState.save() before the state file got its
    pydantic model (one has no `uncertain_creates`, as files from before intents)."""
    written = (WRITTEN_BY_MAIN / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(written)
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra-eu")
        assert state.names() == ["consult-42", "team-sync"]
        entry = state.get("consult-42")
        assert entry is not None and entry.room_id == "room_0123456789ab"
        assert [p.user_id for p in entry.participants] == ["dr-lee", "patient-42"]
        assert entry.settings["duration"] == 3600 and DESCRIPTION_DIGEST_KEY in entry.settings
        assert [r.name for r in state.uncertain()] == (["consult-43"] if "intents" in name
                                                       else [])
        assert state.to_json().encode("utf-8") == written  # the on-disk format is the same
        state.save()
    assert path.read_bytes() == written
