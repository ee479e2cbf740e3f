"""`plan` and `apply` end to end through the CLI, on the in-process sandbox."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.engine import provider
from reconcile.exitcodes import BLOCKED, CHANGES, ERROR, OK
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, PROVIDERS
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.sandbox.server import SandboxServer
from reconcile.starter import credential_variables, locators

from ..conftest import (
    KALEYRA_STATE,
    SANDBOX_ENVIRON,
    accounts_file,
    example_rooms,
    one_room,
    rooms_file,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ROOMS = example_rooms()  # what examples/rooms.yaml creates on an empty sandbox


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "rooms.yaml", tmp_path / "rooms.yaml")
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--sandbox", *args], input=stdin)


def test_the_readme_main_job_converges(workdir: Path) -> None:
    first = run("apply", "--auto-approve", "rooms.yaml")
    assert first.exit_code == OK, first.output
    assert f"Plan: {EXAMPLE_ROOMS} to create, 0 to update, 0 to replace, 0 to delete" \
        in first.stdout
    assert f"Apply: {EXAMPLE_ROOMS} applied, 0 failed, 0 skipped." in first.stdout
    assert (workdir / ".reconcile" / "sandbox.db").exists()
    second = run("plan", "rooms.yaml")
    assert second.exit_code == OK
    assert second.stdout == "No changes. (0 unmanaged rooms left alone)\n"


def test_detailed_exitcode(workdir: Path) -> None:
    assert run("plan", "--detailed-exitcode").exit_code == CHANGES  # rooms.yaml by default
    run("apply", "--auto-approve")
    assert run("plan", "--detailed-exitcode").exit_code == OK


def test_apply_without_a_terminal_refuses(workdir: Path) -> None:
    result = run("apply", "rooms.yaml", stdin="")
    assert result.exit_code == ERROR
    assert "no terminal to confirm on; pass --auto-approve" in result.stderr
    assert run("plan", "--detailed-exitcode").exit_code == CHANGES  # nothing was applied


def test_account_filter(workdir: Path) -> None:
    result = run("plan", "--account", "telnyx*")
    assert result.exit_code == OK
    assert "Plan: 3 to create" in result.stdout
    assert "twilio" not in result.stdout
    assert run("plan", "--account", "nope").exit_code == ERROR


def test_prevent_destroy_blocks_a_replace_with_exit_3(workdir: Path) -> None:
    assert run("apply", "--auto-approve", "--account", "twilio").exit_code == OK
    text = (workdir / "rooms.yaml").read_text()
    text = text.replace("      - unique_name: daily-standup\n        max_participants: 12\n",
                        "      - unique_name: daily-standup\n        max_participants: 14\n"
                        "        prevent_destroy: true\n")
    (workdir / "rooms.yaml").write_text(text)
    result = run("apply", "--auto-approve", "--account", "twilio")
    assert result.exit_code == BLOCKED
    assert "twilio.rooms[daily-standup]: prevent_destroy is set" in result.stderr
    assert "-/+ twilio.rooms[daily-standup]" in result.stdout
    assert "max_participants: 12 -> 14  # forces replacement" in result.stdout


def test_an_invalid_file_is_reported_and_nothing_runs(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text("version: 1\nproviders:\n  telnyx:\n"
                                      "    credentials: {api_key: leaked}\n")
    result = run("plan", "bad.yaml")
    assert result.exit_code == ERROR
    assert "bad.yaml:4:28: `api_key` holds a literal value" in result.stderr
    assert "leaked" not in result.output


@pytest.mark.parametrize("command", ["plan", "apply", "export", "show"])
def test_a_directory_gets_validates_located_message(workdir: Path, command: str) -> None:
    (workdir / "rooms").mkdir()
    result = run(command, "rooms")
    assert result.exit_code == ERROR
    assert result.stderr.splitlines()[0] == "rooms:1:1: is a directory, not a rooms file"
    assert "Usage:" not in result.output


@pytest.mark.parametrize("command", ["plan", "apply", "export", "show"])
def test_a_missing_file_says_so_and_how_to_name_the_right_one(workdir: Path,
                                                              command: str) -> None:
    (workdir / "rooms.yaml").unlink()
    result = run(command)
    assert result.exit_code == ERROR
    assert result.stderr == (f"reconcile: rooms.yaml: no such file (give the rooms file's"
                             f" path: reconcile {command} path/to/rooms.yaml)\n")
    failed = run("plan", "--format", "json", "gone.yaml")
    assert json.loads(failed.stdout)["errors"] == [{"message": (
        "gone.yaml: no such file (give the rooms file's path: reconcile plan"
        " path/to/rooms.yaml)")}]


def test_keys_equal_once_resolved_stop_plan_before_any_request(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Today's flip-flop: two creates of `same` planned forever, each apply "applied".
    (workdir / "keys.yaml").write_text(
        "version: 1\nproviders:\n  telnyx:\n    credentials: {api_key: '${K}'}\n    rooms:\n"
        "      - {unique_name: '${ROOM_A}', max_participants: 3}\n"
        "      - {unique_name: '${ROOM_B}', max_participants: 5}\n")
    monkeypatch.setenv("ROOM_A", "same")
    monkeypatch.setenv("ROOM_B", "same")
    result = run("apply", "--auto-approve", "keys.yaml")
    assert result.exit_code == ERROR
    assert "keys.yaml:7:23: duplicate room `same` (written `${ROOM_B}`): already declared" \
        " at line 6, column 23 (written `${ROOM_A}`)" in result.stderr
    assert "reconcile: keys.yaml is not valid: nothing was applied" in result.stderr


def test_without_sandbox_a_missing_variable_is_named(workdir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELNYX_API_KEY", "TWILIO_ACCOUNT_SID"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["plan", "--account", "telnyx-eu"])
    assert result.exit_code == ERROR
    assert "environment variable `TELNYX_API_KEY` is not set" in result.stderr


# -- exit codes, usage, formats on failure, --target ---------------------------------------

@pytest.mark.parametrize("command", ["plan", "apply"])
def test_usage_errors_exit_1_never_2_and_help_lists_the_codes(workdir: Path,
                                                              command: str) -> None:
    result = run(command, "--detailed-exitcode" if command == "apply" else "--bogus")
    assert result.exit_code == ERROR, result.output
    assert "No such option" in result.stderr
    assert run(command, "--format", "yaml").exit_code == ERROR
    shown = run(command, "--help").stdout
    assert "Exit codes:\n" in shown
    codes = {line.split()[0] for line in shown.split("Exit codes:\n")[1].splitlines()}
    assert codes == ({"0", "1", "2", "3"} if command == "plan" else {"0", "1", "3"})


def test_a_failed_plan_is_still_a_document(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text("version: 1\nproviders:\n  telnyx:\n"
                                      "    credentials: {api_key: leaked}\n")
    result = run("plan", "--format", "json", "bad.yaml")
    assert result.exit_code == ERROR
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads((ROOT / "schemas" / "plan.schema.json")
                                             .read_text()))
    assert document["checksum"] is None and document["changes"] == []
    assert document["errors"][0]["message"].startswith("bad.yaml:4:28: `api_key` holds")
    assert "leaked" not in result.output
    comment = run("plan", "--format", "markdown", "--out", "plan.md", "bad.yaml")
    assert comment.exit_code == ERROR
    text = (workdir / "plan.md").read_text()
    assert text.startswith("<!-- reconcile-plan:bad.yaml -->\n")
    assert "> **The plan failed:**\n> - bad.yaml:4:28:" in text
    assert "leaked" not in text
    # A saved plan of a failed run is no plan.
    run("plan", "--out", "failed.json", "bad.yaml")
    refused = run("apply", "failed.json")
    assert refused.exit_code == ERROR
    assert "not a saved plan of this tool (the plan failed" in refused.stderr


def test_out_to_a_place_that_cannot_be_written(workdir: Path) -> None:
    result = run("plan", "--out", "missing/dir/plan.json")
    assert result.exit_code == ERROR
    assert result.stderr.splitlines()[-1].startswith(
        "reconcile: missing/dir/plan.json: cannot write: ")
    assert "Traceback" not in result.output
    assert not list(workdir.glob(".plan.json.*"))  # no half-written file left either


def test_target_narrows_plan_and_apply_deletions_included(workdir: Path) -> None:
    assert run("apply", "--auto-approve", "--account", "telnyx-eu").exit_code == OK
    text = (workdir / "rooms.yaml").read_text()
    # Undeclare every Telnyx room matching the account's prune pattern.
    account = text.split("\n  telnyx-eu:", 1)[1].split("\n  signalwire:", 1)[0]
    assert 'match: "team-*"' in account
    keys = re.findall(r"unique_name: (team-[\w-]+)", account)
    assert keys == ["team-sync", "team-retro"]
    for key in keys:
        text = text.replace(f"unique_name: {key}", f"unique_name: kept-{key}")
    (workdir / "rooms.yaml").write_text(text)
    planned = run("plan", "--account", "telnyx-eu", "--target", keys[0], "--target",
                  "kept-*")
    deletes = [line for line in planned.stdout.splitlines() if line.startswith("- ")]
    assert deletes == [f"- telnyx-eu.rooms[{keys[0]}]  (pruned: matches team-*)"]
    applied = run("apply", "--auto-approve", "--force", "--account", "telnyx-eu", "--target",
                  keys[0])
    assert applied.exit_code == OK, applied.output
    assert applied.stdout.endswith("Apply: 1 applied, 0 failed, 0 skipped.\n")
    left = run("plan", "--account", "telnyx-eu", "--format", "json")
    remaining = [c["key"] for c in json.loads(left.stdout)["changes"]
                 if c["action"] == "delete"]
    assert remaining == keys[1:]


def test_out_with_another_extension_writes_the_text_plan_and_the_summary(
        workdir: Path) -> None:
    planned = run("plan", "--out", "plan.txt")
    assert planned.exit_code == OK
    assert (workdir / "plan.txt").read_text() == planned.stdout  # no colour in the file
    assert f"Plan: {EXAMPLE_ROOMS} to create" in planned.stdout
    applied = run("apply", "--auto-approve", "--out", "applied.txt")
    assert applied.exit_code == OK
    written = (workdir / "applied.txt").read_text()
    assert written == applied.stdout
    assert written.endswith(f"Apply: {EXAMPLE_ROOMS} applied, 0 failed, 0 skipped.\n")


def test_a_saved_plan_applies_only_beside_its_rooms_file(workdir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("plan", "--out", "plan.json").exit_code == OK
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(workdir / "plan.json", elsewhere / "plan.json")
    monkeypatch.chdir(elsewhere)
    result = run("apply", "plan.json")
    assert result.exit_code == ERROR
    assert result.stderr == ("reconcile: plan.json: the plan was made from rooms.yaml, which"
                             " is not there; apply from the directory the plan was made in\n")


def test_out_is_fsynced_before_it_is_renamed(workdir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The saved-plan writer renamed without fsync: a power cut could leave an empty plan.
    Now it is files.write_atomically, which fsyncs; a failed fsync leaves no file."""
    def no_sync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", no_sync)
    result = run("plan", "--out", "plan.json")
    assert result.exit_code == ERROR
    assert result.stderr.splitlines()[-1] == \
        "reconcile: plan.json: cannot write: Input/output error"
    assert not (workdir / "plan.json").exists()
    assert not list(workdir.glob(".plan.json.*"))


