"""`reconcile github-comment` through the real CLI, against the fake GitHub on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import ERROR, OK

from .conftest import BOT_TOKEN, PR, READ_ONLY_TOKEN, REPO
from .fake_github import FakeGitHub

MARKER = "<!-- reconcile-plan:rooms.yaml -->"
USAGE = ERROR  # usage errors exit 1 for every command, as Terraform's do


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "plan.md"
    path.write_text(f"{MARKER}\n## Plan: 1 to create\n", encoding="utf-8")
    return path


def run(github: FakeGitHub, *args: str, token: str | None = BOT_TOKEN,
        stdin: str | None = None) -> Result:
    env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": github.base_url,
           "GITHUB_REPOSITORY": None}
    return CliRunner().invoke(cli, ["-vv", "github-comment", *args], env=env, input=stdin)


def assert_no_token(result: Result, token: str = BOT_TOKEN) -> None:
    assert token not in result.stdout
    assert token not in result.stderr
    assert token[4:] not in result.output  # not even in part


def test_posts_then_updates_and_says_where(github: FakeGitHub, body: Path) -> None:
    first = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body))
    assert first.exit_code == OK, first.output
    (comment,) = github.comments_on(REPO, PR)
    assert first.stdout == f"created comment {comment['html_url']}\n"
    body.write_text(f"{MARKER}\n## Plan: 2 to create\n", encoding="utf-8")
    second = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body))
    assert second.exit_code == OK, second.output
    assert second.stdout == f"updated comment {comment['html_url']}\n"
    assert [c["body"] for c in github.comments_on(REPO, PR)] == [body.read_text()]
    third = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body))
    assert third.stdout == f"unchanged comment {comment['html_url']}\n"
    assert "HTTP Request: POST" in first.stderr  # -vv logs every request to stderr
    for result in (first, second, third):
        assert_no_token(result)


def test_reads_the_body_from_stdin_and_the_repository_from_the_environment(
        github: FakeGitHub) -> None:
    result = CliRunner().invoke(
        cli, ["github-comment", "--pr", str(PR), "--body-file", "-"],
        input=f"{MARKER}\npiped\n",
        env={"GITHUB_TOKEN": BOT_TOKEN, "GITHUB_API_URL": github.base_url,
             "GITHUB_REPOSITORY": REPO})
    assert result.exit_code == OK, result.output
    assert [c["body"] for c in github.comments_on(REPO, PR)] == [f"{MARKER}\npiped\n"]


@pytest.mark.parametrize(("token", "pr", "message"), [
    ("ghs_wrongSENTINEL0123456789", PR, "GitHub rejected the token (401: Bad credentials)"),
    (READ_ONLY_TOKEN, PR, "GitHub refused access to the comments of acme/rooms#7 (403: "),
    (BOT_TOKEN, 99, "GitHub found no pull request acme/rooms#99 (404: Not Found)"),
])
def test_errors_exit_1_with_a_clear_message_and_no_token(
        github: FakeGitHub, body: Path, token: str, pr: int, message: str) -> None:
    result = run(github, "--repo", REPO, "--pr", str(pr), "--body-file", str(body),
                 token=token)
    assert result.exit_code == ERROR
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(f"reconcile: {message}")
    assert_no_token(result, token)
    assert github.comments_on(REPO, PR) == []


def test_a_422_exits_1_quoting_github(github: FakeGitHub, body: Path) -> None:
    github.fail_next("POST", "/comments$", 422, body={
        "message": "Validation Failed", "errors": [{"field": "body", "code": "invalid"}]})
    result = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body))
    assert result.exit_code == ERROR
    assert result.stderr.splitlines()[-1] == (
        "reconcile: GitHub rejected the comment on acme/rooms#7"
        " (422: Validation Failed; body invalid)")
    assert_no_token(result)


def test_a_server_that_echoes_the_token_is_masked(github: FakeGitHub, body: Path) -> None:
    github.fail_next("GET", "/user$", 418, body={"message": f"token {BOT_TOKEN} is a teapot"})
    result = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body))
    assert result.exit_code == ERROR
    assert "token *** is a teapot" in result.stderr
    assert_no_token(result)


def test_a_missing_token_is_an_error_before_any_request(github: FakeGitHub,
                                                        body: Path) -> None:
    for token in (None, "", "  "):
        result = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body),
                     token=token)
        assert result.exit_code == ERROR
        assert "reconcile: GITHUB_TOKEN is not set" in result.stderr
    assert github.requests == []


def test_plain_http_off_loopback_is_refused(github: FakeGitHub, body: Path) -> None:
    result = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(body),
                 "--api-url", "http://github.example.com")
    assert result.exit_code == ERROR
    assert "refusing to send credentials to http://github.example.com" in result.stderr
    assert_no_token(result)


def test_a_body_without_a_marker_is_refused(github: FakeGitHub, tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("## Plan\n", encoding="utf-8")
    result = run(github, "--repo", REPO, "--pr", str(PR), "--body-file", str(path))
    assert result.exit_code == ERROR
    assert "must start with a hidden marker line" in result.stderr
    assert github.requests == []


@pytest.mark.parametrize("args", [
    ["--repo", "not-a-repo", "--pr", "7"],
    ["--repo", REPO, "--pr", "0"],
    ["--repo", REPO],
    ["--pr", "7"],  # no --repo and no GITHUB_REPOSITORY
])
def test_usage_errors(github: FakeGitHub, body: Path, args: list[str]) -> None:
    result = run(github, *args, "--body-file", str(body))
    assert result.exit_code == USAGE
    assert github.requests == []


def test_listed_in_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "github-comment  Post or update the plan comment on a PR." in result.stdout
