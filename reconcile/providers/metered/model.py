"""Metered Video meeting rooms, in the API's camelCase names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from reconcile.models import (
    INT32_MAX,
    MAX_UNIX_SECONDS,
    Account,
    EnvReference,
    ProviderModels,
    Room,
    RoomKind,
    StrictModel,
    Templated,
    Url,
    Violation,
    defaults_model,
    matching,
    only_key_required,
)

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"  # what the emulator accepts too (U12)


COMPOSITION_NEEDED_BY = ("recordComposition", "enableRTMPOut", "enableLiveStreaming")


def _schema_rules(schema: dict[str, Any]) -> None:
    # rtmpOutURL may come from `defaults`, which a schema cannot see: only validate runs it.
    only_key_required(schema, "roomName")
    schema["allOf"] = [
        {"if": {"properties": {"enableComposition": {"const": False}},
                "required": ["enableComposition"]},
         "then": {"properties": {name: {"not": {"const": True}}
                                 for name in COMPOSITION_NEEDED_BY}}},
    ]


class MeteredRoom(Room):
    KEY_FIELD = "roomName"
    model_config = ConfigDict(json_schema_extra=lambda schema: _schema_rules(schema))

    # U12: Metered asks only for a URL-friendly name without spaces, and makes mixed-case
    # names itself (6kpYYvYj75): letters of either case, digits, `_` and `-`.
    room_name: Templated[Annotated[str, *matching(
        NAME_PATTERN, "may contain only letters, digits, `_` and `-` (it is part of the"
        " room's URL, so no spaces)", min_length=1, max_length=100)]] = Field(
            alias="roomName", description=(
                "The room's name, the last part of its URL: letters of either"
                " case, digits, `_` and `-`, no spaces. Case matters."))
    privacy: Literal["public", "private"] | None = Field(None, description=(
        "public: anyone can join; private: joining needs a token (sent as public when unset)."))
    expire_unix_sec: int | None = Field(None, alias="expireUnixSec", ge=0, le=MAX_UNIX_SECONDS)
    eject_at_room_exp: bool | None = Field(None, alias="ejectAtRoomExp")
    delete_on_exp: bool | None = Field(None, alias="deleteOnExp")
    not_before_unix_sec: int | None = Field(None, alias="notBeforeUnixSec", ge=0,
                                            le=MAX_UNIX_SECONDS)
    max_participants: int | None = Field(None, alias="maxParticipants", ge=1, le=INT32_MAX)
    auto_join: bool | None = Field(None, alias="autoJoin")
    show_invite_box: bool | None = Field(None, alias="showInviteBox")
    enable_request_to_join: bool | None = Field(None, alias="enableRequestToJoin")
    enable_chat: bool | None = Field(None, alias="enableChat")
    new_chat_for_meeting_session: bool | None = Field(None, alias="newChatForMeetingSession")
    enable_screen_sharing: bool | None = Field(None, alias="enableScreenSharing")
    join_video_on: bool | None = Field(None, alias="joinVideoOn")
    join_audio_on: bool | None = Field(None, alias="joinAudioOn")
    enable_recording: bool | None = Field(None, alias="enableRecording")
    owner_only_broadcast: bool | None = Field(None, alias="ownerOnlyBroadcast")
    record_room: bool | None = Field(None, alias="recordRoom")
    eject_after_elapsed_time_in_sec: int | None = Field(
        None, alias="ejectAfterElapsedTimeInSec", ge=1, le=INT32_MAX)
    meeting_join_webhook: Url | None = Field(None, alias="meetingJoinWebhook")
    meeting_left_webhook: Url | None = Field(None, alias="meetingLeftWebhook")
    meeting_started_webhook: Url | None = Field(None, alias="meetingStartedWebhook")
    meeting_ended_webhook: Url | None = Field(None, alias="meetingEndedWebhook")
    end_meeting_after_no_activity_in_sec: int | None = Field(
        None, alias="endMeetingAfterNoActivityInSec", ge=1, le=INT32_MAX)
    audio_only_room: bool | None = Field(None, alias="audioOnlyRoom")
    enable_composition: bool | None = Field(None, alias="enableComposition")
    composition_layout: Literal["grid", "active_speaker"] | None = Field(
        None, alias="compositionLayout")
    record_composition: bool | None = Field(None, alias="recordComposition")
    enable_rtmp_out: bool | None = Field(None, alias="enableRTMPOut")
    rtmp_out_url: Templated[Annotated[str, *matching(
        r"^rtmps?://\S+$", "must be an rtmp:// or rtmps:// URL")]] | None = Field(
            None, alias="rtmpOutURL")
    enable_live_streaming: bool | None = Field(None, alias="enableLiveStreaming")
    lang: Templated[Annotated[str, Field(min_length=2, max_length=16)]] | None = Field(
        None, description="Language of the meeting UI, such as en.")

    def rule_violations(self) -> Iterator[Violation]:
        if self.enable_rtmp_out and not self.rtmp_out_url:
            yield Violation("enableRTMPOut", "rtmpOutURL is required when enableRTMPOut is true")
        if (self.not_before_unix_sec is not None and self.expire_unix_sec is not None
                and self.not_before_unix_sec >= self.expire_unix_sec):
            yield Violation("notBeforeUnixSec",
                            "notBeforeUnixSec must be earlier than expireUnixSec",
                            ("expireUnixSec",))
        if self.enable_composition is False:
            for name in COMPOSITION_NEEDED_BY:
                if getattr(self, _ATTRIBUTE_OF[name]):
                    yield Violation(name, f"{name} needs enableComposition, which is false",
                                    ("enableComposition",))
        if self.eject_at_room_exp and self.expire_unix_sec is None:
            yield Violation("ejectAtRoomExp", "ejectAtRoomExp needs expireUnixSec")


_ATTRIBUTE_OF = {info.alias or name: name for name, info in MeteredRoom.model_fields.items()}


class MeteredCredentials(StrictModel):
    secret_key: EnvReference = Field(description="The app's secret key (Dashboard, Developers).")


MeteredDefaults = defaults_model("MeteredDefaults", MeteredRoom)


class MeteredAccount(Account):
    type: Literal["metered"] = "metered"
    app: Templated[Annotated[str, *matching(
        r"^[a-z0-9][a-z0-9-]*$", "may contain only lowercase letters, digits and `-`",
        max_length=63)]] = Field(examples=["acme"],
                                 description="The app name: <app>.metered.live.")
    credentials: MeteredCredentials
    defaults: MeteredDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[MeteredRoom] = Field(default_factory=list)


# An RTMP URL carries the stream key.
MODELS = ProviderModels("metered", MeteredAccount, (RoomKind("rooms", MeteredRoom),),
                        sensitive_fields=frozenset({"rtmpOutURL"}))
