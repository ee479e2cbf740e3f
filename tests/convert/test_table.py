"""The migration guide's concept table is generated from the providers' crosswalks and
kept fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reconcile.convert.concepts import CONCEPTS
from reconcile.convert.table import END, START, render
from reconcile.providers import PROVIDER_PACKAGES, crosswalk
from reconcile.reference import committed

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


def test_the_guide_table_is_fresh() -> None:
    assert committed(GUIDE, START, END) == render(), (
        "run `python -m reconcile.convert.table docs/migration.md`")


def test_every_concept_and_every_kind_has_its_place() -> None:
    rendered = render()
    for concept in CONCEPTS:
        assert f"| {concept.title} |" in rendered
    header = rendered.splitlines()[2]
    for provider in PROVIDER_PACKAGES:
        for kind in crosswalk(provider):
            assert provider in header and (len(crosswalk(provider)) == 1 or kind in header)
    for provider in PROVIDER_PACKAGES:  # a field the mapping reads is in the table
        for mapping in crosswalk(provider).values():
            for codec in mapping.concepts.values():
                for field in codec.fields:
                    assert f"`{field}" in rendered or "meeting" in field, (provider, field)


def test_the_module_rewrites_a_stale_block(tmp_path: Path) -> None:
    page = tmp_path / "migration.md"
    page.write_text(f"# head\n\n{START}\nstale\n{END}\n\ntail\n", encoding="utf-8")
    command = [sys.executable, "-m", "reconcile.convert.table", str(page)]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert first.stdout == f"{page}: updated\n"
    assert page.read_text(encoding="utf-8") == f"# head\n\n{render()}\n\ntail\n"
    second = subprocess.run(command, capture_output=True, text=True, check=True)
    assert second.stdout == f"{page}: up to date\n"
