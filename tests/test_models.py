"""Shared model pieces: what every room kind inherits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reconcile.models import Room
from reconcile.providers.metered.model import MeteredRoom


class Misdeclared(Room):
    KEY_FIELD = "name"  # names no field of the model
    title: str = ""


def test_a_room_kind_whose_key_field_names_no_field_fails_loudly() -> None:
    with pytest.raises(LookupError, match="name"):
        Misdeclared.key_attribute()
    with pytest.raises(LookupError):
        _ = Misdeclared(title="x").key


@pytest.mark.parametrize("name", ["room\n", "room\n\n", "\nroom"])
def test_a_pattern_matches_the_whole_key_not_up_to_a_final_newline(name: str) -> None:
    """`$` also matches before a final newline: "room\\n" passed `validate`, then every
    provider refused it at apply (the JSON Schema's pattern refuses it too)."""
    with pytest.raises(ValidationError, match="may contain only letters"):
        MeteredRoom.model_validate({"roomName": name})
    assert MeteredRoom.model_validate({"roomName": "room"}).key == "room"
