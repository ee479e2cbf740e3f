"""Rooms through the shared concepts: the round-trip property for every pair of providers,
and the crosswalk's rules one by one (units, ranges, timestamps, webhooks, privacy)."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconcile.convert.concepts import CONCEPTS, REGIONS
from reconcile.convert.mapping import (
    LOSING,
    Choice,
    Codec,
    Context,
    Hook,
    Inherent,
    Issue,
    KindMapping,
    Outcome,
)
from reconcile.convert.translate import Translated, translate
from reconcile.providers import PROVIDER_PACKAGES, crosswalk, provider_models

NOW = 1_800_000_000  # 2027-01-15: every generated expiry is later
KINDS = {f"{p}:{kind}": mapping for p in PROVIDER_PACKAGES
         for kind, mapping in crosswalk(p).items()}
WRITABLE = [name for name, mapping in KINDS.items() if not mapping.refused]
PAIRS = list(permutations(WRITABLE, 2))

NEUTRAL: dict[str, st.SearchStrategy[Any]] = {
    "capacity": st.integers(1, 400),
    "idle_timeout": st.integers(1, 7200),
    "not_before": st.integers(NOW + 1, NOW + 10**7),
    "expiry": st.integers(NOW + 10**7 + 1, NOW + 10**8),
    "participant_limit": st.integers(1, 250_000),
    "webhook": st.builds(Hook, st.sampled_from(["https://hooks.example.com/a",
                                                "https://h.example.org/video?x=1"]),
                         st.sampled_from(["POST", "GET"])),
    "privacy": st.sampled_from(["token", "private", "public"]),
}


def model(name: str) -> Any:
    provider, kind = name.split(":")
    return next(k.model for k in provider_models(provider).kinds if k.name == kind)


def value_of(concept: str, codec: Codec) -> st.SearchStrategy[Any]:
    if isinstance(codec, Choice):
        return st.sampled_from(sorted(codec.table))
    return NEUTRAL.get(concept, st.booleans())


def real(mapping: KindMapping, concept: str) -> Codec | None:
    codec = mapping.concepts.get(concept)
    return None if codec is None or isinstance(codec, Inherent) else codec


@st.composite
def rooms(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A room of one kind that its model takes, built from neutral values."""
    mapping = KINDS[name]
    room: dict[str, Any] = {mapping.key.field: "room-1"}
    ctx = Context(name, name, NOW)
    for concept in CONCEPTS:
        codec = real(mapping, concept.name)
        if codec is None or not draw(st.booleans()):
            continue
        value = draw(value_of(concept.name, codec))
        ctx.values[concept.name] = value
        written, _ = codec.write(value, ctx)  # out of range: clamped into it
        room.update(written)
    try:
        checked = model(name).model_validate(room, context={"resolved": True})
    except ValidationError:
        assume(False)
    assume(not list(checked.rule_violations()))
    return room


def there_and_back(room: dict[str, Any], a: str, b: str
                   ) -> tuple[Translated, dict[str, Any], Translated]:
    there = translate(room, KINDS[a], KINDS[b], Context(a, b, NOW))
    moved = {KINDS[b].key.field: "room-1", **there.fields}
    back = translate(moved, KINDS[b], KINDS[a], Context(b, a, NOW))
    return there, moved, back


def read(mapping: KindMapping, concept: str, room: dict[str, Any]) -> Any:
    codec = mapping.concepts[concept]
    got = codec.read(room, Context("", "", NOW))
    return None if got is None else got[0]


def lost(issues: list[Issue], fields: tuple[str, ...]) -> bool:
    return any(i.outcome in LOSING and i.field in fields for i in issues)


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_shared_concept_survives_a_round_trip_and_every_loss_is_reported(
        a: str, b: str, data: st.DataObject) -> None:
    room = data.draw(rooms(a))
    there, moved, back = there_and_back(room, a, b)
    for concept in CONCEPTS:
        source, target = real(KINDS[a], concept.name), real(KINDS[b], concept.name)
        if source is None or not any(f in room for f in source.fields):
            continue
        value = read(KINDS[a], concept.name, room)
        if target is not None and source.flavour == target.flavour:
            _, issues = target.write(value, Context(a, b, NOW, dict(there.fields)))
            if not issues and not lost(there.issues, source.fields):
                # Both support it, and the value is in both ranges: it comes back as it was,
                # or left out when it is the source's documented default (rule 2).
                returned = read(KINDS[a], concept.name, back.fields)
                assert returned == value or (returned is None and source.confirmed
                                             and value == source.default), concept.name
    for name, value in room.items():
        if name == KINDS[a].key.field or back.fields.get(name) == value:
            continue
        # Anything that did not come back is named on the way there, or meant nothing.
        together = _together(a, name)
        named = any(i.field in together and i.outcome in LOSING | {Outcome.NOTE}
                    for i in there.issues)
        assert named or (name not in back.fields and _neutral_anyway(a, name, value)), (
            name, value, there.issues, back.fields)
    assert set(moved) >= {KINDS[b].key.field}


