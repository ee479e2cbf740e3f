"""The example GitHub Actions workflow: its structure, every `reconcile` call in it against
the real CLI, actionlint where installed, and its scripts run for real (on the sandbox,
the fake GitHub and a local git remote)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from reconcile.cli import COMMANDS, cli
from reconcile.gitops.github import marker_of

from .conftest import BOT_TOKEN, PR, REPO
from .fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "reconcile.yml"
SECRETS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELNYX_API_KEY",
           "SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_TOKEN", "METERED_SECRET_KEY",
           "KALEYRA_API_KEY")
SHELL_OPERATORS = re.compile(r"[|&;<>()]+")
Job = dict[str, Any]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # PyYAML reads `on:` as true


def all_steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield name, step


def step(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in workflow["jobs"][job]["steps"] if s.get("name") == name]
    return found


def command_of(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"no command {name}"
    return command


# -- structure ----------------------------------------------------------------------------


def test_triggers(workflow: dict[str, Any]) -> None:
    on = triggers(workflow)
    assert set(on) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert on["pull_request"]["branches"] == ["main"]
    assert on["push"]["branches"] == ["main"]
    rooms = workflow["env"]["ROOMS_FILE"]
    assert rooms in on["pull_request"]["paths"]
    assert rooms in on["push"]["paths"]
    (schedule,) = on["schedule"]
    assert len(schedule["cron"].split()) == 5


def test_permissions_are_least_privilege(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {"contents": "read"}
    assert "permissions" not in jobs["validate"] and "permissions" not in jobs["drift"]
    assert jobs["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert jobs["apply"]["permissions"] == {"contents": "write", "actions": "read",
                                            "pull-requests": "write"}


def test_each_job_runs_on_its_event(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert "if" not in jobs["validate"]
    assert "github.event_name == 'pull_request'" in jobs["plan"]["if"]
    assert "head.repo.full_name == github.repository" in jobs["plan"]["if"]  # no forks
    assert jobs["apply"]["if"] == ("github.event_name == 'push' &&"
                                   " github.ref == 'refs/heads/main'")
    assert "'schedule'" in jobs["drift"]["if"]
    for name in ("plan", "apply", "drift"):
        assert jobs[name]["needs"] == "validate"


def test_applies_are_serialised_and_never_cancelled(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert jobs["apply"]["concurrency"] == {"group": "reconcile-apply",
                                            "cancel-in-progress": False}
    # The newest push's plan wins; a drift check never queues in the apply group, where
    # it could cancel a waiting apply.
    assert jobs["plan"]["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in jobs["plan"]["concurrency"]["group"]
    assert jobs["drift"]["concurrency"]["group"] != "reconcile-apply"


def test_no_expression_in_a_script_and_secrets_only_in_step_env(
        workflow: dict[str, Any]) -> None:
    assert "secrets" not in str(workflow.get("env"))
    for job in workflow["jobs"].values():
        assert "secrets." not in str(job.get("env", ""))
    for job, item in all_steps(workflow):
        script = item.get("run", "")
        # Expressions in a script are injection holes and print what they expand to.
        assert "${{" not in script, (job, item.get("name"))
        assert not re.search(r"\bset -[a-z]*x|\bprintenv\b|^\s*env\s*$", script, re.M)
        for name in (*SECRETS, "GITHUB_TOKEN", "GH_TOKEN"):
            assert f"${name}" not in script and f"${{{name}}}" not in script
        assert "secrets." not in str(item.get("with", ""))
        for name, value in item.get("env", {}).items():
            if "secrets." in str(value):  # each secret in its own variable, by its name
                assert value == f"${{{{ secrets.{name} }}}}", name


def test_the_steps_holding_provider_secrets(workflow: dict[str, Any]) -> None:
    holders = {(job, item["name"]) for job, item in all_steps(workflow)
               if set(SECRETS) <= set(item.get("env", {}))}
    assert holders == {("plan", "Plan"), ("apply", "Apply the reviewed plan"),
                       ("drift", "Plan, failing on drift")}


def test_actions_are_pinned_by_commit_and_name_their_release(
        workflow: dict[str, Any]) -> None:
    """A tag can be moved to other code, a commit cannot; the comment says which release
    the commit is, for people and for Dependabot."""
    uses = [item["uses"] for _, item in all_steps(workflow) if "uses" in item]
    assert len(uses) == 10
    for action in uses:
        assert re.fullmatch(r"actions/[a-z-]+@[0-9a-f]{40}", action), action
    lines = [line for line in WORKFLOW.read_text(encoding="utf-8").splitlines()
             if re.match(r"\s*(- )?uses: ", line)]
    assert len(lines) == len(uses)
    for line in lines:
        assert re.search(r"@[0-9a-f]{40}  # .*\bv\d+\.\d+\.\d+$", line), line
    # One release of each action throughout.
    assert len({action.split("@")[0] for action in uses}) == len(set(uses)) == 4


def test_zizmor_finds_nothing() -> None:
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not on PATH (pip install zizmor: it is in the test extra)")
    result = subprocess.run([zizmor, "--offline", "--no-progress", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_the_reviewed_plan_is_what_apply_applies(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    upload = next(s for s in jobs["plan"]["steps"]
                  if s.get("uses", "").startswith("actions/upload-artifact"))
    download = next(s for s in jobs["apply"]["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact"))
    assert upload["with"]["name"] == "reconcile-plan-${{ github.event.pull_request.head.sha }}"
    assert download["with"]["name"] == "reconcile-plan-${{ steps.reviewed.outputs.head }}"
    assert "artifacts?name=reconcile-plan-$head" in step(
        workflow, "apply", "Find the plan reviewed on the pull request")["run"]
    saved = upload["with"]["path"]
    # One plan: the comment is rendered from the saved plan, not from a second reading.
    planned = step(workflow, "plan", "Plan")["run"]
    assert [call[0] for call in reconcile_calls(planned)] == ["plan", "show"]
    assert f"--out {saved} " in planned
    assert f"reconcile show {saved} --format markdown > plan.md" in planned
    assert step(workflow, "apply", "Apply the reviewed plan")["run"] == \
        f"reconcile apply {download['with']['path']}/{saved}"
    commit = step(workflow, "apply", "Commit the Kaleyra state back to main")
    assert commit["if"] == "always() && steps.apply.outcome != 'skipped'"


# -- every reconcile call against the real CLI --------------------------------------------


def reconcile_calls(script: str) -> list[list[str]]:
    """The argument lists of the `reconcile` commands a bash script runs."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        for at, word in enumerate(words):
            if word == "reconcile":
                args = []
                for arg in words[at + 1:]:
                    if SHELL_OPERATORS.fullmatch(arg):
                        break
                    args.append(arg)
                calls.append(args)
    return calls


