"""The comment upsert against a fake GitHub API on loopback."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from reconcile.engine.http import HttpSettings, TransportRefused
from reconcile.gitops.github import (
    MAX_BODY,
    PER_PAGE,
    GitHubError,
    Upserted,
    check_repo,
    marker_of,
    upsert_comment,
)

from .conftest import ALICE, ALICE_TOKEN, BOT_TOKEN, OTHER_BOT_TOKEN, PR, READ_ONLY_TOKEN, REPO
from .fake_github import BOT, OTHER_BOT, FakeGitHub

MARKER = "<!-- reconcile-plan:rooms.yaml -->"
COMMENTS = f"/repos/{REPO}/issues/{PR}/comments"


def plan(text: str, marker: str = MARKER) -> str:
    return f"{marker}\n## Plan\n\n{text}\n"


class Sleeps:
    """Records the waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def upsert(github: FakeGitHub, body: str, token: str = BOT_TOKEN, *,
           sleeps: Sleeps | None = None, **kwargs: Any) -> Upserted:
    return asyncio.run(upsert_comment(REPO, PR, body, token, api_url=github.base_url,
                                      sleep=sleeps or Sleeps(), **kwargs))


def bodies(github: FakeGitHub) -> list[str]:
    return [c["body"] for c in github.comments_on(REPO, PR)]


def test_creates_the_comment_when_absent(github: FakeGitHub) -> None:
    result = upsert(github, plan("1 to create"))
    assert result.action == "created"
    (comment,) = github.comments_on(REPO, PR)
    assert comment["body"] == plan("1 to create")
    assert comment["user"]["login"] == BOT.login
    assert result.comment_id == comment["id"]
    assert result.url == comment["html_url"]
    listing = [query for method, path, query in github.requests
               if method == "GET" and path == COMMENTS]
    assert listing == [{"per_page": str(PER_PAGE)}]


def test_every_push_updates_the_one_comment_in_place(github: FakeGitHub) -> None:
    actions = [upsert(github, plan(f"push {n}")).action for n in range(5)]
    assert actions == ["created", "updated", "updated", "updated", "updated"]
    assert bodies(github) == [plan("push 4")]
    assert github.count("POST") == 1
    assert github.count("PATCH") == 4


def test_an_unchanged_plan_is_not_written_again(github: FakeGitHub) -> None:
    first = upsert(github, plan("same"))
    again = upsert(github, plan("same"))
    assert again == Upserted("unchanged", first.comment_id, first.url)
    assert github.count("PATCH") == 0
    assert github.count("POST") == 1


def test_the_marker_is_found_on_a_later_page_by_following_links(github: FakeGitHub) -> None:
    for n in range(130):
        github.add_comment(REPO, PR, ALICE, f"comment {n}")
    mine = github.add_comment(REPO, PR, BOT, plan("old"))
    for n in range(120):
        github.add_comment(REPO, PR, ALICE, f"later {n}")
    result = upsert(github, plan("new"))
    assert result.action == "updated"
    assert result.comment_id == mine["id"]
    assert mine["body"] == plan("new")
    assert github.count("POST") == 0
    # Page 1 by path, page 2 by GitHub's Link (naming the repository by id); the scan
    # stops at the match, so page 3 is never read.
    pages = [(path, query.get("page")) for method, path, query in github.requests
             if method == "GET" and path.endswith("/comments")]
    assert pages == [(COMMENTS, None), (f"/repositories/4242/issues/{PR}/comments", "2")]


def test_every_page_is_read_before_posting(github: FakeGitHub) -> None:
    for n in range(250):
        github.add_comment(REPO, PR, ALICE, f"comment {n}")
    assert upsert(github, plan("x")).action == "created"
    assert github.count("GET", "/comments") == 3
    assert len(bodies(github)) == 251


def test_other_markers_other_authors_and_lookalikes_are_left_alone(github: FakeGitHub) -> None:
    untouched = [
        github.add_comment(REPO, PR, ALICE, plan("a person copied the marker")),
        github.add_comment(REPO, PR, BOT, plan("another file", "<!-- reconcile-plan:b.yaml -->")),
        github.add_comment(REPO, PR, BOT, f"Quoting it:\n{MARKER}\nnot on the first line"),
        github.add_comment(REPO, PR, BOT, f"{MARKER} and more on the line"),
    ]
    before = [dict(c) for c in untouched]
    first = upsert(github, plan("v1"))
    second = upsert(github, plan("v2"))
    assert (first.action, second.action) == ("created", "updated")
    assert first.comment_id == second.comment_id
    assert [dict(c) for c in untouched] == before
    assert bodies(github)[-1] == plan("v2")
    assert len(bodies(github)) == 5


