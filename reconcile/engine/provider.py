"""The base class every adapter subclasses: the provider contract, with its defaults.

A provider is seen by the planner and apply through `engine/contract.py`
(`ProviderContract`); this class implements it with a default for every optional hook, so
an adapter declares its `Capabilities` and fills in only what its API needs. The base is
put together by concern:

- `Connection` (`engine/connection.py`): how the core builds an account's client;
- `Provider` itself: opening one for a run, the rooms (list, find, create, update,
  delete) and the planning hooks; the planning is the engine's (`engine/planner.py`);
- `ErrorText` (`engine/error_text.py`): the provider's words for a failure;
- `Exporting` (`engine/exporting.py`): what `export` and `show` read.

No adapter overrides a private (`_`) member of this class or the planner's functions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from reconcile.declared import AccountConfig
from reconcile.engine.connection import Connection
from reconcile.engine.contract import PLAN_READS as PLAN_READS
from reconcile.engine.contract import Capabilities as Capabilities
from reconcile.engine.contract import NameTaken as NameTaken
from reconcile.engine.error_text import ErrorText
from reconcile.engine.exporting import Exporting
from reconcile.engine.http import HttpClient
from reconcile.engine.plan import (
    ABSENT,
    Change,
    FieldChange,
    Leftover,
    LiveRoom,
    UncertainCreate,
)
from reconcile.models import Room


def utc_today() -> date:
    """Today's date in UTC (end-of-service dates compare with it; tests replace it)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run knows beyond the accounts: where the rooms file is, and so on."""

    config_path: str
    lock_timeout: float | None = None  # seconds apply waits for a state lock; None: forever
    state_dir: Path | None = None  # keep provider state here (the sandbox keeps its own)
    # The clock dated notices and errors read; looked up at call time, so tests can set it.
    today: Callable[[], date] = field(default=lambda: utc_today())
    sandbox: bool = False  # `--sandbox`: provider state starts empty there, as expected


class Provider(Connection, ErrorText, Exporting, ABC):
    """One account's provider. The docstrings of `engine/contract.py` state what each
    hook must do; the defaults below suit a provider that needs nothing more."""

    type: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, account: AccountConfig, http: HttpClient) -> None:
        self.account = account
        self.http = http

    @classmethod
    def open(cls, account: AccountConfig, http: HttpClient, context: RunContext) -> Provider:
        """The provider for one run (Kaleyra also loads its state file here)."""
        return cls(account, http)

    @classmethod
    def lock(cls, account: AccountConfig, context: RunContext) -> AbstractContextManager[None]:
        """What apply holds for the whole run (Kaleyra: its state file's lock)."""
        return nullcontext()

    # -- the rooms (`contract.Rooms`) ---------------------------------------------------

    @abstractmethod
    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        """Every live room of a kind, with the fewest requests the API allows."""

    @abstractmethod
    async def create(self, kind: str, room: Room) -> LiveRoom:
        """Create the room; raise NameTaken when the provider says the key exists."""

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        raise NotImplementedError(f"{self.type} updates nothing in place")

    @abstractmethod
    async def delete(self, kind: str, live: LiveRoom) -> None:
        """Delete (or end, or archive) the room; an already-gone room is not an error."""

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        """One live room by key (adoption after a lost create reply, saved plans)."""
        return next((r for r in await self.list_rooms(kind) if r.key == key), None)

    # -- the planning hooks (`contract.PlanningHooks`), called by `engine/planner.py` ---

    def desired_fields(self, room: Room) -> dict[str, Any]:
        """The provider fields a room declares, normalised as `list_rooms` normalises."""
        return {name: self.normalize(name, value) for name, value in room.declared().items()}

    def normalize(self, field: str, value: Any) -> Any:
        """One value as the provider would store it (types, order, formats, case)."""
        return value

    def provider_default(self, kind: str, field: str) -> Any:
        """The value the provider gives a field nobody set (ABSENT when unknown)."""
        return ABSENT

    def is_drift(self, kind: str, live: LiveRoom, change: FieldChange) -> bool:
        """Whether a differing declared field is drift to act on: always, by default."""
        return True

    async def missing_reason(self, kind: str, key: str) -> str:
        """Why a declared room must be created (Twilio says when it ended by itself)."""
        return "not found"

    async def session_active(self, kind: str, live: LiveRoom) -> bool | None:
        """Whether people are in the room now; None when the provider cannot tell."""
        return live.active_session

    def annotate(self, change: Change) -> Change:
        """A declared room's change as this provider shows it: unchanged, by default."""
        return change

    async def extra_deletions(self, kinds: Collection[str] | None) -> list[Leftover]:
        """Rooms to delete that nothing declares or prunes: none, by default."""
        return []

    def uncertain(self) -> list[UncertainCreate]:
        """Creates whose outcome is unknown and that no read can settle (Kaleyra)."""
        return []
