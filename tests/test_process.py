"""reconcile.process: tuning for the command's own process, never for a library's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from reconcile.process import PYDANTIC_PLUGINS

# Runs `reconcile validate` through the command's entry point (or only validates, as a
# program using reconcile would), then says whether pydantic searched for plugins.
_RUN = (
    "import os, sys\n"
    "from pydantic.plugin import _loader\n"
    "if sys.argv[1] == 'command':\n"
    "    from reconcile.cli import main\n"
    "    try:\n"
    "        main(['validate', sys.argv[2]])\n"
    "    except SystemExit as exit:\n"
    "        assert exit.code == 0, exit.code\n"
    "else:\n"
    "    from reconcile.config import load\n"
    "    load(sys.argv[2])  # raises on any error\n"
    "print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'), _loader._plugins is not None)\n")

ROOMS = "version: 1\nproviders:\n  telnyx:\n    credentials: {api_key: '${TELNYX_API_KEY}'}\n" \
        "    rooms:\n      - unique_name: standup\n"


def _run(how: str, tmp_path: object, preset: str | None = None) -> list[str]:
    path = os.path.join(str(tmp_path), "rooms.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(ROOMS)
    env = {k: v for k, v in os.environ.items() if k != PYDANTIC_PLUGINS}
    env["TELNYX_API_KEY"] = "KEY-test-only-0123456789"
    if preset is not None:
        env[PYDANTIC_PLUGINS] = preset
    result = subprocess.run([sys.executable, "-c", _RUN, how, path], capture_output=True,
                            text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_command_skips_pydantics_search_for_plugins(tmp_path: object) -> None:
    assert _run("command", tmp_path) == ["__all__", "False"]


def test_a_program_using_reconcile_keeps_pydantics_plugins(tmp_path: object) -> None:
    assert _run("library", tmp_path) == ["None", "True"]


@pytest.mark.parametrize("preset", ["false", "logfire"])
def test_a_setting_of_the_variable_is_kept(tmp_path: object, preset: str) -> None:
    """Whoever set it chose: plugins are searched for (and the named one left out)."""
    assert _run("command", tmp_path, preset) == [preset, "True"]
