"""Every `U<n>` the code and tests cite resolves to an entry of docs/providers/<provider>.md.

A reference belongs to the provider whose folder holds the file (`reconcile/providers/<p>/`,
`tests/providers/<p>/`); anywhere else it must name its file: "docs/providers/metered.md U3".
Each doc lists its unconfirmed behaviours as `### U<n>` headings under
"## Unconfirmed behaviours".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconcile.providers import PROVIDER_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "providers"
REFERENCE = re.compile(r"\bU(\d+)\b")
NAMED = re.compile(r"docs/providers/([a-z]+)\.md`?\s+U(\d+)\b")
SECTION = "## Unconfirmed behaviours"
ENTRY = re.compile(r"^### U(\d+)$", re.MULTILINE)


def entries(provider: str) -> list[int]:
    """The U numbers docs/providers/<provider>.md defines, in order."""
    text = (DOCS / f"{provider}.md").read_text(encoding="utf-8")
    assert SECTION in text, f"docs/providers/{provider}.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [int(n) for n in ENTRY.findall(section)]


def owner(path: Path) -> str | None:
    """The provider whose folder holds `path`, if any."""
    parts = path.relative_to(ROOT).parts
    if len(parts) > 2 and parts[1] == "providers" and parts[2] in PROVIDER_PACKAGES:
        return parts[2]
    return None


def references() -> list[tuple[str, str, int, int]]:
    """(where, provider or "", number, line) of every U<n> in the package and the tests."""
    found = []
    for path in sorted([*ROOT.glob("reconcile/**/*.py"), *ROOT.glob("tests/**/*.py")]):
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        named = {match.start(2) - 1: match[1] for match in NAMED.finditer(text)}
        for match in REFERENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            provider = named.get(match.start()) or owner(path) or ""
            found.append((str(path.relative_to(ROOT)), provider, int(match[1]), line))
    return found


def test_there_are_references_to_check() -> None:
    assert len(references()) > 150  # the scan itself works


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_each_doc_numbers_its_entries_once_from_u1(provider: str) -> None:
    numbers = entries(provider)
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_reference_resolves_to_an_entry_of_its_providers_doc() -> None:
    defined = {p: set(entries(p)) for p in PROVIDER_PACKAGES}
    broken = [f"{where}:{line}: U{number}" + (
        f" (no entry in docs/providers/{provider}.md)" if provider else
        " names no provider: write docs/providers/<provider>.md U<n>")
        for where, provider, number, line in references()
        if number not in defined.get(provider, set())]
    assert broken == []


def test_the_code_cites_no_reference_outside_the_repository() -> None:
    stale = [str(path.relative_to(ROOT)) for path in sorted(ROOT.glob("reconcile/**/*.py"))
             if "shared/providers" in path.read_text(encoding="utf-8")]
    assert stale == []
