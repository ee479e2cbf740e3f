"""Telnyx Video rooms, in the snake_case names of the Rooms API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from reconcile.models import (
    Account,
    EnvReference,
    ProviderModels,
    Room,
    RoomKind,
    StrictModel,
    Templated,
    Url,
    defaults_model,
    only_key_required,
)


class TelnyxRoom(Room):
    KEY_FIELD = "unique_name"
    model_config = ConfigDict(
        json_schema_extra=lambda schema: only_key_required(schema, "unique_name"))

    unique_name: Templated[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        description="The room's identity, unique within the Telnyx account.")
    max_participants: int | None = Field(None, ge=2, le=50, description="2 to 50 (default 10).")
    enable_recording: bool | None = None
    webhook_event_url: Url | None = None
    webhook_event_failover_url: Url | None = None
    webhook_timeout_secs: int | None = Field(None, ge=0, le=30, description="At most 30 s.")


class TelnyxCredentials(StrictModel):
    api_key: EnvReference = Field(description="A Telnyx API v2 key.")


TelnyxDefaults = defaults_model("TelnyxDefaults", TelnyxRoom)


class TelnyxAccount(Account):
    type: Literal["telnyx"] = "telnyx"
    credentials: TelnyxCredentials
    defaults: TelnyxDefaults | None = None  # type: ignore[valid-type]  # built by defaults_model()
    rooms: list[TelnyxRoom] = Field(default_factory=list)


MODELS = ProviderModels("telnyx", TelnyxAccount, (RoomKind("rooms", TelnyxRoom),))
