"""reconcile.api, the library interface, against the loopback emulators: real plans and
applies through the real adapters, compared with what the CLI does with the same file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconcile.api import ApplyResult, InEventLoop, apply_file, apply_saved, plan_file
from reconcile.cli import cli
from reconcile.config import load
from reconcile.engine import provider
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import Action, Plan
from reconcile.errors import ConfigError, ReconcileError
from reconcile.exitcodes import BLOCKED, CHANGES, ERROR, OK
from reconcile.sandbox import attach
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from .conftest import (
    SANDBOX_ACCOUNTS,
    SANDBOX_ENVIRON,
    accounts_file,
    example_rooms,
    one_room,
    rooms_file,
    telnyx_rooms_file,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "rooms.yaml"
ROOMS = "      - {unique_name: api-a, max_participants: 10}\n      - {unique_name: api-b}\n"
GUARDED = {"twilio": "      - {unique_name: t-1, max_participants: MAX, prevent_destroy: true}\n"}


def cli_run(*args: str) -> Result:
    return CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))


def writes(sandbox: Sandbox) -> dict[str, int]:
    """The requests other than reads the emulators have served, by provider."""
    return {name: sum(n for method, n in methods.items() if method != "GET")
            for name, methods in sandbox.counter_table().items()
            if any(method != "GET" for method in methods)}


def approve(plan: Plan) -> bool:
    return True


def test_plan_file_returns_the_plan_and_prints_nothing(
        tmp_path: Path, server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    result = plan_file(path, environ=SANDBOX_ENVIRON)
    assert [(c.address, c.action) for c in result.plan.changes()] == [
        ("telnyx.rooms[api-a]", Action.CREATE), ("telnyx.rooms[api-b]", Action.CREATE)]
    assert result.blocks == ()
    assert result.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.exit_status == CHANGES
    assert capsys.readouterr() == ("", "")  # data, not output: the commands render it
    assert not any(secret in repr(result) for secret in SANDBOX_ENVIRON.values()
                   if len(secret) >= 8)
    narrowed = plan_file(path, targets=["*-b"], environ=SANDBOX_ENVIRON)
    assert [c.key for c in narrowed.plan.changes()] == ["api-b"]
    # One pattern given as a string is that pattern, not one per character (which
    # matched no room: an empty plan, exit status 0).
    alone = plan_file(path, accounts="telnyx", targets="*-b", environ=SANDBOX_ENVIRON)
    assert [c.key for c in alone.plan.changes()] == ["api-b"]


def test_apply_file_sends_nothing_unless_approved(tmp_path: Path, server: SandboxServer,
                                                  sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    asked: list[Plan] = []

    def refuse(plan: Plan) -> bool:
        asked.append(plan)
        return False

    for declined in (apply_file(path, environ=SANDBOX_ENVIRON, confirm=refuse),
                     apply_file(path, environ=SANDBOX_ENVIRON)):  # no confirm: refused
        assert declined.declined and declined.outcomes == ()
        assert declined.exit_status == ERROR
    assert len(asked) == 1 and len(list(asked[0].changes())) == 2
    assert writes(sandbox) == {}  # only the plan's reads reached the emulator
    assert sandbox.counter_table()["telnyx"]["GET"] > 0


def test_apply_file_reports_each_outcome_as_it_goes(tmp_path: Path, server: SandboxServer,
                                                    sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    events: list[str] = []
    seen: list[Outcome] = []

    def confirm(plan: Plan) -> bool:
        events.append("confirm")
        return True

    def progress(outcome: Outcome) -> None:
        # Each outcome arrives once its change is made, while apply goes on.
        events.append("outcome")
        seen.append(outcome)

    result = apply_file(path, environ=SANDBOX_ENVIRON, confirm=confirm,
                        on_plan=lambda plan, skipped: events.append("plan"),
                        on_progress=progress)
    assert events == ["plan", "confirm", "outcome", "outcome"]
    assert seen == list(result.outcomes)
    assert sorted(o.change.key for o in seen) == ["api-a", "api-b"]
    assert {o.status for o in seen} == {"applied"}
    assert result.exit_status == OK
    assert writes(sandbox) == {"telnyx": 2}
    again = apply_file(path, environ=SANDBOX_ENVIRON)  # nothing to do: nothing to confirm
    assert (again.plan.has_changes, again.declined, again.exit_status) == (False, False, OK)


@pytest.mark.parametrize("case", ["changes", "blocked", "declined", "done"])
def test_exit_status_is_the_cli_s(tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
                                  case: str) -> None:
    path = accounts_file(tmp_path, server, {k: v.replace("MAX", "10")
                                            for k, v in GUARDED.items()})
    if case in ("blocked", "done"):
        assert apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True).exit_status == OK
    if case == "blocked":  # a replace of a room that prevent_destroy guards
        path.write_text(path.read_text().replace("max_participants: 10", "max_participants: 12"))
    planned = plan_file(path, environ=SANDBOX_ENVIRON)
    assert planned.exit_status == cli_run("plan", "--detailed-exitcode", str(path)).exit_code
    if case == "declined":
        assert apply_file(path, environ=SANDBOX_ENVIRON).exit_status \
            == cli_run("apply", str(path)).exit_code == ERROR  # no terminal to confirm on
        return
    applied = apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True)
    expected = {"changes": OK, "blocked": BLOCKED, "done": OK}[case]
    assert applied.exit_status == expected
    if case == "changes":
        sandbox.reset()  # the CLI from the same state: every room to make again
    cli_applied = cli_run("apply", "--auto-approve", str(path))
    assert cli_applied.exit_code == expected
    if case == "changes":
        assert len(applied.outcomes) == 1
        assert "Apply: 1 applied, 0 failed, 0 skipped." in cli_applied.stdout
    if case == "blocked":
        assert planned.exit_status == BLOCKED
        assert [b.account for b in applied.blocks] == ["twilio"]
        assert "prevent_destroy" in applied.blocks[0].message
        assert applied.outcomes == ()


def test_apply_saved_skips_what_changed_since_the_plan(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    assert apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True).exit_status == OK
    path.write_text(path.read_text().replace("api-a, max_participants: 10",
                                             "api-a, max_participants: 12")
                    .replace("{unique_name: api-b}", "{unique_name: api-b, max_participants: 5}"))
    saved = cli_run("plan", "--out", "plan.json", "rooms.yaml")
    assert saved.exit_code == OK, saved.output
    with SandboxControl(server.base_url) as control:  # someone changes api-a meanwhile
        control.patch_room("telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", "api-a",
                           {"max_participants": 30})
    declined = apply_saved("plan.json", environ=SANDBOX_ENVIRON)
    assert declined.declined and declined.exit_status == ERROR  # approval is still asked
    result = apply_saved("plan.json", environ=SANDBOX_ENVIRON, auto_approve=True)
    by_key = {o.change.key: o for o in result.outcomes}
    assert by_key["api-a"].status == "skipped"
    assert "changed since the plan" in by_key["api-a"].message
    assert by_key["api-b"].status == "applied"
    assert result.exit_status == ERROR == cli_run("apply", "plan.json").exit_code


def test_a_reviewed_checksum_is_enforced(tmp_path: Path, server: SandboxServer,
                                         sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    reviewed = plan_file(path, environ=SANDBOX_ENVIRON).plan.checksum()
    with pytest.raises(ReconcileError, match="differs from the reviewed one"):
        apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True, checksum="0" * 64)
    assert writes(sandbox) == {}
    result = apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True, checksum=reviewed)
    assert result.exit_status == OK and len(result.outcomes) == 2


def test_bad_input_raises_the_located_error(tmp_path: Path, server: SandboxServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = telnyx_rooms_file(tmp_path, server, "      - {unique_name: a, max_participants: 60}\n")
    with pytest.raises(ConfigError) as raised:  # not SystemExit: no CLI in the way
        apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True)
    [diagnostic] = raised.value.diagnostics
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(diagnostic))
    assert "max_participants" in str(diagnostic)
    with pytest.raises(ConfigError):
        plan_file(tmp_path / "missing.yaml")
    good = telnyx_rooms_file(tmp_path, server, ROOMS)
    with pytest.raises(ReconcileError, match="no account matches nope") as unmatched:
        plan_file(good, accounts=["nope"], environ=SANDBOX_ENVIRON)
    # An error met once the file is loaded names the file's checksum (error documents).
    assert unmatched.value.checksum == hashlib.sha256(good.read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path)
    assert cli_run("plan", "--out", "plan.json", "rooms.yaml").exit_code == OK
    good.rename(tmp_path / "moved.yaml")
    with pytest.raises(ReconcileError, match=re.escape("made from rooms.yaml, which is not there")):
        apply_saved("plan.json", environ=SANDBOX_ENVIRON, auto_approve=True)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"accounts": None}, "accounts must be a glob .str. or an iterable of globs, not NoneType"),
    ({"accounts": b"telnyx"}, "accounts must be a glob .* not bytes"),  # was taken as ints
    ({"accounts": ["telnyx", 5]}, "accounts must .* not one with an item of type int"),
    ({"targets": 5}, "targets must be a glob .* not int"),
    ({"targets": [b"api-a"]}, "targets must .* not one with an item of type bytes"),
    ({"environ": ["TELNYX_API_KEY"]}, "environ must be None or a mapping of str to str"),
    ({"environ": {"TELNYX_API_KEY": None}}, "environ must .* not one with an item of type"
                                            " NoneType"),
    ({"checksum": b"0" * 64}, "checksum must be None or a str, not bytes"),
])
def test_a_wrong_python_type_is_a_clear_type_error_before_anything_is_read(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, arguments: dict[str, Any],
        message: str) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    arguments = {"environ": SANDBOX_ENVIRON, **arguments}
    with pytest.raises(TypeError, match=message):
        apply_file(path, auto_approve=True, **arguments)
    assert sandbox.counter_table() == {}
    for path_value in (None, 5, os.fsencode(path)):
        with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike"):
            plan_file(path_value, environ=SANDBOX_ENVIRON)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"saved must be a str or os\.PathLike"):
        apply_saved(5, environ=SANDBOX_ENVIRON)  # type: ignore[arg-type]


def test_a_garbage_checksum_or_a_nul_in_the_path_is_refused_before_anything_is_read(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    for garbage in ("garbage", "\x1b[2J", "0" * 63, ""):
        with pytest.raises(ReconcileError, match=r"checksum: not a plan checksum \(64") as caught:
            apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True, checksum=garbage)
        assert garbage not in str(caught.value) or not garbage
    assert sandbox.counter_table() == {}
    with pytest.raises(ConfigError, match=r"no such file \(the path holds a NUL character"):
        plan_file(f"{path}\0x", environ=SANDBOX_ENVIRON)


def test_notices_go_to_the_callback_once_per_run(tmp_path: Path, server: SandboxServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "utc_today", lambda: date(2026, 12, 5))
    twice = {"twilio": GUARDED["twilio"].replace("MAX", "10"), "telnyx": ROOMS}
    path = accounts_file(tmp_path, server, twice)
    heard: list[str] = []
    plan_file(path, environ=SANDBOX_ENVIRON, on_notice=heard.append)
    assert len(heard) == 1 and "December 5, 2026" in heard[0]


def test_a_program_that_configures_no_logging_sees_nothing_on_stderr(
        tmp_path: Path, server: SandboxServer) -> None:
    # No Kaleyra state file: the adapter warns, on the `reconcile` logger. Logging is the
    # program's to configure; left alone, Python's last-resort handler printed it.
    path = rooms_file(tmp_path, server, "kaleyra", one_room("kaleyra", "quiet"),
                      state="nowhere.json")
    code = ("import logging, sys\n"
            "from reconcile.api import plan_file\n"
            f"print(len(list(plan_file({str(path)!r}).plan.changes())))\n"
            "logging.basicConfig(stream=sys.stdout)\n"  # configured, they are heard
            f"plan_file({str(path)!r})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **SANDBOX_ENVIRON})
    assert (done.returncode, done.stderr) == (0, "")
    first, *logged = done.stdout.splitlines()
    assert first == "1"
    assert any("there is no Kaleyra state file" in line for line in logged)


def test_the_sandbox_option_runs_on_a_database_of_its_own(tmp_path: Path) -> None:
    db = tmp_path / "box" / "sandbox.db"
    first = plan_file(EXAMPLE, sandbox=db)
    assert len(list(first.plan.changes())) == example_rooms()
    applied = apply_file(EXAMPLE, sandbox=db, confirm=approve)
    assert isinstance(applied, ApplyResult) and applied.exit_status == OK
    assert not plan_file(EXAMPLE, sandbox=db).plan.has_changes  # kept across calls
    assert db.is_file()


def test_an_empty_sandbox_path_is_refused_before_anything_starts(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReconcileError, match="sandbox: an empty path"):
        plan_file(EXAMPLE, sandbox="")
    # Path("") is already Path("."): the folder is refused as a database, as on the CLI.
    with pytest.raises(ReconcileError, match="is a directory, not a sandbox database"):
        plan_file(EXAMPLE, sandbox=Path(""))
    assert list(tmp_path.iterdir()) == []  # no database, no state folder made here


def test_no_results_repr_shows_a_sensitive_value_or_a_join_url(tmp_path: Path) -> None:
    # The example declares a Metered stream key and a Kaleyra description (PII), which
    # every output masks; a result printed or logged whole must not show them either.
    db = tmp_path / "sandbox.db"
    planned = plan_file(EXAMPLE, sandbox=db, on_notice=lambda notice: None)
    applied = apply_file(EXAMPLE, sandbox=db, auto_approve=True, on_notice=lambda n: None)
    join_urls = [url for o in applied.outcomes if o.live for url in o.live.join_urls]
    assert join_urls and applied.exit_status == OK
    secrets = ["rtmps://live.example.com/app/launch-2026", "Follow-up consultation",
               *join_urls]
    for text in (repr(planned), str(planned), repr(applied), repr(list(applied.outcomes))):
        assert [secret for secret in secrets if secret in text] == []
    # What the repr still says: which room, what is done, why.
    assert "action=<Action.CREATE: 'create'>" in repr(planned)
    assert "key='consult-42'" in repr(applied)


def test_attach_returns_a_new_config_and_leaves_the_loaded_one_alone(
        server: SandboxServer) -> None:
    config = load(EXAMPLE, credentials=False)
    before = {alias: (a.settings.model_dump(), dict(a.secrets))
              for alias, a in config.accounts.items()}
    attached = attach.attach(config, server)
    after = {alias: (a.settings.model_dump(), dict(a.secrets))
             for alias, a in config.accounts.items()}
    assert after == before
    assert attached is not config and attached.checksum == config.checksum
    for alias, account in attached.accounts.items():
        assert account.settings.endpoint.startswith(server.url(account.type))
        assert account.secrets and account.secrets != config.accounts[alias].secrets
        assert account.rooms == config.accounts[alias].rooms


class Hangup(Exception):
    """The caller's own failure, in a callback."""