def test_an_installation_token_takes_any_bots_comment(github: FakeGitHub) -> None:
    # GitHub refuses /user to installation tokens, so every bot counts as "us" (the
    # workflow's token and an app posting for the same pipeline share one comment).
    theirs = github.add_comment(REPO, PR, OTHER_BOT, plan("from another bot"))
    result = upsert(github, plan("mine"))
    assert (result.action, result.comment_id) == ("updated", theirs["id"])
    assert ("GET", "/user", {}) in github.requests


def test_a_personal_token_takes_only_its_own_comment(github: FakeGitHub) -> None:
    bots = github.add_comment(REPO, PR, BOT, plan("the bot's"))
    alices = github.add_comment(REPO, PR, ALICE, plan("alice's"))
    result = upsert(github, plan("alice again"), ALICE_TOKEN)
    assert (result.action, result.comment_id) == ("updated", alices["id"])
    assert bots["body"] == plan("the bot's")


def test_author_overrides_who_counts(github: FakeGitHub) -> None:
    bot = github.add_comment(REPO, PR, BOT, plan("the workflow's"))
    github.add_comment(REPO, PR, OTHER_BOT, plan("dependabot's"))
    result = upsert(github, plan("new"), OTHER_BOT_TOKEN, author="GitHub-Actions[bot]")
    assert result.comment_id == bot["id"]  # logins compare case-insensitively
    assert ("GET", "/user", {}) not in github.requests


def test_a_comment_deleted_meanwhile_is_posted_again(github: FakeGitHub) -> None:
    old = github.add_comment(REPO, PR, BOT, plan("old"))
    github.fail_next("PATCH", rf"/comments/{old['id']}$", 404, body={"message": "Not Found"})
    assert upsert(github, plan("new")).action == "created"
    assert bodies(github) == [plan("old"), plan("new")]


@pytest.mark.parametrize(("token", "status", "says"), [
    ("ghs_unknown", 401, "GitHub rejected the token (401: Bad credentials): GITHUB_TOKEN is"),
    (READ_ONLY_TOKEN, 403, "(403: Resource not accessible by integration): the token lacks"
                           " permission. A workflow needs `permissions: pull-requests: write`"),
])
def test_auth_errors_say_what_to_fix(github: FakeGitHub, token: str, status: int,
                                     says: str) -> None:
    with pytest.raises(GitHubError) as caught:
        upsert(github, plan("x"), token)
    assert says in str(caught.value)
    assert token not in str(caught.value)
    assert bodies(github) == []


def test_an_unknown_pull_request_is_a_404_naming_it(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match=r"no pull request acme/rooms#7 \(404: Not Found\)"
                                          r", or the token cannot see acme/rooms"):
        github.pulls.clear()
        upsert(github, plan("x"))


def test_a_422_quotes_githubs_reasons(github: FakeGitHub) -> None:
    github.fail_next("POST", "/comments$", 422, body={
        "message": "Validation Failed",
        "errors": [{"resource": "IssueComment", "code": "unprocessable", "field": "body",
                    "message": "body contains a forbidden pattern"}, "and a plain string"]})
    with pytest.raises(GitHubError) as caught:
        upsert(github, plan("x"))
    assert str(caught.value) == (
        "GitHub rejected the comment on acme/rooms#7 (422: Validation Failed;"
        " body contains a forbidden pattern; and a plain string)")


