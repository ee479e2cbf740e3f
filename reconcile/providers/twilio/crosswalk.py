"""Twilio's side of `convert`: its room fields against the shared concepts."""

from __future__ import annotations

from reconcile.convert.keys import key_rule
from reconcile.convert.mapping import (
    TOKEN_ONLY,
    Choice,
    Flag,
    KindMapping,
    Number,
    Url,
)
from reconcile.providers.twilio.model import TwilioRoom

# Twilio's media regions against neutral region names (where each data centre is).
REGIONS = {"us-east": "us1", "us-west": "us2", "eu-ireland": "ie1", "eu-frankfurt": "de1",
           "australia": "au1", "brazil": "br1", "japan": "jp1", "singapore": "sg1",
           "india": "in1", "global": "gll"}

CROSSWALK = {"rooms": KindMapping(
    key_rule(TwilioRoom),
    {
        "capacity": Number("max_participants", 1, 50, confirmed=False),
        "record_on_start": Flag("record_participants_on_connect", default=False),
        # Minutes; the room ends this long after the last participant left.
        "idle_timeout": Number("empty_room_timeout", 1, 60, unit=60, default=300,
                               flavour="the room ends this long after its last participant"
                                       " left"),
        "participant_limit": Number("max_participant_duration", 1, 86400, default=14400),
        "webhook": Url("status_callback", "status_callback_method"),
        "audio_only": Flag("audio_only", default=False),
        "region": Choice("media_region", REGIONS),
        **TOKEN_ONLY,
    },
)}
