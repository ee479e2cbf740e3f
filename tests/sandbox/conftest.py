"""Fixtures for the sandbox machinery: a fake emulator served with the fault layer and
the control API, and a control client."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import load_by_path, per_provider

FAKE_TOKEN = "KEYfake"
FAKE_PATH = Path(__file__).with_name("fake_emulator.py")


def load_fake() -> ModuleType:
    return load_by_path("tests.sandbox.fake_emulator", FAKE_PATH)


@pytest.fixture
def fake() -> ModuleType:
    return load_fake()


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[SandboxServer]:
    """One server per test module (starting and stopping one takes ~0.2 s)."""
    box = Sandbox(seed=1234)
    emulators = {"fake": load_fake().EMULATOR}
    with SandboxServer(box, providers=("fake",), emulators=emulators) as server:
        yield server
    box.close()


@pytest.fixture
def sandbox(_shared_server: SandboxServer) -> Sandbox:
    """The shared server's sandbox, reset: fresh rooms, clock, counters, faults, seed."""
    box = _shared_server.sandbox
    box.reset()
    box.faults.clear()
    box.register("fake", FAKE_TOKEN, FAKE_TOKEN)
    return box


@pytest.fixture
def fake_server(sandbox: Sandbox, _shared_server: SandboxServer) -> SandboxServer:
    return _shared_server


@pytest.fixture
def control(fake_server: SandboxServer) -> Iterator[SandboxControl]:
    with SandboxControl(fake_server.base_url) as client:
        yield client


@pytest.fixture
def api(fake_server: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the fake emulator, authenticated as FAKE_TOKEN."""
    with httpx.Client(base_url=fake_server.url("fake"), timeout=10,
                      headers={"Authorization": f"Bearer {FAKE_TOKEN}"}) as client:
        yield client


# -- the real emulators ------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """How to reach one real emulator: its account, a seedable kind and an authenticated
    list request (path relative to the emulator's root)."""

    account: str
    kind: str
    seed: dict[str, Any]
    list_path: str
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    register: tuple[str, str] | None = None  # credentials to register first, if not default


# Each provider's, from its tests/providers/<name>/cases.py `PROBE`.
PROBES: dict[str, Probe] = {provider: Probe(**probe)
                            for provider, probe in per_provider("PROBE").items()}
# A second account of each provider, to check that budgets are per account.
OTHER_PROBES: dict[str, Probe] = {provider: Probe(**probe)
                                  for provider, probe in per_provider("OTHER_PROBE").items()}


def real_emulators_present() -> bool:
    return all(importlib.util.find_spec(f"{package}.emulator") is not None
               for package in PROVIDER_PACKAGES.values())


needs_real_emulators = pytest.mark.skipif(not real_emulators_present(),
                                          reason="the registered emulators are not all here yet")


@pytest.fixture(scope="module")
def real_server() -> Iterator[SandboxServer]:
    """Every registered real emulator, one server per test module; reset before each use."""
    box = Sandbox(seed=1234)
    with SandboxServer(box) as server:
        yield server
    box.close()


@pytest.fixture
def real(real_server: SandboxServer) -> SandboxServer:
    real_server.sandbox.reset()
    real_server.sandbox.faults.clear()
    return real_server


def probe_get(server: SandboxServer, provider: str, probe: Probe | None = None,
              **kwargs: Any) -> httpx.Response:
    probe = probe or PROBES[provider]
    if probe.register is not None:
        server.sandbox.register(provider, *probe.register)
    return httpx.get(server.url(provider) + probe.list_path, headers=probe.headers,
                     auth=probe.auth, **kwargs)
