"""`reconcile init`: a starter that validates, plans and applies at once, with the schema
its modeline points at, hooks, .gitignore lines and the workflow; it overwrites nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import ERROR, OK
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.schema import render_schema

ROOT = Path(__file__).resolve().parents[2]
MODELINE = "# yaml-language-server: $schema="


def init(*args: str) -> Result:
    return CliRunner().invoke(cli, ["init", *args])


def modeline_target(rooms: Path) -> Path:
    first = rooms.read_text().splitlines()[0]
    assert first.startswith(MODELINE)
    return (rooms.parent / first.removeprefix(MODELINE)).resolve()


def test_init_then_validate_then_sandbox_apply_and_plan(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = init(*(f"--provider={p}" for p in PROVIDER_PACKAGES))
    assert result.exit_code == OK, result.output
    assert CliRunner().invoke(cli, ["validate", "rooms.yaml"]).exit_code == OK
    applied = CliRunner().invoke(cli, ["apply", "--sandbox", "--auto-approve", "rooms.yaml"])
    assert applied.exit_code == OK, applied.output
    assert f"Apply: {len(PROVIDER_PACKAGES)} applied, 0 failed" in applied.stdout
    planned = CliRunner().invoke(cli, ["--sandbox", "plan", "--detailed-exitcode"])
    assert planned.exit_code == OK, planned.output
    assert "reconcile: warning" not in applied.stderr + planned.stderr


def test_the_modeline_points_at_the_schema_written_beside_it(tmp_path: Path) -> None:
    result = init("--provider", "telnyx", "--dir", str(tmp_path))
    assert result.exit_code == OK, result.output
    assert (tmp_path / "rooms.yaml").read_text().startswith(
        "# yaml-language-server: $schema=schemas/rooms.schema.json\n")
    schema = tmp_path / "schemas" / "rooms.schema.json"
    assert modeline_target(tmp_path / "rooms.yaml") == schema.resolve()
    assert schema.read_text() == render_schema()  # what reconcile-schema-fresh checks


def test_a_rooms_file_in_a_subfolder_gets_a_relative_modeline(tmp_path: Path) -> None:
    result = init("--provider", "signalwire", "--dir", str(tmp_path),
                  "--file", "rooms/main.yaml")
    assert result.exit_code == OK, result.output
    rooms = tmp_path / "rooms" / "main.yaml"
    assert rooms.read_text().startswith(
        "# yaml-language-server: $schema=../schemas/rooms.schema.json\n")
    assert modeline_target(rooms) == (tmp_path / "schemas" / "rooms.schema.json").resolve()
    assert CliRunner().invoke(cli, ["validate", str(rooms)]).exit_code == OK


def test_only_the_providers_asked_for(tmp_path: Path) -> None:
    init("--provider", "twilio", "--provider", "metered", "--provider", "twilio",
         "--dir", str(tmp_path))
    data = yaml.safe_load((tmp_path / "rooms.yaml").read_text())
    assert list(data["providers"]) == ["twilio", "metered"]
    assert data["providers"]["metered"]["credentials"] == {
        "secret_key": "${METERED_SECRET_KEY}"}


def test_nothing_existing_is_overwritten(tmp_path: Path) -> None:
    (tmp_path / "rooms.yaml").write_text("mine\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    result = init("--provider", "telnyx", "--dir", str(tmp_path))
    assert result.exit_code == ERROR
    assert (tmp_path / "rooms.yaml").read_text() == "mine\n"
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    for name in ("rooms.yaml", ".pre-commit-config.yaml"):
        assert f"kept {tmp_path / name}: it exists, and init overwrites nothing" in result.stderr
    assert (tmp_path / "schemas" / "rooms.schema.json").is_file()  # the rest is written
    again = init("--provider", "telnyx", "--dir", str(tmp_path))
    assert again.exit_code == ERROR and "wrote" not in again.stderr


def test_gitignore_gets_only_the_lines_it_lacks(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(".venv/\n.reconcile/*.lock")  # no final newline
    init("--provider", "telnyx", "--dir", str(tmp_path))
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == [".venv/", ".reconcile/*.lock"]
    assert lines.count(".reconcile/*.lock") == 1
    assert ".reconcile/sandbox.db*" in lines and ".reconcile/sandbox-state/" in lines
    before = (tmp_path / ".gitignore").read_text()
    init("--provider", "telnyx", "--dir", str(tmp_path))
    assert (tmp_path / ".gitignore").read_text() == before


def test_the_gitignore_lines_ignore_the_sandbox_but_keep_the_kaleyra_state(
        tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    init("--provider", "kaleyra", "--dir", str(tmp_path))
    paths = [".reconcile/sandbox.db", ".reconcile/sandbox.db-wal",
             ".reconcile/sandbox-state/kaleyra-kaleyra.json",
             ".reconcile/kaleyra-kaleyra.json.lock", ".reconcile/kaleyra-kaleyra.json"]
    done = subprocess.run(["git", "check-ignore", *paths], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert done.stdout.split() == paths[:4]


def test_the_precommit_config_uses_the_hooks_this_repository_offers(tmp_path: Path) -> None:
    init("--provider", "telnyx", "--dir", str(tmp_path))
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    offered = {hook["id"] for hook in yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text())}
    (repo,) = config["repos"]
    assert {hook["id"] for hook in repo["hooks"]} == offered
    assert repo["rev"].startswith("v")
    if shutil.which("pre-commit"):
        done = subprocess.run(["pre-commit", "validate-config", ".pre-commit-config.yaml"],
                              cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_on_request_is_the_example_workflow(tmp_path: Path) -> None:
    assert not (init("--provider", "telnyx", "--dir", str(tmp_path / "a"))
                .exit_code or (tmp_path / "a" / ".github").exists())
    result = init("--provider", "telnyx", "--dir", str(tmp_path / "b"), "--workflow")
    assert result.exit_code == OK, result.output
    written = (tmp_path / "b" / ".github" / "workflows" / "reconcile.yml").read_text()
    assert written == (ROOT / "examples" / "github-actions" / "reconcile.yml").read_text(), (
        "reconcile/gitops/workflow.yml (shipped) differs from the example: copy"
        " examples/github-actions/reconcile.yml over it")


def test_workflow_with_another_rooms_file_says_what_to_edit(tmp_path: Path) -> None:
    result = init("--provider", "telnyx", "--dir", str(tmp_path), "--workflow",
                  "--file", "ops/rooms.yaml")
    assert result.exit_code == OK
    assert "set ROOMS_FILE and the `paths:` filters" in result.stderr


def test_providers_are_required_and_checked() -> None:
    missing = init()
    assert missing.exit_code == ERROR and "Missing option '--provider'" in missing.stderr
    unknown = init("--provider", "zoom")
    assert unknown.exit_code == ERROR and "'zoom' is not one of" in unknown.stderr


def test_a_file_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "schemas").write_text("a file where a folder goes\n")
    result = init("--provider", "telnyx", "--dir", str(tmp_path))
    assert result.exit_code == ERROR
    assert f"cannot write {tmp_path / 'schemas' / 'rooms.schema.json'}:" in result.stderr
    (tmp_path / "b" / ".gitignore").mkdir(parents=True)
    result = init("--provider", "telnyx", "--dir", str(tmp_path / "b"))
    assert result.exit_code == ERROR
    assert f"cannot update {tmp_path / 'b' / '.gitignore'}:" in result.stderr
    assert "Traceback" not in result.output
