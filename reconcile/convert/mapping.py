"""How a provider declares its side of `convert`: codecs between its fields and the
shared concepts (`concepts.py`), in neutral units.

Neutral values: counts are ints, durations are seconds, instants are Unix seconds, the
webhook is `Hook(url, method)`, privacy is "token" | "private" | "public". A codec reads a
room's declared fields (YAML names) into the neutral value and writes a neutral value as
its own fields, saying what each step loses (`Issue`). Each provider keeps its codecs in
`reconcile/providers/<type>/crosswalk.py`; the ones several providers share live here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple


class Outcome(StrEnum):
    """What happened to a value (the crosswalk's section 0)."""

    EXACT = "exact"
    CONVERTED = "converted"
    NOTE = "note"
    LOSSY = "lossy"
    DROPPED = "dropped"
    REFUSED = "refused"


LOSING = frozenset({Outcome.LOSSY, Outcome.DROPPED})


@dataclass(frozen=True)
class Issue:
    outcome: Outcome
    message: str
    field: str = ""  # the source field it concerns; "" for the room as a whole


class Hook(NamedTuple):
    """The neutral webhook: where room events go, and how."""

    url: str
    method: str = "POST"


@dataclass
class Context:
    """What a codec may look at besides its value."""

    source: str  # e.g. "twilio rooms", for messages
    target: str
    now: int  # Unix seconds: an expiry before it is already past
    values: dict[str, Any] = field(default_factory=dict)  # neutral values read so far


Read = tuple[Any, list[Issue]]


class Codec:
    """One concept as one provider has it. `fields` are the YAML names it reads."""

    fields: tuple[str, ...] = ()
    flavour = ""  # a meaning that differs between providers makes every move lossy
    default: Any = None  # the neutral value when nothing is declared (None: none known)
    confirmed = True  # False: the provider's default is [unconfirmed] (rule 2)

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        return None

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        return {}, [Issue(Outcome.DROPPED, f"no equivalent on {ctx.target}")]

    def describe(self) -> str:
        return ", ".join(f"`{name}`" for name in self.fields)


@dataclass(frozen=True)
class Inherent(Codec):
    """No field: the provider always behaves as `value` (rooms need tokens; chat is the
    application's job). A value in `close` moves with a note; others as `mismatch`."""

    value: Any
    close: tuple[Any, ...] = ()
    mismatch: Outcome = Outcome.DROPPED

    @property
    def default(self) -> Any:
        return self.value

    def describe(self) -> str:
        return f"— (always {show(self.value)})"


@dataclass(frozen=True)
class OneField(Codec):
    """A concept held in one field, `name`: `neutral` reads its value."""

    name: str
    default: Any = field(default=None, kw_only=True)
    confirmed: bool = field(default=True, kw_only=True)
    flavour: str = field(default="", kw_only=True)

    @property
    def fields(self) -> tuple[str, ...]:  # type: ignore[override]  # derived: a property
        return (self.name,)

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        return self.neutral(room[self.name]) if self.name in room else None

    def neutral(self, value: Any) -> Read:
        return value, []


@dataclass(frozen=True)
class Number(OneField):
    """An integer field; `unit` is its size in neutral units (60: minutes of seconds)."""

    low: int | None = None
    high: int | None = None
    unit: int = 1

    def neutral(self, value: Any) -> Read:
        return value * self.unit, []

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        issues: list[Issue] = []
        raw = math.ceil(value / self.unit)
        if raw * self.unit != value:
            issues.append(Issue(Outcome.LOSSY, f"{value} s rounded up to {raw} min"
                                               f" for `{self.name}`"))
        bounded = raw if self.low is None else max(raw, self.low)
        bounded = bounded if self.high is None else min(bounded, self.high)
        if bounded != raw:
            issues.append(Issue(Outcome.LOSSY, f"{raw} is outside {ctx.target}'s range"
                                               f" {self.range()} for `{self.name}`:"
                                               f" clamped to {bounded}"))
        return {self.name: bounded}, issues

    def range(self) -> str:
        return f"{'' if self.low is None else self.low}..{'' if self.high is None else self.high}"

    def describe(self) -> str:
        unit = {1: "", 60: " (min)"}.get(self.unit, f" (x{self.unit})")
        limits = f" {self.range()}" if (self.low, self.high) != (None, None) else ""
        return f"`{self.name}`{unit}{limits}"


@dataclass(frozen=True)
class Flag(OneField):
    """A boolean field; `invert` when the provider says the opposite (joinVideoOn)."""

    invert: bool = False

    def neutral(self, value: Any) -> Read:
        return bool(value) != self.invert, []

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        return {self.name: bool(value) != self.invert}, []

    def describe(self) -> str:
        return f"`{self.name}`" + (" (inverted)" if self.invert else "")


@dataclass(frozen=True)
class Choice(OneField):
    """A field of named values; `table` maps neutral names to them. A neutral name in
    `approximate` is written with that reason (lossy); one missing from the table is lost."""

    table: Mapping[Any, Any] = field(default_factory=dict)
    approximate: Mapping[Any, str] = field(default_factory=dict)

    def neutral(self, value: Any) -> Read:
        return next((neutral for neutral, own in self.table.items() if own == value),
                    value), []

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if value not in self.table:
            return {}, [Issue(Outcome.DROPPED, f"{show(value)} has no equivalent in"
                                               f" {ctx.target}'s `{self.name}`")]
        issues = [Issue(Outcome.LOSSY, f"{show(value)} → {show(self.table[value])}:"
                                       f" {self.approximate[value]}")] \
            if value in self.approximate else []
        return {self.name: self.table[value]}, issues


@dataclass(frozen=True)
class Instant(OneField):
    """A point in time: Unix seconds, or (with `parse`) RFC 3339 text read by `parse`
    and written as YYYY-MM-DDTHH:MM:SSZ."""

    parse: Callable[[str], datetime] | None = None

    def neutral(self, value: Any) -> Read:
        if self.parse is None or "${" in str(value):
            return value, []  # a ${…} reference stays as it is
        moment = self.parse(str(value))
        issues = [Issue(Outcome.LOSSY, f"`{self.name}` {value}: fractions of a second"
                                       " dropped", self.name)] if moment.microsecond else []
        return int(moment.timestamp()), issues

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if isinstance(value, str):  # a reference: only a field of the same form takes it
            if self.parse is None:
                return {}, [Issue(Outcome.LOSSY, f"{value} cannot become Unix seconds"
                                                 f" for `{self.name}`: left out")]
            return {self.name: value}, []
        if self.parse is None:
            return {self.name: value}, []
        return {self.name: rfc3339(value)}, []

    def describe(self) -> str:
        return f"`{self.name}` ({'Unix s' if self.parse is None else 'RFC 3339'})"


@dataclass(frozen=True)
class Url(Codec):
    """A webhook URL, with the field naming its HTTP method if the provider has one."""

    name: str
    method_field: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:  # type: ignore[override]  # derived: a property
        return (self.name,) + ((self.method_field,) if self.method_field else ())

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        if self.name not in room:
            return None
        method = room.get(self.method_field, "POST") if self.method_field else "POST"
        return Hook(room[self.name], method), []

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        written = {self.name: value.url}
        if value.method != "POST":
            if self.method_field:
                return {**written, self.method_field: value.method}, []
            return written, [Issue(Outcome.LOSSY, f"the {value.method} webhook becomes a"
                                                  f" POST on {ctx.target}")]
        return written, []


@dataclass(frozen=True)
class Privacy(Codec):
    """`privacy` (public or private); a token-gated room elsewhere is a private one here,
    whose clients then need `tokens` (Metered access tokens, Daily meeting tokens)."""

    tokens: str
    fields = ("privacy",)
    default = "public"  # what these providers do when privacy is unset

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        return (room["privacy"], []) if "privacy" in room else None

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if value == "token":
            return {"privacy": "private"}, [Issue(
                Outcome.NOTE, "privacy: private, as nobody joins without a token on"
                              f" {ctx.source}; mint {self.tokens} for the clients")]
        return {"privacy": value}, []

    def describe(self) -> str:
        return "`privacy` (token-gated → private)"


@dataclass(frozen=True)
class KeyRule:
    """The room key at one provider: its field, and how to suggest a key it accepts
    (a regex character class and a length), read from the model by `keys.key_rule`.
    Whether a key is accepted is the model's call, so the rule cannot drift from it."""

    field: str
    allowed: str | None = None  # None: any character
    max_length: int | None = None

    def suggest(self, key: str) -> str:
        text = key
        if self.allowed is not None:
            text = re.sub(f"[^{self.allowed}]+", "-", text).strip("-")
        return text[: self.max_length] if self.max_length else text

    def describe(self) -> str:
        chars = f" `[{self.allowed}]`" if self.allowed else ""
        length = f", ≤ {self.max_length}" if self.max_length else ""
        return f"`{self.field}`{chars}{length}"


@dataclass(frozen=True)
class KindMapping:
    """One room kind of one provider: its key and its codec for each concept it has.
    A concept left out has no equivalent; `refused` says why no room of this kind can
    be written by `convert` (Kaleyra's need participants)."""

    key: KeyRule
    concepts: Mapping[str, Codec]
    refused: str = ""


# Concepts the token-gated, SDK-style providers lack but behave as (Twilio, Telnyx, SW).
TOKEN_ONLY: dict[str, Codec] = {
    "privacy": Inherent("token", close=("private",), mismatch=Outcome.LOSSY),
    "knocking": Inherent(False),
    "chat": Inherent(False),
    "screen_sharing": Inherent(True),
    "camera_off": Inherent(False),
    "mic_off": Inherent(False),
}


def show(value: Any, unit: str = "") -> str:
    """A neutral value, as a message shows it."""
    if unit == "seconds" and isinstance(value, int):
        return f"{value} s"
    if unit == "instant" and isinstance(value, int):
        return rfc3339(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Hook):
        return ""  # a URL may carry a token: never quoted
    return str(value)



def rfc3339(seconds: int) -> str:
    """Unix seconds as the crosswalk writes an instant: UTC, whole seconds."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
