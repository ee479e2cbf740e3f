"""The plan as Markdown, for a pull-request comment (GitHub-flavoured).

- The first line is a hidden marker, `<!-- reconcile-plan:{rooms file} -->`, so a bot
  finds its own comment and edits it instead of adding another.
- A header with the counts, then what would block apply, then one table per account
  (op, room, field, before, after); an account with many rows is folded in <details>.
- The whole comment stays under 65,000 characters (GitHub refuses more than 65,536):
  whole changes are left out from the end, and a note says how many.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from reconcile import __version__
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import Action, Change, FieldChange, Plan
from reconcile.engine.rails import Block
from reconcile.escape import printable
from reconcile.outputs.mask import Masker
from reconcile.outputs.text import (
    FORCES,
    LIVE_SESSION,
    NEW_JOIN_URLS,
    SYMBOLS,
    marks,
    summary_line,
    uncertain_title,
    value_text,
)

LIMIT = 65_000
FOLD_ROWS = 20  # an account with more rows than this is folded
CELL = 120  # characters of a value shown in a cell
OUTCOME_ROWS = 50  # failures and skips listed one by one
MARK_WORDS = {LIVE_SESSION: "⚠️ disrupts a live session",
              NEW_JOIN_URLS: "🔗 gives everyone new join URLs"}
TABLE_HEAD = "| op | room | field | before | after |\n| --- | --- | --- | --- | --- |\n"


def marker(config: str) -> str:
    return f"<!-- reconcile-plan:{printable(config).replace('-->', '--&gt;')} -->"


def code(text: str) -> str:
    """Text as inline code inside a table cell: escaped, one line, `|` kept out of the
    table syntax, cut to CELL characters. A line break shows as `\\n`: in a key it is
    no layout."""
    text = " ".join(printable(text).split())
    if len(text) > CELL:
        text = text[:CELL - 1] + "…"
    return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"


def words(text: str) -> str:
    """A message as one line of Markdown: its line breaks become spaces."""
    return html.escape(printable(" ".join(text.split())), quote=False).replace("|", "&#124;")


def change_rows(change: Change, mask: Masker) -> str:
    symbol = SYMBOLS[change.action]
    op = f"<code>{html.escape(symbol)}</code> {change.action.value}"
    notes = [words(change.reason), *(MARK_WORDS[m] for m in marks(change))]
    room = f"{code(change.key)}<br><sub>{'<br>'.join(notes)}</sub>"
    fields = _row_fields(change)
    if not fields:
        return f"| {op} | {room} | | | |\n"
    rows = []
    for index, field in enumerate(fields):
        before = "" if change.action is Action.CREATE else \
            code(value_text(mask, change, field.name, field.before))
        after = code(value_text(mask, change, field.name, field.after))
        if field.forces_replacement:
            after += f" <sub>{FORCES.lstrip('# ')}</sub>"
        lead = f"| {op} | {room} " if index == 0 else "| | "
        rows.append(f"{lead}| {code(field.name)} | {before} | {after} |\n")
    return "".join(rows)


def _row_fields(change: Change) -> tuple[FieldChange, ...]:
    """The fields a change shows a row each for: none for a delete (the room goes)."""
    return () if change.action is Action.DELETE else change.fields


def _row_count(change: Change) -> int:
    return max(1, len(_row_fields(change)))


def render(plan: Plan | None, *, config: str, checksum: str | None, mask: Masker,
           blocks: Sequence[Block] = (), errors: Sequence[str] = (),
           outcomes: Sequence[Outcome] | None = None, limit: int = LIMIT) -> str:
    plan = plan if plan is not None else Plan()
    plan_checksum = plan.checksum()
    head = [marker(config), f"### reconcile plan: {code(config)}", ""]
    head += _alerts(plan, blocks, errors)
    if outcomes is not None:
        head += _outcomes(outcomes)
    foot = (f"\n<sub>plan checksum <code>{plan_checksum}</code> (apply exactly this plan:"
            f" <code>reconcile apply --checksum {plan_checksum}</code>) · rooms file sha256"
            f" <code>{checksum or 'unknown'}</code> · reconcile {__version__}</sub>\n")
    out = "\n".join(head) + "\n"
    # Room for the foot and the truncation note, which are written last.
    tables, shown = _tables(plan, mask, limit - len(out) - len(foot) - 400)
    out += tables
    total = sum(1 for _ in plan.changes())
    if shown < total:
        out += (f"> [!NOTE]\n> **Truncated:** {total - shown:,} of {total:,} changes are not"
                f" shown, as a comment holds at most {limit:,} characters. The job's log"
                " has the whole plan (`reconcile plan`).\n")
    return mask.scrub(out + foot)


def _alerts(plan: Plan, blocks: Sequence[Block], errors: Sequence[str]) -> list[str]:
    """The summary line, or why the plan failed; then the uncertain creates and blocks."""
    lines: list[str] = []
    if errors:
        lines += ["> [!WARNING]", "> **The plan failed:**"]
        lines += [f"> - {words(message)}" for message in errors]
        lines.append("")
    else:
        summary = plan.summary()
        lines += [f"**{words(summary_line(plan))}**"
                  f" {summary['noop']} room{'s' if summary['noop'] != 1 else ''} up to date.",
                  ""]
    if plan.uncertain:
        lines += ["> [!WARNING]", f"> **{words(uncertain_title(len(plan.uncertain)))}**"]
        lines += [f"> - {code(r.address)} (requested {words(r.requested_at)}):"
                  f" {words(r.check)}" for r in plan.uncertain[:OUTCOME_ROWS]]
        if len(plan.uncertain) > OUTCOME_ROWS:
            lines.append(f"> - … {len(plan.uncertain) - OUTCOME_ROWS:,} more: see the job's log")
        lines.append("")
    if blocks:
        lines += ["> [!CAUTION]", "> **apply will be blocked:**"]
        lines += [f"> - {words(block.message)}" for block in blocks]
        lines.append("")
    return lines


def _tables(plan: Plan, mask: Masker, budget: int) -> tuple[str, int]:
    """Each account's table of changes, as many rows as fit in `budget` characters (a cut
    plan renders no more), and how many changes they show."""
    out, shown = "", 0
    for account in plan.accounts:
        changes = [c for c in account.changes if c.action is not Action.NOOP]
        if not changes:
            continue
        title = f"<code>{html.escape(printable(account.alias))}</code> ({account.provider}):" \
                f" {len(changes)} change{'s' if len(changes) != 1 else ''}"
        folded = sum(_row_count(change) for change in changes) > FOLD_ROWS
        start = f"<details><summary>{title}</summary>\n\n" if folded else f"#### {title}\n\n"
        end = "\n</details>\n\n" if folded else "\n"
        section = start + TABLE_HEAD
        if len(section) + len(end) > budget:
            break
        kept = 0
        for change in changes:
            row = change_rows(change, mask)
            if len(section) + len(row) + len(end) > budget:
                break
            section += row
            kept += 1
        if kept == 0:
            break
        out += section + end
        budget -= len(section) + len(end)
        shown += kept
        if kept < len(changes):
            break
    return out, shown


def _outcomes(outcomes: Sequence[Outcome]) -> list[str]:
    counts = {status: sum(1 for o in outcomes if o.status == status)
              for status in ("applied", "failed", "skipped")}
    lines = [f"**Apply: {counts['applied']} applied, {counts['failed']} failed,"
             f" {counts['skipped']} skipped.**", ""]
    trouble = [o for o in outcomes if o.status != "applied"]
    if trouble:
        lines += ["| room | status | message |", "| --- | --- | --- |"]
        lines += [f"| {code(o.change.address)} | {o.status} | {words(o.message)} |"
                  for o in trouble[:OUTCOME_ROWS]]
        if len(trouble) > OUTCOME_ROWS:
            lines.append(f"| … | {len(trouble) - OUTCOME_ROWS:,} more | see the job's log |")
        lines.append("")
    return lines
