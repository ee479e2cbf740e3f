"""The field reference (docs/rooms-file.md) is generated from the models and kept fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field

from reconcile.models import Room
from reconcile.providers import PROVIDER_PACKAGES, provider_models
from reconcile.reference import END, START, _room_table, committed, render

REFERENCE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "rooms-file.md"


def test_the_reference_page_is_fresh() -> None:
    assert committed(REFERENCE_PAGE) == render(), (
        "run `python -m reconcile.reference docs/rooms-file.md`")


def test_every_field_of_every_kind_is_documented() -> None:
    rendered = render()
    for name in PROVIDER_PACKAGES:
        for kind in provider_models(name).kinds:
            section = rendered.split(f"#### {name}: `{kind.name}`", 1)[1].split("####", 1)[0]
            for field in kind.model.yaml_names():
                assert f"| `{field}` |" in section, (name, kind.name, field)


class Desk(Room):
    """A made-up room kind with the shapes the providers' models happen not to use."""

    KEY_FIELD = "name"
    name: str
    floor: int = Field(le=40, description="The floor.")
    kind: Literal["desk"] = "desk"
    seats: list[int] = []


def test_a_table_renders_constants_upper_bounds_and_required_fields() -> None:
    rows = _room_table(Desk)
    assert rows[:2] == ["| field | type | limits | notes |", "| --- | --- | --- | --- |"]
    assert "| `name` | string |  | **key.** |" in rows
    assert "| `floor` | int | ≤ 40 | **required.** The floor. |" in rows
    assert "| `kind` | `desk` |  |  |" in rows
    assert "| `seats` | list of int |  |  |" in rows
    # The reconciler's own fields come after the kind's.
    assert rows[-1].startswith("| `renamed_from` |")


def test_the_module_rewrites_a_stale_block_and_then_leaves_the_file_alone(
        tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# head\n\n{START}\nstale\n{END}\n\ntail\n", encoding="utf-8")
    command = [sys.executable, "-m", "reconcile.reference", str(readme)]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert first.stdout == f"{readme}: updated\n"
    assert readme.read_text(encoding="utf-8") == f"# head\n\n{render()}\n\ntail\n"
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert again.stdout == f"{readme}: up to date\n"
