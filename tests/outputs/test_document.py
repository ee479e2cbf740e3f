"""The JSON plan document read back: telling a saved plan from a rooms file, and reading
one with clear errors (the CLI round trips are in tests/commands/test_saved_plans.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconcile.engine.plan import Action
from reconcile.errors import ReconcileError
from reconcile.outputs.document import is_saved_plan, read_plan, read_saved


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
    (b'{"format_version": "1.0"}', "not a saved plan of this tool (accounts is missing);"),
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


def _saved_document() -> dict[str, Any]:
    change = {"address": "a.rooms[r]", "account": "a", "provider": "telnyx", "kind": "rooms",
              "key": "r", "action": "update", "actions": ["update"], "reason": "drift",
              "before": {"max": 2, "pin": "(sensitive)"}, "after": {"max": 3},
              "replace_paths": [], "sensitive_paths": ["pin"], "disruptive": False,
              "live_session": False, "new_join_urls": False,
              "live_fingerprint": "0123456789abcdef", "a_later_field": 1}
    return {"format_version": "1.1", "tool_version": "0", "config": "rooms.yaml",
            "checksum": "c" * 64, "plan_checksum": "p" * 64, "summary": {"update": 1},
            "accounts": [{"name": "a", "provider": "telnyx", "managed": 1, "unmanaged": 0}],
            "changes": [change], "uncertain_creates": [], "blocked": [], "errors": []}


def test_a_saved_plan_is_read_and_fields_it_does_not_know_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_saved_document() | {"a_later_key": {}}))
    saved = read_saved(path)
    assert (saved.config, saved.checksum, saved.accounts[0].managed) == ("rooms.yaml",
                                                                         "c" * 64, 1)
    (change,) = saved.changes
    assert change.action is Action.UPDATE and change.before == {"max": 2}  # masked: gone
    assert change.live_fingerprint == "0123456789abcdef"
    shown = read_plan(path)
    assert shown.plan.checksum() == "p" * 64 and next(shown.plan.changes()).key == "r"


@pytest.mark.parametrize(("change", "why"), [
    # Each was accepted, or refused without saying where, by the hand-written reader.
    ("d['changes'][0]['action'] = 'bogus'",
     "changes[0].action: must be 'create', 'update', 'replace', 'delete' or 'noop'"),
    ("d['accounts'][0]['managed'] = '3'", "accounts[0].managed: must be a whole number,"
                                          " not a string"),
    ("d['changes'][0]['new_join_urls'] = 'no'", "changes[0].new_join_urls: must be a"
                                                " boolean, not a string"),
    ("del d['changes'][0]['live_fingerprint']", "changes[0]: missing live_fingerprint"),
    ("d['changes'][0]['before'] = []", "changes[0].before: must be an object, not an array"),
    ("d['checksum'] = None", "checksum: must be a string, not null"),
    ("d['errors'] = [{'message': 'boom'}]", "the plan failed: it holds errors, not changes"),
])
def test_a_saved_plan_of_the_wrong_shape_is_refused_saying_where(
        tmp_path: Path, change: str, why: str) -> None:
    document = _saved_document()
    exec(change, {"d": document})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ReconcileError) as caught:
        read_saved(path)
    assert str(caught.value) == (f"{path}: not a saved plan of this tool ({why}); write one"
                                 " with `reconcile plan --out plan.json`")


def test_a_shown_plan_names_an_account_it_lacks(tmp_path: Path) -> None:
    document = _saved_document()
    document["changes"][0]["account"] = "b"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ReconcileError, match=r"\(account b is not in `accounts`\)"):
        read_plan(path)