def test_a_progress_callback_that_raises_stops_apply_safely_and_is_raised(
        tmp_path: Path, server: SandboxServer) -> None:
    # Kaleyra: its state file must record every room made, or the next plan orphans it.
    rooms = "".join(one_room("kaleyra", f"hang-{n}") for n in range(5))
    path = rooms_file(tmp_path, server, "kaleyra", rooms, "    concurrency: 2\n")
    heard: list[Outcome] = []

    def progress(outcome: Outcome) -> None:
        heard.append(outcome)
        raise Hangup("the caller's screen is gone")

    with pytest.raises(Hangup) as raised:
        apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True, on_progress=progress)
    # Heard once; the two changes under way finished, none started after: said in a note.
    assert len(heard) == 1
    assert raised.value.__notes__ == ["apply stopped because on_progress raised: 2 applied,"
                                      " 0 failed, 3 not started; plan again"]
    again = plan_file(path, environ=SANDBOX_ENVIRON)
    assert [c.action for c in again.plan.changes()].count(Action.CREATE) == 3
    assert [a.uncertain for a in again.plan.accounts] == [[]]
    assert apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True).exit_status == OK
    assert not plan_file(path, environ=SANDBOX_ENVIRON).plan.has_changes


def test_a_confirm_or_on_plan_that_raises_sends_nothing(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = rooms_file(tmp_path, server, "kaleyra", one_room("kaleyra", "never"))

    def fail(*args: object) -> bool:
        raise Hangup("no")

    for options in ({"confirm": fail}, {"on_plan": fail, "auto_approve": True}):
        with pytest.raises(Hangup):
            apply_file(path, environ=SANDBOX_ENVIRON, **options)  # type: ignore[arg-type]
    assert writes(sandbox) == {}
    # The state lock was let go: an apply can run now.
    assert apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True,
                      lock_timeout=5).exit_status == OK


