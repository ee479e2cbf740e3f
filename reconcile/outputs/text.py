"""The plan as text, Terraform-like: `+` create, `~` update, `-/+` replace, `-` delete.

Sensitive values (Kaleyra descriptions and participants, join URLs) are masked.
"""

from __future__ import annotations

import json
from typing import Any

from reconcile.engine.apply import Outcome
from reconcile.engine.plan import ABSENT, Action, Change, Plan

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-"}
SENSITIVE = {"kaleyra": frozenset({"description", "participants"})}
MASK = "(sensitive)"


def _value(change: Change, field: str, value: Any) -> str:
    if value is ABSENT:
        return "(unset)"
    if field in SENSITIVE.get(change.provider, frozenset()):
        return MASK
    return json.dumps(value, default=str, ensure_ascii=False)


def render_change(change: Change) -> list[str]:
    marks = ""
    if change.live_session:
        marks += "  # disrupts a live session"
    if change.new_join_urls:
        marks += "  # gives everyone new join URLs"
    lines = [f"{SYMBOLS[change.action]} {change.address}  ({change.reason}){marks}"]
    for field in change.fields:
        forced = "  # forces replacement" if field.forces_replacement else ""
        if change.action is Action.CREATE:
            lines.append(f"    {field.name}: {_value(change, field.name, field.after)}")
        elif change.action is Action.DELETE:
            continue
        else:
            lines.append(f"    {field.name}: {_value(change, field.name, field.before)} ->"
                         f" {_value(change, field.name, field.after)}{forced}")
    return lines


def render_plan(plan: Plan) -> str:
    lines: list[str] = []
    for change in plan.changes():
        lines += render_change(change)
    summary = plan.summary()
    unmanaged = summary["unmanaged"]
    left = f" ({unmanaged} unmanaged room{'s' if unmanaged != 1 else ''} left alone)"
    if not plan.has_changes:
        return "\n".join([*lines, f"No changes.{left}"]) + "\n"
    lines.append("")
    lines.append(f"Plan: {summary['create']} to create, {summary['update']} to update,"
                 f" {summary['replace']} to replace, {summary['delete']} to delete{left}.")
    return "\n".join(lines) + "\n"


def render_outcome(outcome: Outcome) -> str:
    change = outcome.change
    verb = {"applied": {Action.CREATE: "created", Action.UPDATE: "updated",
                        Action.REPLACE: "replaced", Action.DELETE: "deleted"}[change.action],
            "failed": "FAILED", "skipped": "skipped"}[outcome.status]
    note = f": {outcome.message}" if outcome.message else ""
    return f"{SYMBOLS[change.action]} {change.address} {verb}{note}"


def render_summary(outcomes: list[Outcome]) -> str:
    counts = {status: sum(1 for o in outcomes if o.status == status)
              for status in ("applied", "failed", "skipped")}
    lines = [f"Apply: {counts['applied']} applied, {counts['failed']} failed,"
             f" {counts['skipped']} skipped."]
    lines += [f"  failed: {o.change.address}: {o.message}" for o in outcomes
              if o.status == "failed"]
    return "\n".join(lines) + "\n"
