"""Every registered provider's sandbox declaration, loaded from its folder: the one place
the sandbox's per-provider tables (default credentials, hostile answer shapes) come from."""

from __future__ import annotations

import importlib

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.declaration import SandboxDeclaration


def declaration(provider: str) -> SandboxDeclaration:
    """The provider's `SANDBOX`; a registered provider without one is an error."""
    name = f"{PROVIDER_PACKAGES[provider]}.sandbox"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        module = None
    found = getattr(module, "SANDBOX", None)
    if not isinstance(found, SandboxDeclaration):
        raise TypeError(f"{name} must define SANDBOX, a SandboxDeclaration "
                        f"(the {provider} emulator's credentials and hostile answer shape)")
    return found


DECLARATIONS: dict[str, SandboxDeclaration] = {p: declaration(p) for p in PROVIDER_PACKAGES}
