"""`apply`'s outcome reporting: a progress bar on a terminal, a line per change elsewhere.

The terminal cases run the real CLI in a subprocess whose stderr is a pseudo-terminal,
since only a real tty makes click (and ApplyProgress) take the live path.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.exitcodes import ERROR, OK
from reconcile.outputs.progress import ApplyProgress

from ..conftest import example_rooms

ROOT = Path(__file__).resolve().parents[2]
TOTAL = example_rooms()  # the changes examples/rooms.yaml plans on an empty sandbox
TWILIO_ROOMS = ("daily-standup", "support-escalation", "townhall-audio")
OUTCOME_LINE = re.compile(r"^[+~-]\S* \S+ (created|updated|replaced|deleted|FAILED|skipped)")
BAR = re.compile(r"Applying  \[[#-]+\]  (\d+)/(\d+)  (?:\x1b\[31m)?(\d+) failed")

# The real CLI, except that the moment the apply starts (the plan has been read) the
# sandbox answers every Twilio request with 429 and Retry-After: 0, so the three Twilio
# creates fail quickly (five attempts, no waiting) and the other eleven succeed.
FAULTED_CLI = """
import sys
from reconcile.outputs import progress
from reconcile.sandbox import attach
from reconcile.sandbox.faults import set_faults

servers = []
start = attach.start

def started(db):
    servers.append(start(db))
    return servers[-1]

enter = progress.ApplyProgress.__enter__

def enter_faulted(self):
    set_faults(servers[0].sandbox, "twilio",
               {"burst_429": {"rate": 1, "length": 10000, "retry_after": 0}})
    return enter(self)

attach.start = started
progress.ApplyProgress.__enter__ = enter_faulted
from reconcile.cli import main
main(sys.argv[1:])
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "rooms.yaml", tmp_path / "rooms.yaml")
    return tmp_path


def apply_args(workdir: Path) -> list[str]:
    return ["--sandbox", "--sandbox-db", str(workdir / "s.db"), "apply", "--auto-approve",
            str(workdir / "rooms.yaml")]


def on_a_terminal(workdir: Path, *, faulted: bool = False, no_color: bool = False
                  ) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pty (stdout to a file): exit code, stderr, stdout."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = ["-c", FAULTED_CLI] if faulted else ["-m", "reconcile"]
    master, slave = pty.openpty()
    out_path = workdir / "stdout.txt"
    with out_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *start, *apply_args(workdir)], cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=slave, env=env)
    os.close(slave)  # else reading the master never sees the child's end of file
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise AssertionError(f"the CLI did not finish: {b''.join(chunks)!r}")
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO on Linux: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode(), out_path.read_text()


def frames(text: str) -> list[str]:
    """What the terminal showed, piece by piece: the bar redraws itself after each \\r."""
    return [piece for piece in re.split(r"[\r\n]", text) if piece.strip()]


def bar_positions(text: str) -> list[tuple[int, int, int]]:
    return [(int(m[1]), int(m[2]), int(m[3])) for m in BAR.finditer(text)]


# -- not a terminal: a line per change ----------------------------------------------------

def test_without_a_terminal_each_change_gets_its_own_line(workdir: Path) -> None:
    result = CliRunner().invoke(cli, apply_args(workdir))
    assert result.exit_code == OK, result.output
    planned = [line.split()[1] for line in result.stdout.splitlines()
               if line.startswith("+ ")]
    assert len(planned) == TOTAL
    outcome_lines = [line for line in result.stderr.splitlines() if OUTCOME_LINE.match(line)]
    assert sorted(outcome_lines) == sorted(f"+ {address} created" for address in planned)
    assert "Applying" not in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr


# -- a terminal: the bar ------------------------------------------------------------------

def test_on_a_terminal_a_bar_counts_the_changes_instead_of_lines(workdir: Path) -> None:
    code, err, out = on_a_terminal(workdir)
    assert code == OK, err
    assert f"Apply: {TOTAL} applied, 0 failed, 0 skipped." in out
    # Drawn at 0, then once per outcome, ending full at 14/14.
    assert bar_positions(err) == [(done, TOTAL, 0) for done in range(TOTAL + 1)]
    assert f"[{'#' * 36}]  {TOTAL}/{TOTAL}  0 failed" in err
    assert not [f for f in frames(err) if OUTCOME_LINE.match(f)]  # no per-change lines
    assert "\x1b[?25l" in err and err.rstrip().endswith("\x1b[?25h")  # cursor hidden, back


def test_on_a_terminal_failures_are_printed_above_the_bar_in_red(workdir: Path) -> None:
    code, err, out = on_a_terminal(workdir, faulted=True)
    assert code == ERROR, err
    assert f"Apply: {TOTAL - 3} applied, 3 failed, 0 skipped." in out
    for room in TWILIO_ROOMS:
        assert f"\x1b[31m+ twilio.rooms[{room}] FAILED: 429: Too Many Requests\x1b[0m" in err
    positions = bar_positions(err)
    assert [done for done, _, _ in positions] == list(range(TOTAL + 1))
    assert positions[-1] == (TOTAL, TOTAL, 3)
    failed_so_far = [failed for _, _, failed in positions]
    assert failed_so_far == sorted(failed_so_far)  # the count only ever grows
    assert "\x1b[31m3 failed\x1b[0m" in err
    # Only the failures get lines: the eleven successes just move the bar.
    lines = [f for f in frames(err) if OUTCOME_LINE.match(re.sub(r"\x1b\[[0-9;]*m", "", f))]
    assert len(lines) == 3


def test_no_color_keeps_every_escape_code_off_the_terminal(workdir: Path) -> None:
    code, err, _ = on_a_terminal(workdir, faulted=True, no_color=True)
    assert code == ERROR, err
    assert "\x1b" not in err
    shown = frames(err)
    for room in TWILIO_ROOMS:
        assert f"+ twilio.rooms[{room}] FAILED: 429: Too Many Requests" in shown
    assert f"Applying  [{'#' * 36}]  {TOTAL}/{TOTAL}  3 failed" in shown


# -- when colour is on --------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "environ", "live", "colour"), [
    (FakeTerminal(), {}, True, True),
    (FakeTerminal(), {"NO_COLOR": "1"}, True, False),
    (FakeTerminal(), {"NO_COLOR": ""}, True, True),  # no-color.org: empty means unset
    (io.StringIO(), {}, False, False),
])
def test_colour_needs_a_terminal_and_no_no_color(stream: io.StringIO, environ: dict[str, str],
                                                 live: bool, colour: bool) -> None:
    progress = ApplyProgress(3, stream=stream, environ=environ)
    assert (progress.live, progress.colour) == (live, colour)
