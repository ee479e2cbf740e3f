"""The apply lock on a Kaleyra state file: an exclusive lock on `<state>.lock`, held from
before the state is loaded until after its last save, so that two applies never write one
state. The kernel drops the lock of a killed process: a crash never leaves a stale lock.
Keep `*.lock` files out of git.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.errors import ReconcileError
from reconcile.files import remove_temp_files
from reconcile.providers.kaleyra.state_model import StateError

if TYPE_CHECKING:
    from filelock import BaseFileLock

log = logging.getLogger(__name__)

NEW_FILE_MODE = 0o600  # the state's join URLs are bearer links; its lock file is as private


class StateLockedError(ReconcileError):
    """Another process holds the apply lock on a state file."""


# Lock paths this process holds -> [owning thread, nesting count]. flock locks belong to an
# open file, so a nested FileLock on the same path in the owning thread would wait for
# itself; other threads do wait, like other processes.
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


def _key(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def is_locked_here(path: str | os.PathLike[str]) -> bool:
    """Whether this process holds the apply lock on the state file at `path`."""
    with _held_guard:
        return _key(Path(path)) in _held


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], timeout: float | None) -> Iterator[None]:
    """Hold the exclusive apply lock on the state file at `path` (on `<path>.lock`).

    `timeout` is seconds to wait: 0 fails at once, None waits forever. Raises
    StateLockedError when another process keeps it. The kernel drops the lock of a killed
    process, so a crashed apply never leaves a stale lock. Re-entrant in one thread.
    """
    if timeout is not None and timeout < 0:
        raise ValueError("lock timeout must be >= 0 seconds, or None to wait forever")
    state = Path(path)
    key = _key(state)
    me = threading.get_ident()
    with _held_guard:
        holder = _held.get(key)
        nested = holder is not None and holder[0] == me
        if holder is not None and nested:
            holder[1] += 1
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key][1] -= 1
        return

    lock = _acquire(state, key, timeout)
    try:
        with _held_guard:
            _held[key] = [me, 1]
        # Only lock holders write, so temp files found now are a killed apply's; they may
        # hold join URLs, so do not leave them lying around.
        remove_temp_files(key)
        yield
    finally:
        with _held_guard:
            _held.pop(key, None)
        lock.release()


def _acquire(state: Path, key: Path, timeout: float | None) -> BaseFileLock:
    """The lock on `key`'s lock file, taken; it logs a wait, and says why it failed."""
    import filelock  # only apply locks: a plan never pays for the import

    try:
        state.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create the folder of Kaleyra state file {state}: "
                         f"{exc.strerror or exc}") from None
    _create_lock_file(state, _lock_path(key))
    # thread_local=False: the lock is the process's for the whole apply, whichever thread
    # (or event-loop executor) releases it.
    lock = filelock.FileLock(str(_lock_path(key)), thread_local=False)
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if timeout == 0:
                raise
            # Say why apply seems to hang: another one is running on this state.
            log.warning("another apply holds the lock on Kaleyra state file %s; waiting %s"
                        " (--lock-timeout sets a limit)", state,
                        "for it to finish" if timeout is None else f"up to {timeout:g} s")
            lock.acquire(timeout=-1 if timeout is None else timeout)
    except filelock.Timeout:
        waited = "did not wait (--lock-timeout 0)" if timeout == 0 else \
            f"waited {timeout:g} s"
        raise StateLockedError(
            f"another apply holds the lock on Kaleyra state file {state}; {waited}. Rerun "
            "when it finishes, or raise --lock-timeout.") from None
    except OSError as exc:
        raise StateError(f"cannot lock Kaleyra state file {state} (lock file "
                         f"{_lock_path(key)}): {exc.strerror or exc}") from None
    return lock


def _create_lock_file(state: Path, lock_path: Path) -> None:
    """Make sure the lock file exists and can be opened for writing, or say at once why
    not: some filelock versions take a lock file that cannot be created (a read-only
    folder, a path under /proc) for one another process holds, and would wait forever."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock_path, flags, NEW_FILE_MODE)
    except OSError as exc:
        raise StateError(f"cannot create the lock file {lock_path} of Kaleyra state file "
                         f"{state}: {exc.strerror or exc}") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if not regular:
        raise StateError(f"the lock file {lock_path} of Kaleyra state file {state} is not a"
                         " regular file")
