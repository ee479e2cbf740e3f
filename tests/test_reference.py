"""The README's field reference is generated from the models and kept fresh."""

from __future__ import annotations

from pathlib import Path

from reconcile.providers import PROVIDER_PACKAGES, provider_models
from reconcile.reference import END, START, render

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_reference_is_fresh() -> None:
    text = README.read_text(encoding="utf-8")
    block = START + text.split(START, 1)[1].split(END, 1)[0] + END
    assert block == render(), "run `python -m reconcile.reference README.md`"


def test_every_field_of_every_kind_is_documented() -> None:
    rendered = render()
    for name in PROVIDER_PACKAGES:
        for kind in provider_models(name).kinds:
            section = rendered.split(f"#### {name}: `{kind.name}`", 1)[1].split("####", 1)[0]
            for field in kind.model.yaml_names():
                assert f"| `{field}` |" in section, (name, kind.name, field)
