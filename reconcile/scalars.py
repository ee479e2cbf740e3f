"""How a YAML scalar is read: as the YAML 1.2 core schema says.

That is how editors (yaml-language-server, behind VS Code's YAML extension) and JSON
Schema tools (check-jsonschema) read the file, so `validate`, the JSON Schema and the
editor judge the same values: `010` is 10 (not octal 8), `yes`, `on` and `Off` are text
(not booleans), `1:20` is text (not 80 in base 60), `1e3` is a number.

A few number forms of YAML 1.1 (digit separators as in `1_000`, binary `0b101`, signed
`+0x1F`) are text to the core schema yet numbers to some YAML 1.2 tools: rather than pick
a side, they are refused with the two ways to write them unambiguously.
"""

from __future__ import annotations

import re
from typing import Any

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
SHORT_TAGS = {"!!str": STR, "!!int": INT, "!!float": FLOAT, "!!bool": BOOL,
              "!!null": NULL, "!!timestamp": TIMESTAMP}

# A plain scalar starting with anything else is text under the core schema.
FIRST_CHARS = frozenset("0123456789-+.~nNtTfF")

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": "inf", ".Inf": "inf", ".INF": "inf",
                   ".nan": "nan", ".NaN": "nan", ".NAN": "nan"}
# YAML 1.1 numbers that are core-schema text: `_` separators, binary, a sign before 0x/0o.
_DISPUTED = re.compile(r"[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+"
                       r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?)")
MAX_DIGITS = 4000  # Python refuses to convert longer numbers (sys.int_info)


class Disputed(ValueError):
    """A plain scalar that YAML tools read differently; the message says how to write it."""


def plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar. Raises Disputed, or ValueError
    for a number too long to convert."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text[0].isalpha():  # `team-sync`, `nurse-kim`: no number starts with a letter
        return text
    number = _number(text)
    if number is not None:
        return number
    if _DISPUTED.fullmatch(text):
        raise Disputed(_disputed(text))
    return text


def tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit tag (`!!int 7`). Raises ValueError."""
    tag = SHORT_TAGS.get(tag, tag)
    if tag in (STR, TIMESTAMP):  # timestamps stay text: the models parse them
        return text
    value = plain(text) if tag != STR else text
    if tag == NULL and value is None:
        return None
    if tag == BOOL and isinstance(value, bool):
        return value
    if tag == INT and type(value) is int:
        return value
    if tag == FLOAT and type(value) in (int, float):
        return float(value)
    if tag in (NULL, BOOL, INT, FLOAT):
        raise ValueError(f"`{text}` is not a valid {tag.rsplit(':', 1)[-1]}")
    raise ValueError(f"unsupported YAML tag `{as_written(tag)}`")


def as_written(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


def _number(text: str) -> int | float | None:
    if text in _SPECIAL_FLOATS:
        return float(_SPECIAL_FLOATS[text])
    if text[1:] in _SPECIAL_FLOATS and text[0] in "+-":
        return float(text[0] + _SPECIAL_FLOATS[text[1:]])
    integer = _INT.fullmatch(text) is not None
    if not integer and _FLOAT.fullmatch(text) is None:
        return None
    if len(text) > MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS:,} digits")
    if integer:
        return int(text, 8) if text[:2] == "0o" else int(text, 16) if text[:2] == "0x" \
            else int(text, 10)
    return float(text)


def _disputed(text: str) -> str:
    cleaned = text.replace("_", "")
    number: int | float | None = None
    for convert in (lambda t: int(t, 0), lambda t: int(t, 10), float):
        try:
            number = convert(cleaned)
            break
        except ValueError:
            continue
    if number is None:
        return (f"`{text}` reads as a number to some YAML tools and as text to others:"
                " quote it for text, or write the number in decimal digits")
    return (f"`{text}` reads as {number} to some YAML tools and as text to others: write"
            f" {number} for the number, or quote it for text")
