"""The plan as a versioned JSON document (`--format json`), and reading one back.

`format_version` is "MAJOR.MINOR": a minor bump only adds fields, a major bump changes or
removes one. Consumers must ignore fields they do not know. `schemas/plan.schema.json`
describes it; docs/plan-and-apply.md documents each field.

A document written by `plan` is also a saved plan: `apply plan.json` reads it back
(`read_saved`), re-reads only the rooms it touches, and takes the rest from the rooms file
it names, so masked values are never needed again. `show plan.json` reads it back as a
plan (`read_plan`) to render it again, in any format, without asking any provider.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reconcile import __version__
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import (
    ABSENT,
    AccountPlan,
    Action,
    Change,
    FieldChange,
    Plan,
    SavedAccount,
    SavedChange,
    SavedPlan,
    UncertainCreate,
)
from reconcile.engine.rails import Block
from reconcile.errors import ReconcileError
from reconcile.escape import json_printable
from reconcile.files import FileRefused, read_regular
from reconcile.outputs.document_model import ChangeDoc, Head, PlanDoc, SavedDoc
from reconcile.outputs.mask import MASK, Masker
from reconcile.shapes import ShapeError, check, check_json

D = TypeVar("D", bound=Head)
FORMAT_VERSION = "1.1"  # 1.1: uncertain_creates, summary.uncertain
MAJOR = FORMAT_VERSION.split(".")[0]
SNIFF_BYTES = 4096  # how much of a file `is_saved_plan` looks at
MAX_SAVED_BYTES = 256 * 1024 * 1024  # a plan of 10,000 changes is ~10 MB


def document(plan: Plan | None, *, config: str, checksum: str | None, mask: Masker,
             blocks: Sequence[Block] = (), errors: Sequence[str] = (),
             outcomes: Sequence[Outcome] | None = None) -> dict[str, Any]:
    """The document of a plan (None: planning failed, and `errors` say why) and, for
    `apply`, of what became of each change."""
    plan = plan if plan is not None else Plan()
    changes = []
    for change in plan.changes():
        data = change.as_dict()
        data["before"] = mask.values(change.provider, data["before"])
        data["after"] = mask.values(change.provider, data["after"])
        data["sensitive_paths"] = mask.sensitive_paths(change)
        changes.append(data)
    result: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "config": config,
        "checksum": checksum,
        "plan_checksum": plan.checksum(),
        "summary": plan.summary(),
        "accounts": [{"name": a.alias, "provider": a.provider, "managed": a.managed,
                      "unmanaged": a.unmanaged} for a in plan.accounts],
        "changes": changes,
        "uncertain_creates": [record.as_dict() for record in plan.uncertain],
        "blocked": [{"account": b.account, "message": b.message} for b in blocks],
        "errors": [{"message": message} for message in errors],
    }
    if outcomes is not None:
        result["outcomes"] = [{"address": o.change.address, "account": o.change.account,
                               "kind": o.change.kind, "key": o.change.key,
                               "action": o.change.action.value, "status": o.status,
                               "message": o.message} for o in outcomes]
        result["apply"] = {status: sum(1 for o in outcomes if o.status == status)
                           for status in ("applied", "failed", "skipped")}
    return result


def render(data: dict[str, Any], mask: Masker) -> str:
    # Masked first (the forms masked are as json.dumps writes them), then made inert.
    return json_printable(mask.scrub(json.dumps(data, indent=2, ensure_ascii=False,
                                                default=str))) + "\n"


def is_saved_plan(path: str | Path) -> bool:
    """Whether a file is a saved plan rather than a rooms file: a JSON object with a
    `format_version` (a rooms file has `version`, and is YAML, or JSON at most)."""
    try:
        raw = read_regular(path, MAX_SAVED_BYTES, "saved plan").data
        if not raw[:SNIFF_BYTES].lstrip().startswith(b"{"):
            return False
        data = json.loads(raw)
    except (FileRefused, ValueError):
        # Not JSON, or not read (the rooms file's cap is the smaller): the rooms file's
        # loader says what is wrong.
        return False
    return isinstance(data, dict) and "format_version" in data


def read_saved(path: str | Path) -> SavedPlan:
    """A saved plan to apply; a clear `file: message` error for anything else."""
    data = _read(path, SavedDoc)
    return SavedPlan(
        path=str(path), config=data.config, checksum=data.checksum,
        plan_checksum=data.plan_checksum,
        accounts=tuple(SavedAccount(a.name, a.provider, a.managed, a.unmanaged)
                       for a in data.accounts),
        changes=tuple(SavedChange(
            account=c.account, provider=c.provider, kind=c.kind, key=c.key,
            action=c.action, reason=c.reason, live_fingerprint=c.live_fingerprint,
            new_join_urls=c.new_join_urls,
            before=None if c.before is None else
            {k: v for k, v in c.before.items() if k not in c.sensitive_paths})
            for c in data.changes))


def _read(path: str | Path, model: type[D]) -> D:
    """The document at `path`, of a format_version this tool reads, checked by `model`."""
    try:
        raw = read_regular(path, MAX_SAVED_BYTES, "saved plan").data
        text = raw.decode("utf-8")
        data = json.loads(text)  # its message says where the text stops being JSON
    except FileRefused as refused:
        raise ReconcileError(f"{path}: cannot read the saved plan: {refused.problem}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcileError(f"{path}: cannot read the saved plan: {exc}") from None
    try:
        head = check(Head, data)
        if head.format_version.split(".")[0] != MAJOR:
            raise _not_ours(path, f"format_version {head.format_version}, this tool reads"
                                  f" {MAJOR}.x")
        if model is SavedDoc and head.errors:
            raise _not_ours(path, "the plan failed: it holds errors, not changes")
        return check_json(model, text)
    except ShapeError as exc:
        raise _not_ours(path, str(exc)) from None


def _not_ours(path: str | Path, why: str) -> ReconcileError:
    return ReconcileError(f"{path}: not a saved plan of this tool ({why}); write one with"
                          " `reconcile plan --out plan.json`")


# -- a saved plan read back to be rendered again ------------------------------------------

@dataclass(frozen=True)
class ReadPlan:
    """A saved plan document as `plan` had it: what it renders from (no provider read)."""

    plan: Plan
    config: str  # the rooms file it was made from
    checksum: str | None  # that file's sha256
    blocks: tuple[Block, ...]
    errors: tuple[str, ...]  # the plan failed: these say why (and it has no changes)


@dataclass
class _ReadBack(Plan):
    """A plan read back: its checksum and counts are the saved ones, since masked values
    cannot be hashed again and no-ops are not saved."""

    saved_checksum: str = ""
    saved_summary: dict[str, int] = field(default_factory=dict)

    def checksum(self) -> str:
        return self.saved_checksum

    def summary(self) -> dict[str, int]:
        return {**Plan.summary(self), **self.saved_summary}


@dataclass(frozen=True)
class _ReadChange(Change):
    """A change read back: the live room it was planned against is known by its
    fingerprint only, and a deleted room's fields by its saved `before`."""

    live_fingerprint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = Change.as_dict(self)
        if self.action is Action.DELETE:
            data["before"] = {f.name: f.before for f in self.fields}
        data["live_fingerprint"] = self.live_fingerprint
        return data


