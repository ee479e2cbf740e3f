"""Twilio room documents for the emulator: form parsing, validation, rendering.

Rooms are stored in the shape of `video.v1.room` minus `url`/`links` (they depend on the
request's base URL), plus internal keys: `_created_at`, `_participants`, `_ever_joined`,
`_last_left_at`, `_disconnected` (participants cut off when the room ended) and the
create settings the room resource does not echo.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any, TypeGuard
from urllib.parse import parse_qsl, urlsplit

from reconcile.sandbox.core import public
from reconcile.sandbox.emulation import iso_seconds

PROVIDER = "twilio"
KIND = "rooms"
ERRORS_URL = "https://www.twilio.com/docs/errors/"

ROOM_TYPES = ("group", "go", "peer-to-peer", "group-small")
# U7: the older docs' cap (and default) per legacy type; the current spec caps every room at
# 50. With the `legacy_types_as_group` switch (U14) a legacy type is created as `group`.
PARTICIPANT_LIMITS = {"group": 50, "go": 50, "peer-to-peer": 10, "group-small": 4}
STATUSES = ("in-progress", "completed", "failed")
VIDEO_CODECS = ("VP8", "H264")
MEDIA_REGIONS = ("us1", "us2", "au1", "br1", "ie1", "jp1", "sg1", "in1", "de1", "gll")
CALLBACK_METHODS = ("GET", "POST")  # U13: the current spec's enum; others are 53110
MAX_NAME_LENGTH = 128  # U5
MAX_CALLBACK_LENGTH = 1023  # error 53111: "less than 1024 characters"
PARTICIPANT_DURATION = (600, 86400)  # error 53123: 10 minutes to 24 hours
MAX_RECORDING_RULES = 20  # error 53120
# U2: the catalogue's code for each bad create parameter; the rest get INVALID_PARAMETER.
INVALID_PARAMETER = 53114  # "invalid parameters" (the Video SDKs' name for it)
BAD_QUERY = 400  # the catalogue's generic "Bad Request", for list query parameters
# `video.v1.room` in the spec's order (`url` and `links` are added when rendering).
ROOM_FIELDS = ("sid", "status", "date_created", "date_updated", "account_sid", "enable_turn",
               "unique_name", "status_callback", "status_callback_method", "end_time",
               "duration", "type", "max_participants", "max_participant_duration",
               "max_concurrent_published_tracks", "record_participants_on_connect",
               "video_codecs", "media_region", "audio_only", "empty_room_timeout",
               "unused_room_timeout", "large_room")
ROOM_SID = re.compile(r"RM[0-9a-fA-F]{32}")

# Create parameters by value kind, in snake_case; the form key is their PascalCase.
_BOOLS = ("record_participants_on_connect", "transcribe_participants_on_connect",
          "audio_only", "large_room", "enable_turn")
_INTS = ("max_participants", "max_participant_duration", "empty_room_timeout",
         "unused_room_timeout")
_JSONS = ("recording_rules", "transcriptions_configuration")
_STRINGS = ("unique_name", "type", "status_callback", "status_callback_method", "media_region")
_LISTS = ("video_codecs",)
CREATE_FIELDS = (*_STRINGS, *_INTS, *_BOOLS, *_JSONS, *_LISTS)
# Accepted by seed() on top of the create parameters.
SEED_FIELDS = ("status", "date_created")


def pascal(field: str) -> str:
    return "".join(part.capitalize() for part in field.split("_"))


FORM_KEYS = {pascal(field): field for field in CREATE_FIELDS}


class TwilioError(Exception):
    """An API error, rendered as Twilio's {code, message, more_info, status} body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "more_info": f"{ERRORS_URL}{self.code}", "status": self.status}


def invalid(message: str, code: int = INVALID_PARAMETER) -> TwilioError:
    """U2: a 400 for a bad parameter, with its catalogue code where it has one."""
    return TwilioError(400, code, message)


def bad_query(message: str) -> TwilioError:
    """U2: a 400 for a bad list or filter query parameter."""
    return TwilioError(400, BAD_QUERY, message)


# -- form bodies --------------------------------------------------------------------------

def form_pairs(raw: bytes, content_type: str) -> list[tuple[str, str]]:
    """A form body's (key, value) pairs, each value Latin-1 decoded so that every byte
    survives (UTF-8 is checked per field). Any other body (JSON) is an empty form."""
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return []
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1")


def parse_form(raw: bytes, content_type: str) -> dict[str, Any]:
    """Create parameters as typed snake_case settings."""
    settings: dict[str, Any] = {}
    for key, value in form_pairs(raw, content_type):
        field = FORM_KEYS.get(key)
        if field is None:
            continue  # Twilio ignores parameters it does not know
        try:
            text = value.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            if field == "unique_name":
                raise TwilioError(400, 53102, "Room name contains invalid characters") from None
            raise invalid(f"{key} is not valid UTF-8") from None
        if field in _LISTS:
            settings.setdefault(field, []).append(text)
        elif text or field == "unique_name":
            settings[field] = _coerce(field, text)  # a blank optional field means "absent"
    return settings