def test_a_call_from_a_running_loop_is_refused_clearly_before_anything_starts(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    path = telnyx_rooms_file(tmp_path, server, ROOMS)
    saved = tmp_path / "nothing-read.json"  # refused before it is read

    async def app() -> list[str]:
        refused = []
        for call in (lambda: plan_file(path, environ=SANDBOX_ENVIRON),
                     lambda: apply_file(path, environ=SANDBOX_ENVIRON, auto_approve=True),
                     lambda: apply_saved(saved, environ=SANDBOX_ENVIRON),
                     lambda: plan_file(path, sandbox=tmp_path / "box.db")):
            with pytest.raises(InEventLoop) as raised:
                call()
            refused.append(str(raised.value))
        # The way the message gives works from the loop.
        planned = await asyncio.to_thread(plan_file, path, environ=SANDBOX_ENVIRON)
        assert planned.plan.has_changes
        return refused

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no coroutine left never awaited
        refused = asyncio.run(app())
    assert "plan_file cannot be called from a running event loop" in refused[0]
    assert "asyncio.to_thread(apply_saved" in refused[2]
    assert isinstance(InEventLoop("x"), ReconcileError | RuntimeError)
    assert sandbox.counter_table()["telnyx"]["GET"] > 0 and writes(sandbox) == {}
    assert not (tmp_path / "box.db").exists()  # no sandbox was started


# -- the README's example ------------------------------------------------------------------

def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python section has no example"
    return match.group(1)


def test_the_readme_example_runs(tmp_path: Path) -> None:
    code = readme_example()
    assert 10 <= len(code.strip().splitlines()) <= 15
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "examples" / "rooms.yaml")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{example_rooms()} changes, exit status 2"
    assert sum(line.startswith("applied ") for line in lines) == example_rooms()
    assert lines[-1] == "exit status 0; a second plan: 0 changes"
