"""`reconcile convert` through the real CLI: the Twilio rooms of examples/rooms.yaml moved to
every other provider on the sandbox (convert, validate, plan, apply, plan: "No changes";
the Twilio rooms untouched until pruned), the reports and their exit codes, and hostile
input that must leave every file as it was."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import CHANGES, ERROR, OK

ROOT = Path(__file__).resolve().parents[2]
# The target, the new account's name, and the locator it needs.
TARGETS = [
    ("telnyx", "telnyx-video", ()),
    ("signalwire:rooms", "signalwire-video", ("--set", "space=acme-video")),
    ("signalwire:conferences", "signalwire-conf", ("--set", "space=acme-conf")),
    ("metered", "metered-video", ("--set", "app=acme-video")),
]
# What convert must report about the example's Twilio rooms, whatever the target.
EVERYWHERE = ("rooms.yaml:17:7: dropped: `type` has no equivalent",
              "rooms.yaml:19:7: dropped: `unused_room_timeout` has no equivalent",
              "rooms.yaml:28:9: dropped: `recording_rules` has no equivalent",
              "rooms.yaml:33:9: dropped: `media_region: ie1`: no equivalent")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "rooms.yaml", tmp_path / "rooms.yaml")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def sandboxed(*args: str) -> Result:
    return run("--sandbox", *args)


@pytest.mark.parametrize(("to", "alias", "extra"), TARGETS, ids=[t[0] for t in TARGETS])
def test_the_example_twilio_rooms_move_to_each_provider(workdir: Path, to: str, alias: str,
                                                        extra: tuple[str, ...]) -> None:
    assert sandboxed("apply", "--auto-approve", "--account", "twilio").exit_code == OK
    original = (workdir / "rooms.yaml").read_text()
    args = ("convert", "rooms.yaml", "--account", "twilio", "--to", to, "--as", alias, *extra,
            "--out", "moved.yaml")
    refused = run(*args)  # the example loses fields: nothing is written without consent
    assert refused.exit_code == ERROR
    assert "nothing was written" in refused.stderr
    assert not (workdir / "moved.yaml").exists()
    result = run(*args, "--allow-lossy")
    assert result.exit_code == OK, result.output
    assert result.stdout == ""
    for report in EVERYWHERE:
        assert report in result.stderr
        assert report.split(": ", 1)[1] in refused.stderr  # the same reports either way
    moved = (workdir / "moved.yaml").read_text()
    assert moved.startswith(original)  # the source account, word for word
    assert "# dropped: `recording_rules` has no equivalent" in moved
    assert run("validate", "moved.yaml").exit_code == OK
    accounts = ("--account", "twilio", "--account", alias)
    planned = sandboxed("plan", "--detailed-exitcode", *accounts, "moved.yaml")
    assert planned.exit_code == CHANGES
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete" in planned.stdout
    assert "twilio.rooms" not in planned.stdout  # creates on the target only
    assert sandboxed("apply", "--auto-approve", *accounts, "moved.yaml").exit_code == OK
    again = sandboxed("plan", "--detailed-exitcode", *accounts, "moved.yaml")
    assert (again.exit_code, again.stdout) == (OK, "No changes. (0 unmanaged rooms left"
                                                   " alone)\n")


def test_the_twilio_rooms_end_with_a_prune_pattern(workdir: Path) -> None:
    """The guide's last step: the old rooms stay until the file lets them go."""
    sandboxed("apply", "--auto-approve", "--account", "twilio")
    assert run("convert", "rooms.yaml", "--account", "twilio", "--to", "telnyx", "--as",
               "telnyx-video", "--allow-lossy", "--out", "rooms.yaml").exit_code == OK
    accounts = ("--account", "twilio", "--account", "telnyx-video")
    assert sandboxed("apply", "--auto-approve", *accounts).exit_code == OK
    document = yaml.safe_load((workdir / "rooms.yaml").read_text())
    document["providers"]["twilio"].update(rooms=[], prune={"match": "*"})
    (workdir / "rooms.yaml").write_text(yaml.safe_dump(document))
    pruned = sandboxed("plan", *accounts)
    assert "Plan: 0 to create, 0 to update, 0 to replace, 3 to delete" in pruned.stdout
    assert "telnyx-video.rooms" not in pruned.stdout
    assert sandboxed("apply", "--auto-approve", *accounts).exit_code == OK
    assert sandboxed("plan", "--detailed-exitcode", *accounts).exit_code == OK


