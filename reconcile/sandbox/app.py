"""One ASGI app serving every emulator under its provider's path prefix.

Each emulator is wrapped in the fault layer (request counting, fault injection); the
control API is mounted beside them at ``/_sandbox``, neither counted nor faulted.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.routing import Mount

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.control import create_control_app
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.emulator import Emulator
from reconcile.sandbox.faults import FaultMiddleware, quiet_server_log

CONTROL_PREFIX = "/_sandbox"


def found_in(module_name: str) -> Emulator:
    """The `EMULATOR` a module exports; a module without one is an error."""
    module = importlib.import_module(module_name)
    found = getattr(module, "EMULATOR", None)  # the one place the contract is looked up
    if not isinstance(found, Emulator):
        raise TypeError(f"{module_name} must define EMULATOR, an object of the emulator "
                        "contract (reconcile.sandbox.emulator.Emulator)")
    return found


def load_emulator(provider: str) -> Emulator:
    """A registered provider's emulator, from `<its package>.emulator`."""
    return found_in(f"{PROVIDER_PACKAGES[provider]}.emulator")


def provider_prefix(provider: str) -> str:
    return f"/{provider}"


def resolve(providers: tuple[str, ...], emulators: Mapping[str, Emulator] | None = None
            ) -> dict[str, Emulator]:
    """provider -> emulator; `emulators` overrides (or adds, e.g. a test's fake)."""
    given = emulators or {}
    return {p: given[p] if p in given else load_emulator(p) for p in providers}


def create_app(sandbox: Sandbox, providers: tuple[str, ...] = PROVIDERS,
               emulators: Mapping[str, Emulator] | None = None) -> Starlette:
    quiet_server_log()
    served = resolve(providers, emulators)
    routes = [Mount(CONTROL_PREFIX, app=create_control_app(sandbox, served))]
    routes += [Mount(provider_prefix(p),
                     app=FaultMiddleware(emulator.create_app(sandbox), sandbox, p, emulator))
               for p, emulator in served.items()]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
