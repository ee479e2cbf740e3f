"""What the fuzzers found, each pinned by a plain example: the input that broke, and
what is right now."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import check
from reconcile.loader import load_text
from reconcile.messages import printable


def diagnostics(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    found = sorted(check(path), key=lambda d: (d.location.line, d.location.col))
    return [str(d).removeprefix(f"{path}:") for d in found]


# -- the rooms file ------------------------------------------------------------------------

def test_a_key_holding_a_line_break_or_bidi_character_is_escaped(tmp_path: Path) -> None:
    # Found: the key was quoted as written, so a "\n" split the diagnostic in two and a
    # U+202E turned the rest of the line around.
    text = 'version: 1\nproviders:\n  "new\\nline": {}\n  "a\\u202eb": {}\n  "t\\tab": {}\n'
    assert diagnostics(tmp_path, text) == [
        "3:3: account name `new\\nline` may contain only letters, digits, `_` and `-`"
        " (at providers.new\\nline)",
        "4:3: account name `a\\u202eb` may contain only letters, digits, `_` and `-`"
        " (at providers.a\\u202eb)",
        "5:3: account name `t\\tab` may contain only letters, digits, `_` and `-`"
        " (at providers.t\\tab)",
    ]
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "rooms.yaml")])
    assert (result.exit_code, len(result.stdout.splitlines())) == (1, 3)


def test_a_duplicate_key_message_escapes_the_key() -> None:
    (found,) = load_text('a: 1\n"\\u2066a\\x1b": 1\n"\\u2066a\\x1b": 2\n', "f").diagnostics
    assert str(found) == ("f:3:1: duplicate key `\\u2066a\\x1b` (first defined at line 2);"
                          " YAML would silently keep only the last one")


def test_printable_leaves_ordinary_text_alone() -> None:
    assert printable("unknown field `maxParticipants` (did you mean `é`?) 💥") == \
        "unknown field `maxParticipants` (did you mean `é`?) 💥"
    assert printable("a\r\nb\x00c\u2028d\u200be\ufeff") == "a\\r\\nb\\x00c\\u2028d\\u200be\\ufeff"


def test_lines_after_a_nel_ls_or_ps_are_counted_as_editors_count_them(tmp_path: Path) -> None:
    # Found: libyaml breaks lines at U+0085, U+2028 and U+2029 too (YAML 1.1); no editor,
    # grep or GitHub annotation does, so every diagnostic after one pointed lines too far,
    # past the end of the file at times.
    text = ('version: 1\nx-note: "one\u2028two\u2029three\x85four" \nproviders:\n'
            "  telnyx:\n    credentials: {api_key: '${K}'}\n    rooms:\n"
            "      - {unique_name: a, bogus: 1}\n    rooms: []\n")
    assert diagnostics(tmp_path, text) == [
        "7:26: unknown field `bogus` (at providers.telnyx.rooms[0].bogus)",
        "8:5: duplicate key `rooms` (first defined at line 6); YAML would silently keep only"
        " the last one",
    ]


def test_a_column_on_the_same_line_after_an_ls_counts_the_text_before_it() -> None:
    (found,) = load_text('a: "x\u2028y"\na: 2\nb: {c: 1, c: 2}\n', "f").diagnostics[1:]
    assert str(found).startswith("f:3:11: duplicate key `c`")
    (same_line,) = load_text('a: "x\u2028y", b: [1, 1: 2]\n', "f").diagnostics
    assert str(same_line).startswith("f:1:")


def test_a_syntax_error_after_an_ls_is_on_its_editor_line() -> None:
    (found,) = load_text('a: "x\u2028y"\nb: [1, 2\n', "f").diagnostics
    assert str(found) == ("f:2:4: YAML syntax error: this `[` is never closed: add `]` after"
                          " its last entry")
    # The end of the stream, a line past the last break, stays a line past it.
    (end,) = load_text("version: 1\n\x85\u200b", "f").diagnostics
    assert str(end).startswith("f:3:1: YAML syntax error")


def test_a_control_character_is_reported_at_its_column_in_characters() -> None:
    # Found: the column counted UTF-8 bytes, so any accented text before it moved it right.
    (found,) = load_text("a: b\nééééé: x\x07\n", "f").diagnostics
    assert str(found) == "f:2:9: YAML error: control characters are not allowed"


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    # Found: `'<<': {…}` merged like the plain `<<:` (YAML merges only the plain one).
    document = load_text("a:\n  '<<': {x: 1}\n  <<: {y: 2}\n", "f")
    assert document.diagnostics == []
    assert document.data == {"a": {"<<": {"x": 1}, "y": 2}}
