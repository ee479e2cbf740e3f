"""The three output formats of a real plan, against golden files.

The plan comes from the scenario (tests/outputs/scenario.py): all five providers on the
loopback emulators, with every kind of change. Checksums and fingerprints (which follow
ports and room ids) are normalised away. Regenerate the files with
`RECONCILE_UPDATE_GOLDEN=1 python -m pytest tests/outputs`, and read the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from click.testing import Result

from reconcile.engine.plan import AccountPlan, Plan, UncertainCreate
from reconcile.exitcodes import BLOCKED, CHANGES, OK
from reconcile.outputs.document import document
from reconcile.outputs.markdown import render as markdown
from reconcile.outputs.mask import Masker
from reconcile.outputs.text import render_plan, render_summary
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import PROVIDERS
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ENVIRON, rooms_file
from .scenario import DESCRIPTION, FIRST_ROOMS, RTMP, Scenario, cli_run

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
UPDATE = os.environ.get("RECONCILE_UPDATE_GOLDEN") == "1"
VOLATILE = ((re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
            (re.compile(r"\b[0-9a-f]{16}\b"), "<fingerprint>"))
ESCAPE = "\x1b["
SECRETS = [value for value in SANDBOX_ENVIRON.values() if len(value) >= 8]


def normalise(text: str) -> str:
    for pattern, placeholder in VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = normalise(text)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with RECONCILE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), \
        f"{name} differs from its golden file: if the change is meant, regenerate it"


@dataclass
class Planned:
    tmp_path: Path
    results: dict[str, Result]  # by a name for the invocation


INVOCATIONS = {
    "text": (["--format", "text"], {}),
    "color": (["--format", "text"], {"FORCE_COLOR": "1"}),
    "no-color-flag": (["--no-color"], {"FORCE_COLOR": "1"}),
    "no-color-env": ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}),
    "json": (["--format", "json"], {}),
    "markdown": (["--format", "markdown"], {}),
    "sensitive-json": (["--format", "json", "--show-sensitive"], {}),
    "sensitive-markdown": (["--format", "markdown", "--show-sensitive"], {}),
    "sensitive-text": (["--show-sensitive"], {}),
    "out-md": (["--out", "plan.md"], {}),
}


@pytest.fixture(scope="module")
def planned(module_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Planned]:
    """The scenario applied and edited once; its plan run in each way (plans only read)."""
    module_server.sandbox.reset()
    tmp_path = tmp_path_factory.mktemp("formats")
    with pytest.MonkeyPatch.context() as patch, \
            SandboxControl(module_server.base_url) as control:
        patch.chdir(tmp_path)
        scenario = Scenario(tmp_path, module_server, control)
        scenario.first()
        scenario.second()
        results = {name: cli_run("plan", "--detailed-exitcode", *args, "rooms.yaml", env=env)
                   for name, (args, env) in INVOCATIONS.items()}
        yield Planned(tmp_path, results)


def test_text(planned: Planned) -> None:
    result = planned.results["text"]
    assert result.exit_code == BLOCKED, result.output  # prevent_destroy on t-change
    golden("plan.txt", result.stdout)
    assert ESCAPE not in result.output
    document = json.loads(planned.results["json"].stdout)
    # the summary counts what the JSON lists (each provider's scenario adds its changes)
    count = Counter(change["action"] for change in document["changes"])
    assert (f"Plan: {count['create']} to create, {count['update']} to update,"
            f" {count['replace']} to replace, {count['delete']} to delete"
            " (1 unmanaged room left alone).\n") in result.stdout
    checksum = document["plan_checksum"]
    assert result.stderr.splitlines() == [
        f"Plan checksum: {checksum}",
        "apply will be blocked: twilio.rooms[t-change]: prevent_destroy is set, and the plan"
        " would replace it (field max_participants cannot change in place); remove"
        " prevent_destroy from the room to allow it"]


def test_text_in_colour_and_its_switches(planned: Planned) -> None:
    coloured = planned.results["color"].stdout
    golden("plan.color.txt", coloured)
    assert f"{ESCAPE}32m" in coloured  # green, at least
    plain = planned.results["text"].stdout
    for name in ("no-color-flag", "no-color-env"):
        assert planned.results[name].stdout == plain, name


def test_json_matches_its_schema_and_golden(planned: Planned) -> None:
    result = planned.results["json"]
    assert result.exit_code == BLOCKED
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    golden("plan.json", result.stdout)
    # each provider's scenario adds its changes, and keeps one room as it is
    count = Counter(change["action"] for change in document["changes"])
    assert document["summary"] == {**{action: count[action] for action in (
        "create", "update", "replace", "delete")}, "noop": len(PROVIDERS), "unmanaged": 1,
        "uncertain": 0}
    assert {c["provider"] for c in document["changes"]} == set(PROVIDERS)
    by_address = {c["address"]: c for c in document["changes"]}
    assert by_address["kaleyra.rooms[k-change]"]["actions"] == ["create", "delete"]
    assert by_address["kaleyra.rooms[k-change]"]["new_join_urls"] is True
    assert by_address["twilio.rooms[t-busy]"]["disruptive"] is True
    assert by_address["kaleyra.rooms[k-new]"]["sensitive_paths"] == ["participants",
                                                                     "description"]
    assert by_address["kaleyra.rooms[k-new]"]["after"]["participants"] == "(sensitive)"
    assert by_address["metered.rooms[m-update]"]["after"]["rtmpOutURL"] == "(sensitive)"
    assert [b["account"] for b in document["blocked"]] == ["twilio"]
    assert document["errors"] == []


def test_markdown(planned: Planned) -> None:
    result = planned.results["markdown"]
    assert result.exit_code == BLOCKED
    golden("plan.md", result.stdout)
    assert result.stdout.startswith("<!-- reconcile-plan:rooms.yaml -->\n")
    checksum = json.loads(planned.results["json"].stdout)["plan_checksum"]
    assert f"reconcile apply --checksum {checksum}" in result.stdout


def test_sensitive_values_are_masked_unless_asked(planned: Planned) -> None:
    participant = "patient-42"
    for name in ("text", "json", "markdown", "color"):
        output = planned.results[name].output
        assert RTMP not in output and participant not in output, name
        assert "(sensitive)" in output
    for name in ("sensitive-json", "sensitive-markdown", "sensitive-text"):
        output = planned.results[name].stdout
        assert RTMP in output and participant in output, name
        assert "(sensitive)" not in output
    # Kaleyra keeps only a digest of a description, so even shown it is no plain text.
    assert DESCRIPTION not in "".join(r.output for r in planned.results.values())


def test_no_output_holds_a_credential(planned: Planned) -> None:
    for name, result in planned.results.items():
        for secret in SECRETS:
            assert secret not in result.output, (name, secret)


def test_out_writes_the_format_and_stdout_keeps_the_text(planned: Planned) -> None:
    result = planned.results["out-md"]
    assert result.exit_code == BLOCKED
    assert result.stdout == planned.results["text"].stdout
    written = (planned.tmp_path / "plan.md").read_text()
    assert written == planned.results["markdown"].stdout


def test_no_changes_in_every_format(tmp_path: Path, server: SandboxServer,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SandboxControl(server.base_url) as control:
        Scenario(tmp_path, server, control).first()
    text = cli_run("plan", "--detailed-exitcode", "rooms.yaml")
    assert (text.exit_code, text.stdout) == (OK, "No changes. (0 unmanaged rooms left alone)\n")
    assert "Plan checksum" not in text.stderr
    document = json.loads(cli_run("plan", "--format", "json", "rooms.yaml").stdout)
    jsonschema.validate(document, SCHEMA)
    assert (document["changes"], document["summary"]["noop"]) == ([], FIRST_ROOMS)
    markdown = cli_run("plan", "--format", "markdown", "rooms.yaml").stdout
    assert f"**No changes. (0 unmanaged rooms left alone)** {FIRST_ROOMS} rooms up to" \
           " date." in markdown
    assert "| op |" not in markdown
    assert cli_run("plan", "--detailed-exitcode", "--target", "nothing-*",
                   "rooms.yaml").exit_code == OK


def test_changes_exit_2(tmp_path: Path, server: SandboxServer,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SandboxControl(server.base_url) as control:
        scenario = Scenario(tmp_path, server, control)
        scenario.first()
        scenario.second(guard=False)
    assert cli_run("plan", "--detailed-exitcode", "rooms.yaml").exit_code == CHANGES
    assert cli_run("plan", "rooms.yaml").exit_code == OK


def test_a_credential_put_into_a_field_is_scrubbed_from_every_format(
        tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    secret = SANDBOX_ENVIRON["TELNYX_API_KEY"]
    rooms_file(tmp_path, server, "telnyx", "      - {unique_name: hooked, webhook_event_url:"
               ' "https://hooks.example.com/video?key=${TELNYX_API_KEY}"}\n')
    for args in ([], ["--format", "json"], ["--format", "markdown"], ["--show-sensitive"]):
        result = cli_run("plan", *args, "rooms.yaml")
        assert result.exit_code == OK, result.output
        assert secret not in result.output
        assert "https://hooks.example.com/video?key=***" in result.stdout


def test_uncertain_creates_are_named_and_counted_in_every_format() -> None:
    records = [UncertainCreate("clinic", "kaleyra", "rooms", name, at, f"check {name}")
               for name, at in (("consult-1", "2026-12-05T04:30:12Z"),
                                ("consult-2", "2026-12-05T04:31:00Z"))]
    plan = Plan([AccountPlan("clinic", "kaleyra", managed=2, uncertain=records)])
    mask = Masker()
    text = render_plan(plan, mask)
    assert text.startswith("No changes.")  # they are not changes: the plan still says so
    assert "2 uncertain creates: a room may exist that nothing records" in text
    assert "  ? clinic.rooms[consult-1] (requested 2026-12-05T04:30:12Z): check consult-1\n" \
        in text
    assert "Apply: 0 applied, 0 failed, 0 skipped. 2 uncertain." in render_summary([], records)
    assert "uncertain" not in render_summary([])
    data = document(plan, config="rooms.yaml", checksum=None, mask=mask, outcomes=[])
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["uncertain"] == 2
    assert [(r["address"], r["requested_at"], r["check"]) for r in data["uncertain_creates"]] \
        == [("clinic.rooms[consult-1]", "2026-12-05T04:30:12Z", "check consult-1"),
            ("clinic.rooms[consult-2]", "2026-12-05T04:31:00Z", "check consult-2")]
    shown = markdown(plan, config="rooms.yaml", checksum=None, mask=mask)
    assert "**2 uncertain creates: a room may exist that nothing records" in shown
    assert "> - <code>clinic.rooms[consult-2]</code> (requested 2026-12-05T04:31:00Z):" \
           " check consult-2" in shown
