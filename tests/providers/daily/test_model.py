"""The Daily room model: names, closed value lists, bounds, nested objects, and the rules
across fields (errors and warnings)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from reconcile.providers.daily.model import MODELS, DailyAccount, DailyRoom
from reconcile.providers.daily.properties import ABSENT_MEANS, UNSET_WHEN_ABSENT


def room(**fields: Any) -> DailyRoom:
    return DailyRoom.model_validate({"name": "r", **fields})


def rules(**fields: Any) -> list[tuple[str | tuple[str | int, ...], bool]]:
    return [(v.at, v.warning) for v in room(**fields).rule_violations()]


@pytest.mark.parametrize("name", ["a", "Team_Sync-2", "x" * 128])
def test_names_of_letters_digits_dash_and_underscore_up_to_128(name: str) -> None:
    assert room(name=name).key == name


@pytest.mark.parametrize("name", ["", "a b", "a.b", "é", "x" * 129, "a/b"])
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        room(name=name)


@pytest.mark.parametrize(("field", "value"), [
    ("privacy", "org"), ("enable_recording", "yes"), ("lang", "xx"), ("geo", "mars-1"),
    ("rtmp_geo", "us-east-1"), ("max_participants", 0), ("eject_after_elapsed", 0),
    ("exp", -1), ("sfu_switchover", -0.5), ("enable_chat", "true"),
    ("meeting_join_hook", "not a url"), ("meeting_join_hook", "https://x/" + "a" * 250),
    ("recordings_template", "{room_name}"), ("permissions", {"canSend": ["smell"]}),
    ("permissions", {"can_send": True}), ("recordings_bucket", {"bucket": "b"}),
    ("streaming_endpoints", [{"name": "s", "type": "srt"}]),
    ("streaming_endpoints", [{"name": "s", "type": "rtmp", "rtmp_config": {"url": "http://x"}}]),
])
def test_values_outside_the_documented_ones_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        room(**{field: value})


def test_every_documented_property_is_a_field_with_a_missing_key_rule() -> None:
    """Each property the model declares says what a key missing from `config` means, and
    the fact sheet's table has no property the model lacks."""
    properties = set(DailyRoom.yaml_names()) - DailyRoom.MANAGEMENT_FIELDS - {"name",
                                                                                "privacy"}
    known = set(ABSENT_MEANS) | set(UNSET_WHEN_ABSENT)
    assert properties <= known
    assert known - properties == {"enable_cpu_warning_notifications"}  # U10: "also seen"


def test_nested_objects_keep_daily_names_when_declared() -> None:
    declared = room(permissions={"hasPresence": False, "canSend": ["audio"]},
                    recordings_bucket={"bucket_name": "b", "allow_api_access": True}).declared()
    assert declared["permissions"] == {"hasPresence": False, "canSend": ["audio"]}
    assert declared["recordings_bucket"] == {"bucket_name": "b", "allow_api_access": True}


def test_cross_field_errors() -> None:
    assert rules(nbf=4_102_444_800, exp=4_102_400_000) == [("nbf", False)]
    assert rules(exp=1_577_836_800) == [("exp", False)]  # U16: in the past
    assert rules(enable_multiparty_adaptive_simulcast=True, enable_adaptive_simulcast=False
                 ) == [("enable_multiparty_adaptive_simulcast", False)]
    assert rules(recordings_template="{epoch_time}.webm") == [("recordings_template", False)]
    assert rules(streaming_endpoints=[{"name": "s", "type": "rtmp"}]) == [
        (("streaming_endpoints", 0, "rtmp_config"), False)]


def test_cross_field_warnings() -> None:
    assert rules(enable_knocking=True) == [("enable_knocking", True)]  # U18
    assert rules(enable_knocking=True, privacy="private") == []
    assert rules(max_participants=201) == [("max_participants", True)]  # U11
    assert rules(eject_at_room_exp=True) == [("eject_at_room_exp", True)]
    assert rules(exp=int(time.time()) + 3600) == [("exp", True)]  # within 24 h
    assert rules(enable_multiparty_adaptive_simulcast=True, recordings_template=(
        "{epoch_time}.mp4"), exp=int(time.time()) + 10 * 86_400) == []


def test_the_account_takes_only_a_key_reference() -> None:
    account = DailyAccount.model_validate({"credentials": {"api_key": "${DAILY_API_KEY}"},
                                           "rooms": [{"name": "a"}]})
    assert account.rooms[0].key == "a"
    with pytest.raises(ValidationError):
        DailyAccount.model_validate({"credentials": {"api_key": "literal-key"}})
    assert MODELS.locators() == []  # the key alone says which domain


def test_stream_urls_are_sensitive() -> None:
    assert MODELS.sensitive_fields == {"streaming_endpoints"}


@pytest.mark.parametrize(("key", "value", "allowed", "got"), [
    ("canSend", ["video", "smell"], "video, audio, screenVideo, screenAudio", "'smell'"),
    ("canSend", "yes", "video, audio, screenVideo, screenAudio", "'yes'"),
    ("canAdmin", "yes-please", "participants, streaming, transcription", "'yes-please'"),
    ("canAdmin", [1], "participants, streaming, transcription", "1"),
])
def test_a_bad_rights_value_is_one_error_naming_both_forms(key: str, value: Any,
                                                           allowed: str, got: str) -> None:
    """canSend and canAdmin are true, false or a list: a bad value is one message that
    says so, not one per form it could have been."""
    with pytest.raises(ValidationError) as caught:
        room(permissions={key: value})
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [("permissions", key)]
    assert f"true, false or a list of {allowed}" in errors[0]["msg"]
    assert errors[0]["msg"].endswith(f"got {got}")
