"""The command line as a whole: the same exit-code rules and help for every command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reconcile.cli import COMMANDS, cli
from reconcile.exitcodes import ERROR

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
