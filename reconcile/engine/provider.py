"""The one interface the core sees a provider through, and the planning template.

An adapter subclasses `Provider`, declares its `Capabilities` and fills in the hooks
(list, create, update, delete and, where the API needs it, normalisation). The base class
owns the template: it reads the live rooms, compares only the fields each room declares,
and turns the differences into changes with reasons.
"""

from __future__ import annotations

import asyncio
import builtins
import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from reconcile import envref, redact
from reconcile.declared import AccountConfig, DeclaredRoom
from reconcile.engine.http import HttpClient, HttpError, RateLimiter, TransportError
from reconcile.engine.plan import (
    ABSENT,
    AccountPlan,
    Action,
    Change,
    FieldChange,
    LiveRoom,
    ReplaceOrder,
    UncertainCreate,
)
from reconcile.escape import printable
from reconcile.models import Room
from reconcile.providers import provider_models

PLAN_READS = 16  # extra reads a plan runs at once per account (missing reasons, sessions)


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


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, as the planner and `reconcile providers` need to know."""

    in_place: frozenset[str] | None  # fields that update in place; None: every field
    replace_order: ReplaceOrder  # Kaleyra creates the new room before deleting the old
    delete: str  # how a delete is done, in words
    sessions: bool  # whether the API shows active sessions

    def forces_replacement(self, field: str) -> bool:
        return self.in_place is not None and field not in self.in_place


class Provider(ABC):
    type: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    read_concurrency: ClassVar[int] = PLAN_READS  # reads a plan keeps in flight at once

    def __init__(self, account: AccountConfig, http: HttpClient) -> None:
        self.account = account
        self.http = http

    # -- connection: how the core builds an account's client ---------------------------

    @classmethod
    @abstractmethod
    def origin(cls, account: AccountConfig) -> str:
        """The provider's own scheme and host for this account (`endpoint` replaces it)."""

    @classmethod
    def base_url(cls, account: AccountConfig) -> str:
        endpoint = account.settings.endpoint
        return endpoint.rstrip("/") if endpoint else cls.origin(account)

    @classmethod
    def auth(cls, account: AccountConfig) -> httpx.Auth | tuple[str, str] | None:
        return None

    @classmethod
    def auth_headers(cls, account: AccountConfig) -> dict[str, str]:
        return {}

    @classmethod
    def write_limit(cls) -> RateLimiter | None:
        """A client-side limit on writes, where the provider documents one."""
        return None

    @classmethod
    def open(cls, account: AccountConfig, http: HttpClient, context: RunContext) -> Provider:
        """The provider for one run (Kaleyra also loads its state file here)."""
        return cls(account, http)

    @classmethod
    def notices(cls, today: date) -> list[str]:
        """What a plan or apply on an account of this provider should tell once, on
        `today` (Twilio: its end of service)."""
        return []

    @classmethod
    def lock(cls, account: AccountConfig, context: RunContext) -> AbstractContextManager[None]:
        """What apply holds for the whole run (Kaleyra: its state file's lock)."""
        return nullcontext()

    @classmethod
    def connect(cls, account: AccountConfig, **options: Any) -> HttpClient:
        """The account's HttpClient: base URL, credentials, write limit, and connections
        for the reads or writes (`concurrency`) in flight at once, whichever is more."""
        connections = max(cls.read_concurrency, account.settings.concurrency)
        return HttpClient(cls.base_url(account), auth=cls.auth(account),
                          headers=cls.auth_headers(account), write_limit=cls.write_limit(),
                          connections=connections, provider=cls.type, **options)

    # -- hooks an adapter fills in ------------------------------------------------------

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

    def uncertain(self) -> list[UncertainCreate]:
        """Creates whose outcome is unknown and that no read can settle (Kaleyra)."""
        return []

    async def missing_reason(self, kind: str, key: str) -> str:
        """Why a declared room must be created (Twilio says when it ended by itself)."""
        return "not found"

    async def session_active(self, kind: str, live: LiveRoom) -> bool | None:
        """Whether people are in the room now; None when the provider cannot tell."""
        return live.active_session

    def error_message(self, exc: HttpError | TransportError) -> str:
        """The provider's own words for a failure, read from the common error shapes, with
        the account's credentials masked (an API may quote the key it refused) and every
        control character escaped (it is the provider's text)."""
        message = str(exc) if isinstance(exc, TransportError) else \
            f"{exc.status}: {_message_in(exc.body) or 'no message'}"
        if isinstance(exc, HttpError) and exc.status in (401, 403):
            message += f"; {self.credentials_hint()}"
        if isinstance(exc, HttpError) and exc.status == 404:
            message += self.missing_segment()
        forms = redact.secret_forms(self.account.secrets.values())
        return printable(redact.scrub(message, forms))

    def missing_segment(self) -> str:
        """After a 404: whether `endpoint` lacks the segment that stands for a locator, as
        `http://127.0.0.1:8787/signalwire` lacks the space of `…/signalwire/acme`."""
        endpoint = (self.account.settings.endpoint or "").rstrip("/")
        for name in provider_models(self.type).locators() if endpoint else ():
            value = getattr(self.account.settings, name)
            if not endpoint.endswith(f"/{value}"):
                return (f"; the endpoint {endpoint} lacks the account's /<{name}> segment:"
                        f" write `endpoint: {endpoint}/{value}`")
        return ""

    def credentials_hint(self) -> str:
        """After a 401 or 403: the account refused, where it is declared, and the
        environment variables its credentials come from, to check."""
        credentials = getattr(self.account.settings, "credentials", None)
        values = credentials.model_dump().values() if credentials is not None else ()
        variables = [name for value in values if isinstance(value, str)
                     for name in envref.names(value)]
        unique = list(dict.fromkeys(variables))
        where = f"the credentials of account `{self.account.alias}` ({self.account.location})"
        if not unique:
            return f"check {where}"
        what = " and ".join([", ".join(unique[:-1]), unique[-1]] if len(unique) > 1 else unique)
        return f"check {what}, {where}"

    def desired_fields(self, room: Room) -> dict[str, Any]:
        """The provider fields a room declares, normalised as `list_rooms` normalises."""
        return {name: self.normalize(name, value) for name, value in room.declared().items()}

    def normalize(self, field: str, value: Any) -> Any:
        """One value as the provider would store it (types, order, formats, case)."""
        return value

    def provider_default(self, kind: str, field: str) -> Any:
        """The value the provider gives a field nobody set (ABSENT when unknown)."""
        return ABSENT

    # -- export and show: live rooms as a starter file, and their join URLs --------------

    # Fields `export` leaves out even when set, and why (said in the exported file).
    export_omits: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def relocated_settings(cls, account: AccountConfig, settings: dict[str, Any],
                           source: Path, target: Path) -> dict[str, Any]:
        """The account's settings (as the file writes them) for a rooms file written at
        `target` instead of `source`: paths relative to the file are rewritten."""
        return settings

    @classmethod
    def room_models(cls) -> dict[str, builtins.type[Room]]:  # `type` is the ClassVar
        """The room model of each kind this provider has (`rooms`, `conferences`)."""
        return {kind.name: kind.model for kind in provider_models(cls.type).kinds}

    async def export_rooms(self, kind: str) -> list[LiveRoom]:
        """The live rooms `export` writes, with every field it can write: `list_rooms`,
        plus what a plan reads only for the rooms that declare it."""
        return await self.list_rooms(kind)

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        """What `export` declares for a live room, by YAML name: the key, then each field
        the model knows that is set and differs from the provider's default. Values come
        from `list_rooms`, normalised, so declaring them plans no change; leaving a field
        out is always safe, as undeclared fields are never compared."""
        model = self.room_models()[kind]
        fields: dict[str, Any] = {model.KEY_FIELD: live.key}
        for name in model.yaml_names():
            if name in fields or name in model.MANAGEMENT_FIELDS or name in self.export_omits:
                continue
            value = live.fields.get(name, ABSENT)
            if value is ABSENT or value is None or value == "":  # unset, however it reads
                continue
            default = self.provider_default(kind, name)
            if default is not ABSENT and _same(value, self.normalize(name, default)):
                continue
            fields[name] = value
        return fields

    def join_links(self, kind: str, live: LiveRoom) -> list[tuple[str | None, str]]:
        """The room's join URLs, each with whom it is for (None: for anyone)."""
        return [(None, url) for url in live.join_urls]

    # -- the planning template ---------------------------------------------------------

    async def plan(self, kinds: Iterable[str] | None = None) -> AccountPlan:
        account = AccountPlan(self.account.alias, self.type)
        prune = self.account.settings.prune
        # Some changes need a read of their own (why a room is missing, whether people are
        # in it): run those side by side, a bounded number at a time.
        gate = asyncio.Semaphore(self.read_concurrency)

        async def bounded(step: Awaitable[Change]) -> Change:
            async with gate:
                return await step

        for kind, declared in self.account.rooms.items():
            if kinds is not None and kind not in kinds:
                continue
            live = {room.key: room for room in await self.list_rooms(kind)
                    if room.key is not None}
            # Every room's own key first, then renames into what is left: a room renamed
            # from a key that is itself declared must not take that room, wherever it is
            # in the file.
            found = {room.key: live.pop(room.key, None) for room in declared}
            pairs: list[tuple[DeclaredRoom, LiveRoom | None]] = []
            for room in declared:
                current, previous = found[room.key], room.model.renamed_from
                if current is None and previous is not None:
                    current = live.pop(previous, None)
                account.managed += current is not None
                pairs.append((room, current))
            pruned = [leftover for key, leftover in sorted(live.items())
                      if prune is not None and fnmatch.fnmatchcase(key, prune.match)]
            account.unmanaged += len(live) - len(pruned)
            account.changes += await asyncio.gather(
                *(bounded(self._plan_room(kind, room, current)) for room, current in pairs),
                *(bounded(self._deletion(kind, leftover, f"pruned: matches {prune.match}"))
                  for leftover in pruned if prune is not None))
        return account

    async def _plan_room(self, kind: str, room: DeclaredRoom, live: LiveRoom | None
                         ) -> Change:
        if live is None:
            reason = await self.missing_reason(kind, room.key)
            return self._change(kind, room.key, Action.CREATE, reason, desired=room.model,
                                fields=tuple(FieldChange(name, ABSENT, value)
                                             for name, value in
                                             self.desired_fields(room.model).items()))
        fields = self.diff(kind, live, room.model)
        if not fields:
            return self._change(kind, room.key, Action.NOOP, "up to date",
                                desired=room.model, live=live)
        renamed = f"renamed from {live.key}; " if live.key != room.key else ""
        forced = [f.name for f in fields if f.forces_replacement]
        if forced:
            reason = f"field {forced[0]} cannot change in place" if len(forced) == 1 else \
                f"fields {', '.join(forced)} cannot change in place"
            return self._change(kind, room.key, Action.REPLACE, renamed + reason,
                                fields=fields, desired=room.model, live=live,
                                live_session=bool(await self.session_active(kind, live)))
        changed = ", ".join(f.name for f in fields)
        return self._change(kind, room.key, Action.UPDATE, f"{renamed}changed: {changed}",
                            fields=fields, desired=room.model, live=live)

    async def _deletion(self, kind: str, live: LiveRoom, reason: str) -> Change:
        fields = tuple(FieldChange(name, value, ABSENT) for name, value in live.fields.items())
        return self._change(kind, live.key or live.id, Action.DELETE, reason, fields=fields,
                            live=live,
                            live_session=bool(await self.session_active(kind, live)))

    def _change(self, kind: str, key: str, action: Action, reason: str, **extra: Any
                ) -> Change:
        return Change(self.account.alias, self.type, kind, key, action, reason,
                      replace_order=self.capabilities.replace_order, **extra)

    def diff(self, kind: str, live: LiveRoom, room: Room) -> tuple[FieldChange, ...]:
        """The declared fields whose live value differs (deepdiff, after normalising)."""
        desired = self.desired_fields(room)
        current = {name: _live_value(live.fields, name, self.provider_default(kind, name))
                   for name in desired}
        if current == desired:  # the common case, and far cheaper than a deep diff
            return ()
        from deepdiff import DeepDiff  # only for a room that differs: ~15 ms to import

        differences = DeepDiff(current, desired, ignore_numeric_type_changes=True,
                               verbose_level=0)
        changed = sorted(str(key) for key in differences.affected_root_keys)
        return tuple(FieldChange(name, current[name], desired[name],
                                 self.capabilities.forces_replacement(name))
                     for name in changed)


def _message_in(body: Any) -> str:
    """`message`, `detail` or `error` of a JSON error body, or of its first `errors` item."""
    if isinstance(body, str):
        return body.strip()[:300]
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        body = errors[0]
    for key in ("detail", "message", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _same(value: Any, default: Any) -> bool:
    """Equal as values, where true is not 1 (a bool field is never a number's default)."""
    return isinstance(value, bool) == isinstance(default, bool) and value == default


def _live_value(fields: Mapping[str, Any], name: str, default: Any) -> Any:
    value = fields.get(name, ABSENT)
    return default if value is ABSENT else value


class NameTaken(Exception):
    """The provider refused a create because a live room already has the key."""
