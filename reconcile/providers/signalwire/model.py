"""SignalWire Video rooms and video conferences, in the API's snake_case names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from reconcile.models import (
    Account,
    EnvReference,
    JsonPattern,
    ProviderModels,
    Room,
    RoomKind,
    StrictModel,
    Templated,
    Violation,
    WithJsonSchemaExtra,
    defaults_model,
    matching,
    only_key_required,
)

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Layout = Literal["grid-responsive", "grid-responsive-mobile", "highlight-1-responsive", "1x1",
                 "2x1", "2x2", "5up", "3x3", "4x4", "5x5", "6x6", "8x8", "10x10"]
Quality = Literal["720p", "1080p"]
Colour = Templated[Annotated[str, *matching(
    r"^#[0-9a-fA-F]{6}$", "must be a colour written #RRGGBB, such as #044EF4")]]


def _not_uuid(value: str) -> str:
    if re.fullmatch(UUID_PATTERN, value):
        # GET /rooms/{x} reads a UUID-shaped segment as an id, so such a name is unreachable.
        raise PydanticCustomError("uuid_name", UUID_NAME_MESSAGE)
    return value


UUID_NAME_MESSAGE = "a name shaped like a UUID cannot be looked up by name; choose another name"
Name = Annotated[
    Templated[Annotated[str, *matching(
        NAME_PATTERN, "may contain only letters, digits, `_` and `-`", min_length=1,
        max_length=100)]],
    AfterValidator(_not_uuid),
    # Editors show errorMessage when `not` matches (yaml-language-server).
    WithJsonSchemaExtra({"not": {"pattern": UUID_PATTERN}, "errorMessage": UUID_NAME_MESSAGE}),
]


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 date-time, or a date (which means midnight UTC)."""
    text = value.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed


TIMESTAMP_MESSAGE = ("must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z,"
                     " or a date such as 2026-01-31")


def _timestamp(value: str) -> str:
    try:
        parse_timestamp(value)
    except ValueError:
        raise PydanticCustomError("timestamp", TIMESTAMP_MESSAGE) from None
    return value


TIMESTAMP_PATTERN = (r"^\d{4}-\d{2}-\d{2}"
                     r"([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2}))?$")
Timestamp = Templated[Annotated[str, AfterValidator(_timestamp),
                                 JsonPattern(TIMESTAMP_PATTERN, TIMESTAMP_MESSAGE)]]


def _meta_size(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > 2000:
        raise PydanticCustomError("meta_size", "meta must serialise to at most 2000 characters")
    return value


class _Shared(Room):
    """Fields rooms and conferences have in common."""

    KEY_FIELD = "name"
    model_config = ConfigDict(json_schema_extra=lambda schema: only_key_required(schema, "name"))

    name: Name = Field(description="The identity of the room; it cannot change in place.")
    display_name: Templated[Annotated[str, Field(max_length=200)]] | None = Field(
        None, description="Defaults to name.")
    description: Templated[Annotated[str, Field(max_length=3000)]] | None = None
    quality: Quality | None = Field(None, description="Default 720p.")
    layout: Layout | None = Field(None, description="Default grid-responsive.")
    join_from: Timestamp | None = Field(None, description=(
        "RFC 3339 date-time, or a date (midnight UTC); nobody joins before it."))
    join_until: Timestamp | None = Field(None, description=(
        "RFC 3339 date-time or date, later than join_from; nobody joins after it."))
    record_on_start: bool | None = None
    enable_room_previews: bool | None = None

    def rule_violations(self) -> Iterator[Violation]:
        if self.join_from and self.join_until and "${" not in self.join_from + self.join_until and (
                parse_timestamp(self.join_until) <= parse_timestamp(self.join_from)):
            yield Violation("join_until", "join_until must be later than join_from",
                            ("join_from",))


class SignalWireRoom(_Shared):
    max_members: int | None = Field(None, ge=1, le=300, description="Default 20.")
    remove_at: Timestamp | None = Field(None, description=(
        "RFC 3339 date-time or date at which participants are removed."))
    remove_after_seconds_elapsed: int | None = Field(None, ge=1, le=200000)
    sync_audio_video: bool | None = None
    meta: Annotated[dict[str, Any], AfterValidator(_meta_size)] | None = None


class SignalWireConference(_Shared):
    size: Literal["small", "medium", "large"] | None = Field(None, description=(
        "small (up to 10), medium (up to 50, default) or large (up to 300)."))
    enable_chat: bool | None = None
    tone_on_entry_and_exit: bool | None = None
    room_join_video_off: bool | None = None
    user_join_video_off: bool | None = None
    dark_primary: Colour | None = None
    dark_background: Colour | None = None
    dark_foreground: Colour | None = None
    dark_success: Colour | None = None
    dark_negative: Colour | None = None
    light_primary: Colour | None = None
    light_background: Colour | None = None
    light_foreground: Colour | None = None
    light_success: Colour | None = None
    light_negative: Colour | None = None


class SignalWireCredentials(StrictModel):
    project_id: EnvReference
    token: EnvReference = Field(description="An API token with the Video scope.")


SignalWireDefaults = defaults_model("SignalWireDefaults", SignalWireRoom, SignalWireConference)


class SignalWireAccount(Account):
    type: Literal["signalwire"] = "signalwire"
    space: Templated[Annotated[str, *matching(
        r"^[A-Za-z0-9-]+$", "may contain only letters, digits and `-`",
        max_length=63)]] = Field(examples=["acme"],
                                 description="The space name: <space>.signalwire.com.")
    credentials: SignalWireCredentials
    defaults: SignalWireDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[SignalWireRoom] = Field(default_factory=list)
    conferences: list[SignalWireConference] = Field(default_factory=list)


MODELS = ProviderModels(
    "signalwire", SignalWireAccount,
    (RoomKind("rooms", SignalWireRoom), RoomKind("conferences", SignalWireConference)))
