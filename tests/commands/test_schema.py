"""`reconcile schema` writes the schema and `--check` catches a stale copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.schema import SCHEMA_ID, render_schema, shipped_schema


def test_writes_then_checks(tmp_path: Path) -> None:
    target = tmp_path / "schemas" / "rooms.schema.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["schema", "--output", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text())["$id"] == SCHEMA_ID
    assert target.read_text() == render_schema()
    result = runner.invoke(cli, ["schema", "--check", "--output", str(target)])
    assert (result.exit_code, result.stderr) == (0, f"{target} is up to date\n")


def test_check_fails_on_stale_and_missing(tmp_path: Path) -> None:
    target = tmp_path / "rooms.schema.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["schema", "--check", "--output", str(target)])
    assert result.exit_code == 1
    assert "is missing: run `reconcile schema`" in result.stderr
    target.write_text(render_schema().replace("Telnyx", "Telnix", 1))
    result = runner.invoke(cli, ["schema", "--check", "--output", str(target)])
    assert result.exit_code == 1
    assert "is stale: run `reconcile schema`" in result.stderr


def test_default_path_is_the_committed_schema(monkeypatch: object) -> None:
    root = Path(__file__).resolve().parents[2]
    import os

    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["schema", "--check"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("name", ["rooms", "plan"])
def test_print_writes_a_shipped_schema(name: str) -> None:
    result = CliRunner().invoke(cli, ["schema", "--print", name])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["$id"] == f"https://reconcile-rooms.dev/schemas/{name}.schema.json"
    assert result.stdout == shipped_schema(name)


def test_print_refuses_an_unknown_schema() -> None:
    result = CliRunner().invoke(cli, ["schema", "--print", "room"])
    assert result.exit_code == 1
    assert "'room' is not one of 'rooms', 'plan'" in result.stderr
