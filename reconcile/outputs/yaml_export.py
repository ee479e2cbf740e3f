"""`reconcile export`'s output: a rooms file in YAML, with comments where rooms or fields
were left out.

Values are the provider's, so a `${` in one is written `$${` (the file's literal `${`):
the file reads back exactly as the provider has it. A string holding a character that is
not printable (a control, a bidi override) is written double-quoted with that character
as its escape, and comments go through `printable`: the file shows on a terminal and in a
review exactly as YAML reads it, and no key can end a comment and write YAML of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconcile import scalars
from reconcile.escape import printable, yaml_printable

WIDTH = 4096  # never fold a long value (a URL, a description) over lines


class _Dumper(yaml.SafeDumper):
    """Writes a string plain only where both YAML 1.2 (which reconcile and editors read)
    and YAML 1.1 read it back as that string: `1e3` and `0o10` (numbers to YAML 1.2 only)
    are quoted, as are `yes`, `y` and `1:20` (not text to YAML 1.1). A string holding any
    unsafe character is written double-quoted, the one YAML style in which
    `yaml_printable`'s `\\uXXXX` escapes (YAML's own) are read back as the character:
    libyaml leaves some (bidi overrides, zero-width spaces) raw.

    Every list is indented under its key, as the rooms are under their kind: PyYAML's
    default writes a nested list's items flush with the key, a second style."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _core_tag(value)
            yaml_1_1 = super().resolve(kind, value, implicit)
            if tag == scalars.STR and (yaml_1_1 != tag or value.lower() in ("y", "n")):
                return _DISPUTED
            return tag
        return super().resolve(kind, value, implicit)


_DISPUTED = "tag:yaml.org,2002:disputed"  # no value's tag: such text is always quoted


_TAGS = {type(None): scalars.NULL, bool: scalars.BOOL, int: scalars.INT, float: scalars.FLOAT}


def _core_tag(text: str) -> str:
    try:
        value = scalars.plain(text)
    except ValueError:  # disputed: neither a plain string nor a plain number
        return _DISPUTED
    return _TAGS.get(type(value), scalars.STR)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None if value.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=WIDTH,
                     default_flow_style=False)


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
        lines.append(f"  {scalar(account.alias)}:")
        lines += [f"    # {printable(note)}" for note in account.notes]
        lines += block(account.settings, 4, escape=False)  # already written as in a file
        for kind, items in account.kinds.items():
            lines.append(f"    {kind}:" + ("" if any(isinstance(i, ExportedRoom)
                                                    for i in items) else " []"))
            for item in items:
                if isinstance(item, SkippedRoom):
                    lines.append(f"      # skipped {printable(item.label)}:"
                                 f" {printable(item.reason)}")
                    continue
                lines += [f"      # {printable(note)}" for note in item.notes]
                room = block(item.fields, 8, escape=True)
                lines.append("      - " + room[0][8:])
                lines += room[1:]
    return "\n".join(lines) + "\n"


def block(data: Mapping[str, Any], indent: int, *, escape: bool) -> list[str]:
    if not data:
        return []
    text = _dump(_plain(data, escape))
    return [" " * indent + line for line in yaml_printable(text).splitlines()]


def scalar(value: str) -> str:
    return _dump(value).removesuffix("\n...\n").strip()


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
