"""The Kaleyra state file: declared room name -> room_id, settings and join URLs.

Kaleyra rooms have no name and there is no list call, so this file is the only link
between a declared room and the live one. Losing an entry orphans a room (nobody can find
it again) and makes the next apply create a duplicate, so:

- every save is atomic (temp file in the same folder, fsync, rename, fsync the folder):
  a reader, or a process killed at any instant, sees the old file or the new one, whole;
- writers hold an exclusive lock on `<state>.lock` for the whole apply (`locked()`);
- a missing file is reported (`KaleyraState.missing`, `warning()`), and a damaged one is an
  error that says how to restore it, never a silent empty state.

The file holds join URLs, which let anyone join a call: it is created 0600, and nothing
here logs or prints them (reprs mask them, error messages name paths and types, never
values). Room descriptions are PII/PHI, so only their digest is stored (`stored_settings`).
Keep `*.lock` and stray `.*.tmp` files out of git.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconcile.errors import ReconcileError
from reconcile.files import FileRefused, read_regular

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOOL = "reconcile"
NEW_FILE_MODE = 0o600  # join URLs are bearer links
# The largest state file read: about 1 KB a room, so some 60,000 rooms. A pull request can
# point `state:` anywhere (/dev/zero once drove a plan to 24 GB): nothing past this is read.
MAX_STATE_BYTES = 64 * 1024 * 1024
DESCRIPTION_DIGEST_KEY = "description_sha256"
UNCERTAIN = "uncertain_creates"  # optional (files written before it load as they are)

JsonValue = Any  # what json.loads may return; the shape is checked by hand below

_RECOVERY = ("Restore it from git or from the pipeline artifact that keeps it, then rerun. "
             "Do not delete or empty it: without it the next apply cannot find the existing "
             "rooms and creates duplicates.")


class StateError(ReconcileError):
    """The state file cannot be read, trusted or written."""


class StateLockedError(ReconcileError):
    """Another process holds the apply lock on a state file."""


@dataclass(frozen=True, slots=True)
class ParticipantUrl:
    """One participant's join link. The URL is a bearer secret: kept out of repr."""

    user_id: str
    url: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class StateEntry:
    """What we know of one live room: Kaleyra rooms are immutable, so this is also the
    room's settings for drift detection (compare with `stored_settings(declared)`)."""

    room_id: str
    settings: Mapping[str, JsonValue]
    participants: tuple[ParticipantUrl, ...]
    created_at: str  # ISO 8601, UTC

    def as_json(self) -> dict[str, JsonValue]:
        return {"room_id": self.room_id, "settings": dict(self.settings),
                "participants": [{"user_id": p.user_id, "url": p.url}
                                 for p in self.participants],
                "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class CreateIntent:
    """A room POST about to be sent, or sent with no answer: until the answer comes, Kaleyra
    may hold a room made for `name` that no entry records (rooms have no name and cannot
    be listed). Written before the POST, removed once its outcome is known; one left in
    the file (the reply was lost, or the process killed) stays until a person has checked
    the Kaleyra console and removes it."""

    name: str
    requested_at: str  # ISO 8601, UTC

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "requested_at": self.requested_at}


