"""One ASGI app serving every emulator under its provider's path prefix.

Each emulator is wrapped in the fault layer (request counting, fault injection); the
control API is mounted beside them at ``/_sandbox``, neither counted nor faulted.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from starlette.applications import Starlette
from starlette.routing import Mount

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.control import create_control_app
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.faults import FaultMiddleware, quiet_server_log

CONTROL_PREFIX = "/_sandbox"


def emulator_module(provider: str) -> ModuleType:
    return importlib.import_module(f"{PROVIDER_PACKAGES[provider]}.emulator")


def provider_prefix(provider: str) -> str:
    return f"/{provider}"


def resolve_modules(providers: tuple[str, ...],
                    modules: Mapping[str, ModuleType] | None = None) -> dict[str, ModuleType]:
    """provider -> emulator module; `modules` overrides (or adds, e.g. a test's fake)."""
    given = modules or {}
    return {p: given[p] if p in given else emulator_module(p) for p in providers}


def create_app(sandbox: Sandbox, providers: tuple[str, ...] = PROVIDERS,
               modules: Mapping[str, ModuleType] | None = None) -> Starlette:
    quiet_server_log()
    emulators = resolve_modules(providers, modules)
    routes = [Mount(CONTROL_PREFIX, app=create_control_app(sandbox, emulators))]
    routes += [Mount(provider_prefix(p),
                     app=FaultMiddleware(module.create_app(sandbox), sandbox, p, module))
               for p, module in emulators.items()]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
