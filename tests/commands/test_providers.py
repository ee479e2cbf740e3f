"""`reconcile providers`: the capability table agrees with the adapters' declarations, and
needs neither a rooms file nor the network."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.engine.adapters import adapter_class
from reconcile.exitcodes import ERROR, OK
from reconcile.providers import PROVIDER_PACKAGES, provider_models


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No rooms file in reach, and any connection attempt fails the test."""
    monkeypatch.chdir(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reconcile providers tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["providers", *args])


def provider_fields(provider: str) -> dict[str, list[str]]:
    """Each kind's settable fields, read from the file-format models."""
    return {kind.name: [name for name in kind.model.yaml_names()
                        if name not in kind.model.MANAGEMENT_FIELDS]
            for kind in provider_models(provider).kinds}


def test_the_json_table_agrees_with_the_capabilities() -> None:
    result = run("--format", "json")
    assert result.exit_code == OK, result.output
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    table = {entry["provider"]: entry for entry in document["providers"]}
    assert list(table) == list(PROVIDER_PACKAGES)
    for provider, entry in table.items():
        capabilities = adapter_class(provider).capabilities
        assert entry["delete"] == capabilities.delete
        assert entry["replace_order"] == capabilities.replace_order
        assert entry["sessions_visible"] is capabilities.sessions
        fields = provider_fields(provider)
        assert {kind: [f["field"] for f in rows] for kind, rows in entry["kinds"].items()
                } == fields
        keys = {kind.name: kind.model.KEY_FIELD for kind in provider_models(provider).kinds}
        for kind, rows in entry["kinds"].items():
            for row in rows:
                forced = capabilities.forces_replacement(row["field"])
                assert row["change"] == ("replace" if forced else "in place"), (provider, row)
                assert row["key"] is (row["field"] == keys[kind])


def test_the_table_tells_the_providers_apart() -> None:
    """What the design says of each provider, as the table derives it."""
    table = {e["provider"]: e for e in json.loads(run("--format", "json").stdout)["providers"]}

    def changes(provider: str) -> set[str]:
        return {row["change"] for rows in table[provider]["kinds"].values() for row in rows}

    assert changes("twilio") == changes("kaleyra") == {"replace"}  # nothing in place
    assert changes("telnyx") == {"in place"}  # every field, the key too
    for provider, key in (("signalwire", "name"), ("metered", "roomName")):
        replaced = {row["field"] for rows in table[provider]["kinds"].values()
                    for row in rows if row["change"] == "replace"}
        assert replaced == {key}
    assert table["metered"]["replace_order"] == table["kaleyra"]["replace_order"] \
        == "create-first"
    assert {p for p, e in table.items() if not e["sessions_visible"]} == {"metered",
                                                                         "kaleyra", "daily"}
    assert list(table["signalwire"]["kinds"]) == ["rooms", "conferences"]


def test_the_text_table_shows_every_field_and_the_delete_way() -> None:
    result = run()
    assert result.exit_code == OK, result.output
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == list(PROVIDER_PACKAGES)
    for block in blocks:
        provider = block.splitlines()[0]
        capabilities = adapter_class(provider).capabilities
        assert f"\n  delete:   {capabilities.delete}\n" in block
        visible = "visible:" if capabilities.sessions else "not visible:"
        assert f"\n  sessions: {visible}" in block
        for kind, fields in provider_fields(provider).items():
            section = block.split(f"\n  {kind}:\n", 1)[1]
            for name in fields:
                change = "replace" if capabilities.forces_replacement(name) else "in place"
                assert re.search(rf"^    {re.escape(name)} +{change}\b", section, re.M), \
                    (provider, name)


def test_a_bad_format_is_a_usage_error() -> None:
    result = run("--format", "xml")
    assert result.exit_code == ERROR
    assert "Invalid value for '--format'" in result.stderr


def test_help_stays_light() -> None:
    """`reconcile --help` lists the new commands without importing pydantic or httpx."""
    code = ("import sys; from reconcile.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pydantic', 'httpx') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines()[-1] == "[]"
    for command in ("export", "show", "providers"):
        assert re.search(rf"^  {command} ", result.stdout, re.M)
        own = CliRunner().invoke(cli, [command, "--help"])
        assert own.exit_code == OK
        assert "Exit codes:\n    0  " in own.stdout and "\n    1  " in own.stdout
