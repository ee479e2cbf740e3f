"""What a plan is made of: live rooms, field changes, changes, and the plan itself.

Small immutable classes, as octoDNS's plan outputs: the planner builds them, the
outputs render them, apply executes them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

ReplaceOrder = Literal["delete-first", "create-first"]


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"


class _Absent:
    """A field the live room does not have (distinct from a null value)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


def fingerprint(value: Any) -> str:
    """A stable digest of JSON-like data (saved plans compare rooms by it)."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()[:16]


def canonical(value: Any) -> str:
    """One JSON text per value: sorted keys, no spaces (what digests are taken of)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class LiveRoom:
    """A room as the provider has it, in the provider's own field names."""

    kind: str
    key: str | None  # None: unnamed (never managed)
    id: str
    # Values stay out of every repr here: they may be sensitive (a stream key, PII), and
    # a join URL lets anyone in. A result logged whole shows what happens, not to what.
    fields: Mapping[str, Any] = field(repr=False)  # settable fields, normalised
    status: str | None = None
    active_session: bool | None = None  # None: the provider does not show sessions
    join_urls: tuple[str, ...] = field(default=(), repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint({"id": self.id, "status": self.status, "fields": self.fields})


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: Any = field(repr=False)  # ABSENT when the live room lacks the field
    after: Any = field(repr=False)  # ABSENT when a delete removes it
    forces_replacement: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One room's change, with the reason and every changed field."""

    account: str
    provider: str
    kind: str
    key: str
    action: Action
    reason: str
    fields: tuple[FieldChange, ...] = ()
    desired: Any = field(default=None, repr=False)  # the declared Room (None: a delete)
    live: LiveRoom | None = None  # None for creates
    live_session: bool = False  # a replace or delete while people are in the room
    new_join_urls: bool = False  # everyone's join URL changes (a Kaleyra replace)
    replace_order: ReplaceOrder = "delete-first"

    @property
    def disruptive(self) -> bool:
        """Whether people notice: a live session cut, or the links they hold stop working.
        Only a live session needs --allow-disruption (the live-session guard)."""
        return self.live_session or self.new_join_urls

    @property
    def actions(self) -> list[str]:
        """The steps, e.g. ["delete", "create"] for a replace."""
        if self.action is Action.REPLACE:
            steps = ["delete", "create"]
            return steps if self.replace_order == "delete-first" else steps[::-1]
        return [] if self.action is Action.NOOP else [self.action.value]

    @property
    def replace_paths(self) -> list[str]:
        return [f.name for f in self.fields if f.forces_replacement]

    @property
    def address(self) -> str:
        return f"{self.account}.{self.kind}[{self.key}]"

    def as_dict(self) -> dict[str, Any]:
        """The change as JSON-like data, unmasked: the json format (which masks it) and
        the plan checksum are both made from it."""
        before = after = None
        if self.action is Action.DELETE:
            before = dict(self.live.fields) if self.live is not None else {}
        else:
            after = {f.name: f.after for f in self.fields if f.after is not ABSENT}
            if self.action is not Action.CREATE:
                before = {f.name: f.before for f in self.fields if f.before is not ABSENT}
        return {
            "address": self.address, "account": self.account, "provider": self.provider,
            "kind": self.kind, "key": self.key, "action": self.action.value,
            "actions": self.actions, "reason": self.reason, "before": before,
            "after": after, "replace_paths": self.replace_paths,
            "disruptive": self.disruptive, "live_session": self.live_session,
            "new_join_urls": self.new_join_urls,
            "live_fingerprint": self.live.fingerprint if self.live is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Leftover:
    """A live room a provider says to delete though nothing declares or prunes it, and
    why (Kaleyra: an old room a replace did not finish deleting)."""

    live: LiveRoom
    reason: str


@dataclass(frozen=True, slots=True)
class UncertainCreate:
    """A create sent whose outcome stays unknown, where the provider gives no way to find
    the room again (Kaleyra's rooms have no name and no list): a room may exist that
    nothing records. Every plan names it until a person has checked."""

    account: str
    provider: str
    kind: str
    key: str
    requested_at: str  # ISO 8601, UTC
    check: str  # what to look for in the provider's console, and how to clear the record

    @property
    def address(self) -> str:
        return f"{self.account}.{self.kind}[{self.key}]"

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "account": self.account, "provider": self.provider,
                "kind": self.kind, "key": self.key, "requested_at": self.requested_at,
                "check": self.check}


@dataclass
class AccountPlan:
    alias: str
    provider: str
    changes: list[Change] = field(default_factory=list)
    managed: int = 0  # live rooms that the file declares
    unmanaged: int = 0  # live rooms it does not declare (left alone unless pruned)
    uncertain: list[UncertainCreate] = field(default_factory=list)


@dataclass
class Plan:
    accounts: list[AccountPlan] = field(default_factory=list)

    def checksum(self) -> str:
        """What `apply --checksum` compares: the sha256 of the changes (no-ops left out)
        as canonical JSON, unmasked, live fingerprints included. Equal checksums: the
        same rooms get the same changes from the same live state."""
        data = canonical([c.as_dict() for c in self.changes()])
        return hashlib.sha256(data.encode()).hexdigest()

    def changes(self, *, include_noop: bool = False) -> Iterator[Change]:
        for account in self.accounts:
            for change in account.changes:
                if include_noop or change.action is not Action.NOOP:
                    yield change

    @property
    def has_changes(self) -> bool:
        return any(True for _ in self.changes())

    @property
    def uncertain(self) -> list[UncertainCreate]:
        return [record for account in self.accounts for record in account.uncertain]

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action.value for c in self.changes(include_noop=True))
        result = {action.value: counts.get(action.value, 0) for action in Action}
        result["unmanaged"] = sum(a.unmanaged for a in self.accounts)
        result["uncertain"] = len(self.uncertain)
        return result


@dataclass(frozen=True, slots=True)
class SavedChange:
    """One change of a saved plan: what apply needs to find the room again and to tell
    whether it changed since (the rooms file gives the rest)."""

    account: str
    provider: str
    kind: str
    key: str
    action: Action
    reason: str
    live_fingerprint: str | None  # None: the plan saw no live room (a create)
    new_join_urls: bool = False
    before: Mapping[str, Any] | None = None  # the live values the plan saw (masked ones too)


@dataclass(frozen=True, slots=True)
class SavedAccount:
    alias: str
    provider: str
    managed: int
    unmanaged: int


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan read back from `plan --out plan.json`."""

    path: str  # the saved plan's own file
    config: str  # the rooms file it was made from, as given to `plan`
    checksum: str  # that file's sha256 when the plan was made
    plan_checksum: str
    accounts: tuple[SavedAccount, ...]
    changes: tuple[SavedChange, ...]
