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
from collections.abc import Callable, Sequence
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
from reconcile.outputs.mask import MASK, Masker

T = TypeVar("T")
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
    return _read(path, _saved)


def _read(path: str | Path, parse: Callable[[str, Any], T]) -> T:
    """The document at `path`, of a format_version this tool reads, through `parse`."""
    try:
        data = json.loads(read_regular(path, MAX_SAVED_BYTES, "saved plan").data)
    except FileRefused as refused:
        raise ReconcileError(f"{path}: cannot read the saved plan: {refused.problem}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcileError(f"{path}: cannot read the saved plan: {exc}") from None
    try:
        version = str(data["format_version"])
        if version.split(".")[0] != MAJOR:
            raise ValueError(f"format_version {version}, this tool reads {MAJOR}.x")
        return parse(str(path), data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReconcileError(f"{path}: not a saved plan of this tool ({_why(exc)});"
                             " write one with `reconcile plan --out plan.json`") from None


def _saved(path: str, data: Any) -> SavedPlan:
    if data.get("errors"):
        raise ValueError("the plan failed: it holds errors, not changes")
    accounts = tuple(SavedAccount(str(a["name"]), str(a["provider"]), int(a["managed"]),
                                  int(a["unmanaged"])) for a in data["accounts"])
    changes = []
    for item in data["changes"]:
        masked = set(item.get("sensitive_paths") or ())
        before = item.get("before")
        changes.append(SavedChange(
            account=str(item["account"]), provider=str(item["provider"]),
            kind=str(item["kind"]), key=str(item["key"]), action=Action(item["action"]),
            reason=str(item["reason"]),
            live_fingerprint=_optional(item["live_fingerprint"]),
            new_join_urls=bool(item.get("new_join_urls", False)),
            before={k: v for k, v in before.items() if k not in masked}
            if isinstance(before, dict) else None))
    return SavedPlan(path=path, config=str(data["config"]), checksum=str(data["checksum"]),
                     plan_checksum=str(data["plan_checksum"]), accounts=accounts,
                     changes=tuple(changes))


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
    return _read(path, _plan)


def _plan(path: str, data: Any) -> ReadPlan:
    accounts = {str(a["name"]): AccountPlan(str(a["name"]), str(a["provider"]),
                                            managed=int(a["managed"]),
                                            unmanaged=int(a["unmanaged"]))
                for a in data["accounts"]}
    for item in data["changes"]:
        accounts[str(item["account"])].changes.append(_change(item))
    for item in data.get("uncertain_creates") or ():  # 1.1
        accounts[str(item["account"])].uncertain.append(UncertainCreate(
            str(item["account"]), str(item["provider"]), str(item["kind"]), str(item["key"]),
            str(item["requested_at"]), str(item["check"])))
    summary = {str(k): int(v) for k, v in (data.get("summary") or {}).items()}
    plan = _ReadBack(list(accounts.values()), saved_checksum=str(data["plan_checksum"]),
                     saved_summary=summary)
    return ReadPlan(plan, str(data["config"]), _optional(data.get("checksum")),
                    tuple(Block(str(b["account"]), str(b["message"]))
                          for b in data.get("blocked") or ()),
                    tuple(str(e["message"]) for e in data.get("errors") or ()))


def _change(item: dict[str, Any]) -> Change:
    masked = set(item.get("sensitive_paths") or ())
    before, after = item.get("before") or {}, item.get("after") or {}

    def value(values: dict[str, Any], name: str) -> Any:
        if name not in values:
            return ABSENT
        # A value masked when saved stays masked, whatever --show-sensitive says now.
        return MASK if name in masked and values[name] == MASK else values[name]

    forced = set(item.get("replace_paths") or ())
    fields = tuple(FieldChange(name, value(before, name), value(after, name), name in forced)
                   for name in [*after, *(name for name in before if name not in after)])
    return _ReadChange(
        account=str(item["account"]), provider=str(item["provider"]), kind=str(item["kind"]),
        key=str(item["key"]), action=Action(item["action"]), reason=str(item["reason"]),
        fields=fields, live_session=bool(item.get("live_session")),
        new_join_urls=bool(item.get("new_join_urls")),
        replace_order="create-first" if item.get("actions") == ["create", "delete"]
        else "delete-first",
        live_fingerprint=_optional(item.get("live_fingerprint")))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no `{exc.args[0]}`"
    return str(exc) or type(exc).__name__
