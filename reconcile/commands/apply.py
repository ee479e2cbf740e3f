"""`reconcile apply`: make the providers match the rooms file, or apply a saved plan."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconcile import exitcodes
from reconcile.commands.engine import (
    Report,
    account_option,
    fail,
    file_argument,
    output_options,
    run_engine,
    secrets_of,
    target_option,
    whole_plan,
)
from reconcile.config import Config
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import Plan, SavedPlan
from reconcile.engine.run import Run
from reconcile.errors import ReconcileError
from reconcile.escape import printable
from reconcile.exitcodes import BLOCKED, ERROR, OK


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
        assert saved is not None
        accounts = tuple(sorted({change.account for change in saved.changes}))
        if not Path(saved.config).is_file():
            fail(f"{file}: the plan was made from {printable(saved.config)}, which is not"
                 " there; apply from the directory the plan was made in")
    config_file = saved.config if saved is not None else file
    report = Report.of(fmt, out, no_color, show_sensitive, config_file)

    async def work(run: Run, config: Config) -> int:
        report.scrubbing(secrets_of(ctx, config))
        plan, skipped = await _plan(run, config, saved, targets)
        actual = saved.plan_checksum if saved is not None else plan.checksum()
        if checksum is not None and actual != checksum.strip().lower():
            raise ReconcileError(f"the plan differs from the reviewed one: its checksum is"
                                 f" {actual}, the reviewed plan's {printable(checksum.strip())}:"
                                 " nothing applied; review the new plan")
        return await _apply(run, plan, skipped, checksum=config.checksum,
                            confirmed=auto_approve or saved is not None or checksum is not None)

    async def _apply(run: Run, plan: Plan, skipped: list[Outcome], *, checksum: str,
                     confirmed: bool) -> int:
        from reconcile.engine.rails import check
        from reconcile.outputs.progress import ApplyProgress
        from reconcile.outputs.text import render_blocks, render_summary

        # The person confirming must see the plan, even when stdout carries a document.
        shown_on_stderr = not report.text_on_stdout and not confirmed
        if report.text_on_stdout or shown_on_stderr:
            report.echo(report.plan_text(plan, colour=False if shown_on_stderr else None),
                        err=shown_on_stderr)
        if not plan.has_changes and not skipped:
            report.document(plan, checksum=checksum, outcomes=[])
            return OK
        settings = {alias: p.account.settings for alias, p in run.providers.items()}
        blocks = check(plan, settings, force=force, allow_disruption=allow_disruption)
        if blocks:
            report.echo(render_blocks(blocks), err=True)
            report.document(plan, checksum=checksum, blocks=blocks)
            return BLOCKED
        if plan.has_changes and not confirmed and not _confirmed():
            fail("nothing applied: no terminal to confirm on; pass --auto-approve"
                 if not sys.stdin.isatty() else "nothing applied")
        # A progress bar on a terminal, a line per change otherwise.
        with ApplyProgress(len(skipped) + sum(1 for _ in plan.changes())) as progress:
            for outcome in skipped:
                progress(outcome)
            outcomes = skipped + await run.apply(plan, progress)
        if report.text_on_stdout:
            report.echo(render_summary(outcomes, plan.uncertain))
        report.document(plan, checksum=checksum, outcomes=outcomes)
        return ERROR if any(o.status != "applied" for o in outcomes) else OK

    code = run_engine(ctx, config_file, accounts, hold_locks=True, lock_timeout=lock_timeout,
                      work=work, on_error=report.on_error, notices=True)
    raise SystemExit(code)


async def _plan(run: Run, config: Config, saved: SavedPlan | None,
                targets: tuple[str, ...]) -> tuple[Plan, list[Outcome]]:
    """A fresh plan of the file, or the saved one re-checked room by room."""
    from reconcile.engine.run import narrow

    if saved is None:
        return narrow(await run.plan(), targets), []
    if config.checksum != saved.checksum:
        raise ReconcileError(f"{saved.path}: the plan was made from another version of"
                             f" {saved.config} (sha256 {saved.checksum}, now"
                             f" {config.checksum}): nothing applied; plan again")
    return await run.replan(saved, config)


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        return False
    return click.prompt("Apply these changes? Only 'yes' is accepted", default="",
                        show_default=False, err=True) == "yes"
