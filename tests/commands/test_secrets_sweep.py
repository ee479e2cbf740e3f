"""Every command, with a sentinel in every credential (and in GITHUB_TOKEN): at each
verbosity, in each format, with --out files, through refused credentials, an unreachable
port, an invalid file, a provider that quotes the key it refused, and internal errors with
and without --debug. The sentinel shows in no stdout, stderr (logs included) or file."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from reconcile.cli import cli
from reconcile.engine.http import HttpClient
from reconcile.gitops.github import upsert_comment
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.hostile import HostileMode
from reconcile.sandbox.server import SandboxServer

from ..conftest import accounts_file
from ..gitops.fake_github import serve as serve_github
from .test_secrets import ENVIRON, ROOMS, SENTINEL, STATE, register
from .wrapped import wrapped

ENV = {**ENVIRON, "GITHUB_TOKEN": f"ghp_{SENTINEL}"}
WRONG = {name: f"{value}-wrong" for name, value in ENV.items()}  # never registered
VERBOSITIES = [[], ["-v"], ["-vv"]]


def refusing_port() -> int:
    """A loopback port nobody listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without the waits between them: the unreachable port is tried as often."""
    async def instantly(seconds: float) -> None:
        pass

    monkeypatch.setitem(HttpClient.__init__.__kwdefaults__, "sleep", instantly)
    monkeypatch.setitem(upsert_comment.__kwdefaults__, "sleep", instantly)


class Sweep:
    """Runs commands in process and keeps everything they print."""

    def __init__(self, root: Path, environ: dict[str, str]) -> None:
        self.root = root
        self.runner = CliRunner(env=environ)
        self.printed: list[str] = []

    def __call__(self, *args: str, codes: tuple[int, ...] = (0,)) -> str:
        """The command's stdout and stderr (logs included)."""
        result = self.runner.invoke(cli, list(args))
        text = result.stdout + result.stderr
        assert result.exit_code in codes, f"{args}: {result.exit_code}\n{text}"
        self.printed.append(text)
        return text

    def assert_clean(self) -> None:
        """No output and no file under the root (plans, state, exports) holds the
        sentinel."""
        for text in self.printed:
            assert SENTINEL not in text, text
        files = [path for path in self.root.rglob("*") if path.is_file()]
        assert files
        for path in files:
            assert SENTINEL not in path.read_text(errors="replace"), path


def kaleyra_state(root: Path) -> None:
    """A state file recording one room: Kaleyra reads rooms only when it has one."""
    (root / STATE).parent.mkdir(parents=True, exist_ok=True)
    (root / STATE).write_text(
        '{"format_version": 1, "tool": "reconcile", "account": "kaleyra", "rooms": {"c":'
        ' {"room_id": "room_1", "settings": {}, "participants": [], "created_at":'
        ' "2024-05-01T12:00:00Z"}}}')


def github_comment(sweep: Sweep, api_url: str, *verbosity: str) -> str:
    body = sweep.root / "comment.md"
    body.write_text("<!-- reconcile-plan:rooms.yaml -->\nNo changes.\n")
    return sweep(*verbosity, "github-comment", "--repo", "acme/rooms", "--pr", "7",
                 "--body-file", str(body), "--api-url", api_url, codes=(1,))


@pytest.mark.parametrize("verbosity", VERBOSITIES, ids=["default", "-v", "-vv"])
def test_every_command_in_every_format(tmp_path: Path, server: SandboxServer,
                                       sandbox: Sandbox, verbosity: list[str]) -> None:
    path = str(accounts_file(tmp_path, server, ROOMS, state=STATE))
    register(sandbox)
    run = Sweep(tmp_path, ENV)
    v = verbosity
    out = {name: str(tmp_path / name) for name in
           ("plan.json", "plan.md", "apply.json", "apply.md", "export.yaml", "schema.json")}
    for fmt in ("text", "json", "github"):
        run(*v, "validate", "--format", fmt, path)
    run(*v, "schema", "-o", out["schema.json"])
    run(*v, "schema", "--check", "-o", out["schema.json"])
    for fmt in ("text", "json"):
        run(*v, "providers", "--format", fmt)
    for fmt in ("text", "json", "markdown"):
        run(*v, "plan", "--format", fmt, "--show-sensitive", path)
    run(*v, "plan", "--detailed-exitcode", path, codes=(2,))
    run(*v, "plan", "--out", out["plan.md"], path)
    run(*v, "plan", "--out", out["plan.json"], path)
    run(*v, "apply", out["plan.json"])  # the saved plan: creates every room
    for fmt in ("text", "json", "markdown"):
        run(*v, "apply", "--auto-approve", "--format", fmt, "--show-sensitive", path)
    run(*v, "apply", "--auto-approve", "--out", out["apply.json"], path)
    run(*v, "apply", "--auto-approve", "--out", out["apply.md"], path)
    assert "No changes." in run(*v, "plan", path)
    run(*v, "export", path)
    run(*v, "export", "--out", out["export.yaml"], path)
    for fmt in ("text", "json"):
        run(*v, "show", "--format", fmt, "--show-sensitive", path)
    github_comment(run, f"http://127.0.0.1:{refusing_port()}", *v)
    if v == ["-vv"]:
        assert "HTTP Request" in "".join(run.printed)  # the logs really are on
    assert all(Path(file).is_file() for file in out.values())
    assert (tmp_path / STATE).is_file()
    run.assert_clean()