def _together(kind: str, name: str) -> tuple[str, ...]:
    """The fields one codec reads with `name` (the four Metered hooks)."""
    for codec in KINDS[kind].concepts.values():
        if name in codec.fields:
            return codec.fields
    return (name,)


def _neutral_anyway(kind: str, name: str, value: Any) -> bool:
    """A field left out that says what the provider does anyway (false, its default)."""
    for concept in CONCEPTS:
        codec = KINDS[kind].concepts.get(concept.name)
        if codec is not None and name in codec.fields:
            neutral = read(KINDS[kind], concept.name, {name: value})
            return neutral in (concept.neutral, codec.default)
    return False


def convert(a: str, b: str, room: dict[str, Any]) -> Translated:
    return translate(room, KINDS[a], KINDS[b], Context(a, b, NOW))


def outcomes(result: Translated) -> dict[str, set[Outcome]]:
    found: dict[str, set[Outcome]] = {}
    for issue in result.issues:
        found.setdefault(issue.field, set()).add(issue.outcome)
    return found


# (source kind, target kind, source room, target fields expected, {field: outcome})
RULES = [
    pytest.param("signalwire:rooms", "telnyx:rooms", {"name": "x", "max_members": 300},
                 {"max_participants": 50}, {"max_members": {Outcome.LOSSY}},
                 id="a value over the target's range is clamped, and lossy"),
    pytest.param("twilio:rooms", "signalwire:conferences",
                 {"unique_name": "x", "max_participants": 10}, {"size": "small"}, {},
                 id="a count that is a conference size is exact"),
    pytest.param("metered:rooms", "twilio:rooms",
                 {"roomName": "x", "endMeetingAfterNoActivityInSec": 90},
                 {"empty_room_timeout": 2},
                 {"endMeetingAfterNoActivityInSec": {Outcome.LOSSY}},
                 id="seconds become minutes, rounded up"),
    pytest.param("twilio:rooms", "metered:rooms", {"unique_name": "x", "empty_room_timeout": 10},
                 {"endMeetingAfterNoActivityInSec": 600},
                 {"empty_room_timeout": {Outcome.LOSSY}},
                 id="minutes become seconds, the trigger differs"),
    pytest.param("signalwire:rooms", "metered:rooms",
                 {"name": "x", "join_from": "2027-02-01", "join_until": "2027-02-01T10:00:00+02:00",
                  "remove_at": "2027-02-01T08:00:00Z"},
                 {"notBeforeUnixSec": 1801440000, "expireUnixSec": 1801468800,
                  "ejectAtRoomExp": True}, {},
                 id="RFC 3339 and dates become Unix seconds; remove_at at expiry is eject"),
    pytest.param("metered:rooms", "signalwire:rooms",
                 {"roomName": "x", "expireUnixSec": 1801468800, "ejectAtRoomExp": True},
                 {"join_until": "2027-02-01T08:00:00Z", "remove_at": "2027-02-01T08:00:00Z"},
                 {}, id="eject at expiry becomes remove_at"),
    pytest.param("metered:rooms", "signalwire:rooms", {"roomName": "x", "expireUnixSec": NOW},
                 {}, {"expireUnixSec": {Outcome.LOSSY}}, id="an expiry already past"),
    pytest.param("twilio:rooms", "telnyx:rooms",
                 {"unique_name": "x", "status_callback": "https://h.example.com/v",
                  "status_callback_method": "GET"},
                 {"webhook_event_url": "https://h.example.com/v"},
                 {"status_callback": {Outcome.LOSSY, Outcome.NOTE}},
                 id="a GET callback becomes a POST"),
    pytest.param("metered:rooms", "telnyx:rooms",
                 {"roomName": "x", "meetingStartedWebhook": "https://a.example.com/",
                  "meetingLeftWebhook": "https://b.example.com/"},
                 {"webhook_event_url": "https://a.example.com/"},
                 {"meetingLeftWebhook": {Outcome.LOSSY}, "meetingStartedWebhook": {Outcome.NOTE}},
                 id="different Metered hooks keep the started one"),
    pytest.param("metered:rooms", "telnyx:rooms", {"roomName": "x", "privacy": "public",
                                                   "enableChat": True},
                 {}, {"privacy": {Outcome.LOSSY}, "enableChat": {Outcome.DROPPED}},
                 id="a public room and chat cannot move to a token-only provider"),
    pytest.param("metered:rooms", "twilio:rooms", {"roomName": "x", "privacy": "private",
                                                   "enableChat": False, "joinVideoOn": True},
                 {}, {"privacy": {Outcome.NOTE}}, id="what the target does anyway"),
    pytest.param("twilio:rooms", "metered:rooms", {"unique_name": "x", "media_region": "de1",
                                                   "video_codecs": ["VP8"]},
                 {}, {"media_region": {Outcome.DROPPED}, "video_codecs": {Outcome.DROPPED}},
                 id="fields without an equivalent are dropped"),
    pytest.param("signalwire:rooms", "metered:rooms", {"name": "x", "layout": "2x2"},
                 {"compositionLayout": "grid"}, {"layout": {Outcome.LOSSY}},
                 id="a live layout is not a composition layout"),
    pytest.param("signalwire:rooms", "metered:rooms",
                 {"name": "x", "join_until": "2027-02-01", "remove_at": "2027-02-02",
                  "renamed_from": "old", "prevent_destroy": True},
                 {"expireUnixSec": 1801440000, "prevent_destroy": True},
                 {"remove_at": {Outcome.LOSSY}, "renamed_from": {Outcome.NOTE}},
                 id="removal at another time than expiry; the reconciler's own fields"),
    pytest.param("kaleyra:rooms", "metered:rooms",
                 {"name": "x", "recording": "manual", "call_type": "audio_only",
                  "participants": [{"user_id": "a", "is_admin": True},
                                   {"user_id": "b", "tools": {"chat": True}}]},
                 {"maxParticipants": 2, "enableRecording": True, "recordRoom": False,
                  "audioOnlyRoom": True},
                 {"participants": {Outcome.DROPPED, Outcome.LOSSY}},
                 id="Kaleyra: capacity from participants, tools only when all agree"),
]