def check_call(args: list[str]) -> list[str]:
    """Problems with one call of reconcile (its arguments)."""
    problems: list[str] = []
    known = {opt: p for p in cli.params for opt in p.opts}
    while args and args[0].startswith("-"):
        if args.pop(0) not in known:
            problems.append(f"unknown global option in reconcile {' '.join(args)}")
    if not args or args[0] not in COMMANDS:
        return [*problems, f"unknown command: reconcile {' '.join(args)}"]
    name, rest = args[0], args[1:]
    command = command_of(name)
    options = {opt: p for p in command.params if isinstance(p, click.Option)
               for opt in (*p.opts, *p.secondary_opts)}
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    positional: list[str] = []
    while rest:
        word = rest.pop(0)
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        flag, _, inline = word.partition("=")
        option = options.get(flag)
        if option is None:
            problems.append(f"reconcile {name} has no option {flag}")
            continue
        if option.is_flag or option.count:
            continue
        value = inline or (rest.pop(0) if rest else "")
        if (isinstance(option.type, click.Choice) and "$" not in value
                and value not in option.type.choices):
            problems.append(f"reconcile {name} {flag} {value}: not one of"
                                f" {', '.join(map(str, option.type.choices))}")
    room = sum(a.nargs if a.nargs > 0 else len(positional) for a in arguments)
    if len(positional) > room:
        problems.append(f"reconcile {name} takes {room} arguments, given {positional}")
    for argument in arguments:
        if argument.required and not positional:
            problems.append(f"reconcile {name} needs {argument.human_readable_name}")
    return problems


