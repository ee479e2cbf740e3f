"""The one escaping function for text from users and providers (keys, names, messages,
a provider's error text) on its way to a terminal, a log, Markdown or a CI annotation.

A character is unsafe when `str.isprintable()` says so: C0 and C1 controls (ESC, BEL, the
8-bit CSI), DEL, line and paragraph separators, bidi overrides and isolates (U+202E),
zero-width and other format characters, unassigned and private-use code points. Each is
written as its Python escape (`\\x1b`, `\\u202e`, `\\n`), so no control sequence runs and no
line can be forged. Backslashes are left alone: the function is idempotent, so a layer
may escape text an earlier layer already escaped.

Nothing here imports beyond the standard library: the CLI's log formatter uses it at
start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# One unsafe character, as a regex (for a fast search over large documents).
_UNSAFE = re.compile(r"[^\x20-\x7e\n]")  # a candidate: refined by isprintable()


def is_unsafe(char: str) -> bool:
    return not char.isprintable()


def printable(text: str) -> str:
    """The text with each unsafe character written as its escape: one line, inert."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def unsafe_characters(text: str) -> list[str]:
    """The distinct unsafe characters in `text`, escaped, in order of appearance."""
    found: dict[str, None] = {}
    for c in text:
        if not c.isprintable():
            found.setdefault(printable(c))
    return list(found)


def printable_lines(text: str) -> str:
    """Several lines, each made printable: the line breaks between them are kept (a
    traceback), every other unsafe character is escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _escaper(long_form: bool) -> Callable[[re.Match[str]], str]:
    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char.isprintable() or char == "\n":
            return char
        code = ord(char)
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        if long_form:  # YAML: one escape for a character past the BMP
            return f"\\U{code:08x}"
        code -= 0x10000  # JSON: a UTF-16 surrogate pair
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return escape


_JSON_ESCAPE, _YAML_ESCAPE = _escaper(long_form=False), _escaper(long_form=True)


def json_printable(document: str) -> str:
    """A JSON document (as json.dumps writes it, `ensure_ascii=False`) with every unsafe
    character inside its strings written as a `\\uXXXX` escape: the same data for any
    parser, inert on a terminal. Line breaks between tokens (indentation) are kept; inside
    strings json.dumps has already escaped them."""
    if document.isascii() and "\x7f" not in document:  # json.dumps escaped the rest
        return document
    return _UNSAFE.sub(_JSON_ESCAPE, document)


def yaml_printable(document: str) -> str:
    """The same for a YAML document whose strings holding unsafe characters are all
    double-quoted (the one style with escapes)."""
    return _UNSAFE.sub(_YAML_ESCAPE, document)
