"""What the help and the docs say of each provider, from the registry and each folder's
`about.py` (its name and a one-line summary): so a new provider appears in them without an
edit outside its folder.

The README and the docs hold generated spans: `<!-- generated:NAME -->` … `<!-- /generated -->`
(inline, or around whole lines). `python -m reconcile.about [FILE…]` rewrites each span
with what `BLOCKS[NAME]` renders now (FILES by default); a test fails when a committed file
differs.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.files import write_atomically
from reconcile.providers import PROVIDER_PACKAGES, provider_models

if TYPE_CHECKING:  # pydantic loads only to render the docs: the CLI's help stays quick
    from pydantic.fields import FieldInfo

# The files with generated spans, from the repository's root.
FILES = ("README.md", "docs/rooms-file.md")
SPAN = re.compile(r"(<!-- generated:([\w-]+)[^>]*-->)(.*?)(<!-- /generated -->)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class About:
    name: str  # as prose names the provider ("SignalWire")
    summary: str  # one line: what its rooms are, for the README


def about(provider: str) -> About:
    """What the provider's folder says of itself (`about.py`: NAME and SUMMARY)."""
    module = importlib.import_module(f"{PROVIDER_PACKAGES[provider]}.about")
    name: str = module.NAME
    summary: str = module.SUMMARY
    return About(name, summary)


def enumerate_words(words: list[str], last: str = "and") -> str:
    """"a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def provider_names() -> str:
    """Every registered provider by name, in prose: "Twilio, Telnyx, … and Kaleyra"."""
    return enumerate_words([about(p).name for p in PROVIDER_PACKAGES])


# -- the spans ---------------------------------------------------------------------------------

Render = Callable[[Path], str]  # the span's text, for the file it is in (links are relative)


def _doc_link(target: Path, provider: str) -> str:
    root = Path(__file__).resolve().parent.parent
    page = root / "docs" / "providers" / f"{provider}.md"
    return Path(os.path.relpath(page, target.resolve().parent)).as_posix()


def _references(target: Path) -> str:
    return "\n".join(f"- [{about(p).name}]({_doc_link(target, p)}): {about(p).summary}"
                     for p in PROVIDER_PACKAGES)


def _types(target: Path) -> str:
    return enumerate_words([f"`{p}`" for p in PROVIDER_PACKAGES], "or")


def _key_fields(target: Path) -> str:
    """Which field keys each provider's rooms: "`unique_name` (Twilio, Telnyx), …"."""
    owners: dict[str, dict[str, list[str]]] = {}  # field -> provider -> its kinds
    for provider in PROVIDER_PACKAGES:
        for kind in provider_models(provider).kinds:
            attribute = kind.model.key_attribute()
            field = kind.model.model_fields[attribute].alias or attribute
            owners.setdefault(field, {}).setdefault(provider, []).append(kind.name)

    def who(provider: str, kinds: list[str]) -> str:
        several = len(provider_models(provider).kinds) > 1  # then name the kinds
        return about(provider).name + (f" {enumerate_words(kinds)}" if several else "")

    return enumerate_words([f"`{field}` ({', '.join(who(p, k) for p, k in by.items())})"
                            for field, by in owners.items()], "or")


def _cell(text: str) -> str:
    """Text for a Markdown table cell: no column break, no tag (`<space>` stays visible)."""
    return text.replace("|", "\\|").replace("<", "\\<")


def _setting(name: str, info: FieldInfo) -> str:
    """One account setting: its name, the values it allows (a Literal), its description."""
    values = typing.get_args(info.annotation) \
        if typing.get_origin(info.annotation) is typing.Literal else ()
    allowed = f" ({', '.join(f'`{v}`' for v in values)})" if values else ""
    described = f": {_cell(info.description.rstrip('.'))}" if info.description else ""
    return f"`{name}`{allowed}{described}"


def _accounts(target: Path) -> str:
    """Each provider's credentials and its own account settings (its locators)."""
    from pydantic import BaseModel

    from reconcile.models import Account

    rows = ["| provider | credentials | its own settings |", "| --- | --- | --- |"]
    for provider in PROVIDER_PACKAGES:
        models = provider_models(provider)
        fields = models.account.model_fields
        credentials = typing.cast(type[BaseModel], fields["credentials"].annotation)
        shared = {*Account.model_fields, "credentials", "defaults",
                  *(kind.name for kind in models.kinds)}
        own = [_setting(n, info) for n, info in fields.items() if n not in shared]
        rows.append(f"| {about(provider).name} | "
                    + "; ".join(_setting(n, i) for n, i in credentials.model_fields.items())
                    + f" | {'; '.join(own) or '—'} |")
    return "\n".join(rows)


BLOCKS: dict[str, Render] = {
    "accounts": _accounts,
    "provider-names": lambda target: provider_names(),
    "provider-references": _references,
    "provider-types": _types,
    "key-fields": _key_fields,
}


def render(text: str, target: Path, blocks: Mapping[str, Render] = BLOCKS) -> str:
    """`text` with every generated span rendered anew (by `blocks`, the spans this module
    knows by default); an unknown span is an error."""
    def one(match: re.Match[str]) -> str:
        opening, name, old, closing = match.groups()
        if name not in blocks:
            raise KeyError(f"{target}: unknown generated span {name!r}"
                           f" (known: {', '.join(blocks)})")
        body = blocks[name](target)
        if "\n" in old:  # around whole lines: keep them on lines of their own
            body = f"\n{body}\n"
        return opening + body + closing

    return SPAN.sub(one, text)


def rewrite(target: Path, blocks: Mapping[str, Render] = BLOCKS) -> bool:
    """Render `target`'s spans in place; True when it changed."""
    text = target.read_text(encoding="utf-8")
    updated = render(text, target, blocks)
    if updated != text:
        write_atomically(target, updated)
    return updated != text


def main(arguments: list[str], files: tuple[str, ...] = FILES,
         blocks: Mapping[str, Render] = BLOCKS) -> None:
    """`python -m …`: rewrite the files named (else `files`) and say which changed."""
    for name in arguments or files:
        print(f"{name}: {'updated' if rewrite(Path(name), blocks) else 'up to date'}")


if __name__ == "__main__":
    main(sys.argv[1:])
