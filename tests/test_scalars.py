"""YAML scalars read as the YAML 1.2 core schema says; the disputed number forms refused."""

from __future__ import annotations

import math

import pytest

from reconcile import scalars
from reconcile.loader import load_text


@pytest.mark.parametrize("text,value", [
    ("010", 10), ("08", 8), ("-010", -10), ("+12", 12), ("0o17", 15), ("0x1F", 31),
    ("1.5", 1.5), ("1e3", 1000.0), ("1.0e+1", 10.0), (".5", 0.5), ("1.", 1.0),
    ("-.inf", -math.inf), ("+.INF", math.inf), ("true", True), ("True", True),
    ("FALSE", False), ("~", None), ("", None), ("Null", None),
])
def test_core_schema_values(text: str, value: object) -> None:
    read = scalars.plain(text)
    assert (read, type(read)) == (value, type(value))


@pytest.mark.parametrize("text", ["yes", "No", "ON", "off", "y", "N", "tRUE", "nULL", "1:20",
                                  "0o8", "0x", "1e", "2024-01-01", ".", "-", "0X1F", "0O7"])
def test_yaml_1_1_only_forms_are_text(text: str) -> None:
    assert scalars.plain(text) == text


def test_nan_is_a_float() -> None:
    assert math.isnan(scalars.plain(".NaN"))


@pytest.mark.parametrize("text,number", [("1_000", "1000"), ("0b101", "5"), ("+0x10", "16"),
                                         ("-0o7", "-7"), ("1_0.5", "10.5"), ("0_1", "1")])
def test_disputed_numbers_say_how_to_write_them(text: str, number: str) -> None:
    with pytest.raises(scalars.Disputed) as caught:
        scalars.plain(text)
    assert str(caught.value) == (f"`{text}` reads as {number} to some YAML tools and as text"
                                 f" to others: write {number} for the number, or quote it"
                                 " for text")


def test_a_disputed_scalar_is_one_located_error_and_loading_goes_on() -> None:
    document = load_text("a: 1_000\nb: '1_000'\nc: 2\n", "f")
    assert [str(d) for d in document.diagnostics] == [
        "f:1:4: `1_000` reads as 1000 to some YAML tools and as text to others: write 1000"
        " for the number, or quote it for text"]
    assert document.data == {"a": "1_000", "b": "1_000", "c": 2}


@pytest.mark.parametrize("text,value", [("!!int 010", 10), ("!!float 3", 3.0),
                                        ("!!bool True", True), ("!!null ~", None),
                                        ("!!str 010", "010"), ("!!timestamp 2024-01-01",
                                                               "2024-01-01")])
def test_explicit_tags_take_core_forms(text: str, value: object) -> None:
    assert load_text(f"a: {text}\n").data == {"a": value}


@pytest.mark.parametrize("text,message", [
    ("!!bool yes", "`yes` is not a valid bool"), ("!!int 1.5", "`1.5` is not a valid int"),
    ("!!binary aGk=", "unsupported YAML tag `!!binary`"),
    ("9" * 5000, "a number of more than 4,000 digits"),
])
def test_what_cannot_be_read_stops_loading_at_its_place(text: str, message: str) -> None:
    (found,) = load_text(f"x: 1\na: {text}\n", "f").diagnostics
    assert str(found) == f"f:2:4: {message}"
