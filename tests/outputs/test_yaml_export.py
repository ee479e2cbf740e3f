"""`export` writes strings that every YAML reader reads back as the same text."""

from __future__ import annotations

import pytest
import yaml
from check_jsonschema.parsers.yaml import construct_yaml_implementation

from reconcile.loader import load_text
from reconcile.outputs.yaml_export import ExportedAccount, ExportedRoom, render

# Text to one YAML version or tool, a number, boolean or null to another.
AMBIGUOUS_TEXT = ["1e3", "0o10", "1.0e3", "1_000", "0b101", "010", "yes", "Off", "y", "N",
                  "1:20", "True", "~", "null", ".inf", "12", "+0x10", "2024-01-01"]


def exported(value: object) -> str:
    account = ExportedAccount("signalwire", {"space": "acme"},
                              {"rooms": [ExportedRoom({"name": "r", "display_name": value})]})
    return render([account], "rooms.yaml")


@pytest.mark.parametrize("text", AMBIGUOUS_TEXT)
def test_ambiguous_text_is_quoted_so_every_reader_reads_text(text: str) -> None:
    written = exported(text)
    room = load_text(written).data["providers"]["signalwire"]["rooms"][0]  # YAML 1.2
    assert room["display_name"] == text
    assert yaml.safe_load(written)["providers"]["signalwire"]["rooms"][0]["display_name"] \
        == text  # YAML 1.1
    editor = construct_yaml_implementation().load(written)  # check-jsonschema's YAML 1.2
    assert editor["providers"]["signalwire"]["rooms"][0]["display_name"] == text


@pytest.mark.parametrize("value,shown", [(10, "10"), (True, "true"), (None, "null"),
                                         (1.5, "1.5"), ("plain words", "plain words")])
def test_values_that_need_no_quotes_stay_plain(value: object, shown: str) -> None:
    assert f"display_name: {shown}\n" in exported(value)
