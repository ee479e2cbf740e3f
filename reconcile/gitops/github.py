"""One marked comment per pull request: posted the first time, updated in place after.

A pipeline plans on every push to a pull request and posts the plan. Reviewers should see
one comment holding the latest plan, not one comment per push. The body's first line is a
hidden marker (`<!-- reconcile-plan:rooms.yaml -->`): the comment whose first line is the
same, written by the same author, is the one to update.

Whose comments count:

- `author`, when given (a login);
- else the token's own login (`GET /user`), for a personal or OAuth token;
- else, when GitHub refuses `/user` with 403 as it does for installation tokens (the
  workflow's GITHUB_TOKEN, GitHub Apps), any bot account. A person's comment is never
  taken over, even one that copies the marker: its author could later edit the plan that
  reviewers read.

The token goes only to the API URL (https, or plain http on loopback for tests), only in
the Authorization header, and never into a message: errors name the repository, the pull
request and GitHub's own explanation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from reconcile.engine.http import (
    HttpClient,
    HttpError,
    HttpSettings,
    Sleep,
    TransportError,
    UnusableAnswer,
    json_body,
    transient,
    unprocessed,
)
from reconcile.errors import ReconcileError

API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100  # the most GitHub serves in one page of comments
MAX_BODY = 65_536  # GitHub's limit on a comment body, in characters
MAX_PAGES = 1_000  # 100,000 comments: far past any real pull request
# Modest retries: a comment is not worth minutes of waiting, and GitHub's 5xx are brief.
SETTINGS = HttpSettings(attempts=4, backoff_initial=1.0, backoff_max=10.0)
MESSAGE_LIMIT = 300  # characters of GitHub's own explanation quoted in an error

_MARKER = re.compile(r"<!--\s*\S.*?-->")
# GitHub's rules: owner 1-39 of letters, digits and inner hyphens; name of [A-Za-z0-9._-].
_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")

Action = Literal["created", "updated", "unchanged"]
Comment = Mapping[str, Any]
AuthorTest = Callable[[Mapping[str, Any]], bool]


class GitHubError(ReconcileError):
    """GitHub refused or failed a request; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Upserted:
    action: Action
    comment_id: int
    url: str  # the comment on github.com


def marker_of(body: str) -> str:
    """The body's first line, which must be a hidden HTML comment: the comment's identity."""
    first = _first_line(body)
    if not _MARKER.fullmatch(first):
        raise GitHubError("the comment body must start with a hidden marker line, such as"
                          " `<!-- reconcile-plan:rooms.yaml -->`: it is how the comment is"
                          " found again on the next push")
    return first


def check_repo(repo: str) -> str:
    if not _REPO.fullmatch(repo) or repo.endswith((".git", "/.", "/..")):
        raise GitHubError(f"{repo!r} is not a GitHub repository: write OWNER/NAME")
    return repo


def check_body(body: str) -> None:
    if len(body) > MAX_BODY:
        raise GitHubError(f"the comment is {len(body):,} characters; GitHub takes at most"
                          f" {MAX_BODY:,}")


async def upsert_comment(repo: str, pr: int, body: str, token: str, *,
                         api_url: str = API_URL, author: str | None = None,
                         settings: HttpSettings = SETTINGS,
                         sleep: Sleep = asyncio.sleep) -> Upserted:
    """Update this author's comment on `repo#pr` that carries the body's marker, or post
    a new one. Raises GitHubError (or TransportRefused for a non-https API URL)."""
    check_repo(repo)
    marker = marker_of(body)
    check_body(body)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": API_VERSION}
    async with HttpClient(api_url, headers=headers, settings=settings, connections=1,
                          sleep=sleep) as http:
        try:
            is_author = await _author_test(http, author)
            return await _upsert(http, repo, pr, body, marker, is_author)
        except HttpError as exc:
            raise _explain(exc, repo, pr, settings.attempts) from None
        except UnusableAnswer as exc:  # GitHub answered, once: such answers are not retried
            raise GitHubError(f"GitHub's answer cannot be used: {exc.problem}") from None
        except TransportError as exc:
            raise GitHubError(f"could not reach GitHub at {http.base_url}"
                              f" ({type(exc.cause).__name__}), even after"
                              f" {settings.attempts} tries") from None


async def find_comment(http: HttpClient, repo: str, pr: int, marker: str,
                       is_author: AuthorTest) -> Comment | None:
    """The oldest comment of `is_author` whose first line is `marker`, reading the pages
    (linked by GitHub's Link header) only until it turns up."""
    response = await http.request("GET", _comments_path(repo, pr),
                                  params={"per_page": PER_PAGE}, retry=_retry_safe)
    followed: set[str] = set()
    while True:
        page = json_body(response)
        if not isinstance(page, list):
            raise GitHubError(f"GitHub's list of comments on {repo}#{pr} is not a list")
        for comment in page:
            if (isinstance(comment, Mapping) and is_author(comment.get("user") or {})
                    and _first_line(str(comment.get("body") or "")) == marker):
                return comment
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        if link in followed or len(followed) >= MAX_PAGES:
            raise GitHubError(f"GitHub's pages of comments on {repo}#{pr} do not end")
        followed.add(link)
        # local_path refuses a link off the API's host: the token never leaves it.
        response = await http.request("GET", http.local_path(link), retry=_retry_safe)


