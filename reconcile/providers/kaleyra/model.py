"""Kaleyra Video (Bandyer) rooms. Rooms have no name on Kaleyra: `name` is our key, kept
in a state file with the room_id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from reconcile.models import (
    INT32_MAX,
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

MIN_PARTICIPANTS, MAX_PARTICIPANTS = 2, 25


class Tools(StrictModel):
    """Tools a participant may use. Absent: every tool; present: only those set true."""

    chat: bool | None = None
    screen_sharing: bool | None = None
    file_upload: bool | None = None
    whiteboard: bool | None = None
    snapshot: bool | None = None
    live_edit: bool | None = None
    live_pointer: bool | None = None
    present_to_everyone: bool | None = None
    sign: bool | None = None


class Participant(StrictModel):
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"is_admin": {"const": True}}, "required": ["is_admin"]},
        "then": {"properties": {"role": {"not": {"const": "basic"}}}}})

    user_id: Templated[Annotated[str, *matching(
        r"^[A-Za-z0-9_.@-]+$", "may contain only letters, digits and `_.@-`",
        min_length=1, max_length=128)]]
    is_admin: bool = False
    role: Literal["basic", "plus"] | None = Field(None, description=(
        "The role the user is created with when missing (admins default to plus)."))
    tools: Tools | None = None


def _schema_rules(schema: dict[str, Any]) -> None:
    only_key_required(schema, "name")
    schema["allOf"] = [
        {"if": {"properties": {"summarization": {"const": True}},
                "required": ["summarization"]},
         "then": {"properties": {"offline_transcription": {"const": True}}}},
        {"if": {"properties": {"offline_transcription": {"const": True}},
                "required": ["offline_transcription"]},
         "then": {"properties": {"recording": {"enum": ["automatic", "manual"]}}}},
        {"properties": {"participants": {"contains": {
            "properties": {"is_admin": {"const": True}}, "required": ["is_admin"]}}}},
    ]


class KaleyraRoom(Room):
    KEY_FIELD = "name"
    # What a schema can say of the rules below. Fields may come from `defaults`, which a
    # schema cannot see, so rules constrain values only when a field is present.
    model_config = ConfigDict(json_schema_extra=lambda schema: _schema_rules(schema))

    name: Templated[Annotated[str, *matching(
        r"^[A-Za-z0-9_.-]+$", "may contain only letters, digits and `_.-`",
        min_length=1, max_length=128)]] = Field(description=(
            "The room's identity in the state file (Kaleyra rooms have no name)."))
    recording: Literal["none", "automatic", "manual"] | None = Field(None, description=(
        "Default none."))
    duration: int | None = Field(None, ge=60, le=INT32_MAX, description=(
        "Seconds of effective call time the room allows (unlimited when unset)."))
    call_type: Literal["audio_video", "audio_upgradable", "audio_only"] | None = None
    no_ringing: bool | None = None
    description: Templated[Annotated[str, Field(max_length=10000)]] | None = Field(
        None, description="Treated as PII/PHI: masked in every output.")
    participants: list[Participant] = Field(
        min_length=MIN_PARTICIPANTS, max_length=MAX_PARTICIPANTS,
        examples=[[{"user_id": "host", "is_admin": True}, {"user_id": "guest"}]])
    offline_transcription: bool | None = None
    summarization: bool | None = None

    def rule_violations(self) -> Iterator[Violation]:
        if self.summarization and not self.offline_transcription:
            yield Violation("summarization", "summarization needs offline_transcription: true",
                            ("offline_transcription",))
        if self.offline_transcription and (self.recording or "none") == "none":
            yield Violation("offline_transcription",
                            "offline_transcription needs recording set to automatic or manual",
                            ("recording",))
        if not any(p.is_admin for p in self.participants):
            yield Violation("participants", "a room needs at least one participant with"
                                            " is_admin: true")
        first: dict[str, int] = {}
        for index, participant in enumerate(self.participants):
            if participant.user_id in first:
                yield Violation(("participants", index, "user_id"),
                                f"user `{participant.user_id}` is listed twice",
                                first_at=("participants", first[participant.user_id], "user_id"))
            first.setdefault(participant.user_id, index)
            if participant.is_admin and participant.role == "basic":
                yield Violation(("participants", index, "role"),
                                f"admin `{participant.user_id}` needs the plus role: write"
                                " `role: plus` or remove `role`")


class KaleyraCredentials(StrictModel):
    api_key: EnvReference = Field(description="The API key sent in the `apikey` header.")


KaleyraDefaults = defaults_model("KaleyraDefaults", KaleyraRoom)


class KaleyraAccount(Account):
    PER_ALIAS_DEFAULTS = frozenset({"state"})  # unset: .reconcile/kaleyra-<alias>.json

    type: Literal["kaleyra"] = "kaleyra"
    region: Literal["eu", "in", "us"] = Field(description="The region of the account.")
    environment: Literal["sandbox", "production"] = Field("production", description=(
        "sandbox uses api.sandbox.<region>.bandyer.com."))
    state: Templated[Annotated[str, Field(min_length=1)]] | None = Field(None, description=(
        "Where the name-to-room_id state lives, relative to the rooms file"
        " (default .reconcile/kaleyra-<account>.json)."))
    credentials: KaleyraCredentials
    defaults: KaleyraDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[KaleyraRoom] = Field(default_factory=list)


MODELS = ProviderModels("kaleyra", KaleyraAccount, (RoomKind("rooms", KaleyraRoom),),
                        sensitive_fields=frozenset({"description", "participants"}))  # PII/PHI
