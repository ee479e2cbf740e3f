"""Kaleyra's side of planning, export and show: its rooms seen through the state file.

The adapter (`adapter.py`) reads and writes rooms; this base class of it answers the
planner's hooks (`reconcile/engine/contract.py`) and what `export` and `show` ask:

- the fields compared are the settings the state entry recorded at creation (rooms are
  immutable, so that is what the room has), descriptions as digests;
- a replace is marked: it gives every participant a new join URL (section 10.2);
- rooms the state file alone calls to delete are planned as extra deletions: an old room
  a replace did not finish deleting (`<name>@<room_id>`), and an undeclared room found
  gone, whose entry only a deletion clears.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from reconcile import envref
from reconcile.config import AccountConfig
from reconcile.engine.plan import ABSENT, Action, Change, Leftover, LiveRoom
from reconcile.engine.provider import Provider
from reconcile.models import Room
from reconcile.providers.kaleyra.model import KaleyraRoom
from reconcile.providers.kaleyra.state import (
    DESCRIPTION_DIGEST_KEY,
    KaleyraState,
    ParticipantUrl,
    StateEntry,
    state_path,
    stored_settings,
)

KIND = "rooms"
DIGEST_PREFIX = "sha256:"  # descriptions are PII/PHI: compared and shown as digests
RETIRED = "@"  # "<name>@<room_id>": a replaced room not yet deleted (names cannot hold @)
# What Kaleyra gives a field nobody set (U2 echoes them; `duration` unset is unlimited).
DEFAULTS: dict[str, Any] = {"recording": "none", "duration": None, "call_type": "audio_video",
                            "no_ringing": False, "description": None,
                            "offline_transcription": False, "summarization": False}


class KaleyraPlanning(Provider):
    """The planning, export and show hooks of `KaleyraProvider`."""

    state: KaleyraState
    _gone: dict[str, str]  # name -> room_id that answered 404 (read by `list_rooms`)
    _declared: frozenset[str]  # the names the rooms file declares

    # -- planning hooks -----------------------------------------------------------------

    async def missing_reason(self, kind: str, key: str) -> str:
        if key in self._gone:
            return f"missing: room_id {self._gone[key]} not found"
        return "not found (no state file)" if self.state.missing else "not found"

    def annotate(self, change: Change) -> Change:
        """Section 10.2: a replace gives a new room_id and new join URLs to everyone."""
        if change.action is not Action.REPLACE:
            return change
        return dataclasses.replace(change, new_join_urls=True,
                                   reason=f"{change.reason}; the new room has new join URLs")

    async def extra_deletions(self, kinds: Collection[str] | None) -> list[Leftover]:
        """Deletions the state file alone calls for (no GET: `delete` takes an
        already-gone room in its stride): old rooms that a replace created a successor
        for, then did not delete; and undeclared rooms found gone, whose entries only a
        deletion clears."""
        if kinds is not None and KIND not in kinds:
            return []
        leftovers = []
        for name, entry in self.state.items():
            if RETIRED in name:
                reason = f"replaced: the old room of {name.partition(RETIRED)[0]}"
            elif name in self._gone and name not in self._declared:
                reason = f"missing: room_id {entry.room_id} not found; its state entry" \
                         " is forgotten"
                name = f"{name}{RETIRED}{entry.room_id}"
            else:
                continue
            leftovers.append(Leftover(self._live(name, entry), reason))
        return leftovers

    def desired_fields(self, room: Room) -> dict[str, Any]:
        return self._fields(room.key, stored_settings(post_body(kaleyra_room(room))))

    def normalize(self, field: str, value: Any) -> Any:
        if field == "participants":  # each gets its own link: the order means nothing
            return sorted((_participant(p) for p in value), key=lambda p: p["user_id"])
        return value

    def provider_default(self, kind: str, field: str) -> Any:
        return DEFAULTS.get(field, ABSENT)

    # -- export and show ----------------------------------------------------------------

    export_omits = {"description": "the state file keeps only its digest (it may hold"
                                   " PII/PHI): write it again by hand"}

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        fields = super().exportable_fields(kind, live)
        if "participants" in fields:  # is_admin: false is the default
            fields["participants"] = [
                {k: v for k, v in p.items() if (k, v) != ("is_admin", False)}
                for p in fields["participants"]]
        return fields

    @classmethod
    def relocated_settings(cls, account: AccountConfig, settings: dict[str, Any],
                           source: Path, target: Path) -> dict[str, Any]:
        """`state:` naming the same state file from the folder of `target`."""
        setting = settings.get("state")
        same_folder = os.path.abspath(source.parent) == os.path.abspath(target.parent)
        if same_folder or (isinstance(setting, str) and envref.has_reference(setting)):
            return settings  # a ${…} path is the environment's to set
        path = os.path.abspath(state_path(source, account.alias, setting))
        return {**settings, "state": os.path.relpath(path, os.path.abspath(target.parent))}

    def join_links(self, kind: str, live: LiveRoom) -> list[tuple[str | None, str]]:
        """Each participant's own link, named by the user it was issued to."""
        entry = self.state.get(live.key) if live.key is not None else None
        users = {p.url: p.user_id for p in entry.participants} if entry else {}
        return [(users.get(url), url) for url in live.join_urls]

    # -- the state file's rooms as live rooms -------------------------------------------

    def _fields(self, name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Stored-form settings (as the state file keeps them) as comparable fields."""
        fields: dict[str, Any] = {"name": name}
        for field, value in settings.items():
            if field == DESCRIPTION_DIGEST_KEY:
                fields["description"] = DIGEST_PREFIX + str(value)
            else:
                fields[field] = self.normalize(field, value)
        return fields

    def _live(self, name: str, entry: StateEntry,
              urls: tuple[ParticipantUrl, ...] = ()) -> LiveRoom:
        return LiveRoom(KIND, name, entry.room_id, self._fields(name, entry.settings),
                        join_urls=tuple(p.url for p in urls or entry.participants))


def kaleyra_room(room: Room) -> KaleyraRoom:
    if not isinstance(room, KaleyraRoom):
        raise TypeError(f"expected a Kaleyra room, got {type(room).__name__}")
    return room


def post_body(room: KaleyraRoom) -> dict[str, Any]:
    """The POST /v2/rooms body, also what the state file records: the declared settings
    without our `name`, and participants without `role` (it only creates users)."""
    body = {field: value for field, value in room.declared().items()
            if field != "name" and value is not None}
    body["participants"] = [p.model_dump(exclude_unset=True, exclude_none=True,
                                         exclude={"role"}) for p in room.participants]
    return body


def _participant(item: Mapping[str, Any]) -> dict[str, Any]:
    """A participant as Kaleyra reads it: is_admin defaults to false; tools, when present,
    enable exactly those set true (an empty object disables all, U7)."""
    result: dict[str, Any] = {"user_id": item["user_id"],
                              "is_admin": bool(item.get("is_admin", False))}
    tools = item.get("tools")
    if tools is not None:
        result["tools"] = {name: True for name, on in sorted(tools.items()) if on}
    return result
