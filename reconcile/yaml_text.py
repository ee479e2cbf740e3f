"""Places in a YAML text as an editor counts them, and YAML syntax errors said so that
they can be fixed: what the loader (loader.py) reports when libyaml stops.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from reconcile.located import Mark

MAX_DEPTH = 64
TOO_DEEP = f"the document nests deeper than {MAX_DEPTH} levels; refusing to load it"
# YAML 1.1 also breaks lines at NEL, LS and PS; editors, grep and GitHub do not, so libyaml's
# line numbers are mapped back to the editor's wherever the text holds one.
_YAML_ONLY_BREAKS = "\x85\u2028\u2029"
_LINE_BREAKS = re.compile("\r\n?|[\n\x85\u2028\u2029]")
_EDITOR_BREAKS = re.compile(rb"\r\n?|\n")


def syntax_error(text: str, exc: yaml.MarkedYAMLError) -> tuple[Mark, str]:
    """Where a YAML syntax error really is, and how to fix it."""
    problem = exc.problem or "invalid YAML"
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    where = Mark(mark.line, mark.column) if mark else Mark(0, 0)
    opened = exc.context_mark
    lines = text.splitlines()
    line = lines[where.line] if 0 <= where.line < len(lines) else ""
    if "flow" in f"{context} {problem}" and "${" in line:
        return where, (f"YAML syntax error: {problem} ({context}); inside `{{…}}` or `[…]` a"
                       ' `${NAME}` reference must be quoted: write "${NAME}"')
    if "quoted scalar" in context and "end of stream" in problem and opened:
        return (Mark(opened.line, opened.column),
                "YAML syntax error: this quoted string is never closed: add the closing quote")
    if "while parsing a flow" in context and opened:
        bracket = "{" if "mapping" in context else "["
        closing = "}" if bracket == "{" else "]"
        return (Mark(opened.line, opened.column),
                f"YAML syntax error: this `{bracket}` is never closed: add `{closing}` after"
                " its last entry")
    if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
        return where, TOO_DEEP
    hint = ""
    # libyaml names the tab only where it breaks indentation; a tab that starts a line
    # is "a character that cannot start any token".
    if "\t" in problem or "tab" in problem or line[where.column:where.column + 1] == "\t":
        hint = "; indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = ("; a value cannot contain `: ` unless it is quoted, and a key must line up"
                " with the keys above it")
    elif "expected <block end>" in problem or "while parsing a block" in context:
        hint = "; check this line's indentation: it must line up with the keys above it"
    suffix = f" ({context})" if context else ""
    return where, f"YAML syntax error: {problem}{suffix}{hint}"


def mark_at_offset(raw: bytes, offset: int) -> Mark:
    """The place of a byte offset: lines as editors count them, the column in characters."""
    before = raw[:offset]
    breaks = list(_EDITOR_BREAKS.finditer(before))
    start = breaks[-1].end() if breaks else 0
    return Mark(len(breaks), len(before[start:].decode("utf-8", "replace")))


class EditorLines:
    """Where each of libyaml's lines starts in an editor: (line, column), from 0."""

    __slots__ = ("starts",)

    def __init__(self, text: str) -> None:
        self.starts = [(0, 0)]
        line, line_start = 0, 0
        for match in _LINE_BREAKS.finditer(text):
            if match.group() in _YAML_ONLY_BREAKS:  # the line goes on in an editor
                self.starts.append((line, match.end() - line_start))
            else:
                line, line_start = line + 1, match.end()
                self.starts.append((line, 0))

    @classmethod
    def of(cls, text: str) -> EditorLines | None:
        """None for the usual text, whose lines libyaml counts as editors do."""
        return cls(text) if any(c in text for c in _YAML_ONLY_BREAKS) else None

    def editor(self, mark: Any) -> Mark:
        last = len(self.starts) - 1
        if mark.line > last:  # the end of the stream can be a line past the last break
            return Mark(self.starts[last][0] + mark.line - last, mark.column)
        line, offset = self.starts[mark.line]
        return Mark(line, offset + mark.column)

    def events(self, next_event: Any) -> Any:
        """`next_event`, its events' marks made the editor's."""
        def converted() -> Any:
            event = next_event()
            event.start_mark = self.editor(event.start_mark)
            return event

        return converted