async def _upsert(http: HttpClient, repo: str, pr: int, body: str, marker: str,
                  is_author: AuthorTest) -> Upserted:
    existing = await find_comment(http, repo, pr, marker, is_author)
    if existing is not None:
        if existing.get("body") == body:
            return _result("unchanged", existing)
        try:
            response = await http.request("PATCH", _comment_path(repo, existing),
                                          retry=_retry_safe, json={"body": body})
            return _result("updated", json_body(response))
        except HttpError as exc:
            if exc.status != 404:
                raise
            # Deleted since it was listed: post a new one instead.
    try:
        response = await http.request("POST", _comments_path(repo, pr), retry=_retry_post,
                                      json={"body": body})
    except (HttpError, TransportError) as exc:
        if isinstance(exc, HttpError) and exc.status < 500:
            raise
        # The comment may exist although the answer was lost: look before posting again,
        # so that a flaky moment never leaves two plans on the pull request.
        made = await find_comment(http, repo, pr, marker, is_author)
        if made is not None and made.get("body") == body:
            return _result("created", made)
        response = await http.request("POST", _comments_path(repo, pr), retry=_retry_post,
                                      json={"body": body})
    return _result("created", json_body(response))


async def _author_test(http: HttpClient, login: str | None) -> AuthorTest:
    if login is None:
        try:
            user = json_body(await http.request("GET", "/user", retry=_retry_safe))
            if not isinstance(user, Mapping) or not isinstance(user.get("login"), str):
                raise GitHubError("GitHub's answer to GET /user names no login")
            login = user["login"]
        except HttpError as exc:
            if exc.status != 403 or _rate_limited(exc) or _quota_used_up(exc):
                raise
            # An installation token (GITHUB_TOKEN, an app) has no user: its comments are
            # a bot's. People's comments stay out of reach.
            return lambda user: user.get("type") == "Bot"
    wanted = login.lower()  # GitHub logins are case-insensitive
    return lambda user: str(user.get("login", "")).lower() == wanted


def _first_line(body: str) -> str:
    lines = body.splitlines()  # comments edited on github.com come back with CRLF
    return lines[0].strip() if lines else ""


def _comments_path(repo: str, pr: int) -> str:
    return f"/repos/{repo}/issues/{pr}/comments"  # a pull request's conversation comments


def _comment_path(repo: str, comment: Comment) -> str:
    return f"/repos/{repo}/issues/comments/{int(comment['id'])}"


def _result(action: Action, comment: Any) -> Upserted:
    if not isinstance(comment, Mapping) or not isinstance(comment.get("id"), int):
        raise GitHubError("GitHub's answer does not describe a comment")
    return Upserted(action, comment["id"], str(comment.get("html_url", "")))


def _rate_limited(exc: BaseException) -> bool:
    """GitHub's secondary rate limit: a 403 that says when to come back."""
    return isinstance(exc, HttpError) and exc.status == 403 and exc.retry_after is not None


def _quota_used_up(exc: HttpError) -> bool:
    """GitHub's primary rate limit: a 403 with no requests left until the hour turns."""
    return exc.status == 403 and exc.response.headers.get("x-ratelimit-remaining") == "0"


def _retry_safe(exc: BaseException) -> bool:
    """GET and PATCH: repeating them changes nothing (but a refused answer comes back)."""
    return transient(exc) or _rate_limited(exc)


def _retry_post(exc: BaseException) -> bool:
    """POST: repeated only when GitHub cannot have made the comment."""
    return unprocessed(exc) or _rate_limited(exc)


def _explain(exc: HttpError, repo: str, pr: int, attempts: int) -> GitHubError:
    said = _github_says(exc.body)
    where = f"{repo}#{pr}"
    status = exc.status
    if status == 401:
        text = (f"GitHub rejected the token ({status}{said}): GITHUB_TOKEN is wrong or"
                " expired")
    elif _quota_used_up(exc):
        text = (f"the token's GitHub API rate limit is used up ({status}{said});"
                f" it resets {_reset_time(exc.response)}")
    elif status == 403:
        text = (f"GitHub refused access to the comments of {where} ({status}{said}): the"
                " token lacks permission. A workflow needs `permissions: pull-requests:"
                " write`; pull requests from forks only get a read-only token")
    elif status == 404:
        text = (f"GitHub found no pull request {where} ({status}{said}), or the token"
                f" cannot see {repo}")
    elif status == 422:
        text = f"GitHub rejected the comment on {where} ({status}{said})"
    elif status == 429 or status >= 500:
        text = (f"GitHub kept failing on {where} ({status}{said}) after {attempts} tries;"
                " try again later")
    else:
        text = f"GitHub answered {exc.method} {exc.url} with {status}{said}"
    return GitHubError(text)


def _github_says(body: Any) -> str:
    """GitHub's error body (`message`, and `errors` on a 422) as ': text', or ''."""
    if not isinstance(body, Mapping):
        return ""
    parts = [str(body["message"])] if body.get("message") else []
    for error in body.get("errors") or []:
        if isinstance(error, Mapping):
            parts.append(str(error.get("message") or
                             " ".join(str(error[k]) for k in ("field", "code") if k in error)))
        else:
            parts.append(str(error))
    text = "; ".join(p for p in parts if p)
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT - 1] + "…"
    return f": {text}" if text else ""


def _reset_time(response: httpx.Response) -> str:
    try:
        reset = datetime.fromtimestamp(int(response.headers["x-ratelimit-reset"]), UTC)
    except (KeyError, ValueError, OverflowError):
        return "within the hour"
    return reset.strftime("at %H:%M UTC")
