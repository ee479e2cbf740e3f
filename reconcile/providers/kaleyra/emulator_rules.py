"""Validation rules of the Kaleyra emulator: what `POST /v2/users` and `POST /v2/rooms` accept.

Shared by the HTTP handlers and `seed()`, so bulk-seeded data obeys the same rules. Each
function returns the stored shape (the provider's response shape) or raises `Invalid`,
which the API answers with 400 `bad_request` and `seed()` surfaces as a ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

REGIONS = ("eu", "in", "us")
ROLES = ("basic", "plus")
RECORDING = ("none", "automatic", "manual")  # the first value of each tuple is the default
CALL_TYPES = ("audio_video", "audio_upgradable", "audio_only")
MIN_PARTICIPANTS, MAX_PARTICIPANTS = 2, 25
MIN_DURATION = 60

# Per-company switches kept by the emulator (U14): features are enabled by default;
# `v1_answers` answers rooms in the one documented (v1) shape instead of the v2 guess (U2).
DEFAULT_COMPANY: dict[str, bool] = {"transcription": True, "summarization": True,
                                    "room_routes": True, "v1_answers": False}


class Invalid(ValueError):
    """A request body the API rejects with 400 bad_request."""


def parse_user(body: Any, new_id: Callable[[], str]) -> dict[str, Any]:
    """The stored user `{id, role}` (U13); the id is generated when none is chosen."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    user_id = body.get("user_id")
    if user_id is None:
        user_id = new_id()
    elif not isinstance(user_id, str) or not user_id.strip():
        raise Invalid("user_id must be a non-empty string")
    role = body.get("role")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    return {"id": user_id, "role": role}


def parse_room(body: Any, role_of: Callable[[str], str | None],
               company: Mapping[str, bool]) -> dict[str, Any]:
    """The room's settings and participants (no room_id, no join URLs yet)."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    settings: dict[str, Any] = {
        "recording": _choice(body, "recording", RECORDING),
        "duration": _duration(body.get("duration")),
        "call_type": _choice(body, "call_type", CALL_TYPES),
        "no_ringing": _flag(body, "no_ringing"),  # stored and echoed only (U8)
        "description": _text(body, "description"),
        "offline_transcription": _flag(body, "offline_transcription"),
        "summarization": _flag(body, "summarization"),
    }
    _check_ai_features(settings, company)
    settings["participants"] = _participants(body.get("participants"), role_of)
    return settings


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = body.get(key)
    if value is None:
        return allowed[0]
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"{key} must be one of {', '.join(allowed)}")
    return value


def _flag(obj: dict[str, Any], key: str, where: str = "") -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Invalid(f"{where}{key} must be a boolean")
    return value


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{key} must be a string")
    return value


def _duration(value: Any) -> int | None:
    """Seconds of effective call time; absent means unlimited."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_DURATION:
        raise Invalid(f"duration must be an integer of at least {MIN_DURATION} seconds")
    return value


def _check_ai_features(settings: dict[str, Any], company: Mapping[str, bool]) -> None:
    """U14: prerequisites first, then the company's feature switches."""
    if settings["offline_transcription"] and settings["recording"] == "none":
        raise Invalid("offline_transcription requires recording automatic or manual")
    if settings["summarization"] and not settings["offline_transcription"]:
        raise Invalid("summarization requires offline_transcription")
    if settings["offline_transcription"] and not company["transcription"]:
        raise Invalid("offline transcription is not enabled for this company")
    if settings["summarization"] and not company["summarization"]:
        raise Invalid("summarization is not enabled for this company")


def _participants(value: Any, role_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    if value is None:
        raise Invalid("participants is required")
    if not isinstance(value, list):
        raise Invalid("participants must be an array")
    if not MIN_PARTICIPANTS <= len(value) <= MAX_PARTICIPANTS:
        raise Invalid(f"participants must have between {MIN_PARTICIPANTS} and"
                      f" {MAX_PARTICIPANTS} items")
    items = [_participant(item, f"participants[{i}].") for i, item in enumerate(value)]
    roles = {item["user_id"]: role_of(item["user_id"]) for item in items}
    unknown = [user for user, role in roles.items() if role is None]
    if unknown:
        raise Invalid(f"unknown user_id: {', '.join(unknown)}")
    if "plus" not in roles.values():
        raise Invalid("at least one participant must be a plus user")
    return items


def _participant(item: Any, where: str) -> dict[str, Any]:
    """U7: user_id, is_admin, tools; unknown keys are ignored."""
    if not isinstance(item, dict):
        raise Invalid(f"{where[:-1]} must be an object")
    user_id = item.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise Invalid(f"{where}user_id is required and must be a non-empty string")
    participant: dict[str, Any] = {"user_id": user_id, "is_admin": _flag(item, "is_admin", where)}
    tools = item.get("tools")
    # Missing tools means every tool, an empty object means none: keep exactly what was sent.
    if tools is not None:
        if not isinstance(tools, dict) or not all(isinstance(v, bool) for v in tools.values()):
            raise Invalid(f"{where}tools must be an object of booleans")
        participant["tools"] = dict(tools)
    return participant
