"""Emulators with a test's own ASGI layer around them (inside the sandbox's fault layer),
for SandboxServer(emulators=...): to count, kill or answer as a test needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from starlette.types import ASGIApp

from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.emulator import Emulator, EmulatorParts


def wrapped(provider: str, wrap: Callable[[ASGIApp], ASGIApp]) -> Emulator:
    """The provider's emulator, its app wrapped by `wrap`."""
    real = load_emulator(provider)
    assert isinstance(real, EmulatorParts)
    return dataclasses.replace(real, create_app=lambda sandbox: wrap(real.create_app(sandbox)))
