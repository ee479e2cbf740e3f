"""`${NAME}` references to environment variables inside string values.

`validate` only checks their syntax; commands that talk to providers resolve them.
`$${` is a literal `${`. A variable that is set but empty is refused like an unset one:
an empty credential would only be sent, refused and retried, and an empty piece of a
room's value is far more often a pipeline's missing secret than a choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{")
_REFERENCE = re.compile(r"\$\{(" + _NAME + r")\}")
WHOLE_REFERENCE = re.compile(r"^\$\{(" + _NAME + r")\}$")


class MissingVariable(Exception):
    """A referenced variable that is not set, or (`empty`) set to the empty string."""

    def __init__(self, name: str, *, empty: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.empty = empty

    @property
    def message(self) -> str:
        state = "is set but empty" if self.empty else "is not set"
        return f"environment variable `{self.name}` {state}"


def unsendable(value: str) -> str | None:
    """Why a resolved credential cannot go in an HTTP header, else None: a control
    character (most often the line break a secrets file ends with) or a non-ASCII one.
    httpx raised a bare ValueError or UnicodeEncodeError for them, mid-run."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds a control character (a line break?), which no HTTP header can carry"
    if not value.isascii():
        return "holds a non-ASCII character, which no provider's credential has"
    return None


def variable_for(account: str, field: str) -> str:
    """The environment variable a credential is suggested to come from: TELNYX_API_KEY for
    `api_key` of the account `telnyx` (messages, `init`, `sandbox serve`)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{account}_{field}").upper()
    return name if name[:1].isalpha() or name[:1] == "_" else f"_{name}"  # no digit first


def names(value: str) -> list[str]:
    """The variables a value refers to, in order (`$${` escapes are no references)."""
    found: list[str] = []
    for match in _TOKEN.finditer(value):
        reference = _REFERENCE.match(value, match.start()) if match.group() == "${" else None
        if reference is not None:
            found.append(reference.group(1))
    return found


def has_reference(value: str) -> bool:
    """Whether the value holds an unescaped `${`."""
    return any(m.group() == "${" for m in _TOKEN.finditer(value))


def syntax_error(value: str) -> str | None:
    """A message when the value holds a malformed reference, else None."""
    for match in _TOKEN.finditer(value):
        if match.group() == "$${":
            continue
        reference = _REFERENCE.match(value, match.start())
        if reference is None:
            return _explain(value[match.start():])
    return None


def _explain(fragment: str) -> str:
    body, closed, _ = fragment[2:].partition("}")
    shown = fragment[: min(len(fragment), 40)]
    if not closed:
        return f"unterminated reference `{shown}`: write `${{NAME}}`"
    if not body:
        return "empty reference `${}`: write `${NAME}`"
    if ":" in body or "-" in body:
        return (f"reference `${{{body}}}` is not supported: only plain `${{NAME}}` works,"
                " without defaults or modifiers")
    return (f"`${{{body}}}` is not a valid variable name: use letters, digits and `_`,"
            " not starting with a digit (write `$${` for a literal `${`)")


def resolve(value: str, environ: Mapping[str, str]) -> str:
    """Substitute every reference; `$${` becomes `${`. Raises MissingVariable for a
    variable unset or empty."""
    out: list[str] = []
    position = 0
    # Tokens never overlap a reference (a name holds no `$`), so each starts at or after
    # `position`.
    for match in _TOKEN.finditer(value):
        out.append(value[position:match.start()])
        if match.group() == "$${":
            out.append("${")
            position = match.end()
            continue
        reference = _REFERENCE.match(value, match.start())
        if reference is None:  # validated earlier; keep it verbatim rather than guess
            out.append(match.group())
            position = match.end()
            continue
        name = reference.group(1)
        if not environ.get(name):
            raise MissingVariable(name, empty=name in environ)
        out.append(environ[name])
        position = reference.end()
    out.append(value[position:])
    return "".join(out)