def test_kaleyra_is_refused_whatever_the_flags(workdir: Path) -> None:
    result = run("convert", "rooms.yaml", "--account", "twilio", "--to", "kaleyra",
                 "--as", "kaleyra-video", "--set", "region=eu", "--allow-lossy",
                 "--out", "moved.yaml")
    assert result.exit_code == ERROR
    assert "rooms.yaml:12:3: refused: kaleyra rooms: a Kaleyra room admits a list of 2 to 25"\
           " existing users" in result.stderr
    assert not (workdir / "moved.yaml").exists()


HOSTILE = [
    ("bad-yaml", "version: 1\nproviders:\n  twilio: [\n", ("--account", "twilio", "--to",
                                                            "telnyx"),
     "bad.yaml:4:1: YAML syntax error"),
    ("unknown-account", None, ("--account", "twilo", "--to", "telnyx"),
     "rooms.yaml:11:1: no account `twilo` in `providers` (did you mean `twilio`?)"),
    ("unknown-type", None, ("--account", "twilio", "--to", "zoom"),
     "--to zoom: unknown provider type 'zoom': use one of twilio, telnyx"),
    ("unknown-kind", None, ("--account", "twilio", "--to", "signalwire:rooms2"),
     "--to signalwire:rooms2: signalwire has no room kind 'rooms2'"),
    ("no-kind", None, ("--account", "twilio", "--to", "signalwire"),
     "write --to signalwire:rooms or --to signalwire:conferences"),
    ("existing-alias", None, ("--account", "twilio", "--to", "metered", "--set", "app=x"),
     "rooms.yaml:88:3: account `metered` already exists: name the new one with --as NAME"),
    ("bad-alias", None, ("--account", "twilio", "--to", "telnyx", "--as", "a b"),
     "--as 'a b': an account name may contain only letters"),
    ("empty-alias", None, ("--account", "twilio", "--to", "telnyx", "--as", ""),
     "--as '': an account name may contain only letters"),
    ("missing-locator", None, ("--account", "twilio", "--to", "metered", "--as", "m2"),
     "--to metered needs --set app=… (The app name: <app>.metered.live.)"),
    ("bad-locator", None, ("--account", "twilio", "--to", "metered", "--as", "m2", "--set",
                           "app=Not An App"), "--set app: may contain only lowercase"),
    ("unsettable", None, ("--account", "twilio", "--to", "telnyx", "--as", "t2", "--set",
                          "credentials=x"), "--set 'credentials'=…: write NAME=VALUE"),
    ("typed-setting", None, ("--account", "twilio", "--to", "telnyx", "--as", "t2", "--set",
                             "concurrency=4"),
     "--set concurrency: takes a whole number, and --set values are text"),
    ("flow-accounts", 'version: 1\nproviders: {t: {type: twilio, credentials:'
                      ' {account_sid: "${A}", auth_token: "${B}"}, rooms: []}}\n',
     ("--account", "t", "--to", "telnyx"), "`providers:` must be a block mapping"),
    ("same-type", None, ("--account", "telnyx-eu", "--to", "telnyx", "--as", "t2"),
     "account `telnyx-eu` is a telnyx account already"),
]