READERS = (["plan"], ["plan", "--format", "json"], ["plan", "--format", "markdown"],
           ["apply", "--auto-approve"], ["apply", "--auto-approve", "--format", "json"],
           ["export"], ["show"], ["show", "--format", "json"])


def run_readers(run: Sweep, path: Path, verbosity: list[str]) -> None:
    for args in READERS:
        run(*verbosity, *args, str(path), codes=(1,))


@pytest.mark.parametrize("verbosity", VERBOSITIES, ids=["default", "-v", "-vv"])
def test_refused_credentials(tmp_path: Path, server: SandboxServer,
                             verbosity: list[str]) -> None:
    path = accounts_file(tmp_path, server, ROOMS, state=STATE)
    kaleyra_state(tmp_path)
    run = Sweep(tmp_path, {**WRONG, **{k: v for k, v in ENV.items() if "GITHUB" in k}})
    run_readers(run, path, verbosity)
    lines = "".join(run.printed).splitlines()
    for alias in ROOMS:  # every provider was asked, and refused
        assert any(alias in line and "401" in line for line in lines), alias
    with contextlib.contextmanager(serve_github)() as github:  # GitHub refuses the token
        assert "401" in github_comment(run, github.base_url, *verbosity)
    run.assert_clean()


def test_an_unreachable_port(tmp_path: Path) -> None:
    path = accounts_file(tmp_path, f"http://127.0.0.1:{refusing_port()}", ROOMS, state=STATE)
    run = Sweep(tmp_path, ENV)
    for verbosity in VERBOSITIES:
        run_readers(run, path, verbosity)
        github_comment(run, f"http://127.0.0.1:{refusing_port()}", *verbosity)
    assert "ConnectError" in "".join(run.printed)
    run.assert_clean()


def test_an_invalid_file_with_literal_credentials(tmp_path: Path) -> None:
    # The worst case: the secrets written into the file itself, which must then be
    # refused without being quoted (and a YAML error on the same line).
    path = tmp_path / "rooms.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        providers:
          telnyx:
            credentials: {{api_key: "KEY-{SENTINEL}"}}
            rooms:
              - {{unique_name: sync}}
          kaleyra:
            region: eu
            credentials: {{api_key: ak-{SENTINEL}, extra: "x-{SENTINEL}"}}
            rooms: []
        """))
    broken = tmp_path / "broken.yaml"
    broken.write_text(f'version: 1\nproviders:\n  telnyx:\n    credentials: {{api_key: "KEY-'
                      f'{SENTINEL}}}\n')
    run = Sweep(tmp_path, ENV)
    for verbosity in VERBOSITIES:
        for file in (path, broken):
            for fmt in ("text", "json", "github"):
                run(*verbosity, "validate", "--format", fmt, str(file), codes=(1,))
            run_readers(run, file, verbosity)
    assert "holds a literal value" in "".join(run.printed)
    for text in run.printed:
        assert SENTINEL not in text, text


class QuotesTheKey:
    """A provider that refuses, quoting the credential it was sent (some APIs do): `GET`
    refuses the reads, `POST` the creates."""

    def __init__(self, app: ASGIApp, method: str) -> None:
        self.app, self.method = app, method

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != self.method:
            await self.app(scope, receive, send)
            return
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        sent = headers.get("apikey") or headers.get("authorization", "")
        await JSONResponse({"error": "forbidden", "message": f"key {sent} may not"}, 400)(
            scope, receive, send)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_provider_quoting_the_key_it_refused(tmp_path: Path, method: str) -> None:
    box = Sandbox()
    register(box)
    quoting = ("telnyx", "kaleyra")  # a Bearer token and a bare key header
    emulators = {p: wrapped(p, lambda app: QuotesTheKey(app, method)) for p in quoting}
    with SandboxServer(box, providers=quoting, emulators=emulators) as server:
        path = accounts_file(tmp_path, server, {p: ROOMS[p] for p in quoting}, state=STATE)
        kaleyra_state(tmp_path)
        run = Sweep(tmp_path, ENV)
        for verbosity in VERBOSITIES:
            run(*verbosity, "plan", str(path), codes=(1,) if method == "GET" else (0,))
            for fmt in ("text", "json", "markdown"):
                run(*verbosity, "apply", "--auto-approve", "--format", fmt, str(path),
                    codes=(1,))
    box.close()
    # The message did reach the user, with the key masked.
    assert "400: key Bearer *** may not" in "".join(run.printed)
    assert "400: key *** may not" in "".join(run.printed)
    run.assert_clean()


# The process of `reconcile`, with an internal error forced: a bug that quotes a request's
# credentials, chained to another that quotes the GitHub token.
BUGGY = """
import os, sys
from reconcile.engine import http

