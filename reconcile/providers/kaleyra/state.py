"""The Kaleyra state file: declared room name -> room_id, settings and join URLs.

Kaleyra rooms have no name and there is no list call, so this file is the only link
between a declared room and the live one. Losing an entry orphans a room (nobody can find
it again) and makes the next apply create a duplicate, so:

- every save is atomic (reconcile.files.write_atomically: temp file in the same folder,
  fsync, rename, fsync the folder): a reader, or a process killed at any instant, sees the
  old file or the new one, whole;
- writers hold an exclusive lock on `<state>.lock` for the whole apply (`locked()`,
  state_lock.py);
- a missing file is reported (`KaleyraState.missing`, `warning()`), and a damaged one is an
  error that says how to restore it, never a silent empty state (state_model.py checks it).

The file holds join URLs, which let anyone join a call: it is created 0600, and nothing
here logs or prints them (reprs mask them, error messages name paths and types, never
values). Room descriptions are PII/PHI, so only their digest is stored (`stored_settings`).
Keep `*.lock` and stray `.*.tmp` files out of git.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconcile.files import FileNotWritten, FileRefused, read_regular, write_atomically
from reconcile.providers.kaleyra.state_lock import (
    NEW_FILE_MODE,
    StateLockedError,
    is_locked_here,
    locked,
)
from reconcile.providers.kaleyra.state_model import (
    DESCRIPTION_DIGEST_KEY,
    FORMAT_VERSION,
    RECOVERY,
    TOOL,
    UNCERTAIN,
    CreateIntent,
    JsonValue,
    ParticipantUrl,
    StateEntry,
    StateError,
    parse,
    stored_settings,
)

__all__ = ["DESCRIPTION_DIGEST_KEY", "FORMAT_VERSION", "MAX_STATE_BYTES", "NEW_FILE_MODE",
           "TOOL", "UNCERTAIN", "CreateIntent", "KaleyraState", "ParticipantUrl",
           "StateEntry", "StateError", "StateLockedError", "is_locked_here", "locked",
           "state_path", "stored_settings"]

# The largest state file read: about 1 KB a room, so some 60,000 rooms. A pull request can
# point `state:` anywhere (/dev/zero once drove a plan to 24 GB): nothing past this is read.
MAX_STATE_BYTES = 64 * 1024 * 1024


def state_path(rooms_file: str | os.PathLike[str], alias: str,
               setting: str | None = None) -> Path:
    """Where an account's state lives: its `state` setting, relative to the rooms file's
    folder (an absolute setting is used as is), else `.reconcile/kaleyra-<alias>.json`
    beside the rooms file."""
    folder = Path(rooms_file).parent
    return folder / (setting if setting else Path(".reconcile", f"kaleyra-{alias}.json"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
        # room_id -> name: put() refuses a room_id recorded for another name without
        # scanning every entry (apply puts once a create: a scan made it quadratic).
        self._owners: dict[str, str] = {}
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
        document = parse(read.data, account, str(state.path))
        state._rooms, state._uncertain = dict(document.rooms), list(document.uncertain_creates)
        state._saved = dict(state._rooms)
        state._owners = {entry.room_id: name for name, entry in state._rooms.items()}
        state._identity = _Identity.of(read.info)
        return state

    def _error(self, problem: str, recovery: str = RECOVERY) -> StateError:
        return StateError(f"Kaleyra state file {self.path} {problem}. {recovery}")

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
        other = self._owners.get(room_id)
        if other is not None and other != name:
            raise ValueError(f"room_id {room_id} is already recorded for {other}")
        stored = stored_settings(settings)
        json.dumps(stored)  # fail here, not in save() after the room exists
        entry = StateEntry(room_id, stored, tuple(participants), created_at or _now())
        self.remove(name)
        self._rooms[name] = entry
        self._owners[room_id] = name
        return entry

    def remove(self, name: str) -> StateEntry | None:
        """Forget the room `name` (after it was deleted). Call save() next, at once."""
        entry = self._rooms.pop(name, None)
        if entry is not None:
            self._owners.pop(entry.room_id, None)
        return entry

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
        try:
            # New files get 0600 from their first byte: the URLs are never readable by
            # others, even for a moment. A link is followed, so it survives the rename.
            info = write_atomically(self.path, self.to_json(), mode=NEW_FILE_MODE,
                                    parents=True)
        except FileNotWritten as exc:
            raise self._write_error(exc.problem) from None
        self._identity = _Identity.of(info)  # rename keeps the inode and the mtime
        self._saved = dict(self._rooms)
        self.missing = False

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

    def _write_error(self, problem: str) -> StateError:
        return StateError(
            f"cannot write Kaleyra state file {self.path} ({problem}); it keeps "
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
