"""The one way JSON documents are checked (reconcile/shapes.py): strict pydantic models,
their errors said as `where: problem`, never quoting a value."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from reconcile.shapes import (
    STRICT,
    STRICT_OPEN,
    ShapeError,
    Text,
    Time,
    check,
    check_json,
    where_of,
)


class Item(BaseModel):
    model_config = STRICT

    name: Text
    at: Time


class Doc(BaseModel):
    model_config = STRICT

    kind: Literal["doc"]
    count: int
    items: list[Item] = Field(default_factory=list)


class Open(BaseModel):
    model_config = STRICT_OPEN

    count: int


GOOD = '{"kind": "doc", "count": 2, "items": [{"name": "a", "at": "2026-12-05T07:00:00Z"}]}'


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "the document: must be an object, not an array"),
    ('{"kind": "doc", "count": "2"}', "count: must be a whole number, not a string"),
    ('{"kind": "doc", "count": true}', "count: must be a whole number, not a boolean"),
    ('{"kind": "doc", "count": 2.0}', "count: must be a whole number, not a fractional number"),
    ('{"kind": "doc"}', "count is missing"),
    ('{"kind": "other", "count": 1}', "kind: must be 'doc'"),
    ('{"kind": "doc", "count": 1, "more": 1}', "the document: unknown key more"),
    ('{"kind": "doc", "count": 1, "items": [{"name": 7, "at": "x"}]}',
     "items[0].name: must be a non-empty string, not a whole number"),
    ('{"kind": "doc", "count": 1, "items": [{"name": "", "at": "x"}]}',
     "items[0].name: must be a non-empty string"),
    ('{"kind": "doc", "count": 1, "items": [{"name": "a", "at": "noon"}]}',
     "items[0].at: must be an ISO 8601 date-time"),
    ('{"kind": "doc", "count": 1, "items": [{"name": "a"}]}', "items[0]: missing at"),
])
def test_each_problem_is_said_at_its_place(text: str, message: str) -> None:
    with pytest.raises(ShapeError) as caught:
        check_json(Doc, text)
    assert str(caught.value) == message
    assert "SECRET" not in message


def test_a_good_document_is_read_and_an_open_model_ignores_what_it_does_not_know() -> None:
    doc = check_json(Doc, GOOD)
    assert doc.count == 2 and doc.items[0].name == "a"
    assert check(Open, {"count": 1, "later": [1]}).count == 1
    with pytest.raises(ShapeError, match=r"^count: must be a whole number, not a string$"):
        check(Open, {"count": "1"})


def test_values_are_never_quoted() -> None:
    with pytest.raises(ShapeError) as caught:
        check_json(Doc, '{"kind": "https://x/SECRET", "count": 1}')
    assert "SECRET" not in str(caught.value)


def test_where_of_writes_paths_as_the_messages_do() -> None:
    assert where_of(("rooms", "a", "participants", 0, "url")) == "rooms.a.participants[0].url"
    assert where_of(()) == "" and where_of((0,)) == "[0]"
