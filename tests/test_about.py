"""The providers' names and summaries come from their folders, and the README's and the
docs' generated spans are current (`python -m reconcile.about`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.about import BLOCKS, FILES, SPAN, about, provider_names, render, rewrite
from reconcile.cli import cli
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.starter import credential_variables, locators

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", FILES)
def test_the_generated_spans_are_current(name: str) -> None:
    path = ROOT / name
    text = path.read_text(encoding="utf-8")
    assert "<!-- generated:" in text
    assert render(text, path) == text, "run `python -m reconcile.about`"


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_each_folder_names_and_sums_up_its_provider(provider: str) -> None:
    said = about(provider)
    assert said.name and "\n" not in said.summary and len(said.summary) < 200
    assert said.name in provider_names()
    assert (ROOT / "docs" / "providers" / f"{provider}.md").is_file()


def test_the_references_link_each_page_from_where_the_file_is() -> None:
    readme = BLOCKS["provider-references"](ROOT / "README.md")
    nested = BLOCKS["provider-references"](ROOT / "docs" / "rooms-file.md")
    assert "- [Twilio](docs/providers/twilio.md): " in readme
    assert "- [Twilio](providers/twilio.md): " in nested
    assert readme.count("\n") == len(PROVIDER_PACKAGES) - 1


def test_spans_inline_and_on_lines_of_their_own(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("On <!-- generated:provider-types -->stale<!-- /generated -->.\n\n"
                    "<!-- generated:provider-references (a note) -->\nstale\n<!-- /generated -->\n",
                    encoding="utf-8")
    assert rewrite(page) is True
    text = page.read_text(encoding="utf-8")
    last = list(PROVIDER_PACKAGES)[-1]  # the list ends with the last one registered
    assert text.startswith("On <!-- generated:provider-types -->`twilio`, ")
    assert f" or `{last}`<!-- /generated -->.\n\n" in text
    assert "<!-- generated:provider-references (a note) -->\n- [Twilio](" in text
    assert text.endswith(f"{about(last).summary}\n<!-- /generated -->\n")
    assert rewrite(page) is False


def test_an_unknown_span_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = "<!-- generated:nothing -->x<!-- /generated -->"
    with pytest.raises(KeyError, match="unknown generated span 'nothing'"):
        render(text, page)


def test_the_module_rewrites_the_files_it_is_given(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- generated:provider-names -->?<!-- /generated -->\n", encoding="utf-8")
    command = [sys.executable, "-m", "reconcile.about", str(page)]
    assert subprocess.run(command, capture_output=True, text=True, check=True
                          ).stdout == f"{page}: updated\n"
    assert subprocess.run(command, capture_output=True, text=True, check=True
                          ).stdout == f"{page}: up to date\n"


def test_a_new_provider_appears_in_the_help_and_the_readme(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "sixth"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "about.py").write_text('NAME = "Sixth"\nSUMMARY = "rooms of a sixth kind"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(PROVIDER_PACKAGES, "sixth", "sixth")
    assert provider_names().endswith(f", {about(list(PROVIDER_PACKAGES)[-2]).name} and Sixth")
    references = BLOCKS["provider-references"](ROOT / "README.md")
    assert references.endswith("- [Sixth](docs/providers/sixth.md): rooms of a sixth kind")
    assert BLOCKS["provider-types"](ROOT / "README.md").endswith(" or `sixth`")


def test_the_help_names_the_providers_as_their_folders_do() -> None:
    output = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    assert f"Video-conferencing rooms as code, on {provider_names()}." in output


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_the_accounts_table_names_each_credential_and_setting(provider: str) -> None:
    table = BLOCKS["accounts"](ROOT / "docs" / "rooms-file.md")
    (row,) = [line for line in table.splitlines() if line.startswith(f"| {about(provider).name} |")]
    _, credentials, settings = row.strip("| ").split(" | ")
    assert re.findall(r"`(\w+)`(?::|;|$)", credentials) == list(
        credential_variables(provider, provider))
    for locator in locators(provider):  # the required settings, at least
        assert f"`{locator}`" in settings


# Paragraphs of the README and the docs that name every provider outside a generated span:
# prose about how each behaves, which a new provider's page completes, by (file, start).
DESCRIBED: dict[tuple[str, str], str] = {
    ("docs/commands.md", "- `status` is the provider's own"): "statuses where they differ",
    ("docs/migration.md", "Twilio's documentation says"): "the migration off Twilio",
    ("docs/migration.md", "- **Defaults.**"): "examples of defaults",
    ("docs/plan-and-apply.md", "Who is in a room"): "where each API shows sessions",
    ("docs/rooms-file.md", "**Rooms are written"): "each API's naming style",
    ("docs/rooms-file.md", "Beyond each field's type"): "examples of cross-field rules",
    ("docs/sandbox.md", "The package ships an emulator"): "each emulator's semantics",
    ("docs/sandbox.md", "| call | body | does |"): "the control API, by call",
}


def _paragraphs() -> list[tuple[str, str]]:
    """(file, paragraph) of the README and the docs, outside generated spans and code."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = SPAN.sub("", path.read_text(encoding="utf-8"))
        text = re.sub(r"<!-- (\w+):start.*?<!-- \1:end -->", "", text, flags=re.DOTALL)
        text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        found += [(path.relative_to(ROOT).as_posix(), paragraph.strip())
                  for paragraph in re.split(r"\n\s*\n", text)]
    return found


def _listing_paragraphs() -> list[tuple[str, str]]:
    names = [about(p).name for p in PROVIDER_PACKAGES]
    return [(file, paragraph) for file, paragraph in _paragraphs()
            if all(name in paragraph for name in names)]


def test_no_hand_written_list_of_every_provider_in_the_docs() -> None:
    unlisted = [f"{name}: {paragraph[:60]!r}" for name, paragraph in _listing_paragraphs()
                if not any(name == file and paragraph.startswith(start)
                           for file, start in DESCRIBED)]
    assert unlisted == [], "make it a generated span (reconcile/about.py), or list it"
    # No stale entry: each still starts a paragraph (which may predate a newer provider,
    # whose own page says how it behaves: the paragraph no longer names every provider).
    found = {(name, start) for name, paragraph in _paragraphs()
             for _, start in DESCRIBED if paragraph.startswith(start)}
    assert set(DESCRIBED) - found == set()


COUNTED = re.compile(r"\b(?:all|the)\s+(?:two|three|four|five|six|seven|eight|nine|ten)"
                     r"\s+(?:providers|emulators)\b", re.IGNORECASE)


def test_no_doc_counts_every_provider_in_words() -> None:
    # "all five providers" goes stale with the next provider, as the tables did.
    found = [f"{path.relative_to(ROOT)}: {match.group(0)!r}"
             for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
             for match in COUNTED.finditer(path.read_text(encoding="utf-8"))]
    assert found == [], "say 'every provider', or generate the list (reconcile/about.py)"


def test_the_sandbox_help_names_the_providers_too() -> None:
    output = " ".join(CliRunner().invoke(cli, ["sandbox", "--help"]).output.split())
    assert f"room APIs: {provider_names()}." in output
