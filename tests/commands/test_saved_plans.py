"""Saved plans and reviewed checksums, through the real CLI on the loopback emulators.

`plan --out plan.json` then `apply plan.json`: the plan is tied to its rooms file by
checksum, only the rooms it changes are read again (one `find` each, no list), and a room
changed between plan and apply is skipped, by name, while the rest are applied.
`apply --checksum` plans again and refuses a plan other than the reviewed one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconcile.engine.adapters import adapter_class
from reconcile.engine.provider import Provider
from reconcile.exitcodes import BLOCKED, ERROR, OK
from reconcile.outputs.text import uncertain_title
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS
from ..outputs.scenario import RTMP, Scenario, cli_run

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
NO_CHANGES = "No changes. (1 unmanaged room left alone)\n"


@pytest.fixture
def scenario(tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[Scenario]:
    """The scenario applied, edited (no prevent_destroy), in the working directory."""
    monkeypatch.chdir(tmp_path)
    with SandboxControl(server.base_url) as control:
        made = Scenario(tmp_path, server, control)
        made.first()
        made.second(guard=False)
        yield made


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts each adapter's list_rooms and find calls (by "provider.method")."""
    calls: Counter[str] = Counter()
    for provider in PROVIDER_PACKAGES:
        adapter = adapter_class(provider)
        for method in ("list_rooms", "find"):
            monkeypatch.setattr(adapter, method, _counted(getattr(adapter, method),
                                                          f"{provider}.{method}", calls))
    return calls