@pytest.mark.parametrize(("text", "args", "message"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_located_and_writes_nothing(workdir: Path, text: str | None,
                                                     args: tuple[str, ...],
                                                     message: str) -> None:
    source = "rooms.yaml"
    if text is not None:
        source = "bad.yaml"
        (workdir / source).write_text(text)
    out = workdir / "out.yaml"
    out.write_text("keep me\n")
    result = run("convert", source, *args, "--allow-lossy", "--out", str(out))
    assert result.exit_code == ERROR
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert out.read_text() == "keep me\n"
    fresh = run("convert", source, *args, "--allow-lossy", "--out", "new.yaml")
    assert fresh.exit_code == ERROR
    assert not (workdir / "new.yaml").exists()


@pytest.mark.parametrize(("option", "value"), [
    ("--to", "\x1b[31mzoom"), ("--to", "signalwire:\x1b[31m"), ("--to", "\x1b[2Jtelnyx:x"),
    ("--set", "\x1b[31m=x"), ("--set", "space\x1b[31m=x")])
def test_hostile_options_are_escaped_before_the_terminal(workdir: Path, option: str,
                                                         value: str) -> None:
    """Escape sequences in options reach the terminal as text, never as commands
    (color=True: click strips them otherwise, hiding what a terminal would get)."""
    args = ["--to", "telnyx", "--as", "t2"] if option == "--set" else []
    result = CliRunner().invoke(cli, ["convert", "rooms.yaml", "--account", "twilio",
                                      *args, option, value], color=True)
    assert result.exit_code == ERROR
    assert "\x1b" not in result.stderr
    assert "\\x1b[" in result.stderr


@pytest.mark.parametrize("pair", ["credentials=sk_live_s3cret", "sk_live_s3cret",
                                  "rooms=sk_live_s3cret"])
def test_a_refused_set_never_echoes_its_value(workdir: Path, pair: str) -> None:
    """A user who tries to pass a credential with --set does not see it printed back."""
    result = run("convert", "rooms.yaml", "--account", "twilio", "--to", "telnyx", "--as",
                 "t2", "--set", pair)
    assert result.exit_code == ERROR
    assert "write NAME=VALUE" in result.stderr
    assert "s3cret" not in result.output


def test_a_clean_move_needs_no_consent_and_goes_to_stdout(tmp_path: Path) -> None:
    source = tmp_path / "rooms.yaml"
    source.write_text("version: 1\nproviders:\n  telnyx:\n    credentials: {api_key: \"${K}\"}\n"
                      "    prune: {match: 'team-*'}\n    rooms:\n"
                      "      - {unique_name: team-a, max_participants: 30,"
                      " webhook_event_url: 'https://h.example.com/x?token=s3cret'}\n")
    result = run("convert", str(source), "--account", "telnyx", "--to", "twilio")
    assert result.exit_code == OK, result.output
    account = yaml.safe_load(result.stdout)["providers"]["twilio"]
    assert account == {"credentials": {"account_sid": "${TWILIO_ACCOUNT_SID}",
                                       "auth_token": "${TWILIO_AUTH_TOKEN}"},
                       "prune": {"match": "team-*"},
                       # Telnyx's documented default, which Twilio's may not be.
                       "defaults": {"max_participants": 10},
                       "rooms": [{"unique_name": "team-a", "max_participants": 30,
                                  "status_callback": "https://h.example.com/x?token=s3cret"}]}
    assert "rooms.yaml:7:53: note: status / webhook URL: the URL is carried, but the events" \
           " and their payloads change" in result.stderr
    assert "s3cret" not in result.stderr  # a URL is never quoted in a report
    assert result.stderr.endswith("reconcile: converted 1 room of account `telnyx` into"
                                  " account `twilio` (twilio rooms): 1 note\n")


KEYS = """\
version: 1
providers:
  twilio:
    credentials: {account_sid: "${A}", auth_token: "${B}"}
    rooms:
      - unique_name: "Daily Standup!"
      - unique_name: ok-room
"""


def test_a_refused_key_is_suggested_never_renamed_silently(tmp_path: Path) -> None:
    source = tmp_path / "rooms.yaml"
    source.write_text(KEYS)
    args = ("convert", str(source), "--account", "twilio", "--to", "metered", "--set", "app=x")
    refused = run(*args)
    assert refused.exit_code == ERROR and refused.stdout == ""
    report = ("rooms.yaml:6:9: lossy: key `Daily Standup!` is refused by the target (may"
              " contain only letters, digits")
    assert report in refused.stderr
    assert "suggested key `Daily-Standup`" in refused.stderr
    moved = run(*args, "--allow-lossy")
    assert moved.exit_code == OK
    assert "      # lossy: key `Daily Standup!` is refused" in moved.stdout
    rooms = yaml.safe_load(moved.stdout)["providers"]["metered"]["rooms"]
    assert [room["roomName"] for room in rooms] == ["Daily-Standup", "ok-room"]
    # A suggestion that collides with another room is refused, whatever the flags.
    source.write_text(KEYS.replace("ok-room", "Daily-Standup"))
    collided = run(*args, "--allow-lossy")
    assert collided.exit_code == ERROR and collided.stdout == ""
    assert "refused: key `Daily Standup!`" not in collided.stderr  # the first one is fine
    assert "nothing was written: 1 room cannot be converted" in collided.stderr


def test_a_crlf_file_stays_crlf(tmp_path: Path) -> None:
    """The file as written, line endings included: a Windows checkout is not rewritten."""
    source = tmp_path / "rooms.yaml"
    original = KEYS.replace("Daily Standup!", "daily").replace("\n", "\r\n").encode()
    source.write_bytes(original)
    result = run("convert", str(source), "--account", "twilio", "--to", "telnyx",
                 "--out", str(source))
    assert result.exit_code == OK, result.output
    written = source.read_bytes()
    assert written.startswith(original)
    assert written.count(b"\n") == written.count(b"\r\n") > original.count(b"\n")


def test_an_out_file_that_cannot_be_written(tmp_path: Path) -> None:
    source = tmp_path / "rooms.yaml"
    source.write_text(KEYS.replace("Daily Standup!", "daily"))
    result = run("convert", str(source), "--account", "twilio", "--to", "telnyx",
                 "--out", str(tmp_path / "missing" / "out.yaml"))
    assert result.exit_code == ERROR
    assert "out.yaml: cannot write: No such file or directory" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_out_keeps_the_rooms_files_link_and_permissions(workdir: Path) -> None:
    """`--out rooms.yaml` as the guide says, where rooms.yaml is a link to a shared file:
    the link stays a link, and the file keeps its permissions (not a private 0600)."""
    real = workdir / "shared.yaml"
    (workdir / "rooms.yaml").rename(real)
    real.chmod(0o644)
    (workdir / "rooms.yaml").symlink_to(real.name)
    result = run("convert", "rooms.yaml", "--account", "twilio", "--to", "telnyx",
                 "--allow-lossy", "--out", "rooms.yaml")
    assert result.exit_code == OK, result.output
    assert (workdir / "rooms.yaml").is_symlink()
    assert "\n  telnyx:\n" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []


def test_a_new_out_file_is_private(workdir: Path) -> None:
    """An output may hold secrets (--show-sensitive): a new one is 0600, as it was before
    every file went through files.write_atomically."""
    result = run("convert", "rooms.yaml", "--account", "twilio", "--to", "telnyx",
                 "--allow-lossy", "--out", "new.yaml")
    assert result.exit_code == OK, result.output
    assert stat.S_IMODE((workdir / "new.yaml").stat().st_mode) == 0o600


def test_out_may_be_a_fifo(workdir: Path) -> None:
    """A FIFO is written into, not replaced by a regular file."""
    fifo = workdir / "pipe"
    os.mkfifo(fifo)
    # A reader that never blocks: the file (~6 kB) fits in the pipe's buffer.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run("convert", "rooms.yaml", "--account", "twilio", "--to", "telnyx",
                     "--allow-lossy", "--out", str(fifo))
        assert result.exit_code == OK, result.output
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert "\n  telnyx:\n" in os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)


