"""`reconcile show` through the real CLI, against each provider's emulator over loopback:
the managed rooms with their ids, status, sessions and join URLs, masked unless asked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import ERROR, OK
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, key_field, per_provider, rooms_file

KIND = "rooms"


@dataclass(frozen=True)
class Facts:
    provider: str
    key: str  # the key field
    status: str  # what a live room's status shows
    sessions: bool  # whether the API shows who is in a room
    urls: bool  # whether rooms have join URLs
    more: str = ""  # what every room of the provider must declare
    # a room's one join URL, with {root} the emulator's URL and {name} the room's key
    # (Kaleyra's per-participant URLs are read from its state file instead)
    join_url: str = ""

    def room(self, name: str) -> str:
        return f"      - {{{self.key}: {name}{', ' + self.more if self.more else ''}}}\n"


FACTS = [Facts(provider, key_field(provider), **facts)
         for provider, facts in per_provider("SHOW").items()]


def cli_run(*args: str) -> Result:
    return CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))


def shown(path: Path, *flags: str) -> list[dict[str, Any]]:
    result = cli_run("show", "--format", "json", *flags, str(path))
    assert result.exit_code == OK, result.output
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    return document["rooms"]


def live_ids(server: SandboxServer, provider: str) -> list[str]:
    with SandboxControl(server.base_url) as control:
        return [room["id"] for room in control.rooms(provider, SANDBOX_ACCOUNTS[provider], KIND,
                                                     live=True)]


def join_urls(tmp_path: Path, server: SandboxServer, facts: Facts, name: str
              ) -> list[tuple[str | None, str]]:
    """The room's join URLs as the provider gave them: Kaleyra's state file keeps each
    participant's; the others have one, as their cases say (`join_url`)."""
    if facts.provider == "kaleyra":
        state = json.loads((tmp_path / "kaleyra-state.json").read_text())
        return [(p["user_id"], p["url"]) for p in state["rooms"][name]["participants"]]
    url = facts.join_url.format(root=server.url(facts.provider), name=name)
    return [(None, url)] if facts.urls else []


@pytest.mark.parametrize("facts", FACTS, ids=[f.provider for f in FACTS])
def test_managed_rooms_with_ids_status_and_sessions(tmp_path: Path, server: SandboxServer,
                                                    facts: Facts) -> None:
    path = rooms_file(tmp_path, server, facts.provider, facts.room("r1"))
    assert cli_run("apply", "--auto-approve", str(path)).exit_code == OK
    (live_id,) = live_ids(server, facts.provider)
    if facts.provider != "kaleyra":  # a room nobody declares: unmanaged, never shown
        with SandboxControl(server.base_url) as control:
            control.seed(facts.provider, SANDBOX_ACCOUNTS[facts.provider], KIND,
                         [{facts.key: "unmanaged"}])
    path = rooms_file(tmp_path, server, facts.provider, facts.room("r1") + facts.room("r2"))
    rooms = shown(path)
    assert [(r["account"], r["provider"], r["kind"], r["key"]) for r in rooms] == [
        (facts.provider, facts.provider, KIND, key) for key in ("r1", "r2")]
    r1, r2 = rooms
    assert (r1["id"], r1["status"], r1["missing_reason"]) == (live_id, facts.status, None)
    assert r1["active_session"] is (False if facts.sessions else None)
    assert len(r1["join_urls"]) == len(join_urls(tmp_path, server, facts, "r1"))
    assert (r2["id"], r2["status"], r2["active_session"], r2["join_urls"]) == (
        None, "missing", None, [])
    assert r2["missing_reason"].startswith("not found")

    if facts.sessions:  # someone joins: the session shows
        with SandboxControl(server.base_url) as control:
            control.participants(facts.provider, SANDBOX_ACCOUNTS[facts.provider], KIND,
                                 live_id, add=["alice"])
        assert shown(path, "--target", "r1")[0]["active_session"] is True

    text = cli_run("show", str(path))
    assert text.exit_code == OK
    session = "yes" if facts.sessions else "unknown"
    assert text.stdout.startswith(f"{facts.provider}.rooms[r1]\n    id:      {live_id}\n"
                                  f"    status:  {facts.status}\n    session: {session}\n")
    assert f"{facts.provider}.rooms[r2]\n    status:  missing (not found" in text.stdout
    assert "unmanaged" not in text.stdout
    for secret in SANDBOX_ENVIRON.values():
        if len(secret) > 8:  # "acme"-like principals are ordinary words
            assert secret not in text.output


