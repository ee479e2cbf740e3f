"""`reconcile github-comment`: post the plan on a pull request, or update it in place."""

from __future__ import annotations

import asyncio
import os
import sys

import click

from reconcile import exitcodes, redact
from reconcile.commands.engine import fail
from reconcile.errors import ReconcileError
from reconcile.escape import printable
from reconcile.exitcodes import ERROR, OK
from reconcile.files import FileRefused, read_regular, read_stream
from reconcile.gitops.github import (
    API_URL,
    MAX_BODY,
    GitHubError,
    check_repo,
    upsert_comment,
)

TOKEN_VARIABLE = "GITHUB_TOKEN"
MAX_BODY_BYTES = 4 * MAX_BODY  # GitHub counts characters; UTF-8 takes up to 4 bytes each
EXIT_CODES = ((OK, "the comment was posted, updated, or already up to date"),
              (ERROR, "GitHub refused or failed (the message says what to fix), no token,"
                      " or an invalid option"))


def _repo(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_repo(value)
    except GitHubError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.option("--repo", required=True, envvar="GITHUB_REPOSITORY", show_envvar=True,
              metavar="OWNER/NAME", callback=_repo, help="The repository.")
@click.option("--pr", type=click.IntRange(min=1), required=True, metavar="N",
              help="The pull request's number.")
@click.option("--body-file", type=click.Path(dir_okay=False, allow_dash=True), required=True,
              help="The comment in Markdown, its first line a marker such as"
                   " `<!-- reconcile-plan:rooms.yaml -->` (`-`: standard input).")
@click.option("--api-url", default=API_URL, show_default=True, envvar="GITHUB_API_URL",
              show_envvar=True,
              help="GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3).")
@click.option("--author", metavar="LOGIN",
              help="Update only this account's comments [default: the token's own account;"
                   " any bot for an installation token such as the workflow's].")
def comment(repo: str, pr: int, body_file: str, api_url: str, author: str | None) -> None:
    """Post a comment on a pull request, or update the one that carries the same marker.

    The comment found is the oldest one by the same author whose first line is the body's
    first line, so every push updates one comment instead of adding another. The token
    comes from the GITHUB_TOKEN environment variable and is never printed.

    Exits 0 when the comment was posted, updated or already up to date, 1 otherwise.
    """
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        fail(f"{TOKEN_VARIABLE} is not set: export a token that may write pull request"
             " comments (in a workflow: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`)")
    redact.register([token])  # masked in every log record (-vv logs the HTTP exchange)
    body = _read_body(body_file)
    try:
        result = asyncio.run(upsert_comment(repo, pr, body, token, api_url=api_url,
                                            author=author))
    except ReconcileError as exc:
        # GitHub's messages never quote the token; masking it anyway costs nothing.
        fail(str(exc).replace(token, "***"))
    click.echo(f"{result.action} comment {printable(result.url)}")  # GitHub's answer


def _read_body(path: str) -> str:
    """The comment body: standard input (`-`), or a regular file (a pipe given as a path
    would block), either read only up to the cap and as UTF-8."""
    what = "comment body"
    try:
        # sys.stdin.buffer: click.get_binary_stream is deprecated (removed in click 9).
        raw = read_stream(sys.stdin.buffer, path, MAX_BODY_BYTES, what) \
            if path == "-" else read_regular(path, MAX_BODY_BYTES, what).data
        return raw.decode("utf-8-sig")
    except FileRefused as refused:
        fail(str(refused))
    except UnicodeDecodeError:
        fail(f"{path}: is not UTF-8 text")
    raise AssertionError("unreachable")  # pragma: no cover - fail() exits