def test_a_failed_rename_of_out_leaves_no_temporary_file(workdir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace

    def refuse_the_plan(source: str, target: str | os.PathLike[str]) -> None:
        if Path(target).name == "plan.json":
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", refuse_the_plan)
    result = run("plan", "--out", "plan.json")
    assert result.exit_code == ERROR
    assert result.stderr.splitlines()[-1] == "reconcile: plan.json: cannot write: Permission denied"
    assert not (workdir / "plan.json").exists()
    assert not list(workdir.glob(".plan.json.*"))


def confirm_on_a_terminal(workdir: Path, answer: str) -> tuple[int, str]:
    """`apply` with stdin and stderr on a pty, answering its question: (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    master, slave = pty.openpty()
    with (workdir / "stdout.txt").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconcile", "--sandbox", "apply", "rooms.yaml"],
            cwd=workdir, stdin=slave, stdout=out, stderr=slave, env=env)
    os.close(slave)  # else reading the master never sees the child's end of file
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise AssertionError(f"apply did not finish: {seen!r}")
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO on Linux: the child closed the terminal
                break
            if not data:
                break
            seen += data
            if not answered and b"Only 'yes' is accepted" in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(master)
    return proc.wait(timeout=30), seen.decode(errors="replace")


@pytest.mark.parametrize("answer", ["no", "y", ""])
def test_on_a_terminal_anything_but_yes_applies_nothing(workdir: Path, answer: str) -> None:
    code, stderr = confirm_on_a_terminal(workdir, answer)
    assert code == ERROR
    assert "Apply these changes? Only 'yes' is accepted" in stderr
    assert stderr.rstrip().endswith("reconcile: nothing applied")
    assert f"Plan: {EXAMPLE_ROOMS} to create" in (workdir / "stdout.txt").read_text()
    assert run("plan", "--detailed-exitcode").exit_code == CHANGES


def test_on_a_terminal_yes_applies(workdir: Path) -> None:
    code, _ = confirm_on_a_terminal(workdir, "yes")
    assert code == OK
    assert f"Apply: {EXAMPLE_ROOMS} applied, 0 failed, 0 skipped." \
        in (workdir / "stdout.txt").read_text()
    assert run("plan", "--detailed-exitcode").exit_code == OK


WRONG = "wrong-secret-value"


def refused(provider: str) -> tuple[str, str]:
    """The variables a `rooms_file` account's credentials come from, and the one made
    wrong: the one holding the secret the sandbox checks."""
    variables = credential_variables(provider, provider)
    secret = next(name for name, value in DECLARATIONS[provider].secrets.items()
                  if value == DEFAULT_CREDENTIALS[provider][1])
    return " and ".join(variables.values()), variables[secret]


ONE_ROOM = {provider: one_room(provider, "a") for provider in PROVIDERS}


def test_a_first_sandbox_run_warns_of_no_missing_state(workdir: Path) -> None:
    """A fresh sandbox has no Kaleyra state by definition: nothing to warn about."""
    first = run("plan", "rooms.yaml")
    assert first.exit_code == OK, first.output
    assert "kaleyra" in first.stdout
    assert first.stderr.startswith("Plan checksum:") and first.stderr.count("\n") == 1


def test_a_missing_state_file_is_one_plain_warning(tmp_path: Path, server: SandboxServer
                                                   ) -> None:
    path = rooms_file(tmp_path, server, "kaleyra", ONE_ROOM["kaleyra"])
    result = CliRunner().invoke(cli, ["plan", str(path)], env=SANDBOX_ENVIRON)
    assert result.exit_code == OK, result.output
    state = tmp_path / KALEYRA_STATE
    assert result.stderr.split("Plan checksum:")[0] == (
        f"reconcile: warning: there is no Kaleyra state file at {state}, so every room of"
        " account kaleyra is planned as a create: if this account was applied before"
        " (perhaps under another alias or state path), restore that file first, or apply"
        " will make duplicate rooms.\n")
    verbose = CliRunner().invoke(cli, ["-v", "plan", str(path)], env=SANDBOX_ENVIRON)
    assert "WARNING reconcile.providers.kaleyra.adapter: there is no" in verbose.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_refused_credentials_name_the_account_and_the_variables(
        tmp_path: Path, server: SandboxServer, provider: str) -> None:
    path = rooms_file(tmp_path, server, provider, ONE_ROOM[provider])
    variables, wrong = refused(provider)
    env = {**SANDBOX_ENVIRON, wrong: WRONG}
    # Kaleyra has no list call: without a state file nothing is read, and the create fails.
    args = ["apply", "--auto-approve", str(path)] if provider == "kaleyra" else ["plan", str(path)]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == ERROR
    where = f"the credentials of account `{provider}` ({path}:"
    assert f"check {variables}, {where}" in result.output, result.output
    assert WRONG not in result.output


@pytest.mark.parametrize(("provider", "segment"), [  # the providers with a locator
    (provider, segment) for provider in PROVIDERS for segment in locators(provider)])
def test_an_endpoint_without_its_segment_is_named(
        tmp_path: Path, server: SandboxServer, provider: str, segment: str) -> None:
    bare = server.url(provider)  # no /acme, /eu: the emulator answers a bare 404
    path = rooms_file(tmp_path, bare, provider, ONE_ROOM[provider])
    args = ["apply", "--auto-approve", str(path)] if provider == "kaleyra" else ["plan", str(path)]
    result = CliRunner().invoke(cli, args, env=SANDBOX_ENVIRON)
    assert result.exit_code == ERROR
    value = locators(provider)[segment]
    assert "404: " in result.output
    assert (f"; the endpoint {bare} lacks the account's /<{segment}> segment:"
            f" write `endpoint: {bare}/{value}`") in result.output, result.output


def test_a_404_with_the_segment_in_place_adds_no_hint(tmp_path: Path, server: SandboxServer
                                                      ) -> None:
    elsewhere = server.base_url + "/nothing"
    path = accounts_file(tmp_path, elsewhere, {"telnyx": ONE_ROOM["telnyx"]})
    path.write_text(path.read_text() + "  signalwire:\n    space: acme\n"
                    f"    endpoint: {elsewhere}/acme\n"
                    '    credentials: {project_id: "${SIGNALWIRE_PROJECT_ID}",'
                    ' token: "${SIGNALWIRE_TOKEN}"}\n')
    result = CliRunner().invoke(cli, ["plan", str(path)], env=SANDBOX_ENVIRON)
    assert result.exit_code == ERROR
    assert result.output.count("404") == 2 and "segment" not in result.output


# -- Twilio's end of service: one notice per run ---------------------------------------------

TWO_TWILIO_ACCOUNTS = """\
version: 1
providers:
  twilio:
    credentials: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}
    rooms: [{unique_name: a}, {unique_name: b}, {unique_name: c}]
  twilio-eu:
    type: twilio
    credentials: {account_sid: "${TWILIO_EU_SID}", auth_token: "${TWILIO_EU_TOKEN}"}
    rooms: [{unique_name: d}]
  telnyx:
    credentials: {api_key: "${TELNYX_API_KEY}"}
    rooms: [{unique_name: e}]
"""
NOTICE = "reconcile: note: Twilio's documentation gives December 5, 2026 as the last day"


@pytest.mark.parametrize(("today", "shown"), [(date(2026, 12, 4), 0), (date(2026, 12, 5), 1),
                                              (date(2027, 6, 1), 1)])
def test_the_twilio_end_of_service_notice_shows_once_per_run_from_its_date(
        workdir: Path, monkeypatch: pytest.MonkeyPatch, today: date, shown: int) -> None:
    monkeypatch.setattr(provider, "utc_today", lambda: today)
    (workdir / "rooms.yaml").write_text(TWO_TWILIO_ACCOUNTS)
    for args in (("plan",), ("apply", "--auto-approve"), ("plan", "--format", "json")):
        result = run(*args, "rooms.yaml")
        assert result.exit_code == OK, result.output
        assert result.stderr.count(NOTICE) == shown  # not per room, not per account
        assert NOTICE not in result.stdout  # the plan's own output stays clean
        if shown:
            assert "docs/migration.md" in result.stderr
    assert NOTICE not in run("validate", "rooms.yaml").output
