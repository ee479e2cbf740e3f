"""Field rules of SignalWire's Rooms and Video Conferences bodies, for the emulator.

`build()` turns a create or update body into the stored resource, collecting every failing
field into one 422 `errors[]` list, the way SignalWire reports validation errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from reconcile.providers.signalwire.model import (
    NAME_PATTERN,
    Layout,
    Quality,
    parse_timestamp,
)
from reconcile.timestamps import iso_micros, iso_seconds

ERRORS_URL = "https://signalwire.com/docs/apis/error-codes"
LAYOUTS: tuple[str, ...] = get_args(Layout)
QUALITIES: tuple[str, ...] = get_args(Quality)
SIZES = ("small", "medium", "large")
SIZE_MEMBERS = {"small": 10, "medium": 50, "large": 300}
COLOURS = {"primary": "#044EF4", "background": "#FFFFFF", "foreground": "#1D2127",
           "success": "#17BB58", "negative": "#F42C50"}
_NAME = re.compile(NAME_PATTERN)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EPOCH = re.compile(r"^\d+(\.\d+)?$")


def error(code: str, message: str, attribute: str) -> dict[str, str]:
    return {"type": "validation_error", "code": code, "message": message,
            "attribute": attribute, "url": ERRORS_URL}


class Invalid(Exception):
    """A 422: the request failed validation on one or more attributes."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['attribute']}: {e['message']}" for e in errors))
        self.errors = errors


def label(attribute: str) -> str:
    """`max_members` -> `Max members`, as SignalWire words its messages."""
    return attribute.replace("_", " ").capitalize()


# -- value checks: each returns the stored value or raises ValueError(<predicate>) ---------


def text(maximum: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) > maximum:
            raise ValueError(f"is too long (maximum is {maximum} characters)")
        return value
    return check


def integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be an integer between {low} and {high}")
        return value
    return check


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of: {', '.join(options)}")
        return str(value)
    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def timestamp(value: Any, *, epoch: bool = False) -> str:
    """An RFC 3339 date-time or a date (midnight UTC), stored in UTC: `…T00:00:00Z`."""
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        if epoch and _EPOCH.fullmatch(value):
            moment = datetime.fromtimestamp(float(value), UTC)
        else:
            moment = parse_timestamp(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError("must be an RFC 3339 date-time or a date") from None
    ts = moment.timestamp()
    return iso_micros(ts) if moment.microsecond else iso_seconds(ts)


def meta(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if len(json.dumps(value, separators=(",", ":"))) > 2000:
        raise ValueError("is too long (maximum is 2000 characters)")
    return value


def colour(value: Any) -> str:
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise ValueError("must be a colour such as #044EF4")
    return value


@dataclass(frozen=True, slots=True)
class Rule:
    check: Callable[[Any], Any]
    nullable: bool = True  # whether an update may set it to null


_SHARED: dict[str, Rule] = {
    "display_name": Rule(text(200)),
    "description": Rule(text(3000)),
    "quality": Rule(choice(QUALITIES), nullable=False),
    "layout": Rule(choice(LAYOUTS), nullable=False),
    "join_from": Rule(timestamp),
    "join_until": Rule(timestamp),
    "record_on_start": Rule(boolean, nullable=False),
    "enable_room_previews": Rule(boolean),
}
ROOM_RULES: dict[str, Rule] = {
    **_SHARED,
    "max_members": Rule(integer(1, 300), nullable=False),
    "remove_at": Rule(timestamp),
    "remove_after_seconds_elapsed": Rule(integer(1, 200000)),
    "sync_audio_video": Rule(boolean),
    "meta": Rule(meta),
}
CONFERENCE_RULES: dict[str, Rule] = {
    **_SHARED,
    "size": Rule(choice(SIZES)),
    "enable_chat": Rule(boolean, nullable=False),
    **{f"{theme}_{part}": Rule(colour) for theme in ("dark", "light") for part in COLOURS},
}
# Settable by PUT only; a create body's values are ignored, like any unknown field.
CONFERENCE_UPDATE_ONLY: dict[str, Rule] = {
    flag: Rule(boolean, nullable=False)
    for flag in ("tone_on_entry_and_exit", "room_join_video_off", "user_join_video_off")}


@dataclass(frozen=True, slots=True)
class Kind:
    """One SignalWire resource: its store kind and the rules of its bodies."""

    kind: str
    create_rules: dict[str, Rule]
    update_rules: dict[str, Rule]
    name_required: bool
    display_name_required: bool  # conferences (U11); rooms default it to the name instead
    defaults: dict[str, Any]


ROOMS = Kind("rooms", ROOM_RULES, ROOM_RULES, name_required=True, display_name_required=False,
             defaults={
                 "display_name": None, "description": None, "max_members": 20,
                 "quality": "720p", "fps": 20, "join_from": None, "join_until": None,
                 "remove_at": None, "remove_after_seconds_elapsed": None,
                 "layout": "grid-responsive", "record_on_start": False,
                 "tone_on_entry_and_exit": False, "room_join_video_off": False,
                 "user_join_video_off": False, "enable_room_previews": False,
                 "sync_audio_video": None, "meta": None, "prioritize_handraise": False})
CONFERENCES = Kind(
    "conferences", CONFERENCE_RULES, {**CONFERENCE_RULES, **CONFERENCE_UPDATE_ONLY},
    name_required=False, display_name_required=True,
    defaults={
        "display_name": None, "description": None, "join_from": None, "join_until": None,
        "quality": "720p", "layout": "grid-responsive", "size": "medium",
        "record_on_start": False, "tone_on_entry_and_exit": False,
        "user_join_video_off": False, "room_join_video_off": False, "enable_chat": True,
        "enable_room_previews": False,
        **{f"{theme}_{part}": value for theme in ("dark", "light")
           for part, value in COLOURS.items()},
        "meta": None})  # not settable (U10)
KINDS = {k.kind: k for k in (ROOMS, CONFERENCES)}


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _check_name(kind: Kind, body: dict[str, Any], errors: list[dict[str, str]]) -> None:
    name = body.get("name")
    if _missing(name):
        if kind.name_required:
            errors.append(error("missing_required_parameter", "Name must be present", "name"))
    elif not isinstance(name, str) or len(name) > 100 or not _NAME.fullmatch(name):
        errors.append(error("invalid_parameter", "Name must be at most 100 characters of"
                            " A-Z, a-z, 0-9, _ and -", "name"))


def build(kind: Kind, body: dict[str, Any], base: dict[str, Any] | None = None
          ) -> dict[str, Any]:
    """The resource after applying `body`: a create when `base` is None, else a merge (U4).

    `name` and unknown fields are ignored on update (U13). Raises `Invalid` listing every
    failing attribute.
    """
    creating = base is None
    errors: list[dict[str, str]] = []
    rules = kind.create_rules if creating else kind.update_rules
    values: dict[str, Any] = {}
    if creating:
        _check_name(kind, body, errors)
    if kind.display_name_required and _missing(body.get("display_name")):
        errors.append(error("missing_required_parameter", "Display name must be present",
                            "display_name"))
    for field, rule in rules.items():
        if field not in body or any(e["attribute"] == field for e in errors):
            continue
        value = body[field]
        if value is None:  # on create, null means "use the default"
            if not creating and rule.nullable:
                values[field] = None
            elif not creating:
                errors.append(error("invalid_parameter", f"{label(field)} can't be null", field))
            continue
        try:
            values[field] = rule.check(value)
        except ValueError as exc:
            errors.append(error("invalid_parameter", f"{label(field)} {exc}", field))
    merged = {**(kind.defaults if base is None else base), **values}
    if creating:
        merged["name"] = body.get("name") or None
        if merged["display_name"] is None and not kind.display_name_required:
            merged["display_name"] = merged["name"]
    if not any(e["attribute"] in ("join_from", "join_until") for e in errors):
        errors += _join_window(merged)
    if errors:
        raise Invalid(errors)
    return merged


def _join_window(data: dict[str, Any]) -> list[dict[str, str]]:
    start, end = data.get("join_from"), data.get("join_until")
    try:
        backwards = parse_timestamp(end) < parse_timestamp(start) if start and end else False
    except (TypeError, ValueError):  # stored out of band in another shape: nothing to compare
        backwards = False
    if backwards:
        return [error("invalid_join_until_date",
                      "Join Until date can't be in the past of Join From date", "join_until")]
    return []