async def broken(self, method, path, **kwargs):
    try:
        raise KeyError(os.environ["GITHUB_TOKEN"])
    except KeyError as cause:
        raise RuntimeError(f"cannot send {method} {path} as {os.environ['TWILIO_ACCOUNT_SID']}"
                           f":{os.environ['TWILIO_AUTH_TOKEN']}") from cause

http.HttpClient.request = broken
from reconcile.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("debug", ["no", "--debug", "RECONCILE_DEBUG"])
@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"], ["show"]])
def test_internal_errors_and_their_tracebacks_are_redacted(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, command: list[str],
        debug: str) -> None:
    path = accounts_file(tmp_path, server, {"twilio": ROOMS["twilio"]}, state=STATE)
    register(sandbox)
    environ = {**os.environ, **ENV}
    if debug == "RECONCILE_DEBUG":
        environ["RECONCILE_DEBUG"] = "1"
    flags = ["--debug"] if debug == "--debug" else []
    result = subprocess.run([sys.executable, "-c", BUGGY, *flags, "-vv", *command, str(path)],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert SENTINEL not in result.stdout + result.stderr, result.stderr
    assert "reconcile: internal error: cannot send GET" in result.stderr
    if debug == "no":
        assert "Traceback" not in result.stderr
        assert "(run with --debug for details)" in result.stderr
    else:  # the whole story, chained cause included, every credential masked
        assert "Traceback (most recent call last)" in result.stderr
        assert "KeyError: '***'" in result.stderr
        assert "RuntimeError: cannot send GET" in result.stderr
    assert "***" in result.stderr
    for file in tmp_path.rglob("*"):
        assert not file.is_file() or SENTINEL not in file.read_text(errors="replace")



# Each hostile mode, made quick where its defaults take long (a slow drip, a huge body).
HOSTILE: dict[str, dict[str, object]] = {
    mode: {"mode": mode} for mode in typing.get_args(HostileMode)}
HOSTILE["slow_drip"] |= {"drip_bytes": 4096, "drip_interval_s": 0.01}
HOSTILE["huge"] |= {"size_bytes": 9_000_000}
HOSTILE["redirect"] |= {"location": "http://127.0.0.2:9"}


@pytest.mark.parametrize("flags", [["-vv"], ["--debug", "-vv"], ["--debug"]],
                         ids=["-vv", "--debug -vv", "--debug"])
@pytest.mark.parametrize("mode", sorted(HOSTILE))
def test_every_hostile_mode_at_every_verbosity(tmp_path: Path, server: SandboxServer,
                                               sandbox: Sandbox, mode: str,
                                               flags: list[str]) -> None:
    """httpx's own records quote raw URLs: Metered's carry its secretKey, and a redirect's
    target carries it again. Every record reaches stderr through the masker."""
    path = accounts_file(tmp_path, server, ROOMS, state=STATE)
    register(sandbox)
    kaleyra_state(tmp_path)  # so that Kaleyra reads a room too
    for provider in ROOMS:
        set_faults(sandbox, provider, {"hostile": HOSTILE[mode]})
    run = Sweep(tmp_path, ENV)
    text = run(*flags, "plan", str(path), codes=(0, 1))
    if "-vv" in flags:
        assert "INFO httpx" in text and "HTTP Request" in text  # the logs really are on
        # Metered's requests were logged with their URLs, the key masked.
        assert re.search(r"HTTP Request: GET http://\S+secretKey=\*\*\*", text), text
    run.assert_clean()
