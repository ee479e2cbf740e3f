"""Daily rooms: the room's `name` and `privacy`, and every property of its `properties`
object written directly on the room, in Daily's own snake_case names (the permissions
object keeps Daily's camelCase keys). U-numbers refer to docs/providers/daily.md."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from reconcile.messages import describe, suggest
from reconcile.models import (
    INT32_MAX,
    MAX_UNIX_SECONDS,
    URL_PATTERN,
    Account,
    EnvReference,
    ProviderModels,
    Room,
    RoomKind,
    StrictModel,
    Templated,
    Violation,
    defaults_model,
    matching,
    only_key_required,
)
from reconcile.providers.daily import properties as p

Privacy = Literal["public", "private"]
Recording = Literal["cloud", "local", "raw-tracks"]
Language = Literal["da", "de", "en", "es", "fi", "fr", "it", "jp", "ka", "nl", "no", "pt",
                   "pt-BR", "pl", "ru", "sv", "tr", "user"]
Region = Literal["af-south-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
                 "ap-south-1", "eu-central-1", "eu-west-2", "sa-east-1", "us-east-1",
                 "us-west-2"]
RtmpRegion = Literal["us-west-2", "eu-central-1", "ap-south-1"]
Media = Literal["video", "audio", "screenVideo", "screenAudio"]
AdminRight = Literal["participants", "streaming", "transcription"]
UnixSeconds = Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)]
Text = Templated[Annotated[str, Field(min_length=1, max_length=1024)]]
HOOK = Templated[Annotated[str, *matching(
    URL_PATTERN, "must be an absolute URL with a scheme, such as https://…",
    max_length=p.HOOK_MAX)]]
TEMPLATE_PATTERN = r"^[A-Za-z0-9./_{}-]*\{epoch_time\}[A-Za-z0-9./_{}-]*$"
RecordingTemplate = Templated[Annotated[str, *matching(
    TEMPLATE_PATTERN, "must contain {epoch_time} and only letters, digits, `.`, `/`, `-`,"
    " `_` and {replacements}", max_length=p.TEMPLATE_MAX)]]
DAY = 86_400


class Bucket(StrictModel):
    """A customer storage bucket Daily writes into (it assumes a role: no secret here)."""

    storage_provider: Literal["aws", "oci"] | None = Field(None, description=(
        "aws (when unset) or oci (Oracle Cloud, provisioned by Daily)."))
    bucket_name: Text | None = None
    bucket_region: Text | None = Field(None, description="The bucket's region, e.g. us-west-2.")
    namespace: Text | None = Field(None, description="OCI only: the storage namespace.")
    assume_role_arn: Text | None = Field(None, description=(
        "AWS only: the role Daily assumes to write to the bucket."))
    allow_api_access: bool | None = Field(None, description=(
        "Whether Daily's API can hand out links to what is stored."))


class RecordingsBucket(Bucket):
    allow_streaming_from_bucket: bool | None = Field(None, description=(
        "Links play inline in a browser instead of downloading (default false)."))


class RtmpConfig(StrictModel):
    url: Templated[Annotated[str, *matching(
        r"^rtmps?://\S+$", "must be an rtmp:// or rtmps:// URL")]]


class StreamingEndpoint(StrictModel):
    name: Text = Field(description="What startLiveStreaming() names the endpoint by.")
    type: Literal["rtmp", "hls"]
    rtmp_config: RtmpConfig | None = None
    hls_config: dict[str, Any] | None = Field(None, description=(
        "HLS output: storage bucket, variants and the rest, passed to Daily as written."))


class DialoutConfig(StrictModel):
    allow_room_start: bool | None = Field(None, description=(
        "A dial-out may start the meeting (default false)."))
    dialout_geo: Text | None = Field(None, description="The region dial-outs leave from.")
    max_idle_timeout_sec: int | None = Field(None, ge=0, le=INT32_MAX, description=(
        "Seconds a dialled-out call may idle (default 0)."))


def _rights(allowed: Any) -> WrapValidator:
    """true, false or a list of `allowed`: one message for a bad value (the union would
    give one per form the value could have taken), naming the first bad entry of a list."""
    names = get_args(allowed)

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, bool):
            return value
        bad = [item for item in value if item not in names] if isinstance(value, list) \
            else [value]
        if not bad:
            return handler(value)
        hint = suggest(bad[0], names) if isinstance(bad[0], str) else ""
        raise PydanticCustomError("rights", "must be true, false or a list of {allowed},"
                                  " got {got}{hint}", {"allowed": ", ".join(names),
                                                       "got": describe(bad[0]), "hint": hint})

    return WrapValidator(check)


SendRights = Annotated[bool | list[Media], _rights(Media)]
AdminRights = Annotated[bool | list[AdminRight], _rights(AdminRight)]


class Permissions(StrictModel):
    """Defaults for participants without an owner token (token > room > domain)."""

    has_presence: bool | None = Field(None, alias="hasPresence", description=(
        "Whether they appear as present in the call."))
    can_send: SendRights | None = Field(None, alias="canSend", description=(
        "true, false, or the media they may send."))
    can_receive: dict[str, Any] | None = Field(None, alias="canReceive", description=(
        "What they may receive, as Daily's canReceive object."))
    can_admin: AdminRights | None = Field(None, alias="canAdmin", description=(
        "true, false, or what they may administer."))


def _schema_rules(schema: dict[str, Any]) -> None:
    only_key_required(schema, "name")


class DailyRoom(Room):
    KEY_FIELD = "name"
    KEY_IGNORES_CASE = True  # U7: whether Daily tells `Desk` from `desk` is not documented
    model_config = ConfigDict(json_schema_extra=lambda schema: _schema_rules(schema))

    name: Templated[Annotated[str, *matching(
        p.NAME_PATTERN, "may contain only letters, digits, `_` and `-`", min_length=1,
        max_length=p.NAME_MAX)]] = Field(description=(
            "The room's name, unique in the Daily domain and the last part of its URL;"
            " cannot change (a rename creates a new room and deletes the old one)."))
    privacy: Privacy | None = Field(None, description=(
        "public: anyone with the URL joins; private: a meeting token is needed (or a knock"
        " an owner admits). Daily's default is public."))
    nbf: UnixSeconds | None = Field(None, description="Nobody joins before this Unix time.")
    exp: UnixSeconds | None = Field(None, description=(
        "Nobody joins after this Unix time; Daily then hides the room and removes it later."))
    max_participants: int | None = Field(None, ge=1, le=INT32_MAX, description=(
        "People in the room at once (default 200; more only by arrangement with Daily)."))
    enable_people_ui: bool | None = Field(None, description="Prebuilt: the People panel.")
    enable_pip_ui: bool | None = Field(None, description="Prebuilt: picture in picture.")
    enable_emoji_reactions: bool | None = Field(None, description="Prebuilt: reactions.")
    enable_hand_raising: bool | None = Field(None, description="Prebuilt: raising hands.")
    enable_prejoin_ui: bool | None = Field(None, description=(
        "Prebuilt: a camera and microphone check before joining."))
    enable_live_captions_ui: bool | None = Field(None, description=(
        "Prebuilt: a captions button (needs transcription)."))
    enable_network_ui: bool | None = Field(None, description="Prebuilt: the network panel.")
    enable_noise_cancellation_ui: bool | None = Field(None, description=(
        "Prebuilt: noise cancellation controls."))
    enable_breakout_rooms: bool | None = Field(None, description="Prebuilt: breakout rooms.")
    enable_knocking: bool | None = Field(None, description=(
        "Private rooms: people without a token may knock and wait to be let in."))
    enable_screenshare: bool | None = Field(None, description=(
        "Screen sharing (default true); a change applies from the next session."))
    enable_video_processing_ui: bool | None = Field(None, description=(
        "Prebuilt: background blur controls (default true)."))
    enable_chat: bool | None = Field(None, description="Prebuilt: text chat (default false).")
    enable_shared_chat_history: bool | None = Field(None, description=(
        "Prebuilt: newcomers see earlier chat messages (default true)."))
    start_video_off: bool | None = Field(None, description="Cameras start off on join().")
    start_audio_off: bool | None = Field(None, description="Microphones start off on join().")
    owner_only_broadcast: bool | None = Field(None, description=(
        "Prebuilt: only owners may send camera, microphone or screen."))
    enable_recording: Recording | None = Field(None, description=(
        "Which kind of recording is allowed (none when unset); it starts none."))
    eject_at_room_exp: bool | None = Field(None, description=(
        "Remove everyone when exp is reached (tokens may say otherwise)."))
    eject_after_elapsed: int | None = Field(None, ge=1, le=INT32_MAX, description=(
        "Remove each participant this many seconds after they joined."))
    enable_advanced_chat: bool | None = Field(None, description=(
        "Prebuilt: reactions and pickers in chat."))
    enable_hidden_participants: bool | None = Field(None, description=(
        "Non-owners join hidden and receive only owners' media."))
    enable_mesh_sfu: bool | None = Field(None, description="Several SFUs for very large calls.")
    sfu_switchover: float | None = Field(None, ge=0, description=(
        "Participant count past which the call leaves peer-to-peer (default 0.5)."))
    enable_adaptive_simulcast: bool | None = Field(None, description=(
        "Adaptive bitrate in one-to-one calls (default true)."))
    enable_multiparty_adaptive_simulcast: bool | None = Field(None, description=(
        "Adaptive bitrate in group calls; needs enable_adaptive_simulcast."))
    enforce_unique_user_ids: bool | None = Field(None, description=(
        "A second join with a user_id removes the first."))
    experimental_optimize_large_calls: bool | None = Field(None, description=(
        "Prebuilt: settings for calls of up to 1,000 people."))
    lang: Language | None = Field(None, description=(
        "Prebuilt's language; user follows the browser (the domain's when unset)."))
    meeting_join_hook: HOOK | None = Field(None, description=(
        "A URL told of each join (at most 255 characters)."))
    geo: Region | None = Field(None, description=(
        "The SFU region (when unset: nearest the first participant)."))
    rtmp_geo: RtmpRegion | None = Field(None, description="Where RTMP streams leave from.")
    disable_rtmp_geo_fallback: bool | None = Field(None, description=(
        "Fail instead of streaming from another region than rtmp_geo."))
    recordings_bucket: RecordingsBucket | None = Field(None, description=(
        "Your own bucket for cloud recordings."))
    enable_terse_logging: bool | None = Field(None, description=(
        "Fewer log messages (for calls over 200 people)."))
    auto_transcription_settings: dict[str, Any] | None = Field(None, description=(
        "Options for transcription a meeting token starts automatically."))
    enable_transcription_storage: bool | None = Field(None, description=(
        "Keep transcriptions as WebVTT files."))
    transcription_bucket: Bucket | None = Field(None, description=(
        "Your own bucket for transcriptions."))
    recordings_template: RecordingTemplate | None = Field(None, description=(
        "Recording file names, with {epoch_time} and optional {domain_name}, {room_name},"
        " {mtg_session_id}, {instance_id}, {recording_id}; .mp4 is the only extension."))
    transcription_template: RecordingTemplate | None = Field(None, description=(
        "Transcription file names, with {epoch_time} like recordings_template."))
    enable_dialout: bool | None = Field(None, description="Calls out to phones and SIP.")
    dialout_config: DialoutConfig | None = None
    streaming_endpoints: list[StreamingEndpoint] | None = Field(None, description=(
        "Live-streaming targets started by name; null clears them. Stream URLs carry keys:"
        " masked in output."))
    permissions: Permissions | None = None

    def rule_violations(self) -> Iterator[Violation]:
        yield from _time_rules(self)
        if self.enable_knocking and self.privacy != "private":  # U18
            yield Violation("enable_knocking", "enable_knocking has no effect unless privacy"
                            " is private", ("privacy",), warning=True)
        if self.enable_multiparty_adaptive_simulcast and self.enable_adaptive_simulcast is False:
            yield Violation("enable_multiparty_adaptive_simulcast",
                            "enable_multiparty_adaptive_simulcast needs"
                            " enable_adaptive_simulcast, which is false",
                            ("enable_adaptive_simulcast",))
        if self.max_participants is not None and self.max_participants > p.PARTICIPANT_CAP:
            yield Violation("max_participants", f"Daily allows more than {p.PARTICIPANT_CAP}"
                            " participants only after you contact them", warning=True)
        template = self.recordings_template
        if template and "." in template.rsplit("/", 1)[-1] and not template.endswith(".mp4"):
            yield Violation("recordings_template", "the only file extension Daily allows is"
                            " .mp4")
        for index, endpoint in enumerate(self.streaming_endpoints or ()):
            if endpoint.type == "rtmp" and endpoint.rtmp_config is None:
                yield Violation(("streaming_endpoints", index, "rtmp_config"),
                                "an rtmp endpoint needs rtmp_config")


def _time_rules(room: DailyRoom) -> Iterator[Violation]:
    if room.nbf is not None and room.exp is not None and room.nbf >= room.exp:
        yield Violation("nbf", "nbf must be earlier than exp", ("exp",))
    if room.exp is not None:
        now = time.time()
        if room.exp <= now:  # U16: Daily would hide the room at once
            yield Violation("exp", "exp is in the past: Daily would hide the room at once"
                            " and delete it later")
        elif room.exp - now < DAY:
            yield Violation("exp", "exp is less than 24 hours away: Daily then hides the"
                            " room and deletes it", warning=True)
    if room.eject_at_room_exp and room.exp is None:
        yield Violation("eject_at_room_exp", "eject_at_room_exp has no effect without exp",
                        ("exp",), warning=True)


class DailyCredentials(StrictModel):
    api_key: EnvReference = Field(description=(
        "The domain's API key (dashboard, Developers): one key per domain."))


DailyDefaults = defaults_model("DailyDefaults", DailyRoom)


class DailyAccount(Account):
    type: Literal["daily"] = "daily"
    credentials: DailyCredentials
    defaults: DailyDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[DailyRoom] = Field(default_factory=list)


# Stream URLs carry stream keys; the buckets name roles, not secrets.
MODELS = ProviderModels("daily", DailyAccount, (RoomKind("rooms", DailyRoom),),
                        sensitive_fields=frozenset({"streaming_endpoints"}))
