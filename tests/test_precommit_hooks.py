"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit.

pre-commit builds the hook's environment from this repository, as a user's machine
would. `pre-commit try-repo` would build it anew on every call (it keeps a store of its
own), so the module snapshots this working tree as a commit once, as try-repo does, and
every run names that commit: the environment is built once, in a shared PRE_COMMIT_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconcile.schema import render_schema

ROOT = Path(__file__).resolve().parent.parent
GOOD = (ROOT / "examples" / "rooms.yaml").read_text(encoding="utf-8")
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


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PRE_COMMIT_HOME, and beside it `hooks.yaml`: a configuration naming a commit of
    this working tree (tracked and untracked files, as `git` sees them), made once."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    snapshot = tmp_path_factory.mktemp("hooks-repository")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, snapshot / name)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", str(snapshot)], check=True)
    subprocess.run(["git", "add", "-A"], cwd=snapshot, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "snapshot"], cwd=snapshot, check=True, env=env)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=snapshot, capture_output=True,
                         text=True, check=True).stdout.strip()
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (home / "hooks.yaml").write_text(yaml.safe_dump({"repos": [
        {"repo": str(snapshot), "rev": rev, "hooks": [{"id": h["id"]} for h in hooks]}]}))
    return home


def repository(root: Path, files: dict[str, str]) -> Path:
    """A user's git repository holding `files` (path -> text), all staged."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


@pytest.fixture
def user_repo(tmp_path: Path) -> Iterator[Path]:
    """A user's repository holding a good and a bad rooms file."""
    yield repository(tmp_path, {"rooms.yaml": GOOD, "rooms.bad.yaml": BAD})


def try_repo(repo: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    """`hook` of this repository run in `repo`, as try-repo runs it."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
           **GIT_ENV}
    args = ["pre-commit", "run", "-c", str(home / "hooks.yaml"), hook, "--verbose"]
    args += ["--files", *files] if files else ["--all-files"]
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def test_validate_hook_passes_a_good_file(user_repo: Path, pre_commit_home: Path) -> None:
    done = try_repo(user_repo, pre_commit_home, "reconcile-validate", "rooms.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reconcile validate" in done.stdout and "Passed" in done.stdout


def test_validate_hook_fails_a_bad_file(user_repo: Path, pre_commit_home: Path) -> None:
    done = try_repo(user_repo, pre_commit_home, "reconcile-validate", "rooms.yaml",
                    "rooms.bad.yaml")
    assert done.returncode == 1
    assert "Failed" in done.stdout
    assert ("rooms.bad.yaml:6:44: must be at most 50, got 60 (at"
            " providers.telnyx.rooms[0].max_participants)") in done.stdout


# Other YAML a repository with rooms files holds: none of it is a rooms file.
UNRELATED = {
    ".github/workflows/reconcile.yml": "on: push\njobs: {}\n",
    "docker-compose.yml": "services: {}\n",
    "classrooms.yaml": "a: 1\n",
    "config/rooms-notes.txt": "not yaml\n",
}


def local_hook(hook_id: str) -> str:
    """A .pre-commit-config.yaml running our hook as it is declared, but on the installed
    `reconcile` (language: system): the same `files:` and `types:`, without building a
    hook environment for each repository."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = {**next(h for h in hooks if h["id"] == hook_id), "language": "system"}
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]})


@pytest.mark.parametrize(("layout", "validated"), [
    ({"rooms.yaml": GOOD}, 1),  # the Actions example's layout
    ({"rooms/eu.yaml": GOOD, "rooms/us.yml": GOOD, "rooms/teams/sales.yaml": GOOD}, 3),
    ({"ops/rooms.prod.yaml": GOOD, "ops/rooms-staging.yml": GOOD, **UNRELATED}, 2),
], ids=["root-rooms-yaml", "rooms-folder", "beside-unrelated-yaml"])
def test_default_files_are_the_rooms_files_and_nothing_else(
        tmp_path: Path, pre_commit_home: Path, layout: dict[str, str], validated: int) -> None:
    """`pre-commit run --all-files` with the hook's own `files:`: every rooms file is
    checked, and no other YAML (the .pre-commit-config.yaml itself would fail with
    'unknown top-level key repos')."""
    repo = repository(tmp_path, {**layout, ".pre-commit-config.yaml":
                                 local_hook("reconcile-validate")})
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home), "PRE_COMMIT_COLOR": "never",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    done = subprocess.run(["pre-commit", "run", "reconcile-validate", "--all-files",
                           "--verbose"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    noun = "file" if validated == 1 else "files"
    assert f"{validated} {noun} valid" in done.stdout, done.stdout
    assert "unknown top-level key" not in done.stdout


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
