"""Shared fixtures: a sandbox and servers that serve it over real loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconcile.sandbox.core import DEFAULT_CREDENTIALS, PROVIDERS, Sandbox
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


# The environment variables a rooms file from `rooms_file` reads, set to credentials the
# sandbox accepts out of the box (a SignalWire project or Metered app may be any name).
SANDBOX_ENVIRON: dict[str, str] = {
    "TWILIO_ACCOUNT_SID": DEFAULT_CREDENTIALS["twilio"][0],
    "TWILIO_AUTH_TOKEN": DEFAULT_CREDENTIALS["twilio"][1],
    "TELNYX_API_KEY": DEFAULT_CREDENTIALS["telnyx"][1],
    "SIGNALWIRE_PROJECT_ID": "sandbox-project",
    "SIGNALWIRE_TOKEN": DEFAULT_CREDENTIALS["signalwire"][1],
    "METERED_SECRET_KEY": DEFAULT_CREDENTIALS["metered"][1],
    "KALEYRA_API_KEY": DEFAULT_CREDENTIALS["kaleyra"][1],
}
# What each emulator stores the rooms of such a file under (the control API's `account`).
SANDBOX_ACCOUNTS: dict[str, str] = {
    "twilio": DEFAULT_CREDENTIALS["twilio"][0], "telnyx": DEFAULT_CREDENTIALS["telnyx"][0],
    "signalwire": "acme", "metered": "acme", "kaleyra": DEFAULT_CREDENTIALS["kaleyra"][0]}
# Per provider: the locator lines, the endpoint's path after the emulator's mount, and the
# credentials (flow mappings, so each reference is quoted).
_ACCOUNT_LINES: dict[str, tuple[str, str, str]] = {
    "twilio": ("", "", '{account_sid: "${TWILIO_ACCOUNT_SID}",'
                       ' auth_token: "${TWILIO_AUTH_TOKEN}"}'),
    "telnyx": ("", "", '{api_key: "${TELNYX_API_KEY}"}'),
    "signalwire": ("    space: acme\n", "/acme",
                   '{project_id: "${SIGNALWIRE_PROJECT_ID}", token: "${SIGNALWIRE_TOKEN}"}'),
    "metered": ("    app: acme\n", "/acme", '{secret_key: "${METERED_SECRET_KEY}"}'),
    "kaleyra": ("    region: eu\n    state: kaleyra-state.json\n", "/eu",
                '{api_key: "${KALEYRA_API_KEY}"}'),
}


def rooms_file(tmp_path: Path, server: SandboxServer, provider: str, rooms: str,
               extra: str = "") -> Path:
    """A rooms file with one account of `provider` (named after it) on the sandbox, reading
    SANDBOX_ENVIRON: `rooms` are its room lines, `extra` more account settings (both
    indented as in the file). A Kaleyra state file goes beside it, in `tmp_path`."""
    locators, path_after, credentials = _ACCOUNT_LINES[provider]
    path = tmp_path / "rooms.yaml"
    path.write_text(f"""\
version: 1
providers:
  {provider}:
{locators}    endpoint: {server.url(provider)}{path_after}
    credentials: {credentials}
{extra}    rooms:
{rooms}""")
    return path


def telnyx_rooms_file(tmp_path: Path, server: SandboxServer, rooms: str, extra: str = ""
                      ) -> Path:
    """A rooms file with one Telnyx account on the sandbox: `rooms` are its room lines,
    `extra` more account settings (both indented as in the file)."""
    return rooms_file(tmp_path, server, "telnyx", rooms, extra)
