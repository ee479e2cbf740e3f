"""The sandbox page's generated span (docs/sandbox.md): each provider's default credentials
and base URL, from its folder's sandbox declaration and locators.

`python -m reconcile.sandbox.docs` rewrites it (as `python -m reconcile.about` does the
README's spans; this one lives beside the sandbox, which production code does not import).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconcile.about import Render, about, enumerate_words, main
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.starter import locators

FILES = ("docs/sandbox.md",)


def _credentials(provider: str) -> str:
    """The credentials accepted by default, by their rooms-file names; "any" where the
    sandbox takes any principal (a SignalWire project, a Metered app)."""
    declared = DECLARATIONS[provider]
    principal, secret = declared.credentials
    shown = [f"`{name}` " + ("any" if principal == "*" and value != secret else f"`{value}`")
             for name, value in declared.secrets.items()]
    if principal == "*" and len(declared.secrets) == 1:  # the principal is a locator
        shown.insert(0, " ".join(f"any `{name}`" for name in locators(provider)))
    return ", ".join(shown)


def _defaults(target: Path) -> str:
    rows = ["| provider | credentials accepted by default | base URL (after the server's) |",
            "| --- | --- | --- |"]
    rows += [f"| {about(p).name} | {_credentials(p)} | `/{p}"
             + "".join(f"/<{name}>" for name in locators(p)) + "` |"
             for p in PROVIDER_PACKAGES]
    return "\n".join(rows)


def _stored_under(target: Path) -> str:
    """What each emulator keeps an account's rooms under: the principal's credential, or
    where it takes any principal, the locator."""
    said = []
    for provider in PROVIDER_PACKAGES:
        declared = DECLARATIONS[provider]
        principal = declared.credentials[0]
        names = [name for name, value in declared.secrets.items() if value == principal] \
            if principal != "*" else list(locators(provider))
        said.append(f"{about(provider).name} `{names[0]}`")
    return enumerate_words(said)


BLOCKS: dict[str, Render] = {"sandbox-defaults": _defaults, "sandbox-accounts": _stored_under}

if __name__ == "__main__":
    main(sys.argv[1:], FILES, BLOCKS)
