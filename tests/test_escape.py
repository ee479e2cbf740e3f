"""The one escaping function, and every output that text from users and providers reaches
through it: the text plan, apply's progress and summary, JSON, Markdown, the exported
YAML, `show`, error messages and GitHub annotations (issue 11, defect 7). Twilio and
Telnyx accept any character in a name, so live rooms named with ESC/OSC/BEL sequences, a
C1 CSI, U+202E and a newline that forges a plan line are planned (pruned), exported and
applied here, and a provider's error text carries the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from reconcile.cli import cli
from reconcile.escape import json_printable, printable, printable_lines, yaml_printable
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from .commands.wrapped import wrapped
from .conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, accounts_file

FORGED = "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete (0 unmanaged rooms left alone)."
HOSTILE = {  # a live room's name -> how it must show on one line
    "title-\x1b]0;owned\x07": "title-\\x1b]0;owned\\x07",
    "clear-\x1b[2J\x1b[H": "clear-\\x1b[2J\\x1b[H",
    "csi-\x9b31m": "csi-\\x9b31m",
    "rtl-\u202egnp.exe": "rtl-\\u202egnp.exe",
    f"forge\n{FORGED}": f"forge\\n{FORGED}",
}
PROVIDERS = ("twilio", "telnyx")  # they accept any character in a name
PRUNE = '    prune: {match: "*"}\n'


def assert_inert(text: str) -> None:
    """Nothing but printable characters and line breaks, and no forged plan line."""
    unsafe = {c for c in text if not c.isprintable() and c != "\n"}
    assert not unsafe, (sorted(map(repr, unsafe)), text)
    assert not any(line.lstrip("*> ").startswith("Plan: 0 to create")
                   for line in text.splitlines()), text


# -- the function ----------------------------------------------------------------------

def test_printable_escapes_what_would_act_or_disguise_and_is_idempotent() -> None:
    for raw, shown in HOSTILE.items():
        assert printable(raw) == shown
        assert printable(shown) == shown  # escaping twice changes nothing
    assert printable("café 💥 a\\nb") == "café 💥 a\\nb"  # ordinary text is left alone
    assert printable_lines("a\x1b\nb\u202e") == "a\\x1b\nb\\u202e"


@pytest.mark.parametrize("raw", [*HOSTILE, "\U000e0001tag", "nul\x00", "del\x7f"])
def test_json_and_yaml_keep_the_data_and_lose_the_controls(raw: str) -> None:
    data = {"key": raw, "plain": "café"}
    as_json = json_printable(json.dumps(data, ensure_ascii=False))
    assert_inert(as_json)
    assert json.loads(as_json) == data
    as_yaml = yaml_printable(yaml.safe_dump({"key": raw}, default_style='"',
                                            allow_unicode=True))
    assert_inert(as_yaml)
    assert yaml.safe_load(as_yaml) == {"key": raw}


# -- every output, with hostile live rooms ----------------------------------------------

@pytest.fixture
def hostile_file(tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> Path:
    """A file declaring one ordinary room per account, which prunes every other; the live
    rooms hold every hostile name."""
    with SandboxControl(server.base_url) as control:
        for provider in PROVIDERS:
            control.seed(provider, SANDBOX_ACCOUNTS[provider], "rooms",
                         [{"unique_name": name} for name in HOSTILE])
    rooms = {provider: "      - {unique_name: ordinary}\n" for provider in PROVIDERS}
    return accounts_file(tmp_path, server, rooms, {p: PRUNE for p in PROVIDERS})


def run(*args: str, code: int = 0) -> str:
    result = CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))
    text = result.stdout + result.stderr
    assert result.exit_code == code, text
    assert_inert(text)
    return text


def test_hostile_keys_are_escaped_in_every_output(hostile_file: Path) -> None:
    path, folder = str(hostile_file), hostile_file.parent
    text = run("plan", path)
    for shown in HOSTILE.values():  # each key on the line of its delete, escaped
        for provider in PROVIDERS:
            assert f"- {provider}.rooms[{shown}]  (" in text
    markdown = run("plan", "--format", "markdown", path)
    assert "rtl-\\u202egnp.exe" in markdown
    document = json.loads(run("plan", "--format", "json", path))
    assert set(HOSTILE) <= {change["key"] for change in document["changes"]}  # the data
    run("plan", "--out", str(folder / "plan.json"), path)
    assert_inert((folder / "plan.json").read_text())
    exported = run("export", path)
    live = yaml.safe_load(exported.split("reconcile: exported")[0])
    assert {room["unique_name"] for room in live["providers"]["twilio"]["rooms"]} >= set(HOSTILE)
    applied = run("apply", "--auto-approve", path)  # progress lines and summary
    assert "- twilio.rooms[csi-\\x9b31m] deleted" in applied
    assert "No changes." in run("plan", path)


class RefusesWithHostileText:
    """A provider whose error text carries control sequences and a forged line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        message = f"no\x1b]0;owned\x07 \u202eway\n{FORGED}"
        await JSONResponse({"errors": [{"detail": message}], "message": message}, 400)(
            scope, receive, send)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_a_providers_error_text_is_escaped(tmp_path: Path, fmt: str) -> None:
    box = Sandbox()
    emulators = {p: wrapped(p, RefusesWithHostileText) for p in PROVIDERS}
    with SandboxServer(box, providers=PROVIDERS, emulators=emulators) as server:
        rooms = {provider: "      - {unique_name: ordinary}\n" for provider in PROVIDERS}
        path = accounts_file(tmp_path, server, rooms)
        text = run("-vv", "apply", "--auto-approve", "--format", fmt, str(path), code=1)
    box.close()
    assert "no\\x1b]0;owned\\x07 \\u202eway" in text


def test_a_github_annotation_is_one_inert_line(tmp_path: Path) -> None:
    folder = tmp_path / "odd\x1b[2J%\nname"
    folder.mkdir()
    path = folder / "rooms.yaml"
    path.write_text('version: 1\nproviders:\n  telnyx:\n    credentials: {api_key: x}\n'
                    '    rooms:\n      - {unique_name: "a\\e]0;owned\\a\\nPlan: 0"}\n')
    text = run("validate", "--format", "github", str(path), code=1)
    lines = text.splitlines()
    assert lines and all(line.startswith("::error file=") for line in lines), text
    assert "odd\\x1b[2J%25\\nname" in text
    assert "::holds characters that would be invisible or act on a terminal (\\x1b, \\x07," \
           " \\n)" in text  # the key itself is refused, and the message is inert too
