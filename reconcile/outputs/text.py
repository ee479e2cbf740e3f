"""The plan as text, Terraform-like: `+` create, `~` update, `-/+` replace, `-` delete.

Values are JSON, `old -> new`; marks say what a change does beyond its fields. Colour is
the caller's choice (a terminal, and no NO_COLOR or --no-color); without it the text has
no escape codes at all. Every piece of text from a user or a provider (keys, field names,
values, reasons, messages) goes through `printable` before it is put on a line, so none
can carry a control sequence or a line of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from reconcile.engine.apply import Outcome
from reconcile.engine.plan import ABSENT, Action, Change, Plan, UncertainCreate
from reconcile.engine.rails import Block
from reconcile.escape import printable
from reconcile.outputs.mask import MASK, Masker

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-"}
COLOURS = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE: "magenta",
           Action.DELETE: "red"}
FORCES = "# forces replacement"
LIVE_SESSION = "# disrupts a live session"
NEW_JOIN_URLS = "# gives everyone new join URLs"
UNSET = "(unset)"
PLAIN = Masker()


class _Paint:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.on else text


def value_text(mask: Masker, change: Change, field: str, value: Any) -> str:
    """One field value as the text and Markdown show it: JSON, `(unset)` or masked."""
    if value is ABSENT:
        return UNSET
    shown = mask.value(change.provider, field, value)
    return MASK if shown is MASK else printable(json.dumps(shown, default=str,
                                                           ensure_ascii=False))


def marks(change: Change) -> list[str]:
    """What the change does beyond its fields, as the text's `#` marks."""
    return [mark for mark, on in ((LIVE_SESSION, change.live_session),
                                  (NEW_JOIN_URLS, change.new_join_urls)) if on]


def render_change(change: Change, mask: Masker = PLAIN, *, colour: bool = False
                  ) -> list[str]:
    paint = _Paint(colour)
    tint = COLOURS[change.action]
    notes = "".join("  " + (paint(m, fg="red", bold=True) if m == LIVE_SESSION
                            else paint(m, fg="yellow")) for m in marks(change))
    lines = [f"{paint(SYMBOLS[change.action], fg=tint, bold=True)}"
             f" {paint(printable(change.address), bold=True)}  ({printable(change.reason)})"
             f"{notes}"]
    if change.action is Action.DELETE:
        return lines  # the room goes: its fields are no news
    for field in change.fields:
        name = printable(field.name)
        after = value_text(mask, change, field.name, field.after)
        if change.action is Action.CREATE:
            lines.append(f"    {name}: {paint(after, fg=tint)}")
            continue
        before = value_text(mask, change, field.name, field.before)
        forced = "  " + paint(FORCES, fg="red") if field.forces_replacement else ""
        lines.append(f"    {name}: {paint(before, fg='red')} ->"
                     f" {paint(after, fg='green')}{forced}")
    return lines


def summary_line(plan: Plan) -> str:
    """`Plan: 2 to create, … (3 unmanaged rooms left alone).` or `No changes. (…)`."""
    summary = plan.summary()
    unmanaged = summary["unmanaged"]
    left = f"({unmanaged} unmanaged room{'s' if unmanaged != 1 else ''} left alone)"
    if not plan.has_changes:
        return f"No changes. {left}"
    return (f"Plan: {summary['create']} to create, {summary['update']} to update,"
            f" {summary['replace']} to replace, {summary['delete']} to delete {left}.")


def render_plan(plan: Plan, mask: Masker = PLAIN, *, colour: bool = False) -> str:
    lines: list[str] = []
    for change in plan.changes():
        lines += render_change(change, mask, colour=colour)
    paint = _Paint(colour)
    if not plan.has_changes:
        lines.append(paint(summary_line(plan), fg="green"))
    else:
        lines += ["", paint(summary_line(plan), bold=True)]
    return mask.scrub("\n".join(lines + uncertain_lines(plan.uncertain, paint)) + "\n")


def uncertain_title(count: int) -> str:
    """The heading over uncertain creates, in every format."""
    return (f"{count} uncertain create{'s' if count != 1 else ''}: a room may exist that"
            " nothing records (each is named here until it is checked).")


def uncertain_lines(records: Sequence[UncertainCreate], paint: _Paint | None = None
                    ) -> list[str]:
    """Each create whose outcome is unknown, with its time and what to check."""
    if not records:
        return []
    paint = paint or _Paint(False)
    lines = ["", paint(uncertain_title(len(records)), fg="yellow", bold=True)]
    lines += [f"  ? {printable(record.address)} (requested {printable(record.requested_at)}):"
              f" {printable(record.check)}" for record in records]  # from the state file
    return lines


def render_blocks(blocks: list[Block], prefix: str = "blocked") -> str:
    return "".join(f"{prefix}: {printable(block.message)}\n" for block in blocks)


VERBS = {Action.CREATE: "created", Action.UPDATE: "updated", Action.REPLACE: "replaced",
         Action.DELETE: "deleted"}


def render_outcome(outcome: Outcome) -> str:
    change = outcome.change
    verb = {"applied": VERBS[change.action], "failed": "FAILED",
            "skipped": "skipped"}[outcome.status]
    note = f": {printable(outcome.message)}" if outcome.message else ""
    return f"{SYMBOLS[change.action]} {printable(change.address)} {verb}{note}"


def render_summary(outcomes: list[Outcome], uncertain: Sequence[UncertainCreate] = ()
                   ) -> str:
    counts = {status: sum(1 for o in outcomes if o.status == status)
              for status in ("applied", "failed", "skipped")}
    doubt = f" {len(uncertain)} uncertain." if uncertain else ""
    lines = [f"Apply: {counts['applied']} applied, {counts['failed']} failed,"
             f" {counts['skipped']} skipped.{doubt}"]
    lines += [f"  {o.status}: {printable(o.change.address)}: {printable(o.message)}"
              for o in outcomes if o.status != "applied"]
    return "\n".join(lines + uncertain_lines(uncertain)) + "\n"
