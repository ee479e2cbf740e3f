"""`reconcile apply`: make the providers match the rooms file."""

from __future__ import annotations

import sys

import click

from reconcile.commands.engine import account_option, fail, file_argument, run_engine
from reconcile.config import Config
from reconcile.engine.apply import Outcome
from reconcile.engine.rails import check
from reconcile.engine.run import Run
from reconcile.exitcodes import BLOCKED, ERROR, OK


@click.command()
@file_argument
@account_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--force", is_flag=True,
              help="Go past the threshold on deletes and replaces (safety.max_destroy_percent).")
@click.option("--allow-disruption", is_flag=True,
              help="Replace or delete rooms even while people are in them.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another apply's state lock (default: wait).")
@click.pass_context
def apply(ctx: click.Context, file: str, accounts: tuple[str, ...], auto_approve: bool,
          force: bool, allow_disruption: bool, lock_timeout: float | None) -> None:
    """Plan, then make the changes: idempotently, carrying on past failures."""
    from reconcile.outputs.progress import ApplyProgress
    from reconcile.outputs.text import render_plan, render_summary

    async def work(run: Run, config: Config) -> tuple[int, list[Outcome]]:
        plan = await run.plan()
        click.echo(render_plan(plan), nl=False)
        if not plan.has_changes:
            return OK, []
        settings = {alias: p.account.settings for alias, p in run.providers.items()}
        blocks = check(plan, settings, force=force, allow_disruption=allow_disruption)
        if blocks:
            for block in blocks:
                click.echo(f"blocked: {block.message}", err=True)
            return BLOCKED, []
        if not auto_approve and not _confirmed():
            fail("nothing applied: no terminal to confirm on; pass --auto-approve"
                 if not sys.stdin.isatty() else "nothing applied")
        # A progress bar on a terminal, a line per change otherwise.
        with ApplyProgress(sum(1 for _ in plan.changes())) as progress:
            outcomes = await run.apply(plan, progress)
        click.echo(render_summary(outcomes), nl=False)
        return (ERROR if any(o.status != "applied" for o in outcomes) else OK), outcomes

    code, _ = run_engine(ctx, file, accounts, hold_locks=True, lock_timeout=lock_timeout,
                         work=work)
    raise SystemExit(code)


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        return False
    return click.prompt("Apply these changes? Only 'yes' is accepted", default="",
                        show_default=False) == "yes"
