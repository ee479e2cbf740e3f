"""Emulators with a test's own ASGI layer around them (inside the sandbox's fault layer),
for SandboxServer(modules=...): to count, kill or answer as a test needs."""

from __future__ import annotations

import types
from collections.abc import Callable

from starlette.types import ASGIApp

from reconcile.sandbox.app import emulator_module


def wrapped(provider: str, wrap: Callable[[ASGIApp], ASGIApp]) -> types.ModuleType:
    """The provider's emulator module, its app wrapped by `wrap`."""
    real = emulator_module(provider)
    module = types.ModuleType(real.__name__)
    module.__dict__.update(real.__dict__)
    module.create_app = lambda sandbox: wrap(real.create_app(sandbox))
    return module
