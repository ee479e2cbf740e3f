"""`reconcile apply`: make the providers match the rooms file, or apply a saved plan."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import click

from reconcile import exitcodes
from reconcile.api import ApplyResult, apply_file, apply_saved
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
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import Plan, SavedPlan
from reconcile.errors import ReconcileError

if TYPE_CHECKING:
    from reconcile.outputs.progress import ApplyProgress


@click.command(epilog=exitcodes.epilog(exitcodes.APPLY))
@file_argument
@account_option
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--force", is_flag=True,
              help="Go past the threshold on deletes and replaces (safety.max_destroy_percent).")
@click.option("--allow-disruption", is_flag=True,
              help="Replace or delete rooms even while people are in them.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another apply's state lock (default: wait).")
@click.option("--checksum", metavar="SHA", default=None,
              help="Plan again, and apply only if the plan's checksum is SHA (the reviewed"
                   " plan's; every plan output shows it). No confirmation is asked.")
@output_options
@click.pass_context
def apply(ctx: click.Context, file: str, accounts: tuple[str, ...], targets: tuple[str, ...],
          auto_approve: bool, force: bool, allow_disruption: bool,
          lock_timeout: float | None, checksum: str | None, fmt: str | None, out: str | None,
          no_color: bool, show_sensitive: bool) -> None:
    """Plan, then make the changes: idempotently, carrying on past failures.

    FILE is a rooms file, or a plan saved by `plan --out plan.json`: that applies what
    was reviewed, without asking. It must come from the same rooms file (by checksum);
    only the rooms it changes are read again, and one that changed since is skipped.
    """
    from reconcile.outputs.document import is_saved_plan, read_saved

    saved: SavedPlan | None = None
    if is_saved_plan(file):
        whole_plan(file, "applied", accounts, targets)
        try:
            saved = read_saved(file)
        except ReconcileError as exc:
            fail(str(exc))
    config_file = saved.config if saved is not None else file
    report = Report.of(fmt, out, no_color, show_sensitive, config_file)
    # A saved plan, or a plan that must match a reviewed checksum, was reviewed already.
    shown = _Shown(report, auto_approve or saved is not None or checksum is not None)
    options: dict[str, Any] = {
        "force": force, "allow_disruption": allow_disruption, "checksum": checksum,
        "lock_timeout": lock_timeout, "sandbox": sandbox_of(ctx), "on_notice": echo_notice,
        "confirm": shown.confirm, "on_plan": shown.plan, "on_progress": shown.progress}
    with shown:
        result = call_api(ctx, config_file, lambda: apply_saved(saved, **options)
                          if saved is not None
                          else apply_file(file, accounts=accounts, targets=targets, **options),
                          report.on_error)
    raise SystemExit(_show_result(report, result))


class _Shown:
    """What a person sees as apply goes: the plan, the question, the progress."""

    def __init__(self, report: Report, confirmed: bool) -> None:
        self.report = report
        self.confirmed = confirmed
        self.total = 0
        self.stack = ExitStack()
        self.listener: ApplyProgress | None = None

    def __enter__(self) -> _Shown:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()  # the progress bar ends, even when the apply is cut short

    def plan(self, plan: Plan, skipped: Sequence[Outcome]) -> None:
        # The person confirming must see the plan, even when stdout carries a document.
        report = self.report
        on_stderr = not report.text_on_stdout and not self.confirmed
        if report.text_on_stdout or on_stderr:
            report.echo(report.plan_text(plan, colour=False if on_stderr else None),
                        err=on_stderr)
        self.total = len(skipped) + sum(1 for _ in plan.changes())

    def confirm(self, plan: Plan) -> bool:
        if not (self.confirmed or _confirmed()):
            return False
        self._start()  # the bar is up before the first request goes
        return True

    def progress(self, outcome: Outcome) -> None:
        self._start()(outcome)

    def _start(self) -> ApplyProgress:
        from reconcile.outputs.progress import ApplyProgress

        if self.listener is None:
            # A progress bar on a terminal, a line per change otherwise.
            self.listener = self.stack.enter_context(ApplyProgress(self.total))
        return self.listener


def _show_result(report: Report, result: ApplyResult) -> int:
    """The blocks, the summary and the document; the exit status."""
    from reconcile.outputs.text import render_blocks, render_summary

    plan, outcomes = result.plan, list(result.outcomes)
    if result.blocks:
        report.echo(render_blocks(list(result.blocks)), err=True)
        report.document(plan, checksum=result.checksum, blocks=result.blocks)
    elif result.declined:
        fail("nothing applied: no terminal to confirm on; pass --auto-approve"
             if not sys.stdin.isatty() else "nothing applied")
    else:
        if outcomes and report.text_on_stdout:
            report.echo(render_summary(outcomes, plan.uncertain))
        report.document(plan, checksum=result.checksum, outcomes=outcomes)
    return result.exit_status


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        return False
    return click.prompt("Apply these changes? Only 'yes' is accepted", default="",
                        show_default=False, err=True) == "yes"
