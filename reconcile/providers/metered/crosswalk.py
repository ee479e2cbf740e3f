"""Metered's side of `convert`: its room fields against the shared concepts."""

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
    Hook,
    Instant,
    Issue,
    KindMapping,
    Number,
    Outcome,
    Privacy,
    Read,
)
from reconcile.providers.metered.model import MeteredRoom

# Started first: it is the hook kept when the four differ.
HOOKS = ("meetingStartedWebhook", "meetingEndedWebhook", "meetingJoinWebhook",
         "meetingLeftWebhook")
# Composition layouts, against SignalWire's live-room names (the neutral ones).
LAYOUTS = {"grid-responsive": "grid", "highlight-1-responsive": "active_speaker",
           **{name: "grid" for name in ("grid-responsive-mobile", "1x1", "2x1", "2x2", "5up",
                                         "3x3", "4x4", "5x5", "6x6", "8x8", "10x10")}}


@dataclass(frozen=True)
class Hooks(Codec):
    """One URL for the four meeting hooks (each hears one event)."""

    fields = HOOKS

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        declared = [(name, room[name]) for name in HOOKS if name in room]
        if not declared:
            return None
        kept = declared[0]
        others = [name for name, url in declared[1:] if url != kept[1]]
        issues = [Issue(Outcome.LOSSY, f"the hooks hold different URLs: only {kept[0]}'s is"
                                       f" kept, not {', '.join(others)}'s", others[0])] \
            if others else []
        return Hook(kept[1]), issues

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        issues = [Issue(Outcome.LOSSY, f"the {value.method} webhook becomes four POST hooks")] \
            if value.method != "POST" else []
        return dict.fromkeys(HOOKS, value.url), issues

    def describe(self) -> str:
        return "the four `meeting…Webhook` URLs"


CROSSWALK = {"rooms": KindMapping(
    key_rule(MeteredRoom),
    {
        "capacity": Number("maxParticipants", 1, confirmed=False),
        "record_on_start": Flag("recordRoom", default=False, confirmed=False),
        "recording_allowed": Flag("enableRecording", default=False, confirmed=False),
        "idle_timeout": Number("endMeetingAfterNoActivityInSec", 1,
                               flavour="the meeting ends when nobody shares audio, video or"
                                       " screen for this long"),
        "not_before": Instant("notBeforeUnixSec"),
        "expiry": Instant("expireUnixSec"),
        "eject_at_expiry": Flag("ejectAtRoomExp", default=False, confirmed=False),
        "participant_limit": Number("ejectAfterElapsedTimeInSec", 1),
        "webhook": Hooks(),
        "privacy": Privacy("Metered access tokens"),
        "knocking": Flag("enableRequestToJoin", default=False, confirmed=False),
        "chat": Flag("enableChat", default=False, confirmed=False),
        "screen_sharing": Flag("enableScreenSharing", default=True, confirmed=False),
        "camera_off": Flag("joinVideoOn", invert=True, default=False, confirmed=False),
        "mic_off": Flag("joinAudioOn", invert=True, default=False, confirmed=False),
        "audio_only": Flag("audioOnlyRoom", default=False, confirmed=False),
        "layout": Choice("compositionLayout", LAYOUTS,
                         flavour="the layout of the recorded composition"),
    },
)}
