"""The one reader of every file the user names: only a regular file, under a cap, or a
message naming the path. Then each file the tool reads, through the CLI: the rooms file,
the Kaleyra state file, a saved plan, a comment body, the schema checked (issue 11,
defect 3). A named pipe must not block: those run in a subprocess with a timeout."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile import files
from reconcile.errors import ReconcileError
from reconcile.files import (
    FileNotWritten,
    FileRefused,
    check_regular,
    read_regular,
    read_stream,
    write_atomically,
)

from .conftest import SANDBOX_ENVIRON, accounts_file

LIMIT = 1000
KALEYRA_ROOM = ("      - name: a\n"
                "        participants: [{user_id: doc, is_admin: true}, {user_id: pat}]\n")
ZERO = Path("/dev/zero")
needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo") or not ZERO.exists(),
                                 reason="needs named pipes and /dev/zero")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def refused(path: Path, limit: int = LIMIT) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        read_regular(path, limit, "rooms file")
    assert str(caught.value) == f"{path}: {caught.value.problem}"
    return caught.value


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"x" * LIMIT)
    read = read_regular(path, LIMIT)
    assert read.data == b"x" * LIMIT and read.info.st_size == LIMIT


@needs_posix
def test_what_is_no_regular_file_is_refused_unopened(tmp_path: Path, fifo: Path) -> None:
    assert refused(fifo).problem == "is a named pipe, not a rooms file"  # and no block
    assert refused(ZERO).problem == "is a character device, not a rooms file"
    assert refused(tmp_path).problem == "is a directory, not a rooms file"
    missing = refused(tmp_path / "gone.yaml")
    assert missing.problem == "no such file" and missing.missing
    (tmp_path / "file").write_text("x")
    assert refused(tmp_path / "file" / "a.yaml").problem == "cannot be read (Not a directory)"


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * (LIMIT + 1))
    assert refused(path).problem == "is larger than 1,000 bytes, the most a rooms file may hold"


def test_a_stream_is_read_under_the_cap_too(tmp_path: Path) -> None:
    with open(tmp_path / "s", "wb+") as stream:
        stream.write(b"y" * (LIMIT + 5))
        stream.seek(0)
        with pytest.raises(FileRefused, match=r"^-: is larger than 1,000 bytes"):
            read_stream(stream, "-", LIMIT)
        stream.seek(5)
        assert read_stream(stream, "-", LIMIT) == b"y" * LIMIT


# -- through the CLI ------------------------------------------------------------------


def reconcile(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a process: a read that blocks fails the test by its timeout."""
    return subprocess.run([sys.executable, "-m", "reconcile", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=60,
                          env={**os.environ, **SANDBOX_ENVIRON, "GITHUB_TOKEN": "ghp_x"})


@needs_posix
def test_a_named_pipe_as_the_rooms_file_or_saved_plan_never_blocks(tmp_path: Path,
                                                                   fifo: Path) -> None:
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"], ["export"], ["show"],
                    ["convert", "--account", "twilio", "--to", "telnyx"]):
        result = reconcile(*command, str(fifo), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert f"{fifo}:1:1: is a named pipe, not a rooms file" in result.stdout + result.stderr
    result = reconcile("github-comment", "--repo", "a/b", "--pr", "1", "--body-file", str(fifo),
                       cwd=tmp_path)
    assert f"{fifo}: is a named pipe, not a comment body" in result.stderr
    schema = tmp_path / "schema.json"
    os.mkfifo(schema)
    result = reconcile("schema", "--check", "-o", str(schema), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{schema}: is a named pipe, not a schema" in result.stderr


@needs_posix
@pytest.mark.parametrize("state", ["/dev/zero", "pipe.json", "folder"])
def test_the_kaleyra_state_file_must_be_a_regular_file(tmp_path: Path, state: str) -> None:
    """`state: /dev/zero` once drove a plan to 24 GB; a pull request can set it."""
    if state == "pipe.json":
        os.mkfifo(tmp_path / state)
    elif state == "folder":
        (tmp_path / state).mkdir()
    path = accounts_file(tmp_path, "http://127.0.0.1:9", {"kaleyra": KALEYRA_ROOM},
                         state=state)
    result = reconcile("plan", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    where = state if state.startswith("/") else str(tmp_path / state)
    kind = {"/dev/zero": "character device", "pipe.json": "named pipe",
            "folder": "directory"}[state]
    assert f"Kaleyra state file {where} is a {kind}, not a state file" in result.stderr


def test_a_saved_plan_over_its_cap_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from reconcile.outputs import document

    path = tmp_path / "plan.json"
    path.write_text('{"format_version": "1.0", "padding": "' + "x" * 100 + '"}')
    monkeypatch.setattr(document, "MAX_SAVED_BYTES", 50)
    with pytest.raises(ReconcileError) as caught:
        document.read_saved(path)
    assert str(caught.value) == \
        f"{path}: cannot read the saved plan: is larger than 50 bytes, the most a saved plan" \
        " may hold"


@needs_posix
def test_the_sandbox_database_must_be_a_regular_file(tmp_path: Path, fifo: Path) -> None:
    """SQLite fails on a pipe or a device with a bare "disk I/O error"."""
    rooms = accounts_file(tmp_path, None, {"telnyx": "      - {unique_name: a}\n"})
    result = reconcile("--sandbox", "--sandbox-db", str(fifo), "plan", str(rooms), cwd=tmp_path)
    assert result.returncode == 1
    assert f"reconcile: {fifo}: is a named pipe, not a sandbox database" in result.stderr
    result = reconcile("sandbox", "serve", "--db", str(ZERO), cwd=tmp_path)
    assert result.returncode == 1
    assert "/dev/zero: is a character device, not a sandbox database" in result.stderr
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileRefused, match=r"cannot be read \(Not a directory\)"):
        check_regular(tmp_path / "file" / "db", "sandbox database")
    check_regular(tmp_path / "absent.db")  # nothing there yet: SQLite creates it


# -- the one writer -------------------------------------------------------------------


def test_a_write_is_whole_durable_and_keeps_the_mode(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    path = tmp_path / "out.json"
    info = write_atomically(path, "first")
    assert path.read_text() == "first" and os.stat(path).st_ino == info.st_ino
    assert len(synced) == 2  # the file, then its folder (the rename)
    path.chmod(0o640)
    write_atomically(path, b"second")
    assert path.read_bytes() == b"second" and stat.S_IMODE(path.stat().st_mode) == 0o640
    write_atomically(tmp_path / "secret.json", "x", mode=0o600)
    assert stat.S_IMODE((tmp_path / "secret.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "secret.json"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_failed_write_leaves_the_target_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old")

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "write":
        monkeypatch.setattr(files, "_fill", no_space)
    else:
        monkeypatch.setattr(os, failing, no_space)
    with pytest.raises(FileNotWritten) as caught:
        write_atomically(path, "new")
    monkeypatch.undo()
    assert str(caught.value) == f"{path}: cannot write: No space left on device"
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["plan.json"]


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "a", "x")
    assert os.listdir(tmp_path) == []


def test_links_new_files_folders_and_what_is_no_regular_file(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    (tmp_path / "link.txt").symlink_to(real)
    write_atomically(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink() and real.read_text() == "new"
    with pytest.raises(FileNotWritten) as caught:
        write_atomically(real, "newer", overwrite=False)
    assert caught.value.exists and real.read_text() == "new"
    write_atomically(tmp_path / "a" / "b" / "c.txt", "deep", overwrite=False, parents=True)
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "deep"
    with pytest.raises(FileNotWritten, match=r"cannot write: cannot create its folder"):
        write_atomically(real / "under-a-file.txt", "x", parents=True)
    with pytest.raises(FileNotWritten, match=r"cannot write: No such file or directory"):
        write_atomically(tmp_path / "missing" / "x.txt", "x")
    write_atomically("/dev/null", "into the device, not over it")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_leftover_temporary_files_are_removed_on_request(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    stale = tmp_path / f"{files.temp_prefix(path)}abc123{files.TEMP_SUFFIX}"
    stale.write_text("half")
    (tmp_path / "other.tmp").write_text("keep")
    files.remove_temp_files(path)
    assert sorted(os.listdir(tmp_path)) == ["other.tmp"]


def test_the_schema_command_writes_atomically(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`reconcile schema` wrote with write_text: a failure left half a schema."""
    from click.testing import CliRunner

    from reconcile.cli import cli

    output = tmp_path / "schemas" / "rooms.schema.json"
    output.parent.mkdir()
    output.write_text("old schema")

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    result = CliRunner().invoke(cli, ["schema", "-o", str(output)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{output}: cannot write: No space left on device" in result.output
    assert output.read_text() == "old schema" and os.listdir(output.parent) == [output.name]
    monkeypatch.undo()
    assert CliRunner().invoke(cli, ["schema", "-o", str(output)]).exit_code == 0
    assert output.read_text().startswith("{")


WRITE_MODES = set("wax+")


def raw_writes(source: str) -> list[str]:
    """Each write that bypasses files.write_atomically: `x.write_text(…)`,
    `x.write_bytes(…)`, `os.replace`/`os.rename`, or `open(…)` with a writing mode."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        call = ast.unparse(node.func)
        modes = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
        writing = any(isinstance(m, ast.Constant) and isinstance(m.value, str)
                      and WRITE_MODES & set(m.value) for m in modes)
        opens = call in ("open", "io.open") or call.endswith(".open")
        if call.endswith((".write_text", ".write_bytes")) \
                or call in ("os.replace", "os.rename") or (opens and writing):
            found.append(f"{node.lineno}: {call}")
    return found


def test_the_check_finds_a_raw_write() -> None:
    assert raw_writes("p.write_text('x')\nopen(p, 'wb')\nos.replace(a, b)\n"
                      "open(p)\nPath(p).open(mode='a')\n") \
        == ["1: p.write_text", "2: open", "3: os.replace", "5: Path(p).open"]


def test_every_file_reconcile_writes_goes_through_the_one_atomic_writer() -> None:
    root = Path(files.__file__).parent
    found = {str(path.relative_to(root)): writes for path in sorted(root.rglob("*.py"))
             if path.name != "files.py"
             and (writes := raw_writes(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_a_path_holding_a_nul_is_refused_not_a_value_error(tmp_path: Path) -> None:
    """os.stat and open raise ValueError (no OSError) for a NUL, which the API passes on."""
    path = tmp_path / "a\0b.yaml"
    missing = refused(path)
    assert missing.missing and missing.problem == "no such file (the path holds a NUL character)"
    with pytest.raises(FileRefused, match="holds a NUL"):
        check_regular(path)
    with pytest.raises(FileNotWritten, match="cannot write: the path holds a NUL character"):
        write_atomically(path, "x", parents=True)
    assert list(tmp_path.iterdir()) == []


def test_a_path_ending_with_a_slash_is_not_written_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotWritten, match="ends with a slash, so it names a folder"):
        write_atomically(f"{tmp_path}/out/", "x", parents=True)
    assert list(tmp_path.iterdir()) == []  # no file `out`
