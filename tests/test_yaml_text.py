"""YAML text positions and syntax messages (reconcile/yaml_text.py): lines as an editor
counts them, and syntax errors placed where the fix goes."""

from __future__ import annotations

import pytest
import yaml

from reconcile.located import Mark
from reconcile.yaml_text import EditorLines, mark_at_offset, syntax_error


def test_a_byte_offset_is_placed_as_an_editor_counts() -> None:
    raw = "a: 1\r\nb: é\nc: \xff".encode("latin-1")
    assert mark_at_offset(raw, raw.index(b"\xff")) == Mark(2, 3)
    assert mark_at_offset("ab\ncé!".encode(), len("ab\ncé".encode())) == Mark(1, 2)


def test_yaml_only_line_breaks_are_mapped_back_to_the_editors_lines() -> None:
    assert EditorLines.of("a: 1\nb: 2\n") is None  # the usual text: nothing to map
    lines = EditorLines.of("a: x\u2028y\nb: 2\n")
    assert lines is not None
    assert lines.editor(Mark(1, 0)) == Mark(0, 5)  # libyaml's line 1 goes on in line 0
    assert lines.editor(Mark(2, 3)) == Mark(1, 3)
    assert lines.editor(Mark(9, 0)) == Mark(8, 0)  # past the last break


def error_of(text: str) -> tuple[Mark, str]:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.safe_load(text)
    return syntax_error(text, caught.value)


def test_syntax_errors_say_where_the_fix_goes() -> None:
    where, message = error_of('a: "open\nb: 2\n')
    assert where == Mark(0, 3) and "this quoted string is never closed" in message
    where, message = error_of("a: [1, 2\nb: 3\n")
    assert where == Mark(0, 3) and "this `[` is never closed: add `]`" in message
    assert 'must be quoted: write "${NAME}"' in error_of("a: {k: ${X}\n")[1]
    assert error_of("a: 1\n\tb: 1\n")[1].endswith("; indent with spaces, not tabs")


def test_a_tab_that_starts_a_line_is_named_as_a_tab() -> None:
    """libyaml says only "found character that cannot start any token" there."""
    assert error_of("a:\n\tb: 1\n")[1].endswith("; indent with spaces, not tabs")
