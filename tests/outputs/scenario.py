"""One rooms file over every provider on the loopback emulators, applied, then edited
so that its plan holds every kind of change: creates, updates, replaces (by a field, by a
rename, Kaleyra's with new join URLs), deletions (pruned), no-ops, an unmanaged room, live
sessions, sensitive values and, optionally, a prevent_destroy that blocks apply.

The golden-file tests and the saved-plan tests both start from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import PROVIDERS
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, cases, per_provider, rooms_file

PRUNE = '    prune: {match: "x-*"}\n'
KALEYRA_DEFAULTS = ("    defaults: {participants: [{user_id: dr-lee, is_admin: true},"
                    " {user_id: patient-42}]}\n")
# Sensitive values the edited file declares (in Metered's and Kaleyra's cases).
RTMP = cases("metered").RTMP
DESCRIPTION = cases("kaleyra").DESCRIPTION

# provider -> room lines: as first applied, then as edited (its cases.py's SCENARIO_*).
FIRST: dict[str, list[str]] = per_provider("SCENARIO_FIRST")
SECOND: dict[str, list[str]] = per_provider("SCENARIO_SECOND")
FIRST_ROOMS = sum(len(rooms) for rooms in FIRST.values())
OCCUPIED = (("twilio", "t-busy"), ("telnyx", "x-gone"))


def _file(tmp_path: Path, server: SandboxServer, rooms: dict[str, list[str]], guard: bool
          ) -> Path:
    """One file with an account per provider (each named after it), on `server`."""
    blocks = []
    for provider in PROVIDERS:  # every registered one: FIRST and SECOND must name it
        lines = "".join(f"      - {line.replace('GUARD', str(guard).lower())}\n"
                        for line in rooms[provider])
        extra = PRUNE if provider in ("twilio", "telnyx") else ""
        extra += KALEYRA_DEFAULTS if provider == "kaleyra" else ""
        text = rooms_file(tmp_path, server, provider, lines, extra).read_text()
        blocks.append(text.split("providers:\n", 1)[1])
    path = tmp_path / "rooms.yaml"
    path.write_text("version: 1\nproviders:\n" + "".join(blocks))
    return path


def cli_run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={**SANDBOX_ENVIRON, **(env or {})}).invoke(cli, list(args))


@dataclass
class Scenario:
    tmp_path: Path
    server: SandboxServer
    control: SandboxControl

    def first(self) -> None:
        """Apply the first file (every room made), then fill two rooms with people."""
        _file(self.tmp_path, self.server, FIRST, guard=False)
        result = cli_run("apply", "--auto-approve", "rooms.yaml")
        assert result.exit_code == 0, result.output
        assert f"Apply: {FIRST_ROOMS} applied, 0 failed, 0 skipped." in result.stdout
        for provider, key in OCCUPIED:
            self.control.participants(provider, SANDBOX_ACCOUNTS[provider], "rooms", key,
                                      add=["alice"])

    def second(self, *, guard: bool = True) -> Path:
        """Write the edited file; `guard`: t-change's replace is stopped by prevent_destroy."""
        return _file(self.tmp_path, self.server, SECOND, guard=guard)

    def kaleyra_ids(self) -> dict[str, str]:
        state = json.loads((self.tmp_path / "kaleyra-state.json").read_text())
        return {name: entry["room_id"] for name, entry in state["rooms"].items()}