@pytest.mark.parametrize("facts", [f for f in FACTS if f.urls], ids=lambda f: f.provider)
def test_join_urls_are_masked_unless_asked(tmp_path: Path, server: SandboxServer,
                                           facts: Facts) -> None:
    path = rooms_file(tmp_path, server, facts.provider, facts.room("r1"))
    assert cli_run("apply", "--auto-approve", str(path)).exit_code == OK
    urls = join_urls(tmp_path, server, facts, "r1")
    assert urls and all(url.count("/") >= 3 for _, url in urls)

    masked_text = cli_run("show", str(path))
    masked_json = cli_run("show", "--format", "json", str(path))
    for result in (masked_text, masked_json):
        assert result.exit_code == OK
        for _, url in urls:
            # the part that lets people in: all after the scheme (a Daily URL's path is
            # only the room's name, which the output shows anyway)
            assert url.split("//", 1)[1] not in result.output
    for who, _ in urls:
        assert f"    join{f' ({who})' if who else ''}: (sensitive)\n" in masked_text.stdout
    assert [(u["participant"], u["url"])
            for u in json.loads(masked_json.stdout)["rooms"][0]["join_urls"]] == [
        (who, "(sensitive)") for who, _ in urls]

    shown_text = cli_run("show", "--show-sensitive", str(path))
    assert shown_text.exit_code == OK
    for who, url in urls:
        assert f"    join{f' ({who})' if who else ''}: {url}\n" in shown_text.stdout
    assert "(sensitive)" not in shown_text.stdout
    assert [(u["participant"], u["url"]) for u in
            shown(path, "--show-sensitive")[0]["join_urls"]] == urls


def test_targets_and_accounts_filter(tmp_path: Path, server: SandboxServer) -> None:
    facts = next(f for f in FACTS if f.provider == "telnyx")
    path = rooms_file(tmp_path, server, "telnyx", "".join(
        facts.room(name) for name in ("team-a", "team-b", "other")))
    assert cli_run("apply", "--auto-approve", str(path)).exit_code == OK
    assert [r["key"] for r in shown(path, "--target", "team-*")] == ["team-a", "team-b"]
    assert [r["key"] for r in shown(path, "--target", "other", "--target", "team-b")] == [
        "team-b", "other"]  # in the file's order
    assert shown(path, "--target", "nothing") == []
    assert cli_run("show", "--target", "nothing", str(path)).stdout == "No managed rooms.\n"
    assert len(shown(path, "--account", "tel*")) == 3
    wrong = cli_run("show", "--account", "nope", str(path))
    assert (wrong.exit_code, wrong.stderr) == (ERROR, "reconcile: no account matches nope\n")


def test_errors_exit_1_with_a_message(tmp_path: Path, server: SandboxServer) -> None:
    path = rooms_file(tmp_path, server, "telnyx", "      - {unique_nme: a}\n")
    invalid = cli_run("show", str(path))
    assert invalid.exit_code == ERROR
    assert "unknown field `unique_nme` (did you mean `unique_name`?)" in invalid.stderr
    path = rooms_file(tmp_path, server, "telnyx", "      - {unique_name: a}\n")
    refused = CliRunner(env={**SANDBOX_ENVIRON, "TELNYX_API_KEY": "KEY-wrong-0123456789"}
                        ).invoke(cli, ["show", str(path)])
    assert refused.exit_code == ERROR
    assert "telnyx: reading the live rooms failed: 401" in refused.stderr
    assert "KEY-wrong-0123456789" not in refused.output and "Traceback" not in refused.output
    usage = cli_run("show", "--format", "xml", str(path))
    assert usage.exit_code == ERROR  # never 2, which plan --detailed-exitcode gives changes
    assert "Invalid value for '--format'" in usage.stderr
