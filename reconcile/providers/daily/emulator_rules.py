"""The Daily emulator's checks of create and update bodies, and how a stored room is
rendered (U5: `config` leaves out every property at its default). U-numbers refer to
docs/providers/daily.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

from reconcile.providers.daily import properties as p
from reconcile.providers.daily.model import (
    AdminRight,
    Language,
    Media,
    Privacy,
    Recording,
    Region,
    RtmpRegion,
)

NAME_RE = re.compile(p.NAME_PATTERN)


class Invalid(ValueError):
    """A body Daily answers with 400 `invalid-request-error` (the text is its `info`)."""


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _integer(low: int, high: int | None = None) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return type(value) is int and value >= low and (high is None or value <= high)
    return check


def _number(value: Any) -> bool:
    return type(value) in (int, float) and value >= 0


def _one_of(values: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in values


def _text(limit: int, needs: str = "") -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and 0 < len(value) <= limit and needs in value


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _media_rights(values: tuple[str, ...]) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return isinstance(value, bool) or (
            isinstance(value, list) and all(item in values for item in value))
    return check


def _permissions(value: Any) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "hasPresence": _boolean, "canSend": _media_rights(get_args(Media)),
        "canReceive": _object, "canAdmin": _media_rights(get_args(AdminRight))}
    return isinstance(value, dict) and all(
        key in checks and checks[key](item) for key, item in value.items())


def _bucket(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(item, bool if key.startswith("allow_") else str)
        for key, item in value.items())


PROPERTY_CHECKS: dict[str, Callable[[Any], bool]] = {
    "nbf": _integer(0), "exp": _integer(0),
    "eject_after_elapsed": _integer(0),
    "sfu_switchover": _number,
    "enable_recording": _one_of(get_args(Recording)),
    "lang": _one_of(get_args(Language)),
    "geo": _one_of(get_args(Region)),
    "rtmp_geo": _one_of(get_args(RtmpRegion)),
    "meeting_join_hook": _text(p.HOOK_MAX),
    "recordings_template": _text(p.TEMPLATE_MAX, p.EPOCH_TAG),
    "transcription_template": _text(p.TEMPLATE_MAX, p.EPOCH_TAG),
    "recordings_bucket": _bucket, "transcription_bucket": _bucket,
    "auto_transcription_settings": _object, "dialout_config": _object, "sip": _object,
    "streaming_endpoints": _list_of_objects,
    "permissions": _permissions,
    "autojoin": _boolean, "signaling_impl": lambda value: isinstance(value, str),
    **{name: _boolean for name, default in p.ABSENT_MEANS.items()
       if isinstance(default, bool)},
}


def _property_problem(name: str, value: Any, cap: int) -> str | None:
    if name == "max_participants":  # U11
        if not _integer(1, cap)(value):
            return f"max_participants must be an integer between 1 and {cap}"
        return None
    check = PROPERTY_CHECKS.get(name)
    if check is None:  # U10: keys outside the documented table
        return f"{name} is not a valid room property"
    return None if check(value) else f"{name} has an invalid value: {value!r}"


def check_properties(properties: Any, cap: int) -> dict[str, Any]:
    """The `properties` object of a body, checked; a null value means "reset" (U4)."""
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise Invalid("properties must be an object")
    for name, value in properties.items():
        problem = None if value is None else _property_problem(name, value, cap)
        if problem:
            raise Invalid(problem)
    return dict(properties)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Invalid("name may contain only A-Z, a-z, 0-9, '-' and '_'")
    if len(name) > p.NAME_MAX:  # U6
        raise Invalid(f"name must be at most {p.NAME_MAX} characters")
    return name


def check_privacy(privacy: Any) -> str:
    if privacy not in get_args(Privacy):  # U15
        raise Invalid(f"privacy must be one of {', '.join(get_args(Privacy))}")
    return str(privacy)


def check_body(body: Any, *, create: bool, cap: int) -> dict[str, Any]:
    """A create or update body: `name` (create only, U14), `privacy`, `properties`."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    allowed = ("name", "privacy", "properties") if create else ("privacy", "properties")
    for key in body:
        if key not in allowed:
            raise Invalid("name cannot be changed" if key == "name"
                          else f"{key} is not a valid parameter")
    checked: dict[str, Any] = {"properties": check_properties(body.get("properties"), cap)}
    if body.get("name") is not None:
        checked["name"] = check_name(body["name"])
    if body.get("privacy") is not None:
        checked["privacy"] = check_privacy(body["privacy"])
    return checked


def apply_properties(room: Mapping[str, Any], properties: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """The stored room with `properties` merged in; a null removes the key (U4)."""
    merged = dict(room)
    for name, value in properties.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _at_default(name: str, value: Any) -> bool:
    default = p.ABSENT_MEANS.get(name)
    return default is not None and type(value) is type(default) and value == default


def shown_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """U5: what `config` shows, without the properties at their documented default."""
    return {name: value for name, value in config.items() if not _at_default(name, value)}


def expired(data: Mapping[str, Any], now: float) -> bool:
    """U9: a room whose `exp` has passed is invisible."""
    exp = data.get("exp")
    return isinstance(exp, int) and exp <= now
