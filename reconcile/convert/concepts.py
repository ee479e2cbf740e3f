"""The shared room concepts `convert` moves rooms through (from the provider crosswalk).

The order matters: a codec may look at concepts read before it (the SignalWire eject
instant is the expiry), so expiry comes before eject-at-expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Concept:
    name: str
    title: str  # how messages and the docs' table name it
    unit: str  # the neutral form of its value
    neutral: Any = None  # the value that asks for nothing special: never reported lost
    lost: str = ""  # what a target without the concept means for a source's default
    carried: str = ""  # a note whenever a value moves between two providers


CONCEPTS: tuple[Concept, ...] = (
    Concept("capacity", "max participants", "count"),
    Concept("record_on_start", "recording on start", "bool", False),
    Concept("recording_allowed", "recording allowed (started by hand)", "bool", False),
    Concept("idle_timeout", "empty-room / inactivity timeout", "seconds",
            lost="the rooms no longer end by themselves when idle: delete them when done"),
    Concept("not_before", "not before", "instant"),
    Concept("expiry", "expiry", "instant"),
    Concept("eject_at_expiry", "eject at expiry", "bool", False),
    Concept("participant_limit", "per-participant time limit", "seconds",
            lost="participants are no longer removed after a time"),
    Concept("webhook", "status / webhook URL", "URL (+ method)",
            carried="the URL is carried, but the events and their payloads change:"
                    " adapt the receiver"),
    Concept("privacy", "privacy", "token | private | public"),
    Concept("knocking", "knocking / request to join", "bool", False),
    Concept("chat", "chat", "bool"),
    Concept("screen_sharing", "screen sharing", "bool"),
    Concept("camera_off", "camera off at join", "bool", False),
    Concept("mic_off", "microphone off at join", "bool", False),
    Concept("audio_only", "audio only", "bool", False),
    Concept("region", "media region", "region"),
    Concept("layout", "layout", "layout"),
)

BY_NAME = {concept.name: concept for concept in CONCEPTS}

# The neutral names of media regions: where the data centre is. Each provider maps its own
# region ids to these (Twilio's ie1 is eu-ireland), so two providers meet without knowing
# each other's ids.
REGIONS = ("us-east", "us-west", "eu-ireland", "eu-london", "eu-frankfurt", "australia",
           "brazil", "japan", "korea", "singapore", "india", "south-africa", "global")