def test_every_reconcile_call_is_a_real_command_with_real_options(
        workflow: dict[str, Any]) -> None:
    calls = [call for _, item in all_steps(workflow)
             for call in reconcile_calls(item.get("run", ""))]
    used = {call[0] for call in calls}
    assert used == {"validate", "plan", "show", "apply", "github-comment"}
    for name in sorted(used):  # each loads and shows its help
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
    assert [problem for call in calls for problem in check_call(list(call))] == []


def test_the_call_checker_catches_mistakes() -> None:
    assert reconcile_calls('a && reconcile plan --x "$F" | tee o\nreconcile validate b') == [
        ["plan", "--x", "$F"], ["validate", "b"]]
    assert check_call(["plna"]) == ["unknown command: reconcile plna"]
    assert check_call(["plan", "--detailed-exitcod"]) == [
        "reconcile plan has no option --detailed-exitcod"]
    assert check_call(["validate", "--format", "yaml", "f"]) == [
        "reconcile validate --format yaml: not one of text, json, github"]
    assert check_call(["validate"]) == ["reconcile validate needs FILES"]
    assert check_call(["plan", "a.yaml", "b.yaml"]) == [
        "reconcile plan takes 1 arguments, given ['a.yaml', 'b.yaml']"]
    assert check_call(["--sandbox", "github-comment", "--repo", "a/b", "--pr", "1",
                       "--body-file", "x"]) == []


def test_actionlint() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not on PATH (its PyPI wrapper downloads the binary at"
                    " install time, so it is not a test dependency)")
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the scripts, run for real ------------------------------------------------------------


