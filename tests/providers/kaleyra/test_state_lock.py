"""The apply lock on a Kaleyra state file (state_lock.py): clear errors when it cannot be
taken, re-entrant in one thread, waited for by other threads and by other real processes,
and never left stale by a killed one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.errors import ReconcileError
from reconcile.providers.kaleyra.state import (
    KaleyraState,
    StateError,
    StateLockedError,
    locked,
)

from .conftest import (
    run_child,
    saved_state,
)


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


def test_stale_temp_files_are_removed_under_the_lock(path: Path) -> None:
    saved_state(path)
    stale = path.parent / f".{path.name}.abc123.tmp"
    stale.write_text('{"half": ', encoding="utf-8")
    other = path.parent / "unrelated.tmp"
    other.write_text("keep", encoding="utf-8")
    with locked(path, 0):
        pass
    assert not stale.exists() and other.exists()


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
    child = run_child(HOLDER.format(path=str(path)))
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