@pytest.mark.parametrize(("a", "b", "room", "fields", "expected"), RULES)
def test_the_crosswalk_rules(a: str, b: str, room: dict[str, Any], fields: dict[str, Any],
                             expected: dict[str, set[Outcome]]) -> None:
    result = convert(a, b, room)
    assert {k: v for k, v in result.fields.items() if k in fields} == fields
    found = outcomes(result)
    for name, wanted in expected.items():
        assert found.get(name, set()) >= wanted, (name, result.issues)
    losing = {name for name, got in found.items() if got & LOSING}
    assert losing == {name for name, wanted in expected.items() if wanted & LOSING}, \
        result.issues


def test_source_defaults_are_written_where_the_target_would_differ() -> None:
    """Twilio removes a participant after 14400 s unless told otherwise: SignalWire is
    told; a token-gated room is a private Metered room; Telnyx hears why it cannot."""
    assert convert("twilio:rooms", "signalwire:rooms", {"unique_name": "x"}).fields == {
        "remove_after_seconds_elapsed": 14400}
    metered = convert("twilio:rooms", "metered:rooms", {"unique_name": "x"})
    assert metered.fields["privacy"] == "private"
    telnyx = convert("twilio:rooms", "telnyx:rooms", {"unique_name": "x"})
    assert telnyx.fields == {}
    assert any("no longer end by themselves" in i.message for i in telnyx.implied)


def test_an_implied_default_without_an_equivalent_says_so() -> None:
    """SignalWire's default layout has no Telnyx counterpart: said in words, not as the
    concept's empty neutral value ("always None")."""
    telnyx = convert("signalwire:rooms", "telnyx:rooms", {"name": "x"})
    [layout] = [i.message for i in telnyx.implied if i.message.startswith("layout")]
    assert layout == ("layout: grid-responsive by default on signalwire:rooms; on telnyx:rooms it"
                      " has no equivalent")


def test_every_mapping_speaks_the_shared_vocabulary() -> None:
    """Concepts are the shared ones, and regions their neutral names: a new provider meets
    the others without knowing their ids."""
    names = {concept.name for concept in CONCEPTS}
    for name, mapping in KINDS.items():
        assert set(mapping.concepts) <= names, name
        region = mapping.concepts.get("region")
        if isinstance(region, Choice):
            assert set(region.table) <= set(REGIONS), name