class Runner:
    """Runs a step's script as GitHub would (bash -eo pipefail), with `reconcile` on PATH
    pointing at the sandbox, in a work folder holding the example rooms file."""

    def __init__(self, tmp_path: Path, workflow: dict[str, Any]) -> None:
        self.workflow = workflow
        self.work = tmp_path / "work"
        self.work.mkdir()
        shutil.copy(ROOT / "examples" / "rooms.yaml", self.work / "rooms.yaml")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "reconcile"
        wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m reconcile"
                           f" --sandbox --sandbox-db {shlex.quote(str(tmp_path / 's.db'))}"
                           ' "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        self.summary = tmp_path / "summary.md"
        self.environ = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),  # this checkout's reconcile, whatever is installed
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(tmp_path / "output"), "RUNNER_TEMP": str(tmp_path),
            **{k: v for k, v in workflow["env"].items() if "${{" not in v}}

    def run(self, job: str, name: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.script(step(self.workflow, job, name)["run"], **env)

    def script(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               script], cwd=self.work, env={**self.environ, **env},
                              capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def runner(tmp_path: Path, workflow: dict[str, Any]) -> Runner:
    return Runner(tmp_path, workflow)


def test_the_pull_request_steps_keep_one_comment(runner: Runner, github: FakeGitHub) -> None:
    comment = {"GITHUB_TOKEN": BOT_TOKEN, "GITHUB_API_URL": github.base_url,
               "GITHUB_REPOSITORY": REPO, "PR": str(PR)}
    planned = runner.run("plan", "Plan")
    assert planned.returncode == 0, planned.stderr
    assert (runner.work / "plan.json").exists()
    body = (runner.work / "plan.md").read_text(encoding="utf-8")
    assert body in runner.summary.read_text(encoding="utf-8")
    saved = json.loads((runner.work / "plan.json").read_text(encoding="utf-8"))
    assert saved["changes"] and f"<code>{saved['plan_checksum']}</code>" in body
    posted = runner.run("plan", "Post the plan on the pull request", **comment)
    assert posted.returncode == 0, posted.stderr
    again = runner.run("plan", "Post the plan on the pull request", **comment)
    assert again.stdout.startswith("unchanged comment ")
    # A failed plan replaces the same comment (its marker is the plan's), never adds one.
    failed = runner.run("plan", "Replace the plan comment with the failure", **comment,
                        HEAD_SHA="abc123", RUN_URL="https://github.example/run/1")
    assert failed.returncode == 0, failed.stderr
    (only,) = github.comments_on(REPO, PR)
    assert marker_of(only["body"]) == marker_of(body)
    assert "the plan of abc123 failed" in only["body"]
    assert BOT_TOKEN not in planned.stdout + posted.stdout + failed.stdout + failed.stderr


def test_the_apply_and_drift_steps(runner: Runner, github: FakeGitHub) -> None:
    assert runner.run("plan", "Plan").returncode == 0
    drifted = runner.run("drift", "Plan, failing on drift")
    assert drifted.returncode == 1
    assert "::error title=Drift::The live rooms differ from rooms.yaml" in drifted.stdout
    (runner.work / "reviewed").mkdir()
    shutil.move(runner.work / "plan.json", runner.work / "reviewed" / "plan.json")
    applied = runner.run("apply", "Apply the reviewed plan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    clean = runner.run("drift", "Plan, failing on drift")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift: the live rooms match rooms.yaml." in clean.stdout
    report = runner.run("apply", "Report on the pull request", GITHUB_TOKEN=BOT_TOKEN,
                        GITHUB_API_URL=github.base_url, GITHUB_REPOSITORY=REPO, PR=str(PR),
                        OUTCOME="success", GITHUB_SHA="f00d", RUN_URL="https://x/run/2")
    assert report.returncode == 0, report.stderr
    (comment,) = github.comments_on(REPO, PR)
    assert comment["body"].startswith("<!-- reconcile-apply:rooms.yaml -->\n")
    assert "apply of f00d: success" in comment["body"]


def git(cwd: Path, *args: str) -> str:
    environ = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
               "PATH": os.environ["PATH"], "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()


def test_the_kaleyra_state_comes_from_main_and_goes_back_alone(runner: Runner,
                                                               tmp_path: Path) -> None:
    # origin: main has the merged rooms file; then an earlier apply commits its state.
    origin, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", origin.as_uri(), str(seed))
    (seed / "rooms.yaml").write_text("version: 1\n")
    (seed / ".gitignore").write_text(".reconcile/\n")  # ignored, as many set-ups do
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "merge")
    merged = git(seed, "rev-parse", "HEAD")
    (seed / ".reconcile").mkdir()
    (seed / ".reconcile" / "kaleyra-k.json").write_text('{"v": 1}\n')
    git(seed, "add", "--force", ".reconcile")
    git(seed, "commit", "-q", "-m", "state of an earlier apply")
    git(seed, "push", "-q", "origin", "main")
    # This job's checkout: the merge commit, behind main.
    shutil.rmtree(runner.work)
    git(tmp_path, "clone", "-q", origin.as_uri(), str(runner.work))
    git(runner.work, "checkout", "-q", "--detach", merged)
    environ = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    restored = runner.run("apply", "Use the Kaleyra state the last apply wrote", **environ)
    assert restored.returncode == 0, restored.stderr
    state = runner.work / ".reconcile" / "kaleyra-k.json"
    assert state.read_text() == '{"v": 1}\n'

    state.write_text('{"v": 2}\n')  # what apply wrote
    (runner.work / ".reconcile" / "kaleyra-k.json.lock").write_text("")
    (runner.work / "stray.txt").write_text("not state")
    commit = step(runner.workflow, "apply", "Commit the Kaleyra state back to main")
    committed = runner.run("apply", "Commit the Kaleyra state back to main",
                           **environ, **commit["env"], GITHUB_SHA=merged)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    git(seed, "pull", "-q", "origin", "main")
    assert (seed / ".reconcile" / "kaleyra-k.json").read_text() == '{"v": 2}\n'
    assert git(seed, "show", "--name-only", "--format=%an|%s", "HEAD").splitlines() == [
        f"github-actions[bot]|reconcile: Kaleyra state after applying {merged}", "",
        ".reconcile/kaleyra-k.json"]
    assert git(runner.work, "rev-parse", "HEAD") == merged  # the checkout is left as it was

    unchanged = runner.run("apply", "Commit the Kaleyra state back to main",
                           **environ, **commit["env"], GITHUB_SHA=merged)
    assert unchanged.returncode == 0
    assert "The Kaleyra state did not change." in unchanged.stdout


def test_the_pull_request_plans_against_mains_state(runner: Runner, tmp_path: Path) -> None:
    origin, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", origin.as_uri(), str(seed))
    (seed / ".reconcile").mkdir()
    (seed / ".reconcile" / "kaleyra-k.json").write_text("main's\n")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "state")
    git(seed, "push", "-q", "origin", "main")
    shutil.rmtree(runner.work)
    git(tmp_path, "clone", "-q", origin.as_uri(), str(runner.work))
    (runner.work / ".reconcile" / "kaleyra-k.json").write_text("the branch's stale copy\n")
    (runner.work / ".reconcile" / "kaleyra-extra.json").write_text("hand-made\n")
    result = runner.run("plan", "Use the Kaleyra state the last apply wrote",
                        GIT_CONFIG_GLOBAL=os.devnull)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (runner.work / ".reconcile").iterdir()) == ["kaleyra-k.json"]
    assert (runner.work / ".reconcile" / "kaleyra-k.json").read_text() == "main's\n"


