"""Shared fixtures: a sandbox and servers that serve it over real loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def module_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """One real loopback server per test module: stopping uvicorn costs ~0.2 s, too much
    to pay per test. A module may set SANDBOX_PROVIDERS to serve only some emulators."""
    providers = getattr(request.module, "SANDBOX_PROVIDERS", PROVIDERS)
    box = Sandbox(seed=1234)
    with SandboxServer(box, providers=providers) as server:
        yield server
    box.close()


@pytest.fixture
def sandbox(module_server: SandboxServer) -> Sandbox:
    """The module server's sandbox, reset: fresh rooms, clock, counters, faults, seed."""
    module_server.sandbox.reset()
    return module_server.sandbox


@pytest.fixture
def server(module_server: SandboxServer, sandbox: Sandbox) -> SandboxServer:
    """The module's server, serving a freshly reset sandbox."""
    return module_server


@pytest.fixture
def serve(sandbox: Sandbox) -> Iterator[Callable[..., SandboxServer]]:
    """serve("twilio") starts a loopback server with just those emulators."""
    servers: list[SandboxServer] = []

    def start(*providers: str) -> SandboxServer:
        server = SandboxServer(sandbox, providers=providers) if providers else \
            SandboxServer(sandbox)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def provider_specs() -> Path:
    """The official OpenAPI documents, when RECONCILE_PROVIDER_SPECS names their folder."""
    folder = os.environ.get("RECONCILE_PROVIDER_SPECS")
    if not folder:
        pytest.skip("RECONCILE_PROVIDER_SPECS is not set: no official specs to check against")
    path = Path(folder)
    if not path.is_dir():
        pytest.skip(f"RECONCILE_PROVIDER_SPECS={folder} is not a directory")
    return path


def telnyx_rooms_file(tmp_path: Path, server: SandboxServer, rooms: str, extra: str = ""
                      ) -> Path:
    """A rooms file with one Telnyx account on the sandbox: `rooms` are its room lines,
    `extra` more account settings (both indented as in the file)."""
    path = tmp_path / "rooms.yaml"
    path.write_text(f"""\
version: 1
providers:
  telnyx:
    endpoint: {server.url("telnyx")}
    credentials: {{api_key: "${{TELNYX_API_KEY}}"}}
{extra}    rooms:
{rooms}""")
    return path
