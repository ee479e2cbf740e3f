"""`reconcile sandbox serve`: the five emulators and the control API over real HTTP."""

from __future__ import annotations

import importlib
import signal
import sqlite3
import sys
from types import ModuleType
from typing import TYPE_CHECKING

import click

from reconcile.engine.http import is_loopback
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, PROVIDERS

if TYPE_CHECKING:
    from reconcile.sandbox.server import SandboxServer

# Fixed by default, so the endpoints in a rooms file keep working from run to run.
DEFAULT_PORT = 8787

# How each provider names its two credentials in the rooms file.
_CREDENTIAL_NAMES: dict[str, tuple[str, str]] = {
    "twilio": ("account_sid", "auth_token"),
    "telnyx": ("api_key", "api_key"),
    "signalwire": ("project_id", "token"),
    "metered": ("app", "secret_key"),
    "kaleyra": ("api_key", "api_key"),
}




def credential_line(provider: str) -> str:
    principal, secret = DEFAULT_CREDENTIALS[provider]
    first, second = _CREDENTIAL_NAMES.get(provider, ("principal", "secret"))
    if first == second:  # one key is both principal and secret
        return f"{first}={secret}"
    shown = "(any)" if principal == "*" else principal
    return f"{first}={shown} {second}={secret}"


def _emulators(specs: tuple[str, ...]) -> dict[str, ModuleType]:
    """--emulator NAME=MODULE: serve a module of the emulator contract (tests, plugins)."""
    modules: dict[str, ModuleType] = {}
    for spec in specs:
        name, sep, module = spec.partition("=")
        if not sep or not name or not module:
            raise click.BadParameter(f"expected NAME=MODULE, got {spec!r}",
                                     param_hint="--emulator")
        modules[name] = importlib.import_module(module)
    return modules


@click.group()
def sandbox() -> None:
    """Run the built-in emulators of the five providers' room APIs."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind. Only loopback unless --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="SQLite file that keeps rooms (and the clock) across runs; "
                   "in memory when omitted.")
@click.option("--latency-ms", type=click.FloatRange(0, 60_000), default=0,
              help="Added latency on every provider request.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of generated ids and injected faults, so runs repeat.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host. The sandbox has no real security.")
@click.option("--provider", "providers", multiple=True, type=click.Choice(PROVIDERS),
              help="Serve only these providers (repeatable); all by default.")
@click.option("--emulator", "emulators", multiple=True, hidden=True,
              help="NAME=MODULE: also serve a module of the emulator contract.")
def serve(host: str, port: int, db: str | None, latency_ms: float, seed: int,
          allow_remote: bool, providers: tuple[str, ...], emulators: tuple[str, ...]) -> None:
    """Serve the emulators and the control API until interrupted (Ctrl+C)."""
    if not is_loopback(host):
        if not allow_remote:
            raise click.UsageError(
                f"refusing to listen on {host}, which is not a loopback address: the sandbox"
                " accepts well-known credentials. Pass --allow-remote to do it anyway.")
        click.echo(f"warning: listening on {host}: anyone who can reach it can use the"
                   " sandbox, whose credentials are public.", err=True)
    # Imported here so that `reconcile sandbox --help` stays fast.
    from reconcile.files import FileRefused
    from reconcile.sandbox.core import Sandbox
    from reconcile.sandbox.faults import FaultConfig, set_faults
    from reconcile.sandbox.server import SandboxServer

    extra = _emulators(emulators)
    served = tuple(dict.fromkeys(providers or (() if extra else PROVIDERS))) + tuple(extra)
    try:
        box = Sandbox(db, seed=seed)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot open the database {db}: {exc}") from exc
    except FileRefused as exc:
        raise click.ClickException(str(exc)) from exc
    if latency_ms:
        for provider in served:
            set_faults(box, provider, FaultConfig(latency_ms=latency_ms))
    try:
        server = SandboxServer(box, host=host, port=port, providers=served, modules=extra)
    except OSError as exc:
        box.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    # Until uvicorn takes the signals over (and after: it re-raises the one that stopped
    # it), a signal just asks the server to exit, so that we exit 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.request_exit())
    _announce(server, served)
    try:
        server.run()
    finally:
        box.close()
    click.echo("sandbox stopped", err=True)


def _announce(server: SandboxServer, providers: tuple[str, ...]) -> None:
    width = max(map(len, providers), default=0) + 2
    lines = [f"reconcile sandbox listening on {server.base_url}",
             f"control API: {server.control_url}", "",
             "endpoints (use as `endpoint:` in the rooms file):"]
    lines += [f"  {p:<{width}}{server.url(p)}" for p in providers]
    lines += ["", "default credentials:"]
    lines += [f"  {p:<{width}}{credential_line(p)}" for p in providers
              if p in DEFAULT_CREDENTIALS]
    lines += ["", "Press Ctrl+C to stop."]
    click.echo("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    sandbox()
