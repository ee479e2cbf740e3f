"""Shared model pieces: what every room kind inherits."""

from __future__ import annotations

import pytest

from reconcile.models import Room


class Misdeclared(Room):
    KEY_FIELD = "name"  # names no field of the model
    title: str = ""


def test_a_room_kind_whose_key_field_names_no_field_fails_loudly() -> None:
    with pytest.raises(LookupError, match="name"):
        Misdeclared.key_attribute()
    with pytest.raises(LookupError):
        _ = Misdeclared(title="x").key
