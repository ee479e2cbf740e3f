"""Twilio Programmable Video rooms, in the snake_case names of the room resource."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from reconcile.models import (
    Account,
    EnvReference,
    HttpMethod,
    ProviderModels,
    Room,
    RoomKind,
    StrictModel,
    Templated,
    Url,
    Violation,
    defaults_model,
    only_key_required,
)

RoomType = Literal["group", "go", "peer-to-peer", "group-small"]
# Twilio's current docs: `type` is a legacy parameter and `group` the only room type left.
# The other three are accepted with a warning (docs/providers/twilio.md U14).
LEGACY_TYPES = frozenset({"go", "peer-to-peer", "group-small"})
# What older docs said of the legacy types; no longer enforced, quoted in the warning.
OLDER_LIMITS = {"peer-to-peer": "at most 10 participants, and no video_codecs,"
                                " media_region or recording",
                "group-small": "at most 4 participants"}
# What Twilio is taken to store when max_participants is not sent (U7).
DEFAULT_PARTICIPANTS: dict[str, int] = {"group": 50, "go": 50, "peer-to-peer": 10,
                                        "group-small": 4}
MEDIA_REGIONS = Literal["us1", "us2", "au1", "br1", "ie1", "jp1", "sg1", "in1", "de1", "gll"]


class RecordingRule(StrictModel):
    type: Literal["include", "exclude"]
    all: bool | None = None
    kind: Literal["audio", "video", "data"] | None = None
    publisher: str | None = None
    track: str | None = None


def _schema_rules(schema: dict[str, Any]) -> None:
    # Fields may come from `defaults`, which a schema cannot see: constrain, don't require.
    only_key_required(schema, "unique_name")
    schema["allOf"] = [
        {"if": {"properties": {"audio_only": {"const": True}}, "required": ["audio_only"]},
         "then": {"properties": {"video_codecs": {"maxItems": 0},
                                 "type": {"const": "group"}}}},
    ]


class TwilioRoom(Room):
    KEY_FIELD = "unique_name"
    model_config = ConfigDict(json_schema_extra=lambda schema: _schema_rules(schema))

    unique_name: Templated[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        description="The room's identity; unique among in-progress rooms.")
    type: RoomType | None = Field(None, description=(
        "Legacy: Twilio's current docs say `group` is the only room type (the default);"
        " go, peer-to-peer and group-small are accepted with a warning."))
    max_participants: int | None = Field(None, ge=1, le=50)
    max_participant_duration: int | None = Field(None, ge=600, le=86400, description=(
        "Seconds, from 600 (10 minutes) to 86400 (24 hours); Twilio's default is 14400."))
    empty_room_timeout: int | None = Field(None, ge=1, le=60, description=(
        "Minutes the room stays after the last participant leaves (default 5)."))
    unused_room_timeout: int | None = Field(None, ge=1, le=60, description=(
        "Minutes the room stays when nobody ever joins (default 5)."))
    status_callback: Url | None = None
    status_callback_method: HttpMethod | None = None
    record_participants_on_connect: bool | None = None
    transcribe_participants_on_connect: bool | None = None
    transcriptions_configuration: dict[str, Any] | None = None
    recording_rules: list[RecordingRule] | None = None
    video_codecs: list[Literal["VP8", "H264"]] | None = Field(
        None, max_length=2, json_schema_extra={"uniqueItems": True})
    media_region: MEDIA_REGIONS | None = None
    audio_only: bool | None = None
    large_room: bool | None = None
    enable_turn: bool | None = Field(None, description="Deprecated: always considered true.")

    def rule_violations(self) -> Iterator[Violation]:
        room_type = self.type or "group"
        if room_type in LEGACY_TYPES:
            older = OLDER_LIMITS.get(room_type)
            yield Violation("type", (
                f"`type: {room_type}` is a legacy room type: Twilio's current docs say"
                " `group` is the only one, so Twilio may create a group room"
                + (f" (older docs gave {room_type} rooms {older})" if older else "")
                + "; write `type: group`, or leave `type` out"), warning=True)
        if self.audio_only and self.video_codecs:
            yield Violation("video_codecs", "an audio_only room carries no video:"
                                            " remove video_codecs or audio_only",
                            ("audio_only",))
        if self.audio_only and room_type != "group":  # Twilio error 53124
            yield Violation("audio_only", f"audio_only is available in group rooms only,"
                                          f" not in {room_type} rooms", ("type",))
        if self.video_codecs and len(set(self.video_codecs)) != len(self.video_codecs):
            yield Violation("video_codecs", "video_codecs lists a codec twice")


class TwilioCredentials(StrictModel):
    account_sid: EnvReference = Field(description="Account SID (AC…) or API key SID (SK…).")
    auth_token: EnvReference = Field(description="Auth token, or the API key's secret.")


TwilioDefaults = defaults_model("TwilioDefaults", TwilioRoom)


class TwilioAccount(Account):
    type: Literal["twilio"] = "twilio"
    credentials: TwilioCredentials
    defaults: TwilioDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[TwilioRoom] = Field(default_factory=list)


MODELS = ProviderModels("twilio", TwilioAccount, (RoomKind("rooms", TwilioRoom),))
