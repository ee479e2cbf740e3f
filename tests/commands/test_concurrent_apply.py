"""Two applies on one Kaleyra state file, as real processes: the second waits for the first
(saying so) or gives up after --lock-timeout with a clear message; nothing is corrupted and
no room is made twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from reconcile.exitcodes import ERROR, OK
from reconcile.providers.kaleyra.state import KaleyraState, locked
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import KALEYRA_STATE, rooms_file

SANDBOX_PROVIDERS = ("kaleyra",)
KEY = DEFAULT_CREDENTIALS["kaleyra"][1]
ROOMS = 12
WAITING = "another apply holds the lock on Kaleyra state file"


CONSULTS = "".join(f"      - {{name: consult-{i}, participants: [{{user_id: doc, is_admin:"
                   f" true}}, {{user_id: pat}}]}}\n" for i in range(ROOMS))


class Apply:
    """`reconcile apply` in a process of its own, its stderr read as it comes."""

    def __init__(self, path: Path, *options: str) -> None:
        self.lines: list[str] = []
        self.waiting = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconcile", "apply", "--auto-approve", *options,
             str(path)], cwd=path.parent, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, "KALEYRA_API_KEY": KEY})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if WAITING in line:
                self.waiting.set()

    def finish(self) -> tuple[int, str, str]:
        # Not communicate(): it would read stderr too, racing the reader thread for lines.
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return self.process.returncode, stdout, "".join(self.lines)


def live_rooms(sandbox: Sandbox) -> int:
    return len(sandbox.store.list("kaleyra", KEY, "rooms"))


def test_a_second_apply_waits_for_the_first_and_then_finds_nothing_to_do(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = rooms_file(tmp_path, server, "kaleyra", CONSULTS)
    state = tmp_path / KALEYRA_STATE
    with locked(state, 0):  # a third apply, already running: both must wait for it
        applies = [Apply(path), Apply(path)]
        for apply in applies:
            assert apply.waiting.wait(timeout=30), apply.lines
        assert live_rooms(sandbox) == 0  # nobody went ahead without the lock
    results = [apply.finish() for apply in applies]
    assert [code for code, _, _ in results] == [OK, OK]
    first, later = sorted((stdout for _, stdout, _ in results),
                          key=lambda stdout: stdout.startswith("No changes."))
    assert f"Plan: {ROOMS} to create" in first
    assert later.startswith("No changes.")  # it read the state the first one wrote
    for _, _, stderr in results:
        assert "waiting for it to finish (--lock-timeout sets a limit)" in stderr
    assert live_rooms(sandbox) == ROOMS  # not one room made twice
    recorded = KaleyraState.load(state, "kaleyra")
    assert recorded.names() == sorted(f"consult-{i}" for i in range(ROOMS))
    assert json.loads(state.read_text())["account"] == "kaleyra"


def test_lock_timeout_gives_up_with_a_message_and_changes_nothing(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = rooms_file(tmp_path, server, "kaleyra", CONSULTS)
    state = tmp_path / KALEYRA_STATE
    with locked(state, 0):
        code, stdout, stderr = Apply(path, "--lock-timeout", "0.3").finish()
    assert code == ERROR
    assert stdout == ""
    assert (f"reconcile: another apply holds the lock on Kaleyra state file {state};"
            " waited 0.3 s. Rerun when it finishes, or raise --lock-timeout.") in stderr
    assert "Traceback" not in stderr
    assert live_rooms(sandbox) == 0
    assert not state.exists()
    code, stdout, _ = Apply(path, "--lock-timeout", "0").finish()  # free now: it runs
    assert code == OK and f"Plan: {ROOMS} to create" in stdout