def _coerce(field: str, text: str) -> Any:
    """The typed value of a form string; left as text when it does not parse (then
    validation rejects it with the right code)."""
    if field in _BOOLS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if field in _INTS and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if field in _JSONS:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


# -- validation and defaults --------------------------------------------------------------

def room_settings(given: dict[str, Any], *, seeding: bool = False,
                  legacy_as_group: bool = False) -> dict[str, Any]:
    """Validated create settings with the documented defaults (U2, U5, U7, U13).
    `legacy_as_group`: a legacy type is created as a group room (U14)."""
    room_type = _choice("type", given.get("type", "group"), ROOM_TYPES, 53108)
    if legacy_as_group:
        room_type = "group"
    limit = PARTICIPANT_LIMITS[room_type]
    audio_only = _bool(given, "audio_only", False)
    if audio_only and room_type != "group":
        raise invalid("The AudioOnly flag is not supported for the Room type", 53124)
    _bool(given, "enable_turn", True)  # validated, but deprecated: always true
    method = given.get("status_callback_method", "POST")
    low_timeout = 0 if seeding else 1  # seeded ad-hoc rooms have timeouts 0 (never expire)
    codecs = given.get("video_codecs", ["VP8"])
    if not isinstance(codecs, list) or any(c not in VIDEO_CODECS for c in codecs):
        raise invalid(f"VideoCodecs must be a list of {', '.join(VIDEO_CODECS)}")
    return {
        "enable_turn": True,
        "unique_name": _unique_name(given.get("unique_name")),
        "status_callback": _callback(given.get("status_callback")),
        "status_callback_method": _choice(
            "status_callback_method", method.upper() if isinstance(method, str) else method,
            CALLBACK_METHODS, 53110),
        "type": room_type,
        "max_participants": _int(given, "max_participants", (1, limit), limit, 53107,
                                 f"for a {room_type} room"),
        "max_participant_duration": _int(given, "max_participant_duration",
                                         PARTICIPANT_DURATION, 14400, 53123),
        "record_participants_on_connect": _bool(given, "record_participants_on_connect", False),
        "video_codecs": [] if audio_only else list(dict.fromkeys(codecs)),
        "media_region": _choice("media_region", given.get("media_region", "us1"),
                                MEDIA_REGIONS),
        "audio_only": audio_only,
        "empty_room_timeout": _timeout(given, "empty_room_timeout", low_timeout),
        "unused_room_timeout": _timeout(given, "unused_room_timeout", low_timeout),
        "large_room": _bool(given, "large_room", False),
        "_transcribe_participants_on_connect": _bool(
            given, "transcribe_participants_on_connect", False),
        "_transcriptions_configuration": _json(given, "transcriptions_configuration", dict),
        "_recording_rules": _recording_rules(given),
    }


def _unique_name(name: Any) -> str | None:
    if name is None:
        return None  # defaults to the sid
    if not isinstance(name, str) or not name.strip() or ROOM_SID.fullmatch(name):
        # A name shaped like a room sid would shadow sid lookups.
        raise TwilioError(400, 53100, "Room name is invalid")
    if len(name) > MAX_NAME_LENGTH:
        raise TwilioError(400, 53101, "Room name is too long")
    return name


def _callback(url: Any) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not isinstance(url, str) or parts.scheme not in ("http", "https") \
            or not parts.netloc or len(url) > MAX_CALLBACK_LENGTH:
        raise invalid("StatusCallback must be an absolute http(s) URL of less than 1024"
                      " characters", 53111)
    return url


def _choice(field: str, value: Any, allowed: tuple[str, ...],
            code: int = INVALID_PARAMETER) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise invalid(f"{pascal(field)} must be one of {', '.join(allowed)}, got {value!r}",
                      code)
    return value


def _bool(given: dict[str, Any], field: str, default: bool) -> bool:
    value = given.get(field, default)
    if not isinstance(value, bool):
        raise invalid(f"{pascal(field)} must be true or false, got {value!r}")
    return value


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(given: dict[str, Any], field: str, bounds: tuple[int, int], default: int,
         code: int, context: str = "") -> int:
    value = given.get(field, default)
    low, high = bounds
    if not _is_int(value) or not low <= value <= high:
        where = f" {context}" if context else ""
        raise invalid(f"{pascal(field)} must be an integer from {low} to {high}{where},"
                      f" got {value!r}", code)
    return value


def _timeout(given: dict[str, Any], field: str, low: int) -> int:
    value = given.get(field, 5)
    if not _is_int(value) or not low <= value <= 60:
        raise TwilioError(400, 53109, "Room timeout is out of range")
    return value