# The example's other accounts, each to a provider of another shape.
OTHERS = [
    ("telnyx-eu", "metered", ("--set", "app=from-telnyx")),
    ("signalwire", "twilio", ()),
    ("signalwire", "metered", ("--set", "app=from-signalwire")),
    ("metered", "signalwire:conferences", ("--set", "space=from-metered")),
    ("metered", "telnyx", ()),
    ("kaleyra", "signalwire:rooms", ("--set", "space=from-kaleyra")),
]


@pytest.mark.parametrize(("account", "to", "extra"), OTHERS,
                         ids=[f"{a}>{t}" for a, t, _ in OTHERS])
def test_every_example_account_moves_and_converges(workdir: Path, account: str, to: str,
                                                   extra: tuple[str, ...]) -> None:
    alias = "moved"
    result = run("convert", "rooms.yaml", "--account", account, "--to", to, "--as", alias,
                 *extra, "--allow-lossy", "--out", "moved.yaml")
    assert result.exit_code == OK, result.output
    assert sandboxed("apply", "--auto-approve", "--account", alias, "moved.yaml"
                     ).exit_code == OK
    again = sandboxed("plan", "--detailed-exitcode", "--account", alias, "moved.yaml")
    assert (again.exit_code, again.stdout) == (OK, "No changes. (0 unmanaged rooms left"
                                                   " alone)\n")


def test_a_mapping_that_writes_an_invalid_file_writes_nothing(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: the converted file is validated before it is written."""
    from reconcile.convert.mapping import Number
    from reconcile.providers.telnyx import crosswalk

    rooms = crosswalk.CROSSWALK["rooms"]
    broken = {**rooms.concepts, "capacity": Number("max_participants", 2, 500)}
    monkeypatch.setitem(crosswalk.CROSSWALK, "rooms", replace(rooms, concepts=broken))
    result = run("convert", "rooms.yaml", "--account", "signalwire", "--to", "telnyx",
                 "--allow-lossy", "--out", "rooms.yaml")
    assert result.exit_code == ERROR
    assert "must be at most 50, got" in result.stderr
    assert "internal error: the converted file does not validate: nothing was written" \
        in result.stderr
    assert (workdir / "rooms.yaml").read_text() == (ROOT / "examples" / "rooms.yaml"
                                                   ).read_text()