def _counted(method: Any, name: str, calls: Counter[str]) -> Any:
    async def wrapper(self: Provider, *args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return await method(self, *args, **kwargs)
    return wrapper


def save_plan(*flags: str) -> dict[str, Any]:
    result = cli_run("plan", "--out", "plan.json", *flags, "rooms.yaml")
    assert result.exit_code == OK, result.output
    document = json.loads(Path("plan.json").read_text())
    jsonschema.validate(document, SCHEMA)
    return document


def test_a_saved_plan_applies_reading_only_the_rooms_it_changes(
        scenario: Scenario, reads: Counter[str]) -> None:
    saved = save_plan()
    changes = len(saved["changes"])
    assert changes == sum(saved["summary"][action] for action in (
        "create", "update", "replace", "delete")) >= len(PROVIDER_PACKAGES)
    reads.clear()
    # No prompt: a saved plan is the reviewed one.
    result = cli_run("apply", "--allow-disruption", "--out", "applied.json", "plan.json")
    assert result.exit_code == OK, result.output
    assert result.stdout.endswith(f"Apply: {changes} applied, 0 failed, 0 skipped.\n")
    applied = json.loads(Path("applied.json").read_text())
    jsonschema.validate(applied, SCHEMA)
    # Planned again room by room, the plan is the very one saved.
    assert applied["plan_checksum"] == saved["plan_checksum"]
    assert applied["changes"] == saved["changes"]
    assert applied["apply"] == {"applied": changes, "failed": 0, "skipped": 0}
    assert not [name for name in reads if name.endswith("list_rooms")]
    # One find per change, and a second for each rename (under its old name), except
    # where a create adopts nothing: exactly a plan's targets.
    renames = sum(1 for c in saved["changes"] if c["reason"].startswith("renamed from"))
    assert sum(reads.values()) == changes + renames
    assert cli_run("plan", "rooms.yaml").stdout == NO_CHANGES


def test_a_room_changed_between_plan_and_apply_is_skipped_alone(scenario: Scenario) -> None:
    saved = save_plan()
    scenario.control.patch_room("telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", "n-update",
                                {"max_participants": 30})
    scenario.control.delete_room("signalwire", SANDBOX_ACCOUNTS["signalwire"], "rooms",
                                 "s-update")
    result = cli_run("apply", "--allow-disruption", "--format", "json", "plan.json")
    assert result.exit_code == ERROR, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    skipped = {o["address"]: o["message"] for o in document["outcomes"]
               if o["status"] == "skipped"}
    assert skipped == {
        "telnyx.rooms[n-update]": "changed since the plan (live max_participants differs"
                                  " from what the plan saw); the planned update was not"
                                  " applied: plan again",
        "signalwire.rooms[s-update]": "changed since the plan (the room is gone); the"
                                      " planned update was not applied: plan again"}
    assert document["apply"] == {"applied": len(saved["changes"]) - 2, "failed": 0,
                                 "skipped": 2}
    assert "~ telnyx.rooms[n-update] skipped: changed since the plan" in result.stderr
    again = cli_run("plan", "rooms.yaml").stdout
    assert "~ telnyx.rooms[n-update]  (changed: max_participants)\n" \
           "    max_participants: 30 -> 20\n" in again
    assert "+ signalwire.rooms[s-update]  (not found)\n" in again
    assert "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete" in again


def test_a_room_made_or_changed_outside_the_file_s_fields_is_skipped_too(
        scenario: Scenario) -> None:
    save_plan()
    account = SANDBOX_ACCOUNTS["telnyx"]
    # The planned create's name is taken since; the update's room changed in a field the
    # file does not declare, which the plan's `before` does not hold.
    scenario.control.seed("telnyx", account, "rooms", [{"unique_name": "n-new"}])
    scenario.control.patch_room("telnyx", account, "rooms", "n-update",
                                {"webhook_event_url": "https://elsewhere.example.com/x"})
    result = cli_run("apply", "--allow-disruption", "--format", "json", "plan.json")
    assert result.exit_code == ERROR, result.output
    skipped = {o["address"]: o["message"] for o in json.loads(result.stdout)["outcomes"]
               if o["status"] == "skipped"}
    assert skipped == {
        "telnyx.rooms[n-new]": "changed since the plan (a room of that key now exists); the"
                               " planned create was not applied: plan again",
        "telnyx.rooms[n-update]": "changed since the plan (its live state differs from what"
                                  " the plan saw); the planned update was not applied:"
                                  " plan again"}


def test_a_saved_plan_of_another_rooms_file_is_refused(scenario: Scenario,
                                                       sandbox: Sandbox) -> None:
    save_plan()
    path = Path("rooms.yaml")
    path.write_text(path.read_text() + "# an edit after the plan\n")
    sandbox.counters.clear()
    result = cli_run("apply", "plan.json")
    assert result.exit_code == ERROR
    assert result.stderr.startswith("reconcile: plan.json: the plan was made from another"
                                    " version of rooms.yaml (sha256 ")
    assert "nothing applied; plan again" in result.stderr
    assert all(set(methods) <= {"GET"} for methods in sandbox.counter_table().values())


def test_a_saved_plan_is_applied_whole_and_read_with_care(scenario: Scenario) -> None:
    save_plan()
    narrowed = cli_run("apply", "--target", "t-*", "plan.json")
    assert narrowed.exit_code == ERROR
    assert "a saved plan is applied whole" in narrowed.stderr
    Path("broken.json").write_text('{"format_version": "1.0", "changes": []}')
    broken = cli_run("apply", "broken.json")
    assert (broken.exit_code, broken.stderr) == (
        ERROR, "reconcile: broken.json: not a saved plan of this tool (accounts is missing);"
               " write one with `reconcile plan --out plan.json`\n")
    future = json.loads(Path("plan.json").read_text()) | {"format_version": "2.0"}
    Path("future.json").write_text(json.dumps(future))
    assert "format_version 2.0, this tool reads 1.x" in cli_run("apply", "future.json").stderr
    assert "Traceback" not in broken.output


def test_apply_checksum_applies_only_the_reviewed_plan(scenario: Scenario,
                                                       sandbox: Sandbox) -> None:
    reviewed = json.loads(cli_run("plan", "--format", "json", "rooms.yaml").stdout)
    scenario.control.patch_room("telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", "n-update",
                                {"max_participants": 30})
    sandbox.counters.clear()
    refused = cli_run("apply", "--allow-disruption", "--checksum", reviewed["plan_checksum"],
                      "rooms.yaml")
    assert refused.exit_code == ERROR, refused.output
    assert "the plan differs from the reviewed one: its checksum is " in refused.stderr
    assert f"the reviewed plan's {reviewed['plan_checksum']}: nothing applied" \
        in refused.stderr
    assert all(set(methods) <= {"GET"} for methods in sandbox.counter_table().values())
    # Put it back: the plan is the reviewed one again, and applies without a prompt.
    scenario.control.patch_room("telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", "n-update",
                                {"max_participants": 10})
    accepted = cli_run("apply", "--allow-disruption", "--checksum", reviewed["plan_checksum"],
                       "rooms.yaml")
    assert accepted.exit_code == OK, accepted.output
    assert cli_run("plan", "rooms.yaml").stdout == NO_CHANGES


def test_apply_checksum_of_a_saved_plan_checks_what_is_applied_not_what_it_claims(
        scenario: Scenario) -> None:
    document = save_plan()
    reviewed = document["plan_checksum"]
    # One change taken out by hand: the plan_checksum it still claims is the reviewed one.
    document["changes"] = [c for c in document["changes"]
                           if c["address"] != "telnyx.rooms[n-new]"]
    Path("cut.json").write_text(json.dumps(document))
    refused = cli_run("apply", "--allow-disruption", "--checksum", reviewed, "cut.json")
    assert refused.exit_code == ERROR, refused.output
    assert "the plan differs from the reviewed one" in refused.stderr
    assert "n-new" not in {room["name"] for room in scenario.control.rooms(
        "telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", live=True)}
    # The untouched document, planned again, is the reviewed plan to the byte.
    accepted = cli_run("apply", "--allow-disruption", "--checksum", reviewed, "plan.json")
    assert accepted.exit_code == OK, accepted.output
    assert cli_run("plan", "rooms.yaml").stdout == NO_CHANGES


def test_the_checksum_is_stable_and_every_output_shows_it(scenario: Scenario) -> None:
    first = json.loads(cli_run("plan", "--format", "json", "rooms.yaml").stdout)
    second = json.loads(cli_run("plan", "--format", "json", "rooms.yaml").stdout)
    checksum = first["plan_checksum"]
    assert checksum == second["plan_checksum"]
    assert f"Plan checksum: {checksum}" in cli_run("plan", "rooms.yaml").stderr
    assert checksum in cli_run("plan", "--format", "markdown", "rooms.yaml").stdout
    # A narrower plan is another plan.
    narrowed = json.loads(cli_run("plan", "--format", "json", "--target", "t-*",
                                  "rooms.yaml").stdout)
    assert narrowed["plan_checksum"] != checksum
    assert {c["key"] for c in narrowed["changes"]} == {"t-change", "t-busy", "t-new"}



def test_a_saved_plan_edited_by_hand_does_only_what_a_plan_of_the_file_would(
        scenario: Scenario) -> None:
    """Each change is planned again from the rooms file: one turned into a delete of a
    declared room, a create moved to an undeclared name, or an update turned into a
    replace is skipped, and the rest is applied."""
    document = save_plan()
    forged = {"telnyx.rooms[n-update]": {"action": "delete"},
              "telnyx.rooms[n-new]": {"key": "n-forged", "address": "telnyx.rooms[n-forged]"},
              "signalwire.rooms[s-update]": {"action": "replace"}}
    for change in document["changes"]:
        change.update(forged.get(change["address"], {}))
    Path("plan.json").write_text(json.dumps(document))
    result = cli_run("apply", "--allow-disruption", "--format", "json", "plan.json")
    assert result.exit_code == ERROR, result.output
    outcomes = json.loads(result.stdout)["outcomes"]
    skipped = {o["address"]: o["message"].split(";")[0] for o in outcomes
               if o["status"] == "skipped"}
    assert skipped == {
        "telnyx.rooms[n-update]": "changed since the plan (the rooms file declares it)",
        "telnyx.rooms[n-forged]": "changed since the plan (the rooms file no longer declares"
                                  " it)",
        "signalwire.rooms[s-update]": "changed since the plan (a plan now would update it)"}
    assert sum(o["status"] == "applied" for o in outcomes) == len(outcomes) - 3
    telnyx = {room["name"] for room in scenario.control.rooms(
        "telnyx", SANDBOX_ACCOUNTS["telnyx"], "rooms", live=True)}
    assert "n-update" in telnyx and "n-forged" not in telnyx and "n-new" not in telnyx


def test_a_deletion_written_into_a_saved_plan_deletes_no_room_the_file_leaves_alone(
        scenario: Scenario) -> None:
    """A deletion of an unmanaged room (neither pruned nor a provider's leftover), with
    its true fingerprint, is skipped: the fingerprint proves the room unchanged, not that
    a plan of the file deletes it."""
    document = save_plan()
    rooms = Path("rooms.yaml")
    text = rooms.read_text()
    rooms.write_text(text.replace('match: "x-*"', 'match: "*"'))  # prunes the unmanaged one
    wider = save_plan()
    rooms.write_text(text)
    planned = {change["address"] for change in document["changes"]}
    forged = [change for change in wider["changes"]
              if change["action"] == "delete" and change["address"] not in planned]
    assert forged, "the scenario has no unmanaged room to forge a deletion of"
    document["changes"] += forged
    Path("plan.json").write_text(json.dumps(document))
    result = cli_run("apply", "--allow-disruption", "--format", "json", "plan.json")
    assert result.exit_code == ERROR, result.output
    skipped = {o["address"]: o["message"].split(";")[0]
               for o in json.loads(result.stdout)["outcomes"] if o["status"] == "skipped"}
    assert skipped == {change["address"]: "changed since the plan (a plan of the rooms file"
                                          " leaves it alone)" for change in forged}
    assert "No changes. (" in cli_run("plan", "rooms.yaml").stdout  # the rest was applied
    for change in forged:  # still there, still live
        live = scenario.control.rooms(change["provider"], SANDBOX_ACCOUNTS[change["provider"]],
                                      change["kind"], live=True)
        assert change["key"] in {room["name"] for room in live}


# -- a saved plan rendered again: `show plan.json`, `plan --from plan.json` ---------------

RENDERERS = (("show", "plan.json"), ("plan", "--from", "plan.json"))
FORMATS = ("text", "markdown", "json")


def test_a_saved_plan_renders_as_its_plan_did_without_contacting_anything(
        scenario: Scenario, sandbox: Sandbox, reads: Counter[str]) -> None:
    live = {fmt: cli_run("plan", "--format", fmt, "rooms.yaml") for fmt in FORMATS}
    save_plan()
    sandbox.counters.clear()
    reads.clear()
    Path("rooms.yaml").unlink()  # not read either: the plan holds everything shown
    for command in RENDERERS:
        for fmt in FORMATS:
            shown = cli_run(*command, "--format", fmt)
            assert shown.exit_code == OK, (command, fmt, shown.output)
            assert shown.stdout == live[fmt].stdout, (command, fmt)
            assert "Traceback" not in shown.output
    assert sandbox.counter_table() == {} and not reads
    # Its checksum is the saved one, which `apply --checksum` compares.
    checksum = json.loads(live["json"].stdout)["plan_checksum"]
    assert f"Plan checksum: {checksum}" in cli_run("show", "plan.json").stderr


def test_a_rendered_plan_keeps_what_was_masked_masked(scenario: Scenario) -> None:
    save_plan()
    for flags in ((), ("--show-sensitive",)):
        for fmt in FORMATS:
            shown = cli_run("show", "plan.json", "--format", fmt, *flags)
            assert shown.exit_code == OK and RTMP not in shown.stdout
            assert "(sensitive)" in shown.stdout
            assert '"(sensitive)"' not in shown.stdout or fmt == "json"  # a mark, not a value
    # Saved in full, shown masked unless asked again.
    save_plan("--show-sensitive")
    assert RTMP not in cli_run("plan", "--from", "plan.json", "--format", "markdown").stdout
    assert RTMP in cli_run("show", "--show-sensitive", "plan.json").stdout


def test_a_rendered_plan_keeps_its_blocks_and_exit_codes(scenario: Scenario) -> None:
    scenario.second(guard=True)
    result = cli_run("plan", "--out", "plan.json", "rooms.yaml")
    assert result.exit_code == OK, result.output
    detailed = cli_run("plan", "--from", "plan.json", "--detailed-exitcode", "--out", "p.md")
    assert detailed.exit_code == BLOCKED
    assert "apply will be blocked: " in detailed.stderr
    assert "> **apply will be blocked:**" in Path("p.md").read_text()
    assert detailed.stdout.startswith("-/+ twilio.rooms[t-change]")  # the text on stdout
    plain = cli_run("plan", "--from", "plan.json", "--format", "json")
    assert plain.exit_code == OK and json.loads(plain.stdout)["blocked"]


def test_a_failed_plan_renders_as_that_failure(scenario: Scenario) -> None:
    Path("rooms.yaml").write_text("version: 1\nproviders: {nope: {}}\n")
    failed = cli_run("plan", "--out", "plan.json", "rooms.yaml")
    assert failed.exit_code == ERROR
    shown = cli_run("show", "plan.json", "--format", "markdown")
    assert shown.exit_code == ERROR
    assert shown.stdout.startswith("<!-- reconcile-plan:rooms.yaml -->\n")
    assert "> **The plan failed:**" in shown.stdout
    assert "the plan failed when it was made: nothing was planned" in shown.stderr
    assert "Traceback" not in shown.output


def test_rendering_a_saved_plan_refuses_what_it_cannot_honour(scenario: Scenario) -> None:
    save_plan()
    refusals = {
        ("show", "--target", "t-*", "plan.json"): "plan.json: a saved plan is shown whole",
        ("plan", "--from", "plan.json", "--account", "twilio"): "a saved plan is shown whole",
        ("plan", "--from", "plan.json", "rooms.yaml"): "give no FILE (rooms.yaml)",
        ("plan", "--from", "plan.json", "--force"): "plan again to change that",
        ("plan", "--from", "rooms.yaml"): "rooms.yaml: cannot read the saved plan",
        ("plan", "--from", "missing.json"): "missing.json: cannot read the saved plan",
        ("show", "--format", "markdown", "rooms.yaml"): "--format markdown shows a saved plan",
    }
    for args, message in refusals.items():
        result = cli_run(*args)
        assert result.exit_code == ERROR, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_a_rendered_plan_keeps_its_uncertain_creates(scenario: Scenario) -> None:
    document = save_plan()
    record = {"address": "kaleyra.rooms[k-lost]", "account": "kaleyra",
              "provider": "kaleyra", "kind": "rooms", "key": "k-lost",
              "requested_at": "2026-12-04T10:00:00Z", "check": "look for it in the console"}
    document["uncertain_creates"] = [record]
    document["summary"]["uncertain"] = 1
    Path("plan.json").write_text(json.dumps(document))
    shown = json.loads(cli_run("show", "plan.json", "--format", "json").stdout)
    assert shown["uncertain_creates"] == [record] and shown["summary"]["uncertain"] == 1
    for fmt in ("text", "markdown"):
        assert uncertain_title(1) in cli_run("show", "plan.json", "--format", fmt).stdout
