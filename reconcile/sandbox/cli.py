"""`reconcile sandbox serve`: every registered provider's emulator and the control API over
real HTTP."""

from __future__ import annotations

import shlex
import signal
import sqlite3
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from reconcile.about import provider_names
from reconcile.engine.http import is_loopback
from reconcile.sandbox.core import PROVIDERS

if TYPE_CHECKING:
    from reconcile.sandbox.emulator import Emulator
    from reconcile.sandbox.server import SandboxServer

# Fixed by default, so the endpoints in a rooms file keep working from run to run.
DEFAULT_PORT = 8787



def pasteable(server: SandboxServer, providers: tuple[str, ...]) -> tuple[list[str], str]:
    """For the served providers: the shell lines that set the sandbox's credentials, and
    a rooms file whose accounts use them, each as `--sandbox` would point it (the same
    endpoint segment, the same credentials, so both see the same rooms)."""
    from reconcile.sandbox.app import load_emulator
    from reconcile.starter import account_yaml, credential_variables, locators

    exports: list[str] = []
    accounts: list[str] = []
    for provider in providers:
        values = locators(provider)
        connection = load_emulator(provider).sandbox_connection(
            provider, SimpleNamespace(**values))
        server.sandbox.register(provider, connection.principal, connection.secret)
        variables = credential_variables(provider, provider)
        exports += [f"export {variables[name]}={shlex.quote(value)}"
                    for name, value in connection.secrets.items()]
        accounts.append(account_yaml(provider, endpoint=server.url(provider) + connection.path,
                                     values=values))
    return exports, "version: 1\nproviders:\n" + "".join(accounts)


def _emulators(specs: tuple[str, ...]) -> dict[str, Emulator]:
    """--emulator NAME=MODULE: serve the EMULATOR a module exports (tests, plugins)."""
    from reconcile.sandbox.app import found_in

    emulators: dict[str, Emulator] = {}
    for spec in specs:
        name, sep, module = spec.partition("=")
        if not sep or not name or not module:
            raise click.BadParameter(f"expected NAME=MODULE, got {spec!r}",
                                     param_hint="--emulator")
        try:
            emulators[name] = found_in(module)
        except TypeError as exc:
            raise click.BadParameter(str(exc), param_hint="--emulator") from exc
    return emulators


@click.group(help=f"Run the built-in emulators of the providers' room APIs: {provider_names()}.")
def sandbox() -> None:
    pass


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
              help="NAME=MODULE: also serve the EMULATOR that MODULE exports.")
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
        server = SandboxServer(box, host=host, port=port, providers=served, emulators=extra)
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
             "emulators (an account's `endpoint:` adds its /<space>, /<app> or /<region>):"]
    lines += [f"  {p:<{width}}{server.url(p)}" for p in providers]
    exports, rooms_file = pasteable(server, tuple(p for p in providers if p in PROVIDERS))
    if exports:
        lines += ["", "# 1. In your shell: credentials the sandbox accepts", *exports, "",
                  "# 2. A rooms file for it (keep the accounts you want):",
                  rooms_file.rstrip("\n")]
    lines += ["", "Press Ctrl+C to stop."]
    click.echo("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    sandbox()
