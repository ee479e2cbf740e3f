"""`--sandbox`: run any command against the built-in emulators, with no account.

Every account of the rooms file is pointed at an in-process emulator, with credentials
the sandbox accepts; rooms live in a SQLite file (by default under `.reconcile/`), so
successive commands see each other's work.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconcile.config import AccountConfig, Config
from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

DEFAULT_DB = Path(".reconcile") / "sandbox.db"


def state_dir(db: Path) -> Path:
    """Where provider state (Kaleyra's) lives in sandbox runs, apart from the real one."""
    return db.parent / "sandbox-state"


def start(db: Path) -> SandboxServer:
    db.parent.mkdir(parents=True, exist_ok=True)
    return SandboxServer(Sandbox(str(db))).start()


def attach(config: Config, server: SandboxServer) -> Config:
    """`config` with every account pointed at the emulators and given sandbox credentials,
    which the sandbox now accepts. `config` itself is left as it was loaded."""
    accounts = {alias: _attached(account, server) for alias, account in config.accounts.items()}
    return dataclasses.replace(config, accounts=accounts)


def _attached(account: AccountConfig, server: SandboxServer) -> AccountConfig:
    connection = load_emulator(account.type).sandbox_connection(account.alias,
                                                                  account.settings)
    server.sandbox.register(account.type, connection.principal, connection.secret)
    endpoint = server.url(account.type) + connection.path
    return dataclasses.replace(
        account, settings=account.settings.model_copy(update={"endpoint": endpoint}),
        secrets=dict(connection.secrets))
