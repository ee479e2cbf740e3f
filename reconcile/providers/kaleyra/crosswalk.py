"""Kaleyra's side of `convert`: a source only. A Kaleyra room admits a list of existing
users, which no other provider has and `convert` cannot invent, so none is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconcile.convert.keys import key_rule
from reconcile.convert.mapping import (
    Codec,
    Context,
    Inherent,
    Issue,
    KindMapping,
    Outcome,
    Read,
)
from reconcile.providers.kaleyra.model import KaleyraRoom


@dataclass(frozen=True)
class Reading(Codec):
    """A concept Kaleyra holds in another shape: `recording`, `call_type`, or what every
    participant's `tools` allow. `consumes` are the fields it carries whole."""

    field_name: str
    values: Mapping[Any, Any]  # the field's value -> the neutral one (absent: not read)
    consumes: bool = True

    @property
    def fields(self) -> tuple[str, ...]:  # type: ignore[override]  # derived: a property
        return (self.field_name,) if self.consumes else ()

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        value = room.get(self.field_name)
        if value is None or value not in self.values:
            return None
        return self.values[value], []

    def describe(self) -> str:
        return ", ".join(f"`{self.field_name}: {own}`" for own, neutral in self.values.items()
                         if neutral is True)


@dataclass(frozen=True)
class Tool(Codec):
    """A tool every participant has (no `tools`: all of them) or none has."""

    tool: str

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        participants = room.get("participants")
        if not participants:
            return None
        allowed = {(p.get("tools") is None or bool(p["tools"].get(self.tool)))
                   for p in participants}
        if len(allowed) == 1:
            return allowed.pop(), []
        return None, [Issue(Outcome.LOSSY, f"only some participants have {self.tool}: it"
                                           " cannot move as a room setting", "participants")]

    def describe(self) -> str:
        return f"`tools.{self.tool}` of every participant"


@dataclass(frozen=True)
class Capacity(Codec):
    """As many participants as the room lists (the list itself cannot move)."""

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        if not room.get("participants"):
            return None
        count = len(room["participants"])
        return count, [Issue(Outcome.NOTE, f"max participants: {count}, the number of"
                                           " participants listed")]

    def describe(self) -> str:
        return "the number of `participants`"


CROSSWALK = {"rooms": KindMapping(
    key_rule(KaleyraRoom),
    {
        "capacity": Capacity(),
        "record_on_start": Reading("recording", {"automatic": True, "none": False,
                                                 "manual": False}),
        "recording_allowed": Reading("recording", {"manual": True}, consumes=False),
        "audio_only": Reading("call_type", {"audio_only": True, "audio_video": False}),
        "chat": Tool("chat"),
        "screen_sharing": Tool("screen_sharing"),
        "privacy": Inherent("token", close=("private",), mismatch=Outcome.LOSSY),
    },
    refused="a Kaleyra room admits a list of 2 to 25 existing users, at least one an admin;"
            " no other provider has one and convert cannot invent it: write these rooms"
            " by hand",
)}
