"""`reconcile plan`: what apply would change, read from the providers' live rooms."""

from __future__ import annotations

import click

from reconcile import exitcodes
from reconcile.commands.engine import (
    Report,
    account_option,
    file_argument,
    output_options,
    run_engine,
    secrets_of,
    target_option,
)
from reconcile.config import Config
from reconcile.engine.plan import Plan
from reconcile.engine.rails import Block
from reconcile.engine.run import Run
from reconcile.exitcodes import BLOCKED, CHANGES, OK


@click.command(epilog=exitcodes.epilog(exitcodes.PLAN))
@file_argument
@account_option
@target_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes, 0 when it has none, 3 when a safety"
                   " rail would block apply (1: error).")
@click.option("--force", is_flag=True,
              help="Plan for `apply --force`: the destroy threshold blocks nothing.")
@output_options
@click.pass_context
def plan(ctx: click.Context, file: str, accounts: tuple[str, ...], targets: tuple[str, ...],
         detailed_exitcode: bool, force: bool, fmt: str | None, out: str | None,
         no_color: bool, show_sensitive: bool) -> None:
    """Show what `apply` would change on the providers (reads only).

    The plan goes to stdout, logs to stderr. `--out plan.json` saves a plan that
    `apply plan.json` applies; every output carries the plan's checksum for
    `apply --checksum`.
    """
    from reconcile.engine.rails import check
    from reconcile.engine.run import narrow
    from reconcile.outputs.text import render_blocks

    report = Report.of(fmt, out, no_color, show_sensitive, file)

    async def work(run: Run, config: Config) -> tuple[Plan, list[Block], str]:
        report.scrubbing(secrets_of(ctx, config))
        result = narrow(await run.plan(), targets)
        settings = {alias: p.account.settings for alias, p in run.providers.items()}
        # People in a room is for apply to judge when it runs: sessions come and go.
        blocks = check(result, settings, force=force, allow_disruption=True)
        return result, blocks, config.checksum

    result, blocks, checksum = run_engine(ctx, file, accounts, hold_locks=False,
                                          lock_timeout=None, work=work,
                                          on_error=report.on_error, notices=True)
    if report.text_on_stdout:
        report.echo(report.plan_text(result))
        if result.has_changes:
            click.echo(f"Plan checksum: {result.checksum()}", err=True)
    report.echo(render_blocks(blocks, "apply will be blocked"), err=True)
    report.document(result, checksum=checksum, blocks=blocks)
    if not detailed_exitcode:
        raise SystemExit(OK)
    raise SystemExit(BLOCKED if blocks else CHANGES if result.has_changes else OK)
