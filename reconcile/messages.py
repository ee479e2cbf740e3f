"""Turn pydantic's errors into messages a person acts on, with "did you mean" hints."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from reconcile.escape import printable as printable  # re-exported (loader, config)

# Enum fields where a near miss is a different place, not a typo: no guessing there.
NO_SUGGESTIONS = frozenset({"media_region", "region"})
# Booleans as YAML 1.2 writes them: quoted, each is a string.
QUOTED_LITERALS = {"true", "True", "TRUE", "false", "False", "FALSE"}
# Booleans only to YAML 1.1: strings to YAML 1.2, which reconcile reads (see scalars.py).
YAML_1_1_BOOLEANS = {"y", "n", "yes", "no", "on", "off"}


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `word` most likely misspells, if any."""
    options = list(candidates)
    squashed = {c.replace("_", "").replace("-", "").lower(): c for c in options}
    key = word.replace("_", "").replace("-", "").lower()
    if key in squashed:
        return squashed[key]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean `x`?)` when a candidate is close, else ""."""
    match = closest(word, candidates)
    return f" (did you mean `{match}`?)" if match else ""


def _quoted_hint(kind: str, value: Any) -> str:
    """Why "10" is not 10 (a quoted scalar is a string), nor `yes` true."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    numeric = text.lstrip("+-").replace(".", "", 1).isdigit()
    if (kind in ("int_type", "float_type") and numeric) or (
            kind == "bool_type" and text in QUOTED_LITERALS):
        return ": it is quoted, so YAML reads a string; remove the quotes"
    if kind == "int_type" and _BASE_60.fullmatch(text):
        number = _base_60(text)
        return (f": YAML 1.2 (editors and JSON Schema tools too) reads `{text}` as text,"
                f" YAML 1.1 as {number} in base 60; write {number} for the number")
    if kind == "bool_type" and text.lower() in YAML_1_1_BOOLEANS:
        return (f": YAML 1.2 (editors and JSON Schema tools too) reads `{text}` as text;"
                " write true or false")
    return ""


_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+")


def _base_60(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    total = 0
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + int(part)
    return sign * total


def describe(value: Any) -> str:
    """A short rendering of a bad input value for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose fields live at `loc` inside `model` (for unknown-key hints)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = next((info for name, info in current.model_fields.items()
                      if (info.alias or name) == part), None)
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def message_for(error: Any, model: type[BaseModel], *, show_input: bool = True) -> str:
    """One pydantic error (a dict from `errors()`) as a sentence."""
    kind: str = error["type"]
    loc: tuple[Any, ...] = error["loc"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    got = f", got {describe(value)}" if show_input else ""
    name = str(loc[-1]) if loc else "value"
    if kind == "missing":
        return f"missing required field `{name}`"
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        hint = suggest(name, field_names(parent)) if parent else ""
        return f"unknown field `{name}`{hint}"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [part.strip().strip("'") for part in expected.replace(" or ", ",").split(",")]
        options = [o for o in options if o]
        guessable = isinstance(value, str) and name not in NO_SUGGESTIONS
        hint = suggest(str(value), options) if guessable else ""
        return f"must be one of {', '.join(options)}{got}{hint}"
    simple = {
        "int_type": "expected a whole number", "int_from_float": "expected a whole number",
        "bool_type": "expected true or false", "string_type": "expected a string",
        "float_type": "expected a number", "list_type": "expected a list",
        "dict_type": "expected a mapping", "model_type": "expected a mapping",
        "model_attributes_type": "expected a mapping", "none_required": "expected null",
    }
    if kind in simple:
        if show_input and (hint := _quoted_hint(kind, value)):
            return f"{simple[kind]}, got the string {describe(value)}{hint}"
        return simple[kind] + got
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        return f"must be {words} {bound}{got}"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters"
    if kind == "string_too_long":
        length = f" (got {len(value)})" if isinstance(value, str) and show_input else ""
        return f"must be at most {ctx.get('max_length')} characters{length}"
    items = name if loc and isinstance(loc[-1], str) and name.endswith("s") else "items"
    if kind == "too_short":
        return (f"needs at least {ctx.get('min_length')} {items},"
                f" got {ctx.get('actual_length')}")
    if kind == "too_long":
        return (f"allows at most {ctx.get('max_length')} {items},"
                f" got {ctx.get('actual_length')}")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    message: str = error["msg"]
    return message[:1].lower() + message[1:] if message[:2].isalpha() and message[1:2].islower() \
        else message
