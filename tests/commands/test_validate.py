"""`reconcile validate` end to end, through click's runner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rooms.yaml"
BAD = """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${KEY}"}
    rooms:
      - unique_name: a
        max_participants: 60
      - unique_nme: b
"""


def bad_file(tmp_path: Path, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(BAD, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_clean_file_exits_0() -> None:
    code, out, err = run("validate", str(EXAMPLE))
    assert (code, out) == (0, "")
    assert err == "1 file valid\n"


def test_errors_exit_1_with_located_text(tmp_path: Path) -> None:
    path = bad_file(tmp_path)
    code, out, err = run("validate", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:7:27: must be at most 50, got 60 (at providers.telnyx.rooms[0].max_participants)",
        f"{path}:8:9: unknown field `unique_nme` (did you mean `unique_name`?) (at"
        " providers.telnyx.rooms[1].unique_nme)",
    ]
    assert err == "2 errors in 1 of 1 file\n"


def test_many_files_at_once(tmp_path: Path) -> None:
    bad = bad_file(tmp_path)
    code, out, err = run("validate", str(EXAMPLE), str(bad), str(EXAMPLE))
    assert code == 1
    assert all(line.startswith(str(bad)) for line in out.splitlines())
    assert err == "2 errors in 1 of 3 files\n"
    code, _, err = run("validate", str(EXAMPLE), str(EXAMPLE))
    assert (code, err) == (0, "2 files valid\n")


def test_json_format(tmp_path: Path) -> None:
    bad = bad_file(tmp_path)
    code, out, _ = run("validate", "--format", "json", str(EXAMPLE), str(bad))
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False and report["error_count"] == 2
    assert [f["valid"] for f in report["files"]] == [True, False]
    first = report["files"][1]["errors"][0]
    assert first == {"file": str(bad), "line": 7, "col": 27,
                     "message": "must be at most 50, got 60",
                     "path": "providers.telnyx.rooms[0].max_participants"}


def test_github_format(tmp_path: Path) -> None:
    bad = bad_file(tmp_path, "a,b.yaml")
    code, out, _ = run("validate", "--format", "github", str(bad))
    assert code == 1
    first = out.splitlines()[0]
    escaped = str(bad).replace(",", "%2C")
    assert first == (f"::error file={escaped},line=7,col=27::must be at most 50, got 60"
                     " (at providers.telnyx.rooms[0].max_participants)")


def test_missing_file_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(tmp_path / "absent.yaml"))
    assert code == 1
    assert out == f"{tmp_path / 'absent.yaml'}:1:1: no such file\n"


def test_no_file_is_a_usage_error() -> None:
    code, _, err = run("validate")
    assert code == 1  # as every command's usage errors: 2 means "changes" to plan
    assert "Missing argument" in err


def test_hostile_input_never_prints_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path.write_text("\n".join(levels) + "\n")
    done = subprocess.run([sys.executable, "-m", "reconcile", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "alias bomb" in done.stdout


def test_console_script_and_module_agree() -> None:
    done = subprocess.run([sys.executable, "-m", "reconcile", "--version"],
                          capture_output=True, text=True, check=True)
    from reconcile import __version__

    assert done.stdout.strip() == f"reconcile, version {__version__}"


LEGACY = """\
version: 1
providers:
  twilio:
    credentials: {account_sid: "${SID}", auth_token: "${TOKEN}"}
    rooms:
      - unique_name: pairing
        type: peer-to-peer
        max_participants: 20
        video_codecs: [VP8]
"""


def test_a_legacy_twilio_type_is_a_located_warning_that_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "legacy.yaml"
    path.write_text(LEGACY, encoding="utf-8")
    code, out, err = run("validate", str(path))
    assert code == 0, out + err
    (line,) = out.splitlines()  # no error for the older docs' cap of 10, nor for the codecs
    assert line.startswith(f"{path}:7:15: warning: `type: peer-to-peer` is a legacy room"
                           " type: Twilio's current docs say `group` is the only one")
    assert "write `type: group`, or leave `type` out" in line
    assert line.endswith("(at providers.twilio.rooms[0].type)")
    assert err == "1 file valid (1 warning)\n"
    code, out, _ = run("validate", "--format", "json", str(path))
    report = json.loads(out)
    assert (code, report["valid"], report["error_count"], report["warning_count"]) == \
        (0, True, 0, 1)
    assert report["files"][0]["errors"] == []
    assert report["files"][0]["warnings"][0]["line"] == 7
    code, out, _ = run("validate", "--format", "github", str(path))
    assert (code, out.split(" ")[0]) == (0, "::warning")
    path.write_text(LEGACY.replace("peer-to-peer", "group"), encoding="utf-8")
    assert run("validate", str(path))[1:] == ("", "1 file valid\n")
