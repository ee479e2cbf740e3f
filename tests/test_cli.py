"""The command line as a whole: the same exit-code rules and help for every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconcile.cli import COMMANDS, cli
from reconcile.exitcodes import ERROR, epilog

LEAF_COMMANDS = sorted(name for name in COMMANDS if name != "sandbox")


@pytest.mark.parametrize("name", [*sorted(COMMANDS), None])
def test_a_usage_error_exits_1_everywhere(name: str | None) -> None:
    # 2 is reserved for `plan --detailed-exitcode`'s "changes": never a mistyped option.
    args = [name, "--no-such-option"] if name else ["no-such-command"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == ERROR
    assert "No such" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--no-such-option"], ["--sandbox-db"]])
def test_a_usage_error_before_the_command_exits_1_too(args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args])
    assert result.exit_code == ERROR
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", LEAF_COMMANDS)
def test_every_command_lists_its_exit_codes(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    help_text = result.stdout
    assert "Exit codes:" in help_text
    assert "  0  " in help_text and "  1  " in help_text


def test_the_top_level_help_names_every_exit_code() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for meaning in ("0 success", "1 an error", "or a usage error", "2 plan --detailed-exitcode:"
                    " changes", "3 a safety rail blocked apply"):
        assert meaning in text


def _every_command(group: click.Group, ctx: click.Context, prefix: list[str]
                   ) -> list[list[str]]:
    found = [prefix]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += _every_command(command, ctx, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


ALL_COMMANDS = _every_command(cli, click.Context(cli), [])


@pytest.mark.parametrize("args", ALL_COMMANDS, ids=lambda args: " ".join(args) or "reconcile")
def test_every_help_fits_80_columns(args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0
    too_wide = [line for line in result.stdout.splitlines() if len(line) > 80]
    assert not too_wide


def test_epilog_wraps_under_the_text() -> None:
    text = epilog(((1, "word " * 30),))
    lines = text.splitlines()
    assert lines[:2] == ["\b", "Exit codes:"] and lines[2].startswith("  1  word")
    assert all(len(line) <= 78 for line in lines)
    assert all(line.startswith("     word") for line in lines[3:])


# -- global options after the command -----------------------------------------------

GOOD = """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${TELNYX_API_KEY}"}
    rooms:
      - {unique_name: after, max_participants: 5}
"""


@pytest.fixture
def rooms(tmp_path: Path) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(GOOD)
    return path


@pytest.mark.parametrize("late", [
    ["--sandbox", "--sandbox-db", "{db}"],
    ["--sandbox-db={db}", "--sandbox"],
    ["--sandbox", "-v", "--sandbox-db", "{db}", "--debug"],
])
def test_global_options_work_after_the_command(rooms: Path, late: list[str]) -> None:
    db = str(rooms.parent / "sandbox.db")
    args = ["plan", str(rooms), *(arg.format(db=db) for arg in late)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Plan: 1 to create" in result.stdout
    assert (rooms.parent / "sandbox.db").is_file()  # the --sandbox-db given, not the default


def test_verbosity_after_the_command_is_counted(rooms: Path) -> None:
    db = str(rooms.parent / "sandbox.db")
    result = CliRunner().invoke(cli, ["plan", "--sandbox", "--sandbox-db", db, str(rooms),
                                      "-vv"])
    assert result.exit_code == 0, result.output
    assert "DEBUG " in result.stderr  # -vv: everything


def test_an_options_value_or_after_double_dash_is_no_global_option(
        rooms: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--out --debug`: the file named "--debug"; after `--`: a file argument.
    monkeypatch.chdir(rooms.parent)
    result = CliRunner().invoke(cli, ["--sandbox", "plan", "--out", "--debug", str(rooms)])
    assert result.exit_code == 0, result.output
    assert (rooms.parent / "--debug").is_file()
    result = CliRunner().invoke(cli, ["validate", "--", "--sandbox"])
    assert result.exit_code == ERROR
    assert "--sandbox" in result.output  # named as the file that is missing
