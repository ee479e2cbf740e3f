"""The distribution as a release builds it: the wheel and the sdist, by `python -m build`.

Built in process (--no-isolation, with the hatchling the test extra installs), so the
test needs no network; the archives are then read as an installer would.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from reconcile import __version__
from reconcile.schema import SHIPPED

ROOT = Path(__file__).resolve().parent.parent
DIST = "reconcile-rooms"  # "reconcile" on PyPI is another project


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    stem = f"{DIST.replace('-', '_')}-{__version__}"
    return {"wheel": out / f"{stem}-py3-none-any.whl", "sdist": out / f"{stem}.tar.gz",
            "stem": Path(stem)}


def test_wheel_metadata_names_the_free_distribution(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        info = f"{built['stem']}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert (metadata["Name"], metadata["Version"]) == (DIST, __version__)
    assert metadata["License-Expression"] == "MIT"
    assert "reconcile = reconcile.cli:main" in entry_points  # the command keeps its name


def test_wheel_ships_the_license_and_both_schemas(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        license_text = wheel.read(f"{built['stem']}.dist-info/licenses/LICENSE").decode()
        for file in SHIPPED.values():
            shipped = wheel.read(f"reconcile/schemas/{file}").decode()
            assert shipped == (ROOT / "schemas" / file).read_text(encoding="utf-8")
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in license_text and "the reconcile authors" in license_text
    assert "reconcile/__init__.py" in names
    assert not any(name.startswith(("tests/", "schemas/")) for name in names)


def test_sdist_ships_tests_examples_schemas_and_the_license(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    expected = {"LICENSE", "README.md", "pyproject.toml", "examples/rooms.yaml",
                "schemas/rooms.schema.json", "schemas/plan.schema.json",
                "reconcile/schemas/rooms.schema.json", "tests/conftest.py",
                "tests/test_packaging.py", "docs/editors-and-hooks.md"}
    assert expected <= names, expected - names
    assert not any(name.startswith((".venv", "bench/")) for name in names)


def test_installed_distribution_is_found_under_its_name() -> None:
    from importlib.metadata import distribution

    assert distribution(DIST).version == __version__