def test_the_primary_rate_limit_says_when_it_resets(github: FakeGitHub) -> None:
    github.fail_next("GET", "/user$", 403, body={"message": "API rate limit exceeded"},
                     headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"})
    with pytest.raises(GitHubError, match=r"rate limit is used up .* resets at 22:13 UTC"):
        upsert(github, plan("x"))


def test_5xx_and_429_are_retried_with_backoff_and_retry_after(github: FakeGitHub) -> None:
    sleeps = Sleeps()
    github.fail_next("GET", "/comments$", 502, times=2)
    github.fail_next("GET", "/user$", 429, headers={"Retry-After": "7"})
    github.fail_next("GET", "/user$", 403, headers={"Retry-After": "3"},  # secondary limit
                     body={"message": "You have exceeded a secondary rate limit"})
    assert upsert(github, plan("x"), sleeps=sleeps).action == "created"
    assert sleeps.waits[:2] == [7.0, 3.0]
    assert len(sleeps.waits) == 4


def test_retries_are_modest_then_a_clear_error(github: FakeGitHub) -> None:
    sleeps = Sleeps()
    github.fail_next("GET", "/comments$", 503, times=10)
    with pytest.raises(GitHubError, match=r"kept failing on acme/rooms#7 \(503: boom\)"
                                          r" after 3 tries; try again later"):
        upsert(github, plan("x"), sleeps=sleeps, settings=HttpSettings(attempts=3))
    assert len(sleeps.waits) == 2


def test_a_post_whose_answer_was_lost_is_not_posted_twice(github: FakeGitHub) -> None:
    github.fail_next("POST", "/comments$", 502, commit=True)  # made, then the answer lost
    assert upsert(github, plan("x")).action == "created"
    assert bodies(github) == [plan("x")]
    assert github.count("POST") == 1


def test_a_post_that_failed_before_being_made_is_posted_once_more(github: FakeGitHub) -> None:
    github.fail_next("POST", "/comments$", 500)
    assert upsert(github, plan("x")).action == "created"
    assert bodies(github) == [plan("x")]
    assert github.count("POST") == 2


def test_https_is_required_except_on_loopback(github: FakeGitHub) -> None:
    for url in ("http://api.github.com", "http://10.0.0.1/api/v3", "ftp://127.0.0.1"):
        with pytest.raises(TransportRefused, match="refusing to send credentials"):
            asyncio.run(upsert_comment(REPO, PR, plan("x"), BOT_TOKEN, api_url=url))
    assert github.requests == []


def test_a_link_off_the_api_host_is_not_followed(github: FakeGitHub) -> None:
    for n in range(101):
        github.add_comment(REPO, PR, ALICE, f"comment {n}")
    github.base_url, real = "http://127.0.0.2:1", github.base_url  # where links point
    try:
        with pytest.raises(TransportRefused, match="refusing to follow"):
            asyncio.run(upsert_comment(REPO, PR, plan("x"), BOT_TOKEN, api_url=real))
    finally:
        github.base_url = real
    assert github.count("GET", "/comments") == 1


def test_a_listing_that_is_not_a_list_is_a_clear_error(github: FakeGitHub) -> None:
    github.fail_next("GET", "/comments$", 200, body={"message": "maintenance"})
    with pytest.raises(GitHubError, match=r"GitHub's list of comments on acme/rooms#7 is not"
                                          r" a list"):
        upsert(github, plan("x"))
    assert bodies(github) == []


def test_pages_that_link_back_to_themselves_are_a_clear_error(github: FakeGitHub) -> None:
    again = f"{github.base_url}/repos/{REPO}/issues/{PR}/comments?per_page=100&page=2"
    loop = {"Link": f'<{again}>; rel="next"'}
    github.fail_next("GET", "/comments$", 200, times=2, body=[], headers=loop)
    with pytest.raises(GitHubError, match=r"pages of comments on acme/rooms#7 do not end"):
        upsert(github, plan("x"))
    assert github.count("GET", "/comments") == 2
    assert bodies(github) == []


def test_an_update_github_refuses_is_not_posted_anew(github: FakeGitHub) -> None:
    old = github.add_comment(REPO, PR, BOT, plan("old"))
    github.fail_next("PATCH", rf"/comments/{old['id']}$", 422,
                     body={"message": "Validation Failed", "errors": [{"code": "custom"}]})
    with pytest.raises(GitHubError, match=r"rejected the comment on acme/rooms#7 \(422:"
                                          r" Validation Failed; custom\)"):
        upsert(github, plan("new"))
    assert bodies(github) == [plan("old")]  # only a 404 (deleted meanwhile) posts anew


def test_an_answer_that_is_no_comment_is_a_clear_error(github: FakeGitHub) -> None:
    github.fail_next("POST", "/comments$", 201, body={"id": "not a number"})
    with pytest.raises(GitHubError, match="GitHub's answer does not describe a comment"):
        upsert(github, plan("x"))


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/comments$", b"<html>proxy error</html>"),
    ("GET", "/comments$", b"[" * 100_000),  # past json's recursion limit: a RecursionError
    ("POST", "/comments$", b"{cut short"),
    ("GET", "^/user$", b"not json"),
])
def test_an_answer_that_is_not_json_is_a_clear_error(github: FakeGitHub, method: str,
                                                     path: str, body: bytes) -> None:
    github.fail_next(method, path, 200 if method == "GET" else 201, body=body)
    with pytest.raises(GitHubError, match=r"^GitHub's answer cannot be used: the [\d,]+-byte"
                                          r" body is not JSON"):
        upsert(github, plan("x"))


