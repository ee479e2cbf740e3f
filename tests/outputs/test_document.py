"""The JSON plan document read back: telling a saved plan from a rooms file, and reading
one with clear errors (the CLI round trips are in tests/commands/test_saved_plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.errors import ReconcileError
from reconcile.outputs.document import is_saved_plan, read_saved


@pytest.mark.parametrize("text", [
    "{version: 1, providers: {}}\n",  # a rooms file in YAML flow style: `{` but no JSON
    '{"version": 1, "providers": {}}\n',  # a rooms file written as JSON
    "version: 1\nproviders: {}\n",
    '["format_version"]\n',
])
def test_rooms_files_are_not_taken_for_saved_plans(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    assert not is_saved_plan(path)


def test_a_path_that_cannot_be_read_is_no_saved_plan(tmp_path: Path) -> None:
    assert not is_saved_plan(tmp_path / "absent.json")
    assert not is_saved_plan(tmp_path)  # a directory: the rooms file's loader says so


def test_a_json_object_with_a_format_version_is_a_saved_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('  {"format_version": "1.0"}', encoding="utf-8")
    assert is_saved_plan(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "cannot read the saved plan: Expecting property name"),
    (b'{"format_version": "1.0", "x": "\xff"}', "cannot read the saved plan: 'utf-8' codec"),
    (b'{"format_version": "1.0"}', "not a saved plan of this tool (no `accounts`);"),
    (b'{"format_version": "2.0"}', "not a saved plan of this tool (format_version 2.0,"
                                    " this tool reads 1.x)"),
])
def test_read_saved_says_what_is_wrong(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(ReconcileError) as caught:
        read_saved(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_read_saved_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match=r"cannot read the saved plan: no such file"):
        read_saved(tmp_path / "gone.json")
