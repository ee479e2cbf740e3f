"""Telnyx's side of `convert`: its room fields against the shared concepts."""

from __future__ import annotations

from reconcile.convert.mapping import TOKEN_ONLY, Flag, KeyRule, KindMapping, Number, Url

CROSSWALK = {"rooms": KindMapping(
    KeyRule("unique_name", max_length=255),
    {
        "capacity": Number("max_participants", 2, 50, default=10),
        "record_on_start": Flag("enable_recording", default=False),
        "webhook": Url("webhook_event_url"),
        **TOKEN_ONLY,
    },
)}
