"""One ASGI app serving every emulator under its provider's path prefix."""

from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.routing import Mount

from reconcile.sandbox.core import PROVIDERS, Sandbox


def emulator_module(provider: str):  # noqa: ANN201 - a module
    return importlib.import_module(f"reconcile.providers.{provider}.emulator")


def provider_prefix(provider: str) -> str:
    return f"/{provider}"


def create_app(sandbox: Sandbox, providers: tuple[str, ...] = PROVIDERS) -> Starlette:
    routes = [Mount(provider_prefix(p), app=emulator_module(p).create_app(sandbox))
              for p in providers]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
