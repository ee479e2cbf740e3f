"""SignalWire's side of `convert`: rooms and conferences against the shared concepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from reconcile.convert.keys import key_rule
from reconcile.convert.mapping import (
    TOKEN_ONLY,
    Choice,
    Codec,
    Context,
    Flag,
    Instant,
    Issue,
    KindMapping,
    Number,
    Outcome,
    Read,
)
from reconcile.providers.signalwire.model import (
    Layout,
    SignalWireConference,
    SignalWireRoom,
    parse_timestamp,
)

SIZES = {"small": 10, "medium": 50, "large": 300}
# A live room's layout, against a recording's elsewhere: never the same thing.
LIVE_LAYOUT = "the layout of the live room"


@dataclass(frozen=True)
class Size(Codec):
    """A conference's `size`: the smallest size whose cap holds the count."""

    fields = ("size",)
    default = SIZES["medium"]

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        return (SIZES[room["size"]], []) if "size" in room else None

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        size = next((name for name, cap in SIZES.items() if value <= cap), "large")
        if SIZES[size] == value:
            return {"size": size}, []
        return {"size": size}, [Issue(Outcome.LOSSY, f"{value} participants → size {size}"
                                                     f" (up to {SIZES[size]})")]

    def describe(self) -> str:
        return "`size` (small 10, medium 50, large 300)"


@dataclass(frozen=True)
class RemoveAtExpiry(Codec):
    """Eject at expiry, as a room's `remove_at` equal to its `join_until`."""

    fields = ("remove_at",)
    default = False

    def read(self, room: Mapping[str, Any], ctx: Context) -> Read | None:
        if "remove_at" not in room:
            return None
        until = room.get("join_until")
        if until is not None and parse_timestamp(str(until)) == parse_timestamp(
                str(room["remove_at"])):
            return True, []
        return None, [Issue(Outcome.LOSSY, "`remove_at` is not the expiry (`join_until`):"
                                           " only removal at expiry can move", "remove_at")]

    def write(self, value: Any, ctx: Context) -> tuple[dict[str, Any], list[Issue]]:
        if not value:
            return {}, []
        expiry = ctx.values.get("expiry")
        if expiry is None:
            return {}, [Issue(Outcome.LOSSY, "eject at expiry without an expiry: left out")]
        return Instant("remove_at", parse_timestamp).write(expiry, ctx)

    def describe(self) -> str:
        return "`remove_at` = `join_until`"


LAYOUTS = {name: name for name in get_args(Layout)}


def _shared(**concepts: Codec) -> dict[str, Codec]:
    return {
        "record_on_start": Flag("record_on_start", default=False),
        "not_before": Instant("join_from", parse_timestamp),
        "expiry": Instant("join_until", parse_timestamp),
        "layout": Choice("layout", LAYOUTS, default="grid-responsive", flavour=LIVE_LAYOUT),
        **TOKEN_ONLY,
        **concepts,
    }


CROSSWALK = {
    "rooms": KindMapping(key_rule(SignalWireRoom), _shared(
        capacity=Number("max_members", 1, 300, default=20),
        eject_at_expiry=RemoveAtExpiry(),
        participant_limit=Number("remove_after_seconds_elapsed", 1, 200000),
    )),
    "conferences": KindMapping(key_rule(SignalWireConference), _shared(
        capacity=Size(),
        chat=Flag("enable_chat", default=True),
        camera_off=Flag("user_join_video_off", confirmed=False),
    )),
}
