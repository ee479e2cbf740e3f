"""Shared fixtures: a sandbox and servers that serve it over real loopback HTTP."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from reconcile import redact
from reconcile.config import AccountConfig, load
from reconcile.engine import planner
from reconcile.engine import provider as provider_module
from reconcile.engine.http import HttpClient, HttpSettings
from reconcile.engine.plan import AccountPlan
from reconcile.engine.provider import Provider
from reconcile.providers import provider_models
from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, PROVIDERS, Sandbox
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.sandbox.server import SandboxServer
from reconcile.starter import credential_variables, locators, starter_room

ROOT = Path(__file__).resolve().parent.parent
P = TypeVar("P", bound=Provider)
T = TypeVar("T")
# The day before Twilio's end of service: outputs do not change with the wall calendar.
# Tests of the end of service set their own day.
TEST_DAY = date(2026, 12, 4)


@pytest.fixture(autouse=True, scope="session")
def fixed_calendar() -> Iterator[None]:
    # Session-wide, so module-scoped fixtures that run commands see it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provider_module, "utc_today", lambda: TEST_DAY)
        yield


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
def log_stderr() -> Iterator[io.StringIO]:
    """The root handler as the CLI installs it (reconcile.redact), writing to a buffer;
    the logging set-up and the registered credentials restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    redact.install(logging.DEBUG, stream, "%(levelname)s %(name)s: %(message)s")
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    redact.forget_all()
    logging.captureWarnings(False)


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


# -- each provider's test data, in tests/providers/<name>/cases.py ----------------------------

def load_by_path(name: str, path: Path) -> ModuleType:
    """The module at `path`, as `name` (once): the tests' folders are no packages, so
    their helper modules are importable by name only when the root is on sys.path."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def cases(provider: str) -> ModuleType:
    """The provider's test data (`tests/providers/<provider>/cases.py`): what the shared
    tests' per-provider tables are built from, so a new provider adds a file, not entries."""
    path = ROOT / "tests" / "providers" / provider / "cases.py"
    if not path.is_file():
        raise LookupError(f"{path.relative_to(ROOT)} is missing: every registered"
                          " provider has one (see tests/providers/twilio/cases.py)")
    return load_by_path(f"tests.providers.{provider}.cases", path)


def per_provider(name: str) -> dict[str, Any]:
    """{provider: its cases.py's `name`} for every registered provider; one without it
    fails the collection of the module that asks, naming the file."""
    table = {}
    for provider in PROVIDERS:
        module = cases(provider)
        if not hasattr(module, name):
            raise LookupError(f"tests/providers/{provider}/cases.py defines no {name}")
        table[provider] = getattr(module, name)
    return table


def one_room(provider: str, key: str) -> str:
    """A room line of the provider's first kind keyed `key`, with only what it requires
    (as `init` writes a starter room)."""
    room = {**starter_room(provider_models(provider)), key_field(provider): key}
    flow = yaml.safe_dump(room, default_flow_style=True, sort_keys=False, width=1_000_000)
    return f"      - {flow.strip()}\n"


# The environment variables a rooms file from `rooms_file` reads, set to credentials the
# sandbox accepts out of the box, as each provider's folder declares them.
SANDBOX_ENVIRON: dict[str, str] = {
    variable: DECLARATIONS[provider].secrets[name] for provider in PROVIDERS
    for name, variable in credential_variables(provider, provider).items()}


def key_field(provider: str) -> str:
    """The field the provider's first room kind is keyed by, as a rooms file spells it."""
    room = provider_models(provider).kinds[0].model
    name = room.key_attribute()
    return room.model_fields[name].alias or name


def _stored_under(provider: str) -> str:
    """The account an emulator keeps such a file's rooms under (the control API's
    `account`): the default principal, or where any is accepted, the file's locator (a
    SignalWire space, a Metered app)."""
    principal = DEFAULT_CREDENTIALS[provider][0]
    return principal if principal != "*" else "".join(locators(provider).values())


SANDBOX_ACCOUNTS: dict[str, str] = {provider: _stored_under(provider) for provider in PROVIDERS}


def _account_lines(provider: str) -> tuple[str, str, str]:
    """The locator lines, the endpoint's path after the emulator's mount, and the
    credentials (a flow mapping, so each reference is quoted) of a provider's account,
    derived as `sandbox serve` derives them (reconcile.starter)."""
    values = locators(provider)
    path = load_emulator(provider).sandbox_connection(provider, SimpleNamespace(**values)).path
    credentials = ", ".join(f'{name}: "${{{variable}}}"' for name, variable
                            in credential_variables(provider, provider).items())
    return "".join(f"    {k}: {v}\n" for k, v in values.items()), path, f"{{{credentials}}}"


# Where a Kaleyra account of `rooms_file` keeps its state, beside the rooms file.
KALEYRA_STATE = "kaleyra-state.json"
# Where an account of such a file points: the server's emulator, a URL, or nowhere (None).
Endpoint = SandboxServer | str | None


