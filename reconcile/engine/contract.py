"""The provider contract: what the planner and apply see of a provider, and nothing more.

An adapter subclasses `reconcile.engine.provider.Provider`, which implements this
contract with defaults for every optional hook; the planner (`engine/planner.py`) and
apply (`engine/apply.py`) are typed against `ProviderContract`, so mypy proves each adapter
fits it. The contract has two parts:

- `Rooms`: read and write live rooms (list, find, create, update, delete);
- `PlanningHooks`: how the planner compares and what it says. Each hook is called by the
  planner only, receives immutable values, and must return new ones: a hook never mutates
  what it is given.

docs/development.md ("The provider contract") is the same contract as a table.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from reconcile.declared import AccountConfig
from reconcile.engine.http import HttpError, TransportError
from reconcile.engine.plan import (
    Change,
    FieldChange,
    Leftover,
    LiveRoom,
    ReplaceOrder,
    UncertainCreate,
)
from reconcile.models import Room

PLAN_READS = 16  # extra reads a plan runs at once per account (missing reasons, sessions)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, as the planner and `reconcile providers` need to know."""

    in_place: frozenset[str] | None  # fields that update in place; None: every field
    replace_order: ReplaceOrder  # Kaleyra creates the new room before deleting the old
    delete: str  # how a delete is done, in words
    sessions: bool  # whether the API shows active sessions

    def forces_replacement(self, field: str) -> bool:
        return self.in_place is not None and field not in self.in_place


class NameTaken(Exception):
    """The provider refused a create because a live room already has the key."""


class Rooms(Protocol):
    """Reading and writing live rooms. `kind` is one of the provider's room kinds
    (`rooms`, `conferences`); every `LiveRoom` returned holds its fields normalised as
    `PlanningHooks.normalize` would, so that the planner compares like with like."""

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        """Every live room of a kind, with the fewest requests the API allows. Called
        once per declared kind by every plan; rooms without a key are never managed."""
        ...

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        """One live room by key, or None. Called by a saved plan's apply (one per room
        it touches) and by apply to adopt a room after a create's lost reply."""
        ...

    async def create(self, kind: str, room: Room) -> LiveRoom:
        """Create the declared room and return it as `list_rooms` would read it. Raise
        `NameTaken` when the provider says the key exists (apply then adopts it)."""
        ...

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        """Bring `live` in line with `room` in place; `changes` are the planned fields,
        none of which forces a replacement. Return the room as it now stands."""
        ...

    async def delete(self, kind: str, live: LiveRoom) -> None:
        """Delete (or end, or archive) the room; an already-gone room is not an error."""
        ...


class PlanningHooks(Protocol):
    """What the planner asks a provider while it compares declared and live rooms."""

    def desired_fields(self, room: Room) -> dict[str, Any]:
        """The provider fields a declared room sets, normalised as `list_rooms`
        normalises. Only these fields are compared: an undeclared field never drifts."""
        ...

    def normalize(self, field: str, value: Any) -> Any:
        """One value as the provider would store it (types, order, formats, case).
        Pure: no request, no state."""
        ...

    def provider_default(self, kind: str, field: str) -> Any:
        """The value the provider gives a field nobody set (ABSENT when unknown): a live
        room that lacks a declared field is compared as holding it."""
        ...

    def is_drift(self, kind: str, live: LiveRoom, change: FieldChange) -> bool:
        """Whether a declared field that reads differently from its live value is drift
        the plan acts on (Twilio: a field no read shows is not). Called for each differing
        field of a live room; pure."""
        ...

    async def missing_reason(self, kind: str, key: str) -> str:
        """Why a declared room must be created: the reason its create shows. May read
        the provider (Twilio says when a room ended by itself); runs after `list_rooms`."""
        ...

    async def session_active(self, kind: str, live: LiveRoom) -> bool | None:
        """Whether people are in the room now (None: the provider cannot tell). Called
        before a replace or a deletion is planned; may read the provider."""
        ...

    def annotate(self, change: Change) -> Change:
        """The change as this provider would show it: called once for every declared
        room's change (creates, updates, replaces, no-ops) after the planner made it,
        with the live room in `change.live`. Return the change, or a copy with a longer
        reason or a mark such as `new_join_urls` (Metered: an expired room; Kaleyra: a
        replace's new join URLs). Never change the action: apply relies on it. Pure."""
        ...

    async def extra_deletions(self, kinds: Collection[str] | None) -> list[Leftover]:
        """Live rooms to delete that no declared room and no prune pattern calls for,
        each with its reason (Kaleyra: rooms its state file still records). Called once
        per plan, after every kind's `list_rooms`, with the kinds planned (None: all);
        the planner makes each a deletion, as it does a pruned room."""
        ...

    def uncertain(self) -> list[UncertainCreate]:
        """Creates whose outcome is unknown and that no read can settle (Kaleyra). Read
        by every plan, and again after apply."""
        ...


class ProviderContract(Rooms, PlanningHooks, Protocol):
    """One account's provider, as the planner and apply see it."""

    type: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    read_concurrency: ClassVar[int]  # reads a plan keeps in flight at once
    account: AccountConfig

    def error_message(self, exc: HttpError | TransportError) -> str:
        """The provider's own words for a failed request, safe to print."""
        ...
