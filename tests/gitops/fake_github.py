"""A fake of the few GitHub REST endpoints `github-comment` uses, served on loopback.

It keeps what matters to the client: tokens and who they are (`GET /user` answers 403 to
installation tokens, as GitHub does), issue comments in id order, pages of `per_page`
(default 30, at most 100) linked by a `Link` header, and GitHub's error bodies for 401,
403, 404 and 422. Faults queued with `fail_next` answer the next matching requests.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_BODY = 65_536
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Account:
    login: str
    type: str = "User"  # or "Bot"
    installation: bool = False  # an app's token: no `GET /user`
    can_write: bool = True


BOT = Account("github-actions[bot]", "Bot", installation=True)
OTHER_BOT = Account("dependabot[bot]", "Bot", installation=True)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Any
    commit: bool  # do the work, then answer with the fault (an answer lost on the way)


@dataclass
class FakeGitHub:
    tokens: dict[str, Account] = field(default_factory=dict)
    pulls: set[tuple[str, int]] = field(default_factory=set)
    repo_ids: dict[int, str] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)  # every PR's, in id order
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    base_url: str = ""
    _next_id: int = 1000

    def reset(self) -> None:
        self.tokens.clear()
        self.pulls.clear()
        self.repo_ids.clear()
        self.comments.clear()
        self.requests.clear()
        self.faults.clear()

    def add_pull(self, repo: str, pr: int) -> None:
        self.pulls.add((repo, pr))
        if repo not in self.repo_ids.values():
            self.repo_ids[4242 + len(self.repo_ids)] = repo

    def add_comment(self, repo: str, pr: int, author: Account, body: str) -> dict[str, Any]:
        self._next_id += 1
        owner, name = repo.split("/")
        comment = {"id": self._next_id, "repo": repo, "pr": pr, "body": body,
                   "user": {"login": author.login, "type": author.type},
                   "html_url": f"https://github.example/{owner}/{name}/pull/{pr}"
                               f"#issuecomment-{self._next_id}"}
        self.comments.append(comment)
        return comment

    def comments_on(self, repo: str, pr: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["repo"] == repo and c["pr"] == pr]

    def fail_next(self, method: str, path: str, status: int, *, times: int = 1,
                  headers: dict[str, str] | None = None, body: Any = None,
                  commit: bool = False) -> None:
        """Answer the next `times` requests of `method` on paths matching `path` with
        `status` (after doing the work when `commit`)."""
        for _ in range(times):
            self.faults.append(Fault(method, re.compile(path), status, headers or {},
                                     body if body is not None else {"message": "boom"},
                                     commit))

    def count(self, method: str, path_suffix: str = "") -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p.endswith(path_suffix))


def _faulty(fault: Fault) -> Response:
    """The fault's answer: its body as JSON, or as it is when bytes (not JSON at all)."""
    if isinstance(fault.body, bytes):
        return Response(fault.body, fault.status, fault.headers, "application/json")
    return JSONResponse(fault.body, fault.status, fault.headers)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": DOCS, **extra}, status)


def create_app(fake: FakeGitHub) -> Starlette:
    def account(request: Request) -> Account | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        return fake.tokens.get(token)

    async def dispatch(request: Request) -> Response:
        fake.requests.append((request.method, request.url.path, dict(request.query_params)))
        fault = next((f for f in fake.faults if f.method == request.method
                      and f.path.search(request.url.path)), None)
        if fault is not None:
            fake.faults.remove(fault)
            if not fault.commit:
                return _faulty(fault)
        who = account(request)
        if who is None:
            return _error(401, "Bad credentials")
        answer = await _route(fake, request, who)
        if fault is not None:
            return _faulty(fault)
        return answer

    return Starlette(routes=[Route("/{path:path}", dispatch,
                                   methods=["GET", "POST", "PATCH"])])


async def _route(fake: FakeGitHub, request: Request, who: Account) -> Response:
    path = request.url.path
    if path == "/user" and request.method == "GET":
        if who.installation:
            return _error(403, "Resource not accessible by integration")
        return JSONResponse({"login": who.login, "type": who.type})
    if match := re.fullmatch(r"/(?:repos/([^/]+/[^/]+)|repositories/(\d+))/issues/(\d+)"
                             r"/comments", path):
        repo = match[1] or fake.repo_ids.get(int(match[2]), "")
        pr = int(match[3])
        if (repo, pr) not in fake.pulls:
            return _error(404, "Not Found")
        if request.method == "GET":
            return _page(fake, request, repo, pr)
        if request.method == "POST":
            if not who.can_write:
                return _error(403, "Resource not accessible by integration")
            body = (await request.json()).get("body")
            if invalid := _invalid(body):
                return invalid
            return JSONResponse(_public(fake.add_comment(repo, pr, who, body)), 201)
    if match := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path):
        comment = next((c for c in fake.comments
                        if c["repo"] == match[1] and c["id"] == int(match[2])), None)
        if comment is None or request.method != "PATCH":
            return _error(404, "Not Found")
        if not who.can_write:
            return _error(403, "Resource not accessible by integration")
        body = (await request.json()).get("body")
        if invalid := _invalid(body):
            return invalid
        comment["body"] = body
        return JSONResponse(_public(comment))
    return _error(404, "Not Found")


def _page(fake: FakeGitHub, request: Request, repo: str, pr: int) -> Response:
    items = fake.comments_on(repo, pr)
    per_page = min(int(request.query_params.get("per_page", 30)), 100)
    page = int(request.query_params.get("page", 1))
    chunk = items[(page - 1) * per_page: page * per_page]
    headers = {}
    if page * per_page < len(items):
        # As GitHub does: absolute links that name the repository by its id.
        repo_id = next(i for i, name in fake.repo_ids.items() if name == repo)
        url = f"{fake.base_url}/repositories/{repo_id}/issues/{pr}/comments?per_page={per_page}"
        last = -(-len(items) // per_page)
        headers["Link"] = f'<{url}&page={page + 1}>; rel="next", <{url}&page={last}>; rel="last"'
    return JSONResponse([_public(c) for c in chunk], headers=headers)


def _invalid(body: Any) -> Response | None:
    if not isinstance(body, str) or not body:
        return _error(422, "Validation Failed",
                      errors=[{"resource": "IssueComment", "code": "missing_field",
                               "field": "body"}])
    if len(body) > MAX_BODY:
        return _error(422, "Validation Failed",
                      errors=[{"resource": "IssueComment", "code": "custom", "field": "body",
                               "message": "body is too long (maximum is 65536 characters)"}])
    return None


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if k not in ("repo", "pr")}


@dataclass
class FakeGitHubServer:
    """The fake on 127.0.0.1, in a daemon thread (the sandbox server's pattern)."""

    fake: FakeGitHub = field(default_factory=FakeGitHub)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _sock: socket.socket | None = None

    def start(self) -> FakeGitHubServer:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.fake.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(self.fake), log_level="warning", access_log=False,
                                lifespan="off", loop="asyncio", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake GitHub did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()


def serve() -> Iterator[FakeGitHub]:
    server = FakeGitHubServer().start()
    try:
        yield server.fake
    finally:
        server.stop()