def _account(server: Endpoint, provider: str, rooms: str | Mapping[str, str], extra: str,
             state: str | None) -> str:
    """One account's lines under `providers:` (see `rooms_file`)."""
    locator_lines, path_after, credentials = _account_lines(provider)
    if provider == "kaleyra" and state:
        locator_lines += f"    state: {state}\n"
    endpoint = f"{server.url(provider)}{path_after}" if isinstance(server, SandboxServer) \
        else server
    kinds = {"rooms": rooms} if isinstance(rooms, str) else rooms
    return (f"  {provider}:\n{locator_lines}"
            + (f"    endpoint: {endpoint}\n" if endpoint else "")
            + f"    credentials: {credentials}\n{extra}"
            + "".join(f"    {kind}:\n{lines}" for kind, lines in kinds.items()))


def rooms_file(tmp_path: Path, server: Endpoint, provider: str,
               rooms: str | Mapping[str, str], extra: str = "", *,
               state: str | None = KALEYRA_STATE) -> Path:
    """A rooms file with one account of `provider` (named after it) on the sandbox, reading
    SANDBOX_ENVIRON: `rooms` are its room lines, `extra` more account settings (both
    indented as in the file). A Kaleyra state file goes beside it, in `tmp_path`.

    `server` may instead be an endpoint URL (used as it is), or None for no endpoint (the
    provider's real host); `rooms` may map each kind to its lines (SignalWire's rooms and
    conferences); `state` is Kaleyra's setting, None for none (the default place)."""
    return accounts_file(tmp_path, server, {provider: rooms}, {provider: extra}, state=state)


def accounts_file(tmp_path: Path, server: Endpoint, rooms: Mapping[str, str | Mapping[str, str]],
                  extra: Mapping[str, str] | None = None, *,
                  state: str | None = KALEYRA_STATE) -> Path:
    """A rooms file with one account per provider that `rooms` names, each as `rooms_file`
    writes it: `rooms[provider]` its room lines, `extra[provider]` its extra settings."""
    accounts = "".join(_account(server, provider, lines, (extra or {}).get(provider, ""), state)
                       for provider, lines in rooms.items())
    path = tmp_path / "rooms.yaml"
    path.write_text(f"version: 1\nproviders:\n{accounts}")
    return path


def telnyx_rooms_file(tmp_path: Path, server: SandboxServer, rooms: str, extra: str = ""
                      ) -> Path:
    """A rooms file with one Telnyx account on the sandbox: `rooms` are its room lines,
    `extra` more account settings (both indented as in the file)."""
    return rooms_file(tmp_path, server, "telnyx", rooms, extra)


def load_account(path: Path, provider: str, environ: Mapping[str, str] = SANDBOX_ENVIRON
                 ) -> AccountConfig:
    """The rooms file's account named after `provider`, its credentials read from `environ`."""
    return load(path, environ).accounts[provider]


def connected(adapter: type[P], account: AccountConfig, use: Callable[[P], Awaitable[T]], *,
              http: Callable[[AccountConfig], HttpClient] | None = None, **options: Any) -> T:
    """`use(provider)`, with an adapter of `account` talking to the sandbox over real HTTP:
    on the client `http(account)` builds, else the one the core builds
    (`adapter.connect(account)`). `options` go to the adapter (Kaleyra's `state`)."""
    async def main() -> T:
        async with (http or adapter.connect)(account) as client:
            return await use(adapter(account, client, **options))

    return asyncio.run(main())


def plan_file(adapter: type[Provider], path: Path) -> AccountPlan:
    """What `adapter` plans, on the core's client, for the rooms file's account named after
    its type (credentials from SANDBOX_ENVIRON)."""
    return connected(adapter, load_account(path, adapter.type), planner.plan)


Sent = tuple[str, str, Any]  # a request's method, path and JSON body


class RecordingHttp(HttpClient):
    """The real client, noting each request's method, path and JSON body in `sent`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Sent] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.sent.append((method, path, kwargs.get("json")))
        return await super().request(method, path, **kwargs)

    @classmethod
    def of(cls, adapter: type[Provider], settings: HttpSettings | None = None
           ) -> Callable[[AccountConfig], RecordingHttp]:
        """What `connected` takes as `http`: a recording client on the adapter's base URL
        and credentials, with `settings` (no write limit or extra connections)."""
        return lambda account: cls(adapter.base_url(account), auth=adapter.auth(account),
                                   settings=settings)


def sent(provider: Provider) -> list[Sent]:
    """What a provider on a RecordingHttp has sent so far."""
    assert isinstance(provider.http, RecordingHttp)
    return provider.http.sent


def example_rooms() -> int:
    """How many rooms examples/rooms.yaml declares: the changes it plans on an empty
    sandbox (it grows with each provider, so tests read it instead of a number)."""
    config = load(ROOT / "examples" / "rooms.yaml", credentials=False)
    return sum(len(rooms) for account in config.accounts.values()
               for rooms in account.rooms.values())


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (pyproject's addopts): two workers per CPU. About half of the suite's time
    is spent waiting on subprocesses, sockets and timeouts, which a second worker per core
    fills: on 2 cores, the suite took 247 s on 2 workers and 167 s on 4, back to back.
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return 2 * len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else 2 * (os.cpu_count() or 1)
