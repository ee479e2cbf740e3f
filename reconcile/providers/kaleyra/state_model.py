"""The Kaleyra state file's format: what one entry records, and the document read back.

The models are pydantic dataclasses in strict mode that refuse unknown keys: a key this
version does not know would be silently dropped by the next save. Reading a file checks
its shape with them (reconcile.shapes) and then what a shape cannot say: no room name is
empty, and no two names share a room_id (deleting one would delete the other's room).
Files written before `uncertain_creates` existed load as they are.

Messages name paths into the document and JSON types, never values: a file holds join URLs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass

from reconcile.errors import ReconcileError
from reconcile.shapes import STRICT, ShapeError, Text, Time, check, check_json

FORMAT_VERSION = 1
TOOL = "reconcile"
DESCRIPTION_DIGEST_KEY = "description_sha256"
UNCERTAIN = "uncertain_creates"  # optional (files written before it load as they are)

JsonValue = Any  # what json.loads may return; the models check the shape

RECOVERY = ("Restore it from git or from the pipeline artifact that keeps it, then rerun. "
            "Do not delete or empty it: without it the next apply cannot find the existing "
            "rooms and creates duplicates.")


class StateError(ReconcileError):
    """The state file cannot be read, trusted or written."""


@dataclass(frozen=True, slots=True, config=STRICT)
class ParticipantUrl:
    """One participant's join link. The URL is a bearer secret: kept out of repr."""

    user_id: Text
    url: Text = field(repr=False)


@dataclass(frozen=True, slots=True, config=STRICT)
class StateEntry:
    """What we know of one live room: Kaleyra rooms are immutable, so this is also the
    room's settings for drift detection (compare with `stored_settings(declared)`)."""

    room_id: Text
    settings: dict[str, JsonValue]
    participants: tuple[ParticipantUrl, ...]
    created_at: Time  # ISO 8601, UTC

    def as_json(self) -> dict[str, JsonValue]:
        return {"room_id": self.room_id, "settings": dict(self.settings),
                "participants": [{"user_id": p.user_id, "url": p.url}
                                 for p in self.participants],
                "created_at": self.created_at}


@dataclass(frozen=True, slots=True, config=STRICT)
class CreateIntent:
    """A room POST about to be sent, or sent with no answer: until the answer comes, Kaleyra
    may hold a room made for `name` that no entry records (rooms have no name and cannot
    be listed). Written before the POST, removed once its outcome is known; one left in
    the file (the reply was lost, or the process killed) stays until a person has checked
    the Kaleyra console and removes it."""

    name: Text
    requested_at: Time  # ISO 8601, UTC

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "requested_at": self.requested_at}


class StateDocument(BaseModel):
    """The whole file (format_version 1)."""

    model_config = STRICT

    format_version: int
    tool: Literal["reconcile"]
    account: Text
    rooms: dict[str, StateEntry]
    uncertain_creates: list[CreateIntent] = Field(default_factory=list)


class _Versioned(BaseModel):
    """What is read first, so that a newer file is told apart from a broken one."""

    model_config = ConfigDict(strict=True, extra="allow")

    format_version: int


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


_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


def parse(raw: bytes, account: str, name: str) -> StateDocument:
    """The document in `raw`, the state file of `account` named `name` in messages;
    StateError saying what is wrong and what to do."""
    def error(problem: str, recovery: str = RECOVERY) -> StateError:
        return StateError(f"Kaleyra state file {name} {problem}. {recovery}")

    if not raw.strip():
        raise error("is empty (a save never leaves it so: it was truncated or overwritten)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("is not UTF-8 text") from None
    if _CONFLICT_MARKER.search(text):
        raise error("contains git merge conflict markers",
                    "Resolve the conflict so that every room of both sides is kept once (a "
                    "lost entry orphans its room), or restore the file from git, then rerun.")
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        version = check(_Versioned, document).format_version
        if version != FORMAT_VERSION:
            raise error(f"has format_version {version}, and this reconcile reads only "
                        f"{FORMAT_VERSION}", "Upgrade reconcile to the version that wrote it."
                        if version > FORMAT_VERSION else RECOVERY)
        state = check_json(StateDocument, text)
        _check_rooms(state)
    except json.JSONDecodeError as exc:
        # The decoder's message holds a position, never the file's content.
        raise error(f"is not valid JSON, or is truncated ({exc.msg} at line {exc.lineno} "
                    f"column {exc.colno})") from None
    except ShapeError as exc:
        raise error(f"has the wrong shape: {exc}") from None
    if state.account != account:
        raise error(f"belongs to account {json.dumps(state.account)}, not "
                    f"{json.dumps(account)}",
                    "Give each Kaleyra account its own `state:` path. If you renamed the "
                    f"account, set \"account\" in the file to {json.dumps(account)}, then "
                    "rerun.")
    return state


def _check_rooms(state: StateDocument) -> None:
    owner: dict[str, str] = {}
    for name, entry in state.rooms.items():
        if not name:
            raise ShapeError("rooms", "a room name is empty")
        if entry.room_id in owner:
            # Deleting one of them would delete the other's room.
            raise ShapeError(f"rooms.{name}.room_id",
                             f"is also the room_id of {owner[entry.room_id]}")
        owner[entry.room_id] = name


def _no_duplicate_keys(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    # json.loads keeps the last of duplicate keys; after a bad merge that silently drops a
    # room, so refuse instead.
    result: dict[str, JsonValue] = {}
    for key, value in pairs:
        if key in result:
            raise ShapeError("", f"key {json.dumps(key)} appears twice in one object")
        result[key] = value
    return result
