"""`reconcile plan`: what apply would change, read from the providers' live rooms; or a
saved plan rendered again (`plan --from plan.json`, `show plan.json`), reading nothing."""

from __future__ import annotations

from collections.abc import Sequence

import click
from click.core import ParameterSource

from reconcile import exitcodes
from reconcile.api import plan_file, plan_status
from reconcile.commands.engine import (
    Report,
    account_option,
    call_api,
    echo_notice,
    fail,
    file_argument,
    output_options,
    sandbox_of,
    target_option,
    whole_plan,
)
from reconcile.engine.plan import Plan
from reconcile.engine.rails import Block
from reconcile.errors import ReconcileError
from reconcile.exitcodes import OK


@click.command(epilog=exitcodes.epilog(exitcodes.PLAN))
@file_argument
@account_option
@target_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes, 0 when it has none, 3 when a safety"
                   " rail would block apply (1: error).")
@click.option("--force", is_flag=True,
              help="Plan for `apply --force`: the destroy threshold blocks nothing.")
@click.option("--from", "saved", type=click.Path(dir_okay=False), default=None,
              metavar="PLAN",
              help="Render PLAN, a plan saved by `plan --out plan.json`, in any format,"
                   " without reading the providers (or the rooms file).")
@output_options
@click.pass_context
def plan(ctx: click.Context, file: str, accounts: tuple[str, ...], targets: tuple[str, ...],
         detailed_exitcode: bool, force: bool, saved: str | None, fmt: str | None,
         out: str | None, no_color: bool, show_sensitive: bool) -> None:
    """Show what `apply` would change on the providers (reads only).

    The plan goes to stdout, logs to stderr. `--out plan.json` saves a plan that
    `apply plan.json` applies; every output carries the plan's checksum for
    `apply --checksum`.
    """
    if saved is not None:
        if ctx.get_parameter_source("file") is ParameterSource.COMMANDLINE:
            fail(f"--from {saved} renders a saved plan, which names its rooms file: give"
                 f" no FILE ({file})")
        if force:
            fail(f"--from {saved}: the plan was saved with or without --force; plan again"
                 " to change that")
        status = render_saved(saved, fmt, out, no_color, show_sensitive, accounts, targets)
        raise SystemExit(status if detailed_exitcode else OK)

    report = Report.of(fmt, out, no_color, show_sensitive, file)
    result = call_api(ctx, file, lambda: plan_file(
        file, accounts=accounts, targets=targets, force=force, sandbox=sandbox_of(ctx),
        on_notice=echo_notice), report.on_error)
    show_plan(report, result.plan, result.blocks, result.checksum)
    raise SystemExit(result.exit_status if detailed_exitcode else OK)


def show_plan(report: Report, plan: Plan, blocks: Sequence[Block], checksum: str | None
              ) -> None:
    """The plan in the format asked for, what would block apply on stderr."""
    from reconcile.outputs.text import render_blocks

    if report.text_on_stdout:
        report.echo(report.plan_text(plan))
        if plan.has_changes:
            click.echo(f"Plan checksum: {plan.checksum()}", err=True)
    report.echo(render_blocks(list(blocks), "apply will be blocked"), err=True)
    report.document(plan, checksum=checksum, blocks=blocks)


def render_saved(path: str, fmt: str | None, out: str | None, no_color: bool,
                 show_sensitive: bool, accounts: tuple[str, ...], targets: tuple[str, ...]
                 ) -> int:
    """Show a saved plan as `plan` showed it, contacting no provider: `plan --from` and
    `show plan.json`. A failed plan's document is shown as that failure (exit 1). Returns
    the plan's status, as `PlanResult.exit_status`."""
    from reconcile.outputs.document import read_plan

    whole_plan(path, "shown", accounts, targets)
    try:
        saved = read_plan(path)
    except ReconcileError as exc:
        fail(str(exc))
    report = Report.of(fmt, out, no_color, show_sensitive, saved.config)
    if saved.errors:
        for message in saved.errors:
            click.echo(message, err=True)
        report.on_error(saved.errors, saved.checksum)
        fail(f"{path}: the plan failed when it was made: nothing was planned")
    show_plan(report, saved.plan, saved.blocks, saved.checksum)
    return plan_status(saved.plan, saved.blocks)