# -- the apply job's look-up of the reviewed plan, with `gh` answering from canned files ----

FAKE_GH = """#!/bin/sh
# gh api PATH --jq FILTER: the canned answer for PATH, through jq as gh filters it.
[ "$1" = api ] && [ "$3" = --jq ] || { echo "fake gh: $*" >&2; exit 2; }
exec jq -r "$4" "$FAKE_GH_ANSWERS/$(printf %s "$2" | tr '/?=&' '____').json"
"""
MERGED = "f00d" * 10


def canned_gh(runner: Runner, tmp_path: Path, answers: dict[str, Any]) -> dict[str, str]:
    """`gh` on the runner's PATH answering each API path with its JSON; the environment."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not on PATH (gh's --jq filters are run with it here)")
    folder = tmp_path / "gh-answers"
    folder.mkdir()
    for path, answer in answers.items():
        name = re.sub(r"[/?=&]", "_", path)
        (folder / f"{name}.json").write_text(json.dumps(answer), encoding="utf-8")
    gh = Path(runner.environ["PATH"].split(os.pathsep)[0]) / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    return {"FAKE_GH_ANSWERS": str(folder), "GITHUB_SHA": MERGED, "GITHUB_REPOSITORY": REPO}


def pulls(source: str | None) -> dict[str, Any]:
    head = {"sha": "beef" * 10, "repo": {"full_name": source} if source else None}
    return {f"repos/{REPO}/commits/{MERGED}/pulls": [
        {"number": PR, "merge_commit_sha": MERGED, "head": head}]}


def outputs(runner: Runner) -> dict[str, str]:
    text = Path(runner.environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines())


@pytest.mark.parametrize("fork", ["someone/rooms", None], ids=["fork", "deleted-fork"])
def test_a_merged_fork_pull_request_says_nothing_was_applied_and_why(
        runner: Runner, tmp_path: Path, github: FakeGitHub, fork: str | None) -> None:
    environ = canned_gh(runner, tmp_path, pulls(fork))
    found = runner.run("apply", "Find the plan reviewed on the pull request", **environ)
    assert found.returncode == 1
    source = fork or "a-deleted-fork"
    assert f"::error::Pull request #{PR} came from the fork {source}: pull requests from" \
           " forks are only validated, never planned, so nothing was applied." in found.stdout
    assert outputs(runner) == {"pr": str(PR), "fork": source}
    report = step(runner.workflow, "apply", "Report on the pull request")
    assert "steps.reviewed.outputs.fork" in report["if"]  # runs although apply did not
    reported = runner.run("apply", "Report on the pull request", GITHUB_TOKEN=BOT_TOKEN,
                          GITHUB_API_URL=github.base_url, GITHUB_REPOSITORY=REPO,
                          PR=str(PR), FORK=source, OUTCOME="skipped", GITHUB_SHA=MERGED,
                          RUN_URL="https://x/run/3")
    assert reported.returncode == 0, reported.stderr
    (comment,) = github.comments_on(REPO, PR)
    assert f"### reconcile: nothing applied for {MERGED}" in comment["body"]
    assert f"came from the fork `{source}`. Pull requests from forks are only validated" \
        in comment["body"]


def test_a_pull_request_of_this_repository_finds_its_saved_plan(runner: Runner,
                                                               tmp_path: Path) -> None:
    head = "beef" * 10
    environ = canned_gh(runner, tmp_path, {
        **pulls(REPO),
        f"repos/{REPO}/actions/artifacts?name=reconcile-plan-{head}": {"artifacts": [
            {"expired": True, "workflow_run": {"id": 1}},
            {"expired": False, "workflow_run": {"id": 42}}]}})
    found = runner.run("apply", "Find the plan reviewed on the pull request", **environ)
    assert found.returncode == 0, found.stdout + found.stderr
    assert outputs(runner) == {"pr": str(PR), "head": head, "run-id": "42"}


# -- the documented matrix: one job per account -------------------------------------------

GITHUB_ACTIONS_DOC = ROOT / "docs" / "github-actions.md"


@pytest.fixture(scope="module")
def matrix() -> dict[str, Any]:
    """The plan and apply jobs of docs/github-actions.md's matrix example."""
    text = GITHUB_ACTIONS_DOC.read_text(encoding="utf-8")
    section = text[text.index("## A large estate"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    jobs = yaml.safe_load(block.group(1))
    assert set(jobs) == {"plan", "apply"}
    return dict(jobs)


def test_the_matrix_example_is_per_account_throughout(matrix: dict[str, Any],
                                                      workflow: dict[str, Any]) -> None:
    accounts = list(yaml.safe_load((ROOT / "examples" / "rooms.yaml").read_text())["providers"])
    pins = {item["uses"] for _, item in all_steps(workflow) if "uses" in item}
    for name, job in matrix.items():
        assert job["strategy"]["matrix"]["account"] == accounts  # the example's accounts
        assert job["strategy"]["fail-fast"] is False
        assert "matrix.account" in job["concurrency"]["group"]
        assert job["concurrency"]["cancel-in-progress"] is (name == "plan")
        for item in job["steps"]:
            assert item.get("uses", next(iter(pins))) in pins  # the workflow's own pins
            if "name" in item:  # the same steps as the workflow's, changed
                step(workflow, name, item["name"])
            for call in reconcile_calls(item.get("run", "")):
                assert check_call(list(call)) == [], call
    (upload,) = [s for s in matrix["plan"]["steps"] if "uses" in s]
    assert upload["with"]["name"].endswith("-${{ matrix.account }}")
    assert upload["with"]["path"] == "plan-${{ matrix.account }}.json"


def test_the_matrix_plan_step_saves_and_comments_per_account(
        runner: Runner, matrix: dict[str, Any], github: FakeGitHub) -> None:
    plan_step = next(s for s in matrix["plan"]["steps"] if s.get("name") == "Plan")
    comment = {"GITHUB_TOKEN": BOT_TOKEN, "GITHUB_API_URL": github.base_url,
               "GITHUB_REPOSITORY": REPO, "PR": str(PR)}
    post = next(s for s in matrix["plan"]["steps"]
                if s.get("name") == "Post the plan on the pull request")
    bodies = {}
    for account in ("twilio", "kaleyra"):
        planned = runner.script(plan_step["run"], ACCOUNT=account)
        assert planned.returncode == 0, planned.stderr
        saved = json.loads((runner.work / f"plan-{account}.json").read_text())
        assert {change["account"] for change in saved["changes"]} == {account}
        bodies[account] = (runner.work / "plan.md").read_text(encoding="utf-8")
        assert bodies[account].startswith(f"<!-- reconcile-plan:rooms.yaml:{account} -->\n"
                                          "### reconcile plan: <code>rooms.yaml</code>\n")
        assert runner.script(post["run"], **comment).returncode == 0
    # Two accounts, two comments: neither job takes over the other's.
    assert sorted(c["body"] for c in github.comments_on(REPO, PR)) == sorted(bodies.values())
