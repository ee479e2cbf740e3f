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
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class LiveRoom:
    """A room as the provider has it, in the provider's own field names."""

    kind: str
    key: str | None  # None: unnamed (never managed)
    id: str
    fields: Mapping[str, Any]  # settable fields, normalised for comparison
    status: str | None = None
    active_session: bool | None = None  # None: the provider does not show sessions
    join_urls: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint({"id": self.id, "status": self.status, "fields": self.fields})


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: Any  # ABSENT when the live room lacks the field
    after: Any  # ABSENT when a delete removes it
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
    desired: Any = None  # the declared Room model (None for deletes)
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


@dataclass
class AccountPlan:
    alias: str
    provider: str
    changes: list[Change] = field(default_factory=list)
    managed: int = 0  # live rooms that the file declares
    unmanaged: int = 0  # live rooms it does not declare (left alone unless pruned)


@dataclass
class Plan:
    accounts: list[AccountPlan] = field(default_factory=list)

    def changes(self, *, include_noop: bool = False) -> Iterator[Change]:
        for account in self.accounts:
            for change in account.changes:
                if include_noop or change.action is not Action.NOOP:
                    yield change

    @property
    def has_changes(self) -> bool:
        return any(True for _ in self.changes())

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action.value for c in self.changes(include_noop=True))
        result = {action.value: counts.get(action.value, 0) for action in Action}
        result["unmanaged"] = sum(a.unmanaged for a in self.accounts)
        return result
