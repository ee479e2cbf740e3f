"""`reconcile export` through the real CLI, against each provider's emulator over loopback.

The round trip, for each provider (its tests/providers/<name>/cases.py `EXPORT`): rooms
made behind the tool's back (seeded through the control API; Kaleyra's applied, since only
its state file knows them) are exported, the export validates clean, and planning it
against the same account says "No changes". Rooms the model would reject are skipped with
a comment and a warning.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import ERROR, OK
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, key_field, per_provider, rooms_file


@dataclass(frozen=True)
class Case:
    """One provider's rooms as seeded, and what their export must declare."""

    provider: str
    seeded: dict[str, list[dict[str, Any]]]  # kind -> rooms, in the provider's shape
    exported: dict[str, dict[str, dict[str, Any]]]  # kind -> key -> fields besides the key
    skipped: dict[str, list[str]] = field(default_factory=dict)  # kind -> keys
    notes: tuple[str, ...] = ()  # comments the export must hold
    declared: str = ""  # rooms lines of the input file (Kaleyra's are applied first)


CASES = {provider: Case(provider, **case) for provider, case in per_provider("EXPORT").items()}


def cli_run(*args: str) -> Result:
    return CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))


def list_styles(text: str) -> set[str]:
    """How each list in a YAML text sits under its key: "indented" or "flush"."""
    lines = [line for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    styles = set()
    for above, line in itertools.pairwise(lines):
        if above.endswith(":") and line.lstrip().startswith("- "):
            key_column = len(above) - len(above.lstrip(" -"))
            item_column = len(line) - len(line.lstrip(" "))
            styles.add("indented" if item_column > key_column else "flush")
    return styles


def test_list_styles() -> None:
    assert list_styles("a:\n  - 1\nb:\n  - c:\n      - 2\n") == {"indented"}
    assert list_styles("a:\n  - c:\n    - 2\n") == {"indented", "flush"}


def seed(server: SandboxServer, case: Case) -> None:
    with SandboxControl(server.base_url) as control:
        for kind, rooms in case.seeded.items():
            control.seed(case.provider, SANDBOX_ACCOUNTS[case.provider], kind, rooms)


def assert_round_trip(exported: Path, unmanaged: int = 0) -> None:
    """The export validates clean, and planning it changes nothing."""
    checked = cli_run("validate", str(exported))
    assert checked.exit_code == OK, checked.output
    # No diagnostics but warnings (a live room of a legacy Twilio type exports as it is).
    assert all(": warning: " in line for line in checked.stdout.splitlines())
    planned = cli_run("plan", "--detailed-exitcode", str(exported))
    rooms = "room" if unmanaged == 1 else "rooms"
    assert (planned.exit_code, planned.stdout) == (
        OK, f"No changes. ({unmanaged} unmanaged {rooms} left alone)\n"), planned.output


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_the_export_round_trip(tmp_path: Path, server: SandboxServer, case: Case) -> None:
    source = rooms_file(tmp_path, server, case.provider, case.declared)
    if case.declared:  # Kaleyra: only the state file knows its rooms, so apply makes them
        assert cli_run("apply", "--auto-approve", str(source)).exit_code == OK
    seed(server, case)
    out = tmp_path / "exported.yaml"
    result = cli_run("export", str(source), "--out", str(out))
    assert result.exit_code == OK, result.output
    assert result.stdout == ""
    count = sum(len(rooms) for rooms in case.exported.values())
    assert result.stderr.endswith(f"reconcile: exported {count} rooms of 1 account"
                                  f" to {out}\n")
    text = out.read_text()
    assert list_styles(text) == {"indented"}  # one style: the rooms' own
    document = yaml.safe_load(text)
    account = document["providers"][case.provider]
    for kind, rooms in case.exported.items():
        key = key_field(case.provider)
        written = {room.pop(key): room for room in account[kind]}
        # the file's literal `${`, read back as the provider's text
        assert {k: json.loads(json.dumps(v).replace("$${", "${")) for k, v in written.items()
                } == rooms
        assert list(written) == sorted(written)  # sorted by key: diffs stay small
    for kind, keys in case.skipped.items():
        for skipped in keys:
            assert f"# skipped {skipped} (id " in text
            assert f"{case.provider}.{kind}[{skipped}] (id " in result.stderr
    for note in case.notes:
        assert note in text
    # The input file's accounts, as it writes them: credentials stay ${…} references.
    original = yaml.safe_load(source.read_text())["providers"][case.provider]
    assert account["credentials"] == original["credentials"]
    assert account["endpoint"] == original["endpoint"]
    for secret in SANDBOX_ENVIRON.values():
        if len(secret) > 8:  # "acme"-like principals are ordinary words
            assert secret not in text + result.output
    # Skipped rooms stay unmanaged; a plan does not count unnamed ones (nothing names them).
    assert_round_trip(out, unmanaged=sum(map(len, case.skipped.values())))


def test_metered_auto_named_and_mixed_case_rooms_round_trip(tmp_path: Path,
                                                           server: SandboxServer) -> None:
    """Metered names rooms itself in mixed case (6kpYYvYj75): such rooms are exported,
    validate, and plan no change (issue 12, defect 1)."""
    with SandboxControl(server.base_url) as control:
        made = control.seed("metered", SANDBOX_ACCOUNTS["metered"], "rooms",
                            [{}, {"roomName": "TeamSync", "privacy": "private"},
                             {"roomName": "team-sync"}])
    generated = made[0]["roomName"]
    assert generated != generated.lower() or generated != generated.upper()
    source = rooms_file(tmp_path, server, "metered", "")
    out = tmp_path / "exported.yaml"
    result = cli_run("export", str(source), "--out", str(out))
    assert result.exit_code == OK, result.output
    rooms = yaml.safe_load(out.read_text())["providers"]["metered"]["rooms"]
    assert sorted(room["roomName"] for room in rooms) == sorted(
        [generated, "TeamSync", "team-sync"])
    assert "# skipped" not in out.read_text()
    assert_round_trip(out)


def test_a_provider_dollar_brace_is_written_as_a_literal(tmp_path: Path,
                                                         server: SandboxServer) -> None:
    case = CASES["signalwire"]
    seed(server, case)
    source = rooms_file(tmp_path, server, "signalwire", "")
    result = cli_run("export", str(source))
    assert result.exit_code == OK
    assert "description: Costs $${5} a minute\n" in result.stdout


def test_filters_and_relative_state_paths(tmp_path: Path, server: SandboxServer) -> None:
    """--account and --target choose what is exported; a file written to another folder
    still finds the Kaleyra state file the input file names."""
    kaleyra = CASES["kaleyra"]
    source = rooms_file(tmp_path, server, "kaleyra", kaleyra.declared)
    assert cli_run("apply", "--auto-approve", str(source)).exit_code == OK
    out = tmp_path / "elsewhere" / "only-consult.yaml"
    out.parent.mkdir()
    result = cli_run("export", str(source), "--account", "kal*", "--target", "con*",
                     "--out", str(out))
    assert result.exit_code == OK, result.output
    account = yaml.safe_load(out.read_text())["providers"]["kaleyra"]
    assert [room["name"] for room in account["rooms"]] == ["consult"]
    assert account["state"] == "../kaleyra-state.json"
    assert_round_trip(out, unmanaged=1)  # plain, which the export left out
    assert cli_run("export", str(source), "--account", "nope").exit_code == ERROR


def test_defaults_and_prune_are_left_out(tmp_path: Path, server: SandboxServer) -> None:
    seed(server, CASES["telnyx"])
    source = rooms_file(tmp_path, server, "telnyx", "      - {unique_name: big}\n",
                        extra="    defaults: {max_participants: 30}\n"
                              "    prune: {match: \"b*\"}\n")
    result = cli_run("export", str(source))
    assert result.exit_code == OK, result.output
    account = yaml.safe_load(result.stdout)["providers"]["telnyx"]
    assert "defaults" not in account and "prune" not in account
    assert "# prune: left out: add it back once the file declares every room" in result.stdout
    # The declared room plays no part: each live room is exported as it is.
    assert [room["unique_name"] for room in account["rooms"]] == ["big", "hooks", "plain"]


def test_an_empty_account_exports_an_empty_list(tmp_path: Path, server: SandboxServer
                                               ) -> None:
    source = rooms_file(tmp_path, server, "signalwire", "")
    result = cli_run("export", str(source))
    assert result.exit_code == OK
    account = yaml.safe_load(result.stdout)["providers"]["signalwire"]
    assert (account["rooms"], account["conferences"]) == ([], [])
    assert result.stderr.endswith("reconcile: exported 0 rooms of 1 account\n")


def test_bad_input_is_a_located_error_without_a_traceback(tmp_path: Path,
                                                          server: SandboxServer) -> None:
    source = rooms_file(tmp_path, server, "telnyx", "      - {unique_name: a,"
                                                    " max_participants: 99}\n")
    result = cli_run("export", str(source))
    assert result.exit_code == ERROR
    assert f"{source}:7:44: must be at most 50, got 99" in result.stderr
    assert "Traceback" not in result.output
    good = rooms_file(tmp_path, server, "telnyx", "")
    same = cli_run("export", str(good), "--out", str(good))
    assert same.exit_code == ERROR
    assert "is the rooms file being read" in same.stderr
    unwritable = cli_run("export", str(good), "--out", str(tmp_path / "no" / "such.yaml"))
    assert unwritable.exit_code == ERROR
    assert "cannot write" in unwritable.stderr and "Traceback" not in unwritable.output
    missing = cli_run("export", str(tmp_path / "absent.yaml"))
    assert missing.exit_code == ERROR


def test_refused_credentials_name_the_account(tmp_path: Path, server: SandboxServer) -> None:
    source = rooms_file(tmp_path, server, "telnyx", "")
    wrong = {**SANDBOX_ENVIRON, "TELNYX_API_KEY": "KEY-wrong-0123456789"}
    result = CliRunner(env=wrong).invoke(cli, ["export", str(source)])
    assert result.exit_code == ERROR
    assert "telnyx: reading the live rooms failed: 401" in result.stderr
    assert "check TELNYX_API_KEY, the credentials of account `telnyx` (" in result.stderr
    assert "KEY-wrong-0123456789" not in result.output
    assert result.stdout == ""


def keys(rooms: list[dict[str, Any]]) -> list[str]:
    return sorted(next(room[k] for k in ("unique_name", "name", "roomName") if k in room)
                  for room in rooms)


def test_the_example_file_round_trips_on_the_sandbox(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider and both SignalWire kinds at once, with --sandbox: the export keeps
    the file's own settings (no sandbox endpoint), and plans "No changes" there too."""
    monkeypatch.chdir(tmp_path)
    example = Path(__file__).resolve().parents[2] / "examples" / "rooms.yaml"
    (tmp_path / "rooms.yaml").write_text(example.read_text())
    sandboxed = CliRunner()
    assert sandboxed.invoke(cli, ["--sandbox", "apply", "--auto-approve"]).exit_code == OK
    result = sandboxed.invoke(cli, ["--sandbox", "export", "--out", "exported.yaml"])
    assert result.exit_code == OK, result.output
    exported = yaml.safe_load((tmp_path / "exported.yaml").read_text())["providers"]
    original = yaml.safe_load(example.read_text())["providers"]
    assert list(exported) == list(original)
    for alias, account in exported.items():
        assert "endpoint" not in account
        assert account["credentials"] == original[alias]["credentials"]
        for kind in ("rooms", "conferences"):
            assert keys(account.get(kind, [])) == keys(original[alias].get(kind, []))
    assert sandboxed.invoke(cli, ["validate", "exported.yaml"]).exit_code == OK
    planned = sandboxed.invoke(cli, ["--sandbox", "plan", "--detailed-exitcode",
                                     "exported.yaml"])
    assert (planned.exit_code, planned.stdout) == (
        OK, "No changes. (0 unmanaged rooms left alone)\n"), planned.output


def test_a_value_holding_a_credential_is_never_written(tmp_path: Path, server: SandboxServer,
                                                       sandbox: Sandbox) -> None:
    """A webhook URL that carries the account's API key: the export leaves it out (the
    file must write it with a ${…} reference), says so, and still plans "No changes"."""
    key = "KEY-live-0123456789abcdef"
    sandbox.register("telnyx", key, key)
    with SandboxControl(server.base_url) as control:
        control.seed("telnyx", key, "rooms", [
            {"unique_name": "hooked", "max_participants": 30,
             "webhook_event_url": f"https://hooks.example.com/in?token={key}"}])
    source = rooms_file(tmp_path, server, "telnyx", "")
    runner = CliRunner(env={**SANDBOX_ENVIRON, "TELNYX_API_KEY": key})
    out = tmp_path / "exported.yaml"
    result = runner.invoke(cli, ["export", str(source), "--out", str(out)])
    assert result.exit_code == OK, result.output
    text = out.read_text()
    assert key not in text + result.output
    (room,) = yaml.safe_load(text)["providers"]["telnyx"]["rooms"]
    assert room == {"unique_name": "hooked", "max_participants": 30}
    assert "# webhook_event_url: not exported: it holds one of the account's credentials;" \
           " write it with a ${…} reference" in text
    assert "telnyx.rooms[hooked]: webhook_event_url: not exported" in result.stderr
    planned = runner.invoke(cli, ["plan", "--detailed-exitcode", str(out)])
    assert (planned.exit_code, planned.stdout) == (
        OK, "No changes. (0 unmanaged rooms left alone)\n"), planned.output


def test_a_live_room_that_breaks_a_rule_of_the_file_is_skipped(tmp_path: Path,
                                                               server: SandboxServer) -> None:
    """The model takes each field but not the pair: SignalWire accepts a join window that
    closes as it opens, the file does not."""
    at = "2030-01-01T09:00:00Z"
    with SandboxControl(server.base_url) as control:
        (made, _) = control.seed("signalwire", SANDBOX_ACCOUNTS["signalwire"], "rooms", [
            {"name": "shut", "join_from": at, "join_until": at}, {"name": "open"}])
    source = rooms_file(tmp_path, server, "signalwire", "")
    result = cli_run("export", str(source))
    assert result.exit_code == OK, result.output
    (room,) = yaml.safe_load(result.stdout)["providers"]["signalwire"]["rooms"]
    assert room["name"] == "open"
    problem = "join_until: join_until must be later than join_from"
    assert f"# skipped shut (id {made['id']}): {problem}" in result.stdout
    assert f"signalwire.rooms[shut] (id {made['id']}): skipped: {problem}" in result.stderr


def test_a_room_whose_key_holds_a_credential_is_skipped_by_id(tmp_path: Path,
                                                              server: SandboxServer,
                                                              sandbox: Sandbox) -> None:
    key = "KEY-live-0123456789abcdef"
    sandbox.register("telnyx", key, key)
    with SandboxControl(server.base_url) as control:
        (made,) = control.seed("telnyx", key, "rooms", [{"unique_name": f"room-{key}"}])
    source = rooms_file(tmp_path, server, "telnyx", "")
    runner = CliRunner(env={**SANDBOX_ENVIRON, "TELNYX_API_KEY": key})
    result = runner.invoke(cli, ["export", str(source)])
    assert result.exit_code == OK, result.output
    assert key not in result.output
    assert yaml.safe_load(result.stdout)["providers"]["telnyx"]["rooms"] == []
    assert f"# skipped room id {made['id']}: its key holds a credential" in result.stdout
    assert f"(id {made['id']}): skipped: its key holds a credential" in result.stderr
