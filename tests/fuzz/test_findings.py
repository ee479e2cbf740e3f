"""What the fuzzers found, each pinned by a plain example: the input that broke, and
what is right now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import check
from reconcile.engine.http import HttpError
from reconcile.loader import load_text
from reconcile.messages import printable
from reconcile.providers.signalwire import adapter as signalwire
from reconcile.providers.telnyx import adapter as telnyx
from reconcile.providers.twilio import adapter as twilio


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


def test_a_base_60_number_is_reported_where_it_is_written(tmp_path: Path) -> None:
    # Found: `version: 1:20` said "unsupported version 80", a value nobody wrote; and
    # `empty_room_timeout: 5:00` passed as 300 minutes, while an editor's YAML 1.2 schema
    # check reads it as the text "5:00". Now read as YAML 1.2 reads it (issue 11).
    text = ("version: 1\nproviders:\n  twilio:\n    credentials: {account_sid: '${A}',"
            " auth_token: '${B}'}\n    rooms:\n"
            "      - {unique_name: a, empty_room_timeout: 5:00}\n")
    assert diagnostics(tmp_path, text) == [
        "6:46: expected a whole number, got the string '5:00': YAML 1.2 (editors and JSON"
        " Schema tools too) reads `5:00` as text, YAML 1.1 as 300 in base 60; write 300 for"
        " the number (at providers.twilio.rooms[0].empty_room_timeout)"]
    quoted = load_text('a: "5:00"\nb: 2026-12-01T09:00:00Z\n', "f")
    assert (quoted.data, quoted.diagnostics) == ({"a": "5:00", "b": "2026-12-01T09:00:00Z"}, [])


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    # Found: `'<<': {…}` merged like the plain `<<:` (YAML merges only the plain one).
    document = load_text("a:\n  '<<': {x: 1}\n  <<: {y: 2}\n", "f")
    assert document.diagnostics == []
    assert document.data == {"a": {"<<": {"x": 1}, "y": 2}}


# -- provider answers: error bodies of an unexpected shape ------------------------------------
# Found: each of these made the adapter raise a TypeError or AttributeError out of apply,
# which stopped every other change of the run with an internal error.

def refused(status: int, body: Any) -> HttpError:
    request = httpx.Request("POST", "https://api.example.com/v2/rooms")
    return HttpError("POST", str(request.url), httpx.Response(status, json=body,
                                                              request=request))


@pytest.mark.parametrize("body", [{"code": [53113]}, {"code": {"n": 1}}, {"code": True},
                                  {"code": "53113"}, {"code": None}, ["x"]])
def test_a_twilio_error_code_that_is_not_a_number_is_no_code(body: Any) -> None:
    code = twilio._code(refused(400, body))
    assert code is None
    assert code not in twilio.ALREADY_ENDED  # what delete() asks: a list was unhashable


def test_a_twilio_error_code_is_read_when_it_is_one() -> None:
    assert twilio._code(refused(400, {"code": 53113, "message": "taken"})) == twilio.NAME_TAKEN


@pytest.mark.parametrize("body", [{"errors": ["unique_name"]}, {"errors": "unique_name"},
                                  {"errors": {"source": {"pointer": "/unique_name"}}},
                                  {"errors": [{"source": "/unique_name"}]},
                                  {"errors": [None, 1, {"source": None}]}])
def test_telnyx_error_bodies_of_another_shape_are_not_name_taken(body: Any) -> None:
    assert telnyx._name_taken(refused(422, body)) is False


def test_telnyx_name_taken_is_still_read_by_pointer_or_detail() -> None:
    assert telnyx._name_taken(refused(422, {"errors": [
        "noise", {"source": {"pointer": "/unique_name"}}]}))
    assert telnyx._name_taken(refused(422, {"errors": [{"detail": "unique_name is taken"}]}))


@pytest.mark.parametrize("body", [
    {"errors": [{"attribute": "name", "code": ["value_not_unique"]}]},
    {"errors": [{"attribute": "name", "code": {"value_not_unique": 1}}]},
    {"errors": {"attribute": "name", "code": "value_not_unique"}}, {"errors": "name"}])
def test_signalwire_error_bodies_of_another_shape_are_not_name_taken(body: Any) -> None:
    assert signalwire._name_taken(refused(422, body)) is False


def test_signalwire_name_taken_is_still_read() -> None:
    assert signalwire._name_taken(refused(422, {"errors": [
        {"attribute": "name", "code": "value_not_unique", "message": "taken"}]}))
