"""The Kaleyra state file's format (state_model.py): every kind of damage is a clear error
that names its place and leaves the file as it was, and files written before the pydantic
model load and save unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconcile.errors import ReconcileError
from reconcile.providers.kaleyra.state import (
    DESCRIPTION_DIGEST_KEY,
    KaleyraState,
    StateError,
    locked,
    stored_settings,
)

from .conftest import (
    CREATED,
    URL_A,
    participants,
)


def test_description_is_stored_as_a_digest(path: Path) -> None:
    declared = {"recording": "none", "description": "Consult for Jane Roe"}
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra")
        entry = state.put("c", room_id="room_c", settings=declared,
                          participants=participants())
        state.save()
    assert "Jane Roe" not in path.read_text(encoding="utf-8")
    assert "description" not in entry.settings
    assert len(entry.settings[DESCRIPTION_DIGEST_KEY]) == 64
    # The engine compares the stored form of what is declared now with the entry.
    assert stored_settings(declared) == entry.settings
    assert stored_settings(entry.settings) == entry.settings
    assert stored_settings({**declared, "description": "other"}) != entry.settings


def _good_document() -> dict[str, object]:
    return {"format_version": 1, "tool": "reconcile", "account": "kaleyra",
            "rooms": {"consult-42": {"room_id": "room_1", "settings": {},
                                     "created_at": CREATED,
                                     "participants": [{"user_id": "u", "url": URL_A}]}}}


def _with(change: str) -> str:
    document = json.loads(json.dumps(_good_document()))
    exec(change, {"d": document})
    return json.dumps(document, indent=2)


GOOD = json.dumps(_good_document(), indent=2) + "\n"


DAMAGED = {
    "not json": ("{format_version: 1}", ["not valid JSON"]),
    "truncated": (GOOD[: len(GOOD) // 2], ["not valid JSON", "truncated"]),
    "empty": ("", ["is empty"]),
    "not utf-8": ('{"a": "\xff"}'.encode("latin-1"), ["not UTF-8"]),
    "merge conflict": (GOOD.replace('"rooms": {', '"rooms": {\n<<<<<<< HEAD\n=======\n'
                                    '>>>>>>> main\n'), ["merge conflict"]),
    "newer version": (_with("d['format_version'] = 2"),
                      ["format_version 2", "Upgrade reconcile"]),
    "older version": (_with("d['format_version'] = 0"), ["format_version 0"]),
    "version as text": (_with("d['format_version'] = '1'"),
                        ["format_version: must be a whole number, not a string"]),
    "no version": (_with("del d['format_version']"), ["format_version is missing"]),
    "array": ("[]", ["the document: must be an object, not an array"]),
    "other tool": (_with("d['tool'] = 'terraform'"), ["tool: must be"]),
    "other account": (_with("d['account'] = 'kaleyra-us'"),
                      ['belongs to account "kaleyra-us"', "own `state:` path"]),
    "unknown key": (_with("d['extra'] = 1"), ["unknown key extra"]),
    "rooms as list": (_with("d['rooms'] = []"), ["rooms: must be an object"]),
    "no room_id": (_with("del d['rooms']['consult-42']['room_id']"),
                   ["rooms.consult-42: missing room_id"]),
    "url not text": (_with("d['rooms']['consult-42']['participants'][0]['url'] = 7"),
                     ["rooms.consult-42.participants[0].url: must be a non-empty string, "
                      "not a whole number"]),
    "bad date": (_with("d['rooms']['consult-42']['created_at'] = 'yesterday'"),
                 ["created_at: must be an ISO 8601"]),
    "shared room_id": (_with("d['rooms']['other'] = d['rooms']['consult-42']"),
                       ["rooms.other.room_id: is also the room_id of consult-42"]),
    "duplicate key": (GOOD.replace('"account": "kaleyra",',
                                   '"account": "kaleyra", "account": "kaleyra",'),
                      ['"account" appears twice']),
    "empty room name": (_with("d['rooms'][''] = d['rooms'].pop('consult-42')"),
                        ["rooms: a room name is empty"]),
    "empty room_id": (_with("d['rooms']['consult-42']['room_id'] = ''"),
                      ["rooms.consult-42.room_id: must be a non-empty string"]),
    "uncertain not a list": (_with("d['uncertain_creates'] = {}"),
                             ["uncertain_creates: must be an array, not an object"]),
    "uncertain with no time": (_with("d['uncertain_creates'] = [{'name': 'a'}]"),
                               ["uncertain_creates[0]: missing requested_at"]),
    "uncertain bad time": (_with("d['uncertain_creates'] = [{'name': 'a', 'requested_at':"
                                 " 'noon'}]"),
                           ["uncertain_creates[0].requested_at: must be an ISO 8601"]),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_file_is_a_clear_error_and_left_untouched(path: Path, case: str) -> None:
    content, fragments = DAMAGED[case]
    raw = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    with pytest.raises(StateError) as caught:
        KaleyraState.load(path, "kaleyra")
    message = str(caught.value)
    assert isinstance(caught.value, ReconcileError)
    assert message.startswith(f"Kaleyra state file {path} ")
    for fragment in fragments:
        assert fragment in message
    assert "SECRET" not in message  # never echo content
    if case not in ("newer version", "other account", "merge conflict"):
        assert "Restore it from git or from the pipeline artifact" in message
        assert "Do not delete" in message
    assert path.read_bytes() == raw
    assert os.listdir(path.parent) == [path.name]


def test_a_null_description_is_kept_out_of_the_stored_settings() -> None:
    assert stored_settings({"recording": "none", "description": None}) == {"recording": "none"}


WRITTEN_BY_MAIN = Path(__file__).parent / "written_by_main"


@pytest.mark.parametrize("name", ["state-main.json", "state-main-with-intents.json"])
def test_a_file_written_before_the_pydantic_model_loads_and_saves_unchanged(
        tmp_path: Path, name: str) -> None:
    """Both files were written by main's KaleyraState.save() before the state file got its
    pydantic model (one has no `uncertain_creates`, as files from before intents)."""
    written = (WRITTEN_BY_MAIN / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(written)
    with locked(path, 0):
        state = KaleyraState.load(path, "kaleyra-eu")
        assert state.names() == ["consult-42", "team-sync"]
        entry = state.get("consult-42")
        assert entry is not None and entry.room_id == "room_0123456789ab"
        assert [p.user_id for p in entry.participants] == ["dr-lee", "patient-42"]
        assert entry.settings["duration"] == 3600 and DESCRIPTION_DIGEST_KEY in entry.settings
        assert [r.name for r in state.uncertain()] == (["consult-43"] if "intents" in name
                                                       else [])
        assert state.to_json().encode("utf-8") == written  # the on-disk format is the same
        state.save()
    assert path.read_bytes() == written
