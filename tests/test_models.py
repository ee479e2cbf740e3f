"""Shared model pieces: what every room kind inherits."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from reconcile.models import INT32_MAX, MAX_UNIX_SECONDS, Room
from reconcile.providers import PROVIDER_PACKAGES, provider_models
from reconcile.providers.metered.model import MeteredRoom


class Misdeclared(Room):
    KEY_FIELD = "name"  # names no field of the model
    title: str = ""


def test_a_room_kind_whose_key_field_names_no_field_fails_loudly() -> None:
    with pytest.raises(LookupError, match="name"):
        Misdeclared.key_attribute()
    with pytest.raises(LookupError):
        _ = Misdeclared(title="x").key


def _integer_fields(model: type[BaseModel], seen: set[type[BaseModel]]
                    ) -> list[tuple[str, FieldInfo]]:
    """Every integer field of `model` and of the models it nests."""
    if model in seen:
        return []
    seen.add(model)
    found = []
    for name, info in model.model_fields.items():
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            for inner in (arg, *typing.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    found += _integer_fields(inner, seen)
        if int in (info.annotation, *typing.get_args(info.annotation)):
            found.append((f"{model.__name__}.{name}", info))
    return found


def test_every_integer_field_of_every_provider_has_an_upper_bound() -> None:
    # A Metered maxParticipants of 10**40 was POSTed as is: no integer goes unbounded.
    seen: set[type[BaseModel]] = set()
    fields = [field for name in PROVIDER_PACKAGES
              for field in _integer_fields(provider_models(name).account, seen)]
    assert len(fields) >= 15
    unbounded = [name for name, info in fields
                 if not any(getattr(m, "le", None) is not None for m in info.metadata)]
    assert unbounded == []
    bounds = {name: next(m.le for m in info.metadata if getattr(m, "le", None) is not None)
              for name, info in fields}
    assert all(bound <= INT32_MAX for name, bound in bounds.items()
               if not name.endswith("_unix_sec")), bounds
    assert bounds["MeteredRoom.max_participants"] == INT32_MAX  # no documented maximum
    assert bounds["MeteredRoom.expire_unix_sec"] == MAX_UNIX_SECONDS  # past 2038, not 10**40


@pytest.mark.parametrize("name", ["room\n", "room\n\n", "\nroom"])
def test_a_pattern_matches_the_whole_key_not_up_to_a_final_newline(name: str) -> None:
    """`$` also matches before a final newline: "room\\n" passed `validate`, then every
    provider refused it at apply (the JSON Schema's pattern refuses it too)."""
    with pytest.raises(ValidationError, match="may contain only letters"):
        MeteredRoom.model_validate({"roomName": name})
    assert MeteredRoom.model_validate({"roomName": "room"}).key == "room"