def read_plan(path: str | Path) -> ReadPlan:
    """A saved plan (or a failed plan's document) to render; a clear error otherwise."""
    data = _read(path, PlanDoc)
    accounts = {a.name: AccountPlan(a.name, a.provider, managed=a.managed,
                                    unmanaged=a.unmanaged) for a in data.accounts}
    try:
        for change in data.changes:
            accounts[change.account].changes.append(_change(change))
        for item in data.uncertain_creates:
            accounts[item.account].uncertain.append(UncertainCreate(
                item.account, item.provider, item.kind, item.key, item.requested_at,
                item.check))
    except KeyError as exc:
        raise _not_ours(path, f"account {exc.args[0]} is not in `accounts`") from None
    plan = _ReadBack(list(accounts.values()), saved_checksum=data.plan_checksum,
                     saved_summary=data.summary)
    return ReadPlan(plan, data.config, data.checksum,
                    tuple(Block(b.account, b.message) for b in data.blocked),
                    tuple(e.message for e in data.errors))


def _change(item: ChangeDoc) -> Change:
    masked = set(item.sensitive_paths)
    before, after = item.before or {}, item.after or {}

    def value(values: dict[str, Any], name: str) -> Any:
        if name not in values:
            return ABSENT
        # A value masked when saved stays masked, whatever --show-sensitive says now.
        return MASK if name in masked and values[name] == MASK else values[name]

    forced = set(item.replace_paths)
    fields = tuple(FieldChange(name, value(before, name), value(after, name), name in forced)
                   for name in [*after, *(name for name in before if name not in after)])
    return _ReadChange(
        account=item.account, provider=item.provider, kind=item.kind, key=item.key,
        action=item.action, reason=item.reason, fields=fields,
        live_session=item.live_session, new_join_urls=item.new_join_urls,
        replace_order="create-first" if item.actions == ["create", "delete"]
        else "delete-first", live_fingerprint=item.live_fingerprint)
