"""Telnyx's side of `convert`: its room fields against the shared concepts."""

from __future__ import annotations

from reconcile.convert.keys import key_rule
from reconcile.convert.mapping import TOKEN_ONLY, Flag, KindMapping, Number, Url
from reconcile.providers.telnyx.model import TelnyxRoom

CROSSWALK = {"rooms": KindMapping(
    key_rule(TelnyxRoom),
    {
        "capacity": Number("max_participants", 2, 50, default=10),
        "record_on_start": Flag("enable_recording", default=False),
        "webhook": Url("webhook_event_url"),
        **TOKEN_ONLY,
    },
)}