def stored_settings(declared: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """The form in which a room's declared settings are kept in the state file.

    `description` is PII/PHI and the file may be committed to git, so it is replaced by
    its SHA-256; compare `entry.settings` with `stored_settings(desired)` to detect drift.
    Idempotent: a dict already in stored form comes back unchanged.
    """
    settings = dict(declared)
    if "description" in settings:
        description = settings.pop("description")
        if description is not None:
            digest = hashlib.sha256(str(description).encode("utf-8")).hexdigest()
            settings[DESCRIPTION_DIGEST_KEY] = digest
    return settings


def state_path(rooms_file: str | os.PathLike[str], alias: str,
               setting: str | None = None) -> Path:
    """Where an account's state lives: its `state` setting, relative to the rooms file's
    folder (an absolute setting is used as is), else `.reconcile/kaleyra-<alias>.json`
    beside the rooms file."""
    folder = Path(rooms_file).parent
    return folder / (setting if setting else Path(".reconcile", f"kaleyra-{alias}.json"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- the lock

# Lock paths this process holds -> [owning thread, nesting count]. flock locks belong to an
# open file, so a nested FileLock on the same path in the owning thread would wait for
# itself; other threads do wait, like other processes.
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


def _key(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


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
    import filelock  # only apply locks: a plan never pays for the import

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
    try:
        with _held_guard:
            _held[key] = [me, 1]
        _remove_stale_temp_files(key)
        yield
    finally:
        with _held_guard:
            _held.pop(key, None)
        lock.release()


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


def _remove_stale_temp_files(path: Path) -> None:
    # Only lock holders write temp files, so any found now are from a killed apply; they
    # may hold join URLs, so do not leave them lying around.
    prefix = _temp_prefix(path)
    with contextlib.suppress(OSError):
        for leftover in path.parent.iterdir():
            if leftover.name.startswith(prefix) and leftover.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    leftover.unlink()


# ---------------------------------------------------------------- the document

def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable. Windows cannot open a folder; its rename is durable
    # enough once the file is flushed.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Shape(Exception):
    """A shape problem inside the document: `where` is a path such as rooms.x.room_id."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)


_TYPE_NAMES: dict[type, str] = {
    dict: "an object", list: "an array", str: "a string", bool: "a boolean",
    int: "a whole number", float: "a fractional number", type(None): "null"}


def _type_name(value: JsonValue) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _expect(value: JsonValue, kind: type | tuple[type, ...], where: str, wanted: str) -> None:
    # bool is an int in Python, never a valid value where we want a number or a string.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Shape(where, f"must be {wanted}, not {_type_name(value)}")


def _keys(obj: Mapping[str, JsonValue], where: str, required: set[str],
          optional: frozenset[str] = frozenset()) -> None:
    # Unknown keys are refused, not dropped: the next save would silently lose them.
    missing = sorted(required - obj.keys())
    if missing:
        raise _Shape(where, f"missing {', '.join(missing)}")
    unknown = sorted(obj.keys() - required - optional)
    if unknown:
        raise _Shape(where, f"unknown key {', '.join(unknown)}")


def _text(value: JsonValue, where: str) -> str:
    _expect(value, str, where, "a non-empty string")
    if not value:
        raise _Shape(where, "must be a non-empty string")
    return str(value)


def _entry(value: JsonValue, where: str) -> StateEntry:
    _expect(value, dict, where, "an object")
    _keys(value, where, {"room_id", "settings", "participants", "created_at"})
    room_id = _text(value["room_id"], f"{where}.room_id")
    _expect(value["settings"], dict, f"{where}.settings", "an object")
    _expect(value["participants"], list, f"{where}.participants", "an array")
    participants = []
    for index, item in enumerate(value["participants"]):
        at = f"{where}.participants[{index}]"
        _expect(item, dict, at, "an object")
        _keys(item, at, {"user_id", "url"})
        participants.append(ParticipantUrl(_text(item["user_id"], f"{at}.user_id"),
                                           _text(item["url"], f"{at}.url")))
    created_at = _time(_text(value["created_at"], f"{where}.created_at"), f"{where}.created_at")
    return StateEntry(room_id, value["settings"], tuple(participants), created_at)


def _time(value: str, where: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _Shape(where, "must be an ISO 8601 date-time") from None
    return value


def _uncertain(value: JsonValue) -> list[CreateIntent]:
    _expect(value, list, UNCERTAIN, "an array")
    records = []
    for index, item in enumerate(value):
        at = f"{UNCERTAIN}[{index}]"
        _expect(item, dict, at, "an object")
        _keys(item, at, {"name", "requested_at"})
        records.append(CreateIntent(_text(item["name"], f"{at}.name"), _time(
            _text(item["requested_at"], f"{at}.requested_at"), f"{at}.requested_at")))
    return records


def _no_duplicate_keys(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    # json.loads keeps the last of duplicate keys; after a bad merge that silently drops a
    # room, so refuse instead.
    result: dict[str, JsonValue] = {}
    for key, value in pairs:
        if key in result:
            raise _Shape("", f"key {json.dumps(key)} appears twice in one object")
        result[key] = value
    return result


_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class _Identity:
    """Which version of the file we loaded: a rename gives a new inode, a write a new
    mtime. Lets save() notice a file changed behind our back."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, info: os.stat_result) -> _Identity:
        return cls(info.st_ino, info.st_mtime_ns, info.st_size)


class KaleyraState:
    """The name -> room map of one Kaleyra account, as kept in its state file.

    Apply holds `locked(path, timeout)` from before `load()` until after its last `save()`.
    Plan may `load()` without the lock: saves are atomic renames, so it never sees a
    half-written file.

    Write-through: the engine calls `put()` + `save()` right after each successful create,
    before deleting anything (a replace creates the new room first), and `remove()` +
    `save()` right after each delete. A room whose create reply never arrived exists on
    Kaleyra but cannot be found again (no list call, no name): so before each create the
    engine calls `intend()` + `save()`, and `settle()` once the outcome is known. An intent
    left in the file (a reply lost, a crash) is an uncertain create, for a human to check
    in the Kaleyra console; every plan names it.
    """

    def __init__(self, path: str | os.PathLike[str], account: str, *,
                 missing: bool = True) -> None:
        self.path = Path(path)
        self.account = account
        self.missing = missing  # no file at load time: every declared room plans a create
        self._rooms: dict[str, StateEntry] = {}
        self._saved: dict[str, StateEntry] = {}
        self._texts: dict[str, tuple[StateEntry, str]] = {}  # each entry's JSON, made once
        self._uncertain: list[CreateIntent] = []
        self._identity: _Identity | None = None

    def __repr__(self) -> str:
        return f"KaleyraState({str(self.path)!r}, account={self.account!r}, " \
               f"rooms={sorted(self._rooms)!r})"

    # -- reading

    @classmethod
    def load(cls, path: str | os.PathLike[str], account: str) -> KaleyraState:
        """The state at `path`; a missing file gives an empty state with `missing` set.
        Raises StateError when the file exists but cannot be used; never modifies it."""
        state = cls(path, account, missing=False)
        try:
            read = read_regular(state.path, MAX_STATE_BYTES, "state file")
        except FileRefused as refused:
            if refused.missing:
                state.missing = True
                return state
            raise state._error(refused.problem) from None
        state._rooms, state._uncertain = state._parse(read.data)
        state._saved = dict(state._rooms)
        state._identity = _Identity.of(read.info)
        return state

    def _error(self, problem: str, recovery: str = _RECOVERY) -> StateError:
        return StateError(f"Kaleyra state file {self.path} {problem}. {recovery}")

    def _parse(self, raw: bytes) -> tuple[dict[str, StateEntry], list[CreateIntent]]:
        if not raw.strip():
            raise self._error("is empty (a save never leaves it so: it was truncated or "
                              "overwritten)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._error("is not UTF-8 text") from None
        if _CONFLICT_MARKER.search(text):
            raise self._error("contains git merge conflict markers",
                              "Resolve the conflict so that every room of both sides is kept "
                              "once (a lost entry orphans its room), or restore the file from "
                              "git, then rerun.")
        try:
            document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            # The decoder's message holds a position, never the file's content.
            raise self._error(f"is not valid JSON, or is truncated ({exc.msg} at line "
                              f"{exc.lineno} column {exc.colno})") from None
        except _Shape as exc:
            raise self._error(f"has the wrong shape: {exc}") from None
        try:
            return self._document(document)
        except _Shape as exc:
            raise self._error(f"has the wrong shape: {exc}") from None

    def _document(self, document: JsonValue
                  ) -> tuple[dict[str, StateEntry], list[CreateIntent]]:
        _expect(document, dict, "the document", "an object")
        version = document.get("format_version")
        if "format_version" not in document:
            raise _Shape("", "format_version is missing")
        _expect(version, int, "format_version", "a whole number")
        if version != FORMAT_VERSION:
            newer = version > FORMAT_VERSION
            raise self._error(
                f"has format_version {version}, and this reconcile reads only "
                f"{FORMAT_VERSION}",
                "Upgrade reconcile to the version that wrote it." if newer else _RECOVERY)
        _keys(document, "", {"format_version", "tool", "account", "rooms"},
              frozenset({UNCERTAIN}))
        if document["tool"] != TOOL:
            raise _Shape("tool", f"must be {json.dumps(TOOL)}: this is not a reconcile file")
        account = _text(document["account"], "account")
        if account != self.account:
            raise self._error(
                f"belongs to account {json.dumps(account)}, not {json.dumps(self.account)}",
                "Give each Kaleyra account its own `state:` path. If you renamed the account, "
                f"set \"account\" in the file to {json.dumps(self.account)}, then rerun.")
        _expect(document["rooms"], dict, "rooms", "an object")
        rooms: dict[str, StateEntry] = {}
        owner: dict[str, str] = {}
        for name, value in document["rooms"].items():
            if not name:
                raise _Shape("rooms", "a room name is empty")
            entry = _entry(value, f"rooms.{name}")
            if entry.room_id in owner:
                # Deleting one of them would delete the other's room.
                raise _Shape(f"rooms.{name}.room_id",
                             f"is also the room_id of {owner[entry.room_id]}")
            owner[entry.room_id] = name
            rooms[name] = entry
        return rooms, _uncertain(document.get(UNCERTAIN, []))

    # -- entries

    def __contains__(self, name: object) -> bool:
        return name in self._rooms

    def __len__(self) -> int:
        return len(self._rooms)

    def names(self) -> list[str]:
        return sorted(self._rooms)

    def get(self, name: str) -> StateEntry | None:
        return self._rooms.get(name)

    def items(self) -> list[tuple[str, StateEntry]]:
        return sorted(self._rooms.items())

    def put(self, name: str, *, room_id: str, settings: Mapping[str, JsonValue],
            participants: Iterable[ParticipantUrl], created_at: str | None = None
            ) -> StateEntry:
        """Record the room `name` (replacing its entry). Call save() next, at once."""
        if not name or not room_id:
            raise ValueError("a state entry needs a name and a room_id")
        for other, entry in self._rooms.items():
            if other != name and entry.room_id == room_id:
                raise ValueError(f"room_id {room_id} is already recorded for {other}")
        stored = stored_settings(settings)
        json.dumps(stored)  # fail here, not in save() after the room exists
        entry = StateEntry(room_id, stored, tuple(participants), created_at or _now())
        self._rooms[name] = entry
        return entry

    def remove(self, name: str) -> StateEntry | None:
        """Forget the room `name` (after it was deleted). Call save() next, at once."""
        return self._rooms.pop(name, None)

    # -- creates whose outcome is not known (see CreateIntent)

    def intend(self, name: str) -> CreateIntent:
        """Record that a create of `name` is about to be sent. Call save() next, at once,
        and send it only then; settle() it once its outcome is known."""
        record = CreateIntent(name, _now())
        self._uncertain.append(record)
        return record

    def settle(self, record: CreateIntent) -> None:
        """The create's outcome is known (recorded, or refused): forget the intent."""
        with contextlib.suppress(ValueError):
            self._uncertain.remove(record)

    def uncertain(self) -> list[CreateIntent]:
        """The creates whose outcome is not known, oldest first."""
        return sorted(self._uncertain, key=lambda r: (r.requested_at, r.name))

    def unsaved(self) -> list[str]:
        """Names whose entry differs from the file as last loaded or saved."""
        names = self._rooms.keys() | self._saved.keys()
        return sorted(n for n in names if self._rooms.get(n) != self._saved.get(n))

    def warning(self) -> str | None:
        """The warning to show when there was no file to load, else None."""
        if not self.missing:
            return None
        return (f"there is no Kaleyra state file at {self.path}, so every room of account"
                f" {self.account} is planned as a create: if this account was applied before"
                " (perhaps under another alias or state path), restore that file first, or"
                " apply will make duplicate rooms.")

    # -- writing

    def to_json(self) -> str:
        """The file's text: sorted keys and indentation keep git diffs readable. It is
        exactly json.dumps(document, indent=2, sort_keys=True), assembled from each entry's
        text, encoded once: apply saves after every create, and encoding the whole file
        each time made applying 2,000 rooms quadratic."""
        rooms = ",\n".join(f"    {json.dumps(name, ensure_ascii=False)}: {self._text(name, entry)}"
                           for name, entry in sorted(self._rooms.items()))
        uncertain = [r.as_json() for r in self.uncertain()]
        tail = f',\n  "{UNCERTAIN}": ' + json.dumps(uncertain, indent=2, sort_keys=True,
                                                     ensure_ascii=False).replace(
            "\n", "\n  ") if uncertain else ""  # written only when there is one
        return (f'{{\n  "account": {json.dumps(self.account, ensure_ascii=False)},\n'
                f'  "format_version": {json.dumps(FORMAT_VERSION)},\n'
                f'  "rooms": {"{" + chr(10) + rooms + chr(10) + "  }" if rooms else "{}"},\n'
                f'  "tool": {json.dumps(TOOL)}{tail}\n}}\n')

    def _text(self, name: str, entry: StateEntry) -> str:
        cached = self._texts.get(name)
        if cached is None or cached[0] is not entry:
            text = json.dumps(entry.as_json(), indent=2, sort_keys=True, ensure_ascii=False)
            cached = self._texts[name] = (entry, text.replace("\n", "\n    "))
        return cached[1]

    def save(self) -> None:
        """Write the whole state atomically. Needs `locked(self.path, …)` held.

        Raises StateError if the write fails (the file keeps its previous content, and the
        message names the rooms it does not record) or if the file changed on disk since it
        was loaded (another writer broke the lock protocol: re-read rather than overwrite).
        """
        if not is_locked_here(self.path):
            raise RuntimeError(f"save() of {self.path} without holding locked() on it")
        self._check_unchanged()
        text = self.to_json().encode("utf-8")
        # Write where a symlinked state file points, so the link survives the rename.
        target = _key(self.path)
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            mode = self._mode()
            # mkstemp: a unique name in the same folder (so the rename is atomic), created
            # 0600, so the URLs are never readable by others even for a moment.
            fd, temp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp",
                                        dir=folder)
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(text)
                    handle.flush()
                    if mode != NEW_FILE_MODE and hasattr(os, "fchmod"):
                        os.fchmod(handle.fileno(), mode)
                    os.fsync(handle.fileno())
                    info = os.fstat(handle.fileno())
                os.replace(temp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            raise self._write_error(exc) from None
        _fsync_dir(folder)
        self._identity = _Identity.of(info)  # rename keeps the inode and the mtime
        self._saved = dict(self._rooms)
        self.missing = False

    def _mode(self) -> int:
        # Keep the mode of an existing file (an owner may have chosen it); new files get 0600.
        try:
            return stat.S_IMODE(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return NEW_FILE_MODE

    def _check_unchanged(self) -> None:
        try:
            now: _Identity | None = _Identity.of(os.stat(self.path))
        except FileNotFoundError:
            now = None
        except OSError:
            return  # let the write report it
        if now != self._identity:
            raise self._error(
                "changed on disk since this apply read it (was it edited, restored or "
                "written by a process that did not take the lock?)",
                f"Nothing was overwritten. Not recorded in it: {self._describe_unsaved()}. "
                "Rerun apply to read the current file.")

    def _write_error(self, exc: OSError) -> StateError:
        return StateError(
            f"cannot write Kaleyra state file {self.path} ({exc.strerror or exc}); it keeps "
            f"its previous content. Not recorded in it: {self._describe_unsaved()}. Fix the "
            "cause and rerun; a room created but not recorded must be found in the Kaleyra "
            "console by its room_id.")

    def _describe_unsaved(self) -> str:
        # Names and room_ids only: never the join URLs.
        parts = []
        for name in self.unsaved():
            entry = self._rooms.get(name)
            old = self._saved.get(name)
            if entry is None:
                parts.append(f"deletion of {name} (room_id {old.room_id if old else '?'})")
            else:
                parts.append(f"{name} (room_id {entry.room_id})")
        return "; ".join(parts) or "no pending change"
