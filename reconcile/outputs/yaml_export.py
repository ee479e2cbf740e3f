"""`reconcile export`'s output: a rooms file in YAML, with comments where rooms or fields
were left out.

Values are the provider's, so a `${` in one is written `$${` (the file's literal `${`):
the file reads back exactly as the provider has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

WIDTH = 4096  # never fold a long value (a URL, a description) over lines


class _Dumper(yaml.SafeDumper):
    """Every list indented under its key, as the rooms are under their kind: PyYAML's
    default writes a nested list's items flush with the key, a second style."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


@dataclass
class ExportedRoom:
    fields: dict[str, Any]  # by YAML name, the key first
    notes: list[str] = field(default_factory=list)  # what was left out of it, and why


@dataclass
class SkippedRoom:
    label: str  # the key, or the id of a room that has none
    reason: str


@dataclass
class ExportedAccount:
    alias: str
    settings: dict[str, Any]  # as the input file writes them: credentials stay ${…}
    kinds: dict[str, list[ExportedRoom | SkippedRoom]]
    notes: list[str] = field(default_factory=list)


def render(accounts: list[ExportedAccount], source: str) -> str:
    lines = [f"# Exported by `reconcile export` from the live rooms of the accounts of {source}:",
             "# each room declares only the fields that differ from the provider's defaults.",
             "version: 1",
             "providers:" + ("" if accounts else " {}")]
    for account in accounts:
        lines.append(f"  {_scalar(account.alias)}:")
        lines += [f"    # {note}" for note in account.notes]
        lines += _block(account.settings, 4, escape=False)  # already written as in a file
        for kind, items in account.kinds.items():
            lines.append(f"    {kind}:" + ("" if any(isinstance(i, ExportedRoom)
                                                    for i in items) else " []"))
            for item in items:
                if isinstance(item, SkippedRoom):
                    lines.append(f"      # skipped {item.label}: {item.reason}")
                    continue
                lines += [f"      # {note}" for note in item.notes]
                room = _block(item.fields, 8, escape=True)
                lines.append("      - " + room[0][8:])
                lines += room[1:]
    return "\n".join(lines) + "\n"


def _block(data: Mapping[str, Any], indent: int, *, escape: bool) -> list[str]:
    if not data:
        return []
    text = yaml.dump(_plain(data, escape), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=WIDTH, default_flow_style=False)
    return [" " * indent + line for line in text.splitlines()]


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, width=WIDTH).removesuffix("\n...\n").strip()


def _plain(value: Any, escape: bool) -> Any:
    """Plain dicts and lists (safe_dump takes no subclasses); with `escape`, a provider's
    `${` is written `$${`, so that it is not read as a reference."""
    if isinstance(value, str):
        return value.replace("${", "$${") if escape else value
    if isinstance(value, Mapping):
        return {str(k): _plain(v, escape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, escape) for item in value]
    return value