def _json(given: dict[str, Any], field: str, kind: type) -> Any:
    value = given.get(field)
    if value is not None and not isinstance(value, kind):
        raise invalid(f"{pascal(field)} must be a JSON {kind.__name__}")
    return value


def _recording_rules(given: dict[str, Any]) -> list[Any] | None:
    """Rules as error 53120 describes them: 1 to 20, each with a type; `all` is true and
    alone with the type."""
    rules = given.get("recording_rules")
    if isinstance(rules, dict) and "rules" in rules:
        rules = rules["rules"]  # {"rules": [...]} is the RecordingRules resource's shape
    if rules is None:
        return None
    if not isinstance(rules, list) or not 1 <= len(rules) <= MAX_RECORDING_RULES or not all(
            isinstance(rule, dict) and rule.get("type") in ("include", "exclude")
            and ("all" not in rule or (rule["all"] is True and set(rule) == {"type", "all"}))
            for rule in rules):
        raise invalid("Invalid Recording Rule(s)", 53120)
    return rules


# -- stored and rendered rooms ------------------------------------------------------------

def new_room(sid: str, account: str, settings: dict[str, Any], now: float) -> dict[str, Any]:
    """A stored in-progress room: `video.v1.room` fields in the spec's order, then the
    internal keys."""
    stamp = iso_seconds(now)
    values = {"sid": sid, "status": "in-progress", "date_created": stamp,
              "date_updated": stamp, "account_sid": account, "end_time": None,
              "duration": None, "max_concurrent_published_tracks": 0, **settings,
              "unique_name": settings["unique_name"] or sid}
    return {**{field: values[field] for field in ROOM_FIELDS},
            "_created_at": now, "_participants": [], "_ever_joined": False,
            "_last_left_at": None,
            **{key: value for key, value in settings.items() if key.startswith("_")}}


def ended(data: dict[str, Any], at: float, status: str = "completed") -> dict[str, Any]:
    """The room ended at `at`: participants still connected are cut off."""
    connected = list(data.get("_participants") or [])
    created = data.get("_created_at", at)
    done = {**data, "status": status, "end_time": iso_seconds(at), "date_updated":
            iso_seconds(at), "duration": int(at) - int(created), "_participants": []}
    if connected:
        done["_disconnected"] = [*data.get("_disconnected", []), *connected]
        done["_last_left_at"] = at
    return done


def room_url(base: str, sid: str) -> str:
    return f"{base}/v1/Rooms/{sid}"


def render(data: dict[str, Any], base: str) -> dict[str, Any]:
    url = room_url(base, data["sid"])
    links = {name: f"{url}/{path}" for name, path in (
        ("participants", "Participants"), ("recordings", "Recordings"),
        ("transcriptions", "Transcriptions"), ("recording_rules", "RecordingRules"))}
    return {**public(data), "url": url, "links": links}


def participants(data: dict[str, Any], base: str) -> list[dict[str, Any]]:
    """The room's participants as `video.v1.room.room_participant` objects."""
    connected = list(data.get("_participants") or [])
    gone = [p for p in data.get("_disconnected", []) if p not in connected]
    started = data.get("_session_started_at") or data.get("_created_at") or 0.0
    left = data.get("_last_left_at")
    return [_participant(data, str(identity), status, started, end, base)
            for identity, status, end in (
                *((p, "connected", None) for p in connected),
                *((p, "disconnected", left) for p in gone))]


def _participant(room: dict[str, Any], identity: str, status: str, start: float,
                 end: float | None, base: str) -> dict[str, Any]:
    # Derived from room and identity so a participant keeps its sid across requests.
    sid = "PA" + hashlib.sha256(f"{room['sid']}/{identity}".encode()).hexdigest()[:32]
    url = f"{room_url(base, room['sid'])}/Participants/{sid}"
    return {
        "sid": sid, "room_sid": room["sid"], "account_sid": room["account_sid"],
        "status": status, "identity": identity, "date_created": iso_seconds(start),
        "date_updated": iso_seconds(end if end is not None else start),
        "start_time": iso_seconds(start),
        "end_time": iso_seconds(end) if end is not None else None,
        "duration": int(end) - int(start) if end is not None else None,
        "url": url,
        "links": {name: f"{url}/{path}" for name, path in (
            ("published_tracks", "PublishedTracks"), ("subscribed_tracks", "SubscribedTracks"),
            ("subscribe_rules", "SubscribeRules"), ("anonymize", "Anonymize"))},
    }


def parse_date(value: str, param: str) -> float:
    """U12: `YYYY-MM-DD` (midnight UTC) or a full ISO-8601 date-time."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_query(f"{param} must be a date (YYYY-MM-DD) or an ISO-8601 date-time"
                        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
