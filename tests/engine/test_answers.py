"""Reading answers defensively: each shape problem is a MalformedAnswer naming the place
in the body, never the value found there."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.engine.answers import (
    ARRAY,
    INTEGER,
    NULL,
    OBJECT,
    STRING,
    Answer,
    MalformedAnswer,
    RoomShape,
    distinct,
    json_type,
    settings_types,
    where,
)
from reconcile.engine.http import PaginationError
from reconcile.engine.plan import LiveRoom
from reconcile.providers.telnyx.model import TelnyxRoom

SHAPE = RoomShape("id", "unique_name", TelnyxRoom, extra={"active_session_id": STRING | NULL})


def answer(body: Any) -> Answer:
    return Answer(body, provider="telnyx", method="GET", url="https://h/v2/rooms?api_key=S3")


def problem(body: Any, path: tuple[str | int, ...] = ("data",)) -> str:
    with pytest.raises(MalformedAnswer) as caught:
        answer(body).rooms(path, SHAPE)
    message = str(caught.value)
    assert message.startswith("telnyx's answer to GET https://h/v2/rooms?api_key=*** is"
                              " unusable: ")
    return message.split(" is unusable: ", 1)[1]


def test_json_types_keep_booleans_apart_from_integers() -> None:
    assert [json_type(v) for v in (None, True, 1, 1.5, "s", [], {})] == [
        "null", "boolean", "integer", "number", "string", "array", "object"]


def test_paths_read_as_written() -> None:
    assert where(()) == "the body"
    assert where(("data", 3, "unique_name")) == "data[3].unique_name"
    assert where((0, "roomName")) == "[0].roomName"


def test_the_model_gives_each_setting_its_json_types() -> None:
    types = settings_types(TelnyxRoom)
    assert types["max_participants"] == INTEGER | NULL
    assert types["enable_recording"] == frozenset({"boolean", "null"})
    assert "prevent_destroy" not in types  # ours, never the provider's


def test_well_formed_rooms_pass_unchanged() -> None:
    rooms = [{"id": "r1", "unique_name": "a", "max_participants": 5, "active_session_id": None},
             {"id": "r2", "unique_name": None, "webhook_event_url": None, "other": [1]}]
    assert answer({"data": rooms}).rooms(("data",), SHAPE) == rooms


@pytest.mark.parametrize(("body", "expected"), [
    ({}, "data is missing"),
    ({"data": {"id": "r"}}, "data is an object, expected an array"),
    ({"data": ["room"]}, "data[0] is a string, expected an object"),
    ({"data": [{"unique_name": "a"}]}, "data[0].id (of room 'a') is missing"),
    ({"data": [{"id": 7, "unique_name": "a"}]}, "data[0].id (of room 'a') is an integer,"
                                                " expected a string"),
    ({"data": [{"id": "r"}]}, "data[0].unique_name is missing"),
    ({"data": [{"id": "r", "unique_name": True}]}, "data[0].unique_name is a boolean,"
                                                   " expected a string or null"),
    ({"data": [{"id": "r", "unique_name": "a", "max_participants": "ten"}]},
     "data[0].max_participants (of room 'a') is a string, expected an integer or null"),
    ({"data": [{"id": "r", "unique_name": "a", "max_participants": True}]},
     "data[0].max_participants (of room 'a') is a boolean, expected an integer or null"),
    ({"data": [{"id": "r", "unique_name": "a", "active_session_id": 3}]},
     "data[0].active_session_id (of room 'a') is an integer, expected a string or null"),
])
def test_each_shape_problem_names_its_place(body: Any, expected: str) -> None:
    assert problem(body) == expected


def test_the_value_found_is_never_shown() -> None:
    message = problem({"data": [{"id": "r", "unique_name": "a",
                                 "webhook_event_url": ["https://u:SECRET@h"]}]})
    assert "SECRET" not in message
    assert message.endswith("is an array, expected a string or null")


def test_optional_paths_and_nulls() -> None:
    body = answer({"meta": {"total_pages": None}, "links": None})
    assert body.at(("meta", "total_pages"), INTEGER, required=False) is None
    assert body.at(("links", "next"), STRING | NULL, required=False) is None
    assert body.at(("nope", "deeper"), OBJECT, required=False) is None
    with pytest.raises(MalformedAnswer, match=r"meta\.total_pages is missing"):
        body.at(("meta", "total_pages"), INTEGER)
    with pytest.raises(MalformedAnswer, match=r"meta is a string, expected an object"):
        answer({"meta": "x"}).at(("meta", "total_pages"), INTEGER, required=False)
    assert answer({"data": None}).rooms(("data",), SHAPE, nullable=True) == []
    assert answer([[1]]).at((0,), ARRAY) == [1]


def test_a_room_listed_twice_is_a_pagination_error() -> None:
    rooms = [LiveRoom("rooms", name, name.upper(), {}) for name in ("a", "b", "a")]
    assert distinct(rooms[:2], "telnyx") == rooms[:2]
    with pytest.raises(PaginationError, match="room A comes twice in the list"):
        distinct(rooms, "telnyx")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(), inner, max_size=2),
    max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "unique_name", "max_participants",
                                        "enable_recording", "active_session_id", "other"]),
                       JSON_VALUES))
def test_the_compiled_check_agrees_with_the_full_one(room: dict[str, Any]) -> None:
    """A room the per-shape fast check passes, the full check passes too; one it sends to
    the full check gets that check's verdict, whatever it is."""
    try:
        answer({"data": [room]}).rooms(("data",), SHAPE)
        accepted = True
    except MalformedAnswer:
        accepted = False
    if SHAPE.fits(room):
        assert accepted
    full = Answer({"data": [room]}, provider="telnyx")
    full_verdict = True
    try:
        for name, types, required in SHAPE.checks:
            if required or name in room:
                full._check(room, ("data", 0), (name,), types, required)
    except MalformedAnswer:
        full_verdict = False
    assert accepted == full_verdict
