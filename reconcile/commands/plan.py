"""`reconcile plan`: what apply would change, read from the providers' live rooms."""

from __future__ import annotations

import click

from reconcile.commands.engine import account_option, file_argument, run_engine
from reconcile.config import Config
from reconcile.engine.plan import Plan
from reconcile.engine.run import Run
from reconcile.exitcodes import CHANGES, OK


@click.command()
@file_argument
@account_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes, 0 when it has none (1: error).")
@click.pass_context
def plan(ctx: click.Context, file: str, accounts: tuple[str, ...],
         detailed_exitcode: bool) -> None:
    """Show what `apply` would change on the providers (reads only)."""
    from reconcile.outputs.text import render_plan

    async def work(run: Run, config: Config) -> Plan:
        return await run.plan()

    result = run_engine(ctx, file, accounts, hold_locks=False, lock_timeout=None, work=work)
    click.echo(render_plan(result), nl=False)
    raise SystemExit(CHANGES if detailed_exitcode and result.has_changes else OK)
