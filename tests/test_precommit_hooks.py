"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit (`try-repo`).

pre-commit builds the hook's environment from this repository, as a user's machine
would; that takes a while the first time, so both hooks share one PRE_COMMIT_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.schema import render_schema

ROOT = Path(__file__).resolve().parent.parent
BAD = """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${KEY}"}
    rooms:
      - {unique_name: a, max_participants: 60}
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pre-commit") is None and shutil.which("git") is None,
                       reason="pre-commit and git are needed"),
]


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path: Path) -> Iterator[Path]:
    """A user's repository holding a good and a bad rooms file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / "examples" / "rooms.yaml", tmp_path / "good.yaml")
    (tmp_path / "bad.yaml").write_text(BAD)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    yield tmp_path


def try_repo(repo: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    args = ["pre-commit", "try-repo", str(ROOT), hook, "--verbose"]
    args += ["--files", *files] if files else ["--all-files"]
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def test_validate_hook_passes_a_good_file(user_repo: Path, pre_commit_home: Path) -> None:
    done = try_repo(user_repo, pre_commit_home, "reconcile-validate", "good.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reconcile validate" in done.stdout and "Passed" in done.stdout


def test_validate_hook_fails_a_bad_file(user_repo: Path, pre_commit_home: Path) -> None:
    done = try_repo(user_repo, pre_commit_home, "reconcile-validate", "good.yaml", "bad.yaml")
    assert done.returncode == 1
    assert "Failed" in done.stdout
    assert ("bad.yaml:6:44: must be at most 50, got 60 (at"
            " providers.telnyx.rooms[0].max_participants)") in done.stdout


def test_schema_fresh_hook(user_repo: Path, pre_commit_home: Path) -> None:
    schema = user_repo / "schemas" / "rooms.schema.json"
    schema.parent.mkdir()
    schema.write_text(render_schema())
    subprocess.run(["git", "add", "-A"], cwd=user_repo, check=True)
    done = try_repo(user_repo, pre_commit_home, "reconcile-schema-fresh",
                    "schemas/rooms.schema.json")
    assert done.returncode == 0, done.stdout + done.stderr
    schema.write_text("{}\n")
    done = try_repo(user_repo, pre_commit_home, "reconcile-schema-fresh",
                    "schemas/rooms.schema.json")
    assert done.returncode == 1
    assert "is stale: run `reconcile schema`" in done.stdout
