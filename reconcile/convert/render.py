"""`convert`'s output: the input file as written, with the new account added at the end
of `providers:`, each converted room preceded by comments saying what it lost."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from reconcile.convert.account import Conversion
from reconcile.messages import printable
from reconcile.outputs.yaml_export import block, scalar


class CannotInsert(Exception):
    """The file's `providers:` is not a block mapping a new account can be added to."""


def account_lines(alias: str, kind: str, conversion: Conversion, indent: int,
                  header: str) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}{scalar(alias)}:", f"{pad}  # {printable(header)}"]
    lines += [f"{pad}  # {printable(note)}" for note in conversion.notes]
    lines += block(conversion.settings, indent + 2, escape=False)
    lines.append(f"{pad}  {kind}:" + ("" if conversion.rooms else " []"))
    for room, comments in zip(conversion.rooms, conversion.comments, strict=True):
        lines += [f"{pad}    # {printable(comment)}" for comment in comments]
        body = block(room, indent + 6, escape=False)
        lines.append(f"{pad}    - " + body[0][indent + 6:])
        lines += body[1:]
    return lines


def with_account(text: str, lines_for: Callable[[int], list[str]]) -> str:
    """`text` with the lines `lines_for(indent)` gives added as the last account."""
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    providers = next(value for key, value in root.value if key.value == "providers") \
        if root is not None else None  # an empty file has no node at all
    if not isinstance(providers, yaml.MappingNode) or providers.flow_style \
            or not providers.value:
        raise CannotInsert("`providers:` must be a block mapping (an account per indented"
                           " block) for convert to add an account to it")
    indent = providers.value[0][0].start_mark.column
    # Where the block ends, not where its last value does: a value that is an alias
    # (`tel: *acct`) ends where its anchor does, maybe in another part of the file.
    end = providers.end_mark
    existing = text.splitlines(keepends=True)
    at = end.line if end.column == 0 else end.line + 1
    # Blank lines and comments left of the accounts belong to what follows.
    while at > 0 and (not existing[at - 1].strip() or _outdented_comment(existing[at - 1],
                                                                          indent)):
        at -= 1
    newline = "\r\n" if "\r\n" in text else "\n"
    head = existing[:at]
    if head and not head[-1].endswith(("\n", "\r")):
        head[-1] += newline
    added = [line + newline for line in lines_for(indent)]
    return "".join(head + added + existing[at:])


def _outdented_comment(line: str, indent: int) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") and len(line) - len(stripped) < indent
