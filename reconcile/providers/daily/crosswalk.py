"""Daily's side of `convert`: its room fields against the shared concepts (crosswalk.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconcile.convert.keys import key_rule
from reconcile.convert.mapping import (
    Choice,
    Codec,
    Context,
    Flag,
    Instant,
    Issue,
    KindMapping,
    Number,
    Outcome,
    Privacy,
    Read,
    Url,
)
from reconcile.providers.daily.model import DailyRoom
from reconcile.providers.daily.properties import PARTICIPANT_CAP

# Daily's SFU regions against neutral region names; exact ones first, so that reading a
# region gives its own place (eu-west-2 is London, not Ireland).
REGIONS = {"us-east": "us-east-1", "us-west": "us-west-2", "eu-london": "eu-west-2",
           "eu-frankfurt": "eu-central-1", "australia": "ap-southeast-2",
           "brazil": "sa-east-1", "korea": "ap-northeast-2", "singapore": "ap-southeast-1",
           "india": "ap-south-1", "south-africa": "af-south-1",
           "eu-ireland": "eu-west-2", "japan": "ap-northeast-2"}
NEAREST = {"eu-ireland": "Dublin becomes London", "japan": "Tokyo becomes Seoul"}
FIELD = "enable_recording"


@dataclass(frozen=True)
class RecordingAllowed(Codec):
    """`enable_recording`: which kind of recording participants may start."""

    fields = (FIELD,)
    default = False

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        if FIELD not in room:
            return None
        kind = room[FIELD]
        lossy = [Issue(Outcome.LOSSY, f"{FIELD}: {kind} becomes recording allowed, of one"
                                      " kind", FIELD)] if kind not in (None, "cloud") else []
        return kind is not None, lossy

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if value:
            return {FIELD: "cloud"}, []
        if ctx.values.get("record_on_start"):  # written before: recording is not allowed
            return {FIELD: None}, [Issue(Outcome.LOSSY, f"recording is not allowed, so {FIELD}"
                                                        " stays unset: nothing records on"
                                                        " start either")]
        return {}, []

    def describe(self) -> str:
        return f"`{FIELD}` (cloud, local or raw-tracks allowed)"


@dataclass(frozen=True)
class RecordOnStart(Codec):
    """Daily never starts recording by itself: the nearest room setting allows it."""

    default = False

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        return False, []  # whatever the room declares

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if not value:
            return {}, []
        return {FIELD: "cloud"}, [Issue(Outcome.LOSSY, f"{FIELD}: cloud allows recording but"
                                                       " starts none: start it with an owner"
                                                       " token or the recordings API")]

    def describe(self) -> str:
        return f"— (`{FIELD}` only allows)"


CROSSWALK = {"rooms": KindMapping(
    key_rule(DailyRoom),
    {
        "capacity": Number("max_participants", 1, PARTICIPANT_CAP, default=PARTICIPANT_CAP),
        "record_on_start": RecordOnStart(),
        "recording_allowed": RecordingAllowed(),
        "not_before": Instant("nbf"),
        "expiry": Instant("exp"),
        "eject_at_expiry": Flag("eject_at_room_exp", default=False),
        "participant_limit": Number("eject_after_elapsed", 1),
        "webhook": Url("meeting_join_hook"),
        "privacy": Privacy("Daily meeting tokens"),
        "knocking": Flag("enable_knocking", default=False),
        "chat": Flag("enable_chat", default=False),
        "screen_sharing": Flag("enable_screenshare", default=True),
        "camera_off": Flag("start_video_off", default=False),
        "mic_off": Flag("start_audio_off", default=False),
        "region": Choice("geo", REGIONS, NEAREST),
    },
)}
