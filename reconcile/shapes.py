"""Checking the shape of a JSON document the tool reads back (the Kaleyra state file, a
saved plan): one way for all of them, pydantic models in strict mode, and one wording for
what is wrong.

Strict: a number is never taken for a string, nor a string for a number, nor a boolean for
either; what a document holds is what it was written with. A model decides per document
whether unknown keys are refused (`extra="forbid"`: the state file, which a save would
silently lose them from) or ignored (saved plans: a minor version only adds fields).

A problem reads `where: problem`, `where` being a path into the document such as
`rooms.consult-42.participants[0].url` ("the document" for the whole of it), and never
quotes a value (they may be join URLs), only its JSON type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

M = TypeVar("M", bound=BaseModel)

STRICT = ConfigDict(strict=True, extra="forbid")  # the state file
STRICT_OPEN = ConfigDict(strict=True, extra="ignore")  # saved plans: newer fields are fine


class ShapeError(Exception):
    """A document of the wrong shape: `where` is a path into it ("" for the whole)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def _iso_time(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_time", "must be an ISO 8601 date-time") from None
    return value


def _text_type(value: Any) -> Any:
    # Its own error type, so that a number where a name goes says a non-empty one is wanted.
    if not isinstance(value, str) or not value:
        raise PydanticCustomError("text_type", "must be a non-empty string")
    return value


Text = Annotated[str, BeforeValidator(_text_type)]  # a non-empty string
Time = Annotated[Text, AfterValidator(_iso_time)]  # an ISO 8601 date-time

_TYPE_NAMES: dict[type, str] = {
    dict: "an object", list: "an array", str: "a string", bool: "a boolean",
    int: "a whole number", float: "a fractional number", type(None): "null"}
# pydantic's error types -> what the value must be.
_WANTED = {
    "model_type": "an object", "dict_type": "an object", "dataclass_type": "an object",
    "dataclass_exact_type": "an object", "list_type": "an array", "tuple_type": "an array",
    "string_type": "a string", "int_type": "a whole number", "bool_type": "a boolean",
    "float_type": "a number", "none_required": "null", "text_type": "a non-empty string",
}


def type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_json(model: type[M], text: str | bytes) -> M:
    """`model` read from JSON text, strictly; ShapeError for the first problem."""
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise shape_error(exc.errors(include_url=False)[0]) from None


def check(model: type[M], data: Any) -> M:
    """`model` read from JSON data already decoded, strictly; ShapeError for the first
    problem. (Only for models of JSON's own types: strict Python mode wants enum members
    and dataclass instances where JSON has strings and objects; use check_json.)"""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise shape_error(exc.errors(include_url=False)[0]) from None


def where_of(loc: tuple[int | str, ...]) -> str:
    """`("rooms", "a", "participants", 0)` -> `rooms.a.participants[0]`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def shape_error(error: ErrorDetails) -> ShapeError:
    """One of pydantic's errors in this module's words."""
    loc, kind = tuple(error["loc"]), error["type"]
    if kind in ("missing", "missing_argument", "extra_forbidden",
                "unexpected_keyword_argument"):
        *parent, key = loc
        if kind.startswith("missing"):
            return ShapeError(where_of(tuple(parent)), f"missing {key}") if parent else \
                ShapeError("", f"{key} is missing")
        return ShapeError(where_of(tuple(parent)) or "the document", f"unknown key {key}")
    where = where_of(loc) or "the document"
    if kind == "text_type" and isinstance(error["input"], str):
        return ShapeError(where, "must be a non-empty string")
    if kind in _WANTED:
        return ShapeError(where, f"must be {_WANTED[kind]}, not {type_name(error['input'])}")
    if kind in ("literal_error", "enum"):
        return ShapeError(where, f"must be {error.get('ctx', {}).get('expected', '?')}")
    if kind == "json_invalid":
        return ShapeError("", f"is not valid JSON ({error.get('ctx', {}).get('error', '')})")
    return ShapeError(where, error["msg"][:1].lower() + error["msg"][1:])
