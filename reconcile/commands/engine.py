"""What `plan` and `apply` share: load the file, point at the sandbox, open the accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import click

from reconcile.config import Config, load
from reconcile.engine.provider import RunContext
from reconcile.engine.run import Run, open_accounts, select
from reconcile.errors import ConfigError, ReconcileError
from reconcile.exitcodes import ERROR

T = TypeVar("T")
DEFAULT_FILE = "rooms.yaml"

file_argument = click.argument("file", required=False, default=DEFAULT_FILE,
                               type=click.Path(dir_okay=False))
account_option = click.option("--account", "accounts", multiple=True, metavar="NAME",
                              help="Only these accounts (repeatable; globs allowed).")
target_option = click.option("--target", "targets", multiple=True, metavar="KEY",
                             help="Only rooms with these keys (repeatable; globs allowed).")


def fail(message: str, code: int = ERROR) -> None:
    click.echo(f"reconcile: {message}", err=True)
    raise SystemExit(code)


def run_engine(ctx: click.Context, file: str, accounts: tuple[str, ...], *,
               hold_locks: bool, lock_timeout: float | None,
               work: Callable[[Run, Config], Awaitable[T]]) -> T:
    """Load `file`, open the selected accounts (sandboxed when asked) and run `work`."""
    sandboxed = bool(ctx.obj.get("sandbox"))
    try:
        config = load(file, credentials=not sandboxed)
    except ConfigError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        fail(f"{file} is not valid: nothing was planned")
    chosen = select(config, accounts)
    if accounts and not chosen:
        fail(f"no account matches {', '.join(accounts)}")
    with ExitStack() as stack:
        context = RunContext(str(file), lock_timeout=lock_timeout)
        if sandboxed:
            from reconcile.sandbox import attach

            db = Path(ctx.obj.get("sandbox_db") or attach.DEFAULT_DB)
            server = attach.start(db)
            stack.callback(server.stop)
            attach.attach(config, server)
            context = RunContext(str(file), lock_timeout=lock_timeout,
                                 state_dir=attach.state_dir(db))

        async def main() -> T:
            async with open_accounts(chosen, context, hold_locks=hold_locks) as run:
                return await work(run, config)

        try:
            return asyncio.run(main())
        except ReconcileError as exc:
            fail(str(exc))
    raise AssertionError("unreachable")  # pragma: no cover - fail() exits
