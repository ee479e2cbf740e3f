"""One ASGI app serving every emulator under its provider's path prefix."""

from __future__ import annotations

import importlib
from types import ModuleType

from starlette.applications import Starlette
from starlette.routing import Mount

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.core import PROVIDERS, Sandbox


def emulator_module(provider: str) -> ModuleType:
    return importlib.import_module(f"{PROVIDER_PACKAGES[provider]}.emulator")


def provider_prefix(provider: str) -> str:
    return f"/{provider}"


def create_app(sandbox: Sandbox, providers: tuple[str, ...] = PROVIDERS) -> Starlette:
    routes = [Mount(provider_prefix(p), app=emulator_module(p).create_app(sandbox))
              for p in providers]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