def test_a_user_answer_without_a_login_is_a_clear_error(github: FakeGitHub) -> None:
    github.fail_next("GET", "^/user$", 200, body={"id": 1})
    with pytest.raises(GitHubError, match=r"GitHub's answer to GET /user names no login"):
        upsert(github, plan("x"), token=ALICE_TOKEN)


@pytest.mark.parametrize(("body", "said"), [
    (["not", "a", "mapping"], "404"),
    ({"message": "x" * 400}, "404: " + "x" * 299 + "…"),
])
def test_githubs_own_words_are_quoted_briefly_or_not_at_all(github: FakeGitHub, body: Any,
                                                            said: str) -> None:
    github.fail_next("GET", "/comments$", 404, body=body)
    with pytest.raises(GitHubError) as caught:
        upsert(github, plan("x"))
    assert str(caught.value) == (f"GitHub found no pull request acme/rooms#7 ({said}), or the"
                                 " token cannot see acme/rooms")


@pytest.mark.parametrize("headers", [{}, {"x-ratelimit-reset": "soon"}])
def test_a_used_up_rate_limit_without_a_reset_time_says_within_the_hour(
        github: FakeGitHub, headers: dict[str, str]) -> None:
    github.fail_next("GET", "/user$", 403, body={"message": "API rate limit exceeded"},
                     headers={"x-ratelimit-remaining": "0", **headers})
    with pytest.raises(GitHubError, match=r"rate limit is used up .* resets within the hour"):
        upsert(github, plan("x"))


def test_an_unexpected_status_names_the_request(github: FakeGitHub) -> None:
    github.fail_next("GET", "/comments$", 409, body={"message": "Conflict"})
    with pytest.raises(GitHubError) as caught:
        upsert(github, plan("x"))
    assert str(caught.value) == (f"GitHub answered GET {github.base_url}{COMMENTS}"
                                 f"?per_page={PER_PAGE} with 409: Conflict")


def test_an_unreachable_api_is_retried_then_named() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        asyncio.run(upsert_comment(REPO, PR, plan("x"), BOT_TOKEN, api_url=url, sleep=sleeps,
                                   settings=HttpSettings(attempts=2)))
    assert str(caught.value) == (f"could not reach GitHub at {url} (ConnectError), even after"
                                 " 2 tries")
    assert len(sleeps.waits) == 1


def test_marker_is_the_first_line_and_must_be_a_hidden_comment() -> None:
    assert marker_of(f"  {MARKER}  \r\nbody") == MARKER
    for body in ("", "## Plan\n" + MARKER, "<!-- -->\n", "<!-- a --> b\n"):
        with pytest.raises(GitHubError, match="must start with a hidden marker line"):
            marker_of(body)


def test_bodies_and_repositories_are_checked_before_any_request(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="65,537 characters; GitHub takes at most 65,536"):
        upsert(github, MARKER + "\n" + "x" * (MAX_BODY - len(MARKER)))
    for repo in ("acme", "acme/rooms/x", "-acme/rooms", "acme/..", "acme/r ooms", "a/b.git"):
        with pytest.raises(GitHubError, match="is not a GitHub repository"):
            check_repo(repo)
    assert check_repo("Acme-Corp/rooms.config_2") == "Acme-Corp/rooms.config_2"
    assert github.requests == []


@pytest.mark.parametrize("method,path", [("GET", "/comments$"), ("PATCH", r"/comments/\d+$")])
def test_a_refused_redirect_is_never_retried(github: FakeGitHub, method: str,
                                             path: str) -> None:
    # GET and PATCH are retried on a 5xx; an answer refused as unusable comes back the same.
    upsert(github, plan("old"))
    sleeps = Sleeps()
    github.fail_next(method, path, 302, times=5,
                     headers={"Location": "https://elsewhere.example/comments"})
    with pytest.raises(GitHubError, match=r"^GitHub's answer cannot be used: 302, a redirect"
                                          r" to elsewhere.example"):
        upsert(github, plan("new"), sleeps=sleeps)
    assert github.count(method, "/comments" if method == "GET" else "") == \
        (2 if method == "GET" else 1)  # the first upsert's GET, then one
    assert sleeps.waits == []
