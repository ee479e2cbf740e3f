"""pydantic's errors as sentences: the cases the rooms-file corpus does not reach."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconcile.messages import describe, message_for, model_at


class Participant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=3)
    code: str = Field(default="a", pattern=r"^[a-z]+$")


class Room(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    host: Participant | None = None
    participants: list[Participant] = []
    tags: list[str] | int = []


def only_error(data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        Room.model_validate(data)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


def test_an_unknown_key_in_a_nested_list_item_is_matched_against_that_item() -> None:
    error = only_error({"name": "r", "participants": [{"user_id": "abc", "usr_id": "x"}]})
    assert message_for(error, Room) == "unknown field `usr_id` (did you mean `user_id`?)"


def test_model_at_follows_optional_and_list_fields_and_stops_where_no_model_is() -> None:
    assert model_at(Room, ("host",)) is Participant
    assert model_at(Room, ("participants", 0)) is Participant
    assert model_at(Room, ("name",)) is None  # a string holds no fields
    assert model_at(Room, ("name", "deeper")) is None
    assert model_at(Room, ("no_such_field",)) is None
    assert model_at(Room, ("tags",)) is None  # a union of no model


def test_a_minimum_length_above_one_is_stated() -> None:
    error = only_error({"name": "r", "host": {"user_id": "ab"}})
    assert message_for(error, Room) == "must be at least 3 characters"


def test_other_errors_keep_pydantic_s_sentence_starting_lower_case() -> None:
    error = only_error({"name": "r", "host": {"user_id": "abc", "code": "A1"}})
    assert error["type"] == "string_pattern_mismatch"
    assert message_for(error, Room) == "string should match pattern '^[a-z]+$'"


@pytest.mark.parametrize(("value", "shown"), [
    (True, "true"), (None, "null"), ("x" * 70, repr("x" * 57 + "...")), (2.5, "2.5"),
    ({"a": 1}, "a mapping"), ([1], "a list"), (b"raw", "bytes"),
])
def test_describe_names_a_value_shortly(value: Any, shown: str) -> None:
    assert describe(value) == shown
