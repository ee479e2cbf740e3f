"""Kaleyra Video rooms over the real API: no name, no list, no update.

The state file (`state.py`) is the only link between a declared name and its `room_id`, so:

- `list_rooms` GETs each room the state file records (concurrently, bounded); a 404 means
  the room is missing and plans a create. The fields compared are the settings the state
  entry recorded at creation: rooms are immutable, so that is what the room has. The
  planning, export and show hooks are in `planning.py`, this class's base.
- Nothing changes in place: any drift is a replace that creates the new room before
  deleting the old, and is disruptive (every join URL changes). Kaleyra shows no sessions,
  so the live-session guard never blocks it: the plan marks the new join URLs instead.
- The adapter holds the account's `KaleyraState` (given at construction) and writes it
  through: `create` records the new room and `delete` forgets the old one, and neither
  returns before the file says so, so a crash loses at most a room whose create reply
  never came back. Changes that finish together share one save. Saving needs
  `state.locked(path)` held, as apply does.
- A replaced room stays on record under `<name>@<room_id>` until `delete` removes it, so a
  replace cut short plans the old room's deletion instead of leaving it (and its join
  URLs) alive and unrecorded. An undeclared room found gone (a delete cut short after its
  DELETE, or a room deleted outside reconcile) plans `<name>@<room_id>`'s deletion too,
  which forgets its entry; otherwise it would stay on record forever. Both are planned
  from the state file alone, and `find` finds them there, so saved plans apply them.
- Participants must exist as users: each is created first (`users.py`: once per user and
  adapter; "already exists" is fine, any other refusal fails at that step).
- The room POST is never retried after anything that may have reached the server: with no
  name and no list, a second attempt would make a second room nobody can find. Its intent
  (name and time) is saved before it is sent; when its outcome stays unknown the intent
  stays, as an uncertain create that every plan names (`uncertain()`), until a person has
  checked the Kaleyra console and removed it. The next apply creates the room again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from reconcile import envref
from reconcile.config import AccountConfig
from reconcile.engine.answers import ARRAY, NULL, Answer, RoomShape
from reconcile.engine.http import (
    HttpClient,
    HttpError,
    TransportError,
    parse_json,
    segment,
    unprocessed,
)
from reconcile.engine.plan import LiveRoom, UncertainCreate
from reconcile.engine.provider import Capabilities, RunContext
from reconcile.errors import ReconcileError
from reconcile.models import Room
from reconcile.providers.kaleyra.model import KaleyraAccount, Participant
from reconcile.providers.kaleyra.planning import (
    KIND,
    RETIRED,
    KaleyraPlanning,
    kaleyra_room,
    post_body,
)
from reconcile.providers.kaleyra.state import (
    UNCERTAIN,
    CreateIntent,
    KaleyraState,
    ParticipantUrl,
    StateEntry,
    StateError,
    locked,
    state_path,
)
from reconcile.providers.kaleyra.users import Users

log = logging.getLogger(__name__)

ROOMS = "/v2/rooms"

# What a GET of a room must hold (U3): its room_id (which must be the one asked for), and
# join URLs, if any, in a list.
ROOM = RoomShape("room_id", None, extra={"participants": ARRAY | NULL, "user_urls": ARRAY | NULL})


class CreateOutcomeUnknown(ReconcileError):
    """The room POST got no usable answer: Kaleyra may hold a room nobody recorded."""


def resolve_state_path(account: AccountConfig, rooms_file: str | os.PathLike[str], *,
                       environ: Mapping[str, str] | None = None,
                       state_dir: Path | None = None) -> Path:
    """The account's state file: `state_dir` when a run keeps state apart (the sandbox),
    else its `state:` setting (which may use ${…}) or the default beside the rooms file."""
    if state_dir is not None:
        return state_dir / f"kaleyra-{account.alias}.json"
    assert isinstance(account.settings, KaleyraAccount)
    setting = account.settings.state
    if setting:
        try:
            setting = envref.resolve(setting, os.environ if environ is None else environ)
        except envref.MissingVariable as missing:
            raise StateError(f"the `state` path of account {account.alias}: "
                             f"{missing.message}") from None
    return state_path(rooms_file, account.alias, setting)


def load_state(account: AccountConfig, rooms_file: str | os.PathLike[str], *,
               environ: Mapping[str, str] | None = None,
               state_dir: Path | None = None) -> KaleyraState:
    """The account's state. Apply holds `locked(path, …)` before loading it."""
    path = resolve_state_path(account, rooms_file, environ=environ, state_dir=state_dir)
    return KaleyraState.load(path, account.alias)


class KaleyraProvider(KaleyraPlanning):
    type = "kaleyra"
    capabilities = Capabilities(
        in_place=frozenset(), replace_order="create-first",
        delete="DELETE /v2/rooms/{room_id} (permanent; every join URL stops working)",
        sessions=False)
    # One GET per room (there is no list): at 20 ms a round trip, 16 in flight would take
    # 2.5 s for 2,000 rooms.
    read_concurrency = 64

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        """`https://api[.sandbox].<region>.bandyer.com` (a sandbox endpoint already holds
        the region, as `http://127.0.0.1:PORT/kaleyra/eu` does)."""
        settings = account.settings
        assert isinstance(settings, KaleyraAccount)
        environment = "sandbox." if settings.environment == "sandbox" else ""
        return f"https://api.{environment}{settings.region}.bandyer.com"

    @classmethod
    def auth_headers(cls, account: AccountConfig) -> dict[str, str]:
        return {"apikey": account.secrets["api_key"]}

    @classmethod
    def open(cls, account: AccountConfig, http: HttpClient, context: RunContext
             ) -> KaleyraProvider:
        return cls(account, http, state=load_state(account, context.config_path,
                                                   state_dir=context.state_dir),
                   warn_missing=not context.sandbox)

    @classmethod
    def lock(cls, account: AccountConfig, context: RunContext) -> AbstractContextManager[None]:
        path = resolve_state_path(account, context.config_path, state_dir=context.state_dir)
        return locked(path, context.lock_timeout)

    def __init__(self, account: AccountConfig, http: HttpClient, *,
                 state: KaleyraState, warn_missing: bool = True) -> None:
        super().__init__(account, http)
        self.state = state
        self._gone = {}
        self._declared = frozenset(room.key for room in account.rooms.get(KIND, ()))
        self._users = Users(http, self.error_message, account.alias)
        self._plus = {p.user_id for p in _participants(account) if _role(p) == "plus"}
        self._warned = not warn_missing  # a fresh sandbox has no state, by definition
        self._saving = asyncio.Lock()
        self._recorded = self._saved = 0  # changes to the state: recorded, and written

    # -- reading ------------------------------------------------------------------------

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        if self.state.missing and not self._warned:
            self._warned = True
            log.warning("%s", self.state.warning())
        reads = asyncio.Semaphore(self.read_concurrency)
        rooms = await asyncio.gather(*(self._fetch(name, reads) for name in self.state.names()
                                       if RETIRED not in name))
        return [room for room in rooms if room is not None]

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        if RETIRED in key:  # planned from the state alone (extra_deletions), and so found
            entry = self._retired(key)
            if entry is not None and self.state.get(key) is None:
                # An undeclared room found gone: read again whether it still is, as
                # extra_deletions needs to list it (a saved plan's apply asks it).
                await self._fetch(key.partition(RETIRED)[0])
            return self._live(key, entry) if entry is not None else None
        return await self._fetch(key)

    def _retired(self, key: str) -> StateEntry | None:
        """The entry `<name>@<room_id>` stands for: its own (a replaced room), or the
        entry of `name` if it records that room (an undeclared room found gone)."""
        entry = self.state.get(key)
        if entry is None:
            name, _, room_id = key.partition(RETIRED)
            entry = self.state.get(name)
            if entry is None or entry.room_id != room_id:
                return None
        return entry

    async def _fetch(self, name: str, reads: asyncio.Semaphore | None = None
                     ) -> LiveRoom | None:
        """The recorded room, confirmed by a GET (U3); None when unrecorded or gone."""
        entry = self.state.get(name)
        if entry is None:
            return None
        async with reads or contextlib.nullcontext():
            try:
                response = await self.http.request("GET", f"{ROOMS}/{segment(entry.room_id)}")
            except HttpError as exc:
                if exc.status != 404:
                    raise
                self._gone[name] = entry.room_id  # U15: deleted outside reconcile
                return None
        answer = Answer.of(response, self.type)
        body = answer.body
        # U2: the room at the top level or under "room".
        nested = isinstance(body, dict) and isinstance(body.get("room"), dict)
        room = answer.room(("room",) if nested else (), ROOM)
        if room["room_id"] != entry.room_id:
            raise answer.malformed(f"it holds room {room['room_id']}, not {entry.room_id}")
        return self._live(name, entry, _join_urls(room))

    # -- writing ------------------------------------------------------------------------

    async def create(self, kind: str, room: Room) -> LiveRoom:
        declared = kaleyra_room(room)
        await asyncio.gather(*(self._ensure_user(p) for p in declared.participants))
        body = post_body(declared)
        # The intent is on disk before the POST goes: if its answer never comes (lost,
        # timed out, or this process killed), the file still says a room may exist.
        intent = self.state.intend(declared.key)
        await self._save()
        try:
            response = await self._post_room(body)
            created = _room(parse_json(response.content))
            room_id = created.get("room_id")
            if not isinstance(room_id, str) or not room_id:
                raise ValueError("no room_id in the answer")
        except (HttpError, TransportError, ValueError) as exc:
            if not _made_nothing(exc):
                raise self._unknown(declared.key, str(exc), intent) from exc
            self.state.settle(intent)
            await self._save()
            raise
        urls = _join_urls(created)
        self.state.settle(intent)
        entry = await self._record(declared.key, room_id, body, urls)
        return self._live(declared.key, entry, urls)

    async def delete(self, kind: str, live: LiveRoom) -> None:
        try:
            await self.http.request("DELETE", f"{ROOMS}/{segment(live.id)}")
        except HttpError as exc:
            if exc.status != 404:  # U4: already deleted is what we wanted
                raise
        # By room_id: after a create-first replace, the name already holds the new room.
        names = [name for name, entry in self.state.items() if entry.room_id == live.id]
        for name in names:
            self.state.remove(name)
        if names:
            await self._save()

    async def _post_room(self, body: dict[str, Any]) -> httpx.Response:
        # A room POST whose reply was lost may have made a room; with no name and no list
        # a second attempt would make another that nobody can find. Only failures that
        # prove the server did nothing are retried.
        return await self.http.request("POST", ROOMS, json=body, retry=unprocessed)

    def _unknown(self, name: str, cause: str, intent: CreateIntent) -> CreateOutcomeUnknown:
        return CreateOutcomeUnknown(
            f"creating Kaleyra room {name}: {cause}. Kaleyra may have made the room without "
            f"reconcile learning its room_id: the state file keeps this attempt (at"
            f" {intent.requested_at}) as uncertain, and every plan names it, with what to"
            " check in the Kaleyra console. The next apply creates the room again")

    def uncertain(self) -> list[UncertainCreate]:
        path = self.state.path
        return [UncertainCreate(
            self.account.alias, self.type, KIND, intent.name, intent.requested_at,
            f"Kaleyra may hold a room made for {intent.name} at {intent.requested_at} that"
            f" nothing records: in the Kaleyra console, delete any room created around then"
            f" whose room_id is not in {path}; then remove this entry from"
            f" \"{UNCERTAIN}\" in that file")
            for intent in self.state.uncertain()]

    async def _record(self, name: str, room_id: str, settings: Mapping[str, Any],
                      urls: tuple[ParticipantUrl, ...]) -> StateEntry:
        """Write the new room through to the state file, at once (section 10.8)."""
        previous = self.state.get(name)
        entry = self.state.put(name, room_id=room_id, settings=settings, participants=urls)
        if previous is not None and previous.room_id not in (room_id, self._gone.get(name)):
            # A replace: keep the old room on record until delete() removes it.
            self.state.put(f"{name}{RETIRED}{previous.room_id}", room_id=previous.room_id,
                           settings=previous.settings, participants=previous.participants,
                           created_at=previous.created_at)
        await self._save()
        return entry

    async def _save(self) -> None:
        """Write the state through before the change counts as done. Each save rewrites
        the whole file, so changes recorded while one is due share it (a group commit):
        at 2,000 rooms, one save per create made applying them quadratic."""
        self._recorded += 1
        wanted = self._recorded
        async with self._saving:
            if self._saved >= wanted:
                return  # a save made while this change waited already wrote it
            await asyncio.sleep(0)  # let the changes that are ready be recorded too
            covered = self._recorded
            self.state.save()
            self._saved = covered

    def _ensure_user(self, participant: Participant) -> asyncio.Future[None]:
        """The participant's user exists (section 10.3), shared by concurrent creates."""
        user_id = participant.user_id
        # A user some declared room needs as plus is created plus everywhere.
        role = "plus" if user_id in self._plus or _role(participant) == "plus" else "basic"
        return self._users.ensure(user_id, role)


# -- helpers ---------------------------------------------------------------------------

def _made_nothing(exc: Exception) -> bool:
    """Whether a failed room POST surely made no room: refused (4xx, 429 included), or
    never sent. A 5xx may come after the room was stored, and an answer with no room_id
    came from a POST that succeeded."""
    if isinstance(exc, HttpError):
        return exc.status < 500
    return isinstance(exc, TransportError) and unprocessed(exc)


def _participants(account: AccountConfig) -> Iterable[Participant]:
    for declared in account.all_rooms():
        yield from kaleyra_room(declared.model).participants


def _role(participant: Participant) -> str:
    return participant.role or ("plus" if participant.is_admin else "basic")


def _room(body: Any) -> dict[str, Any]:
    """U2: the room at the top level or under "room"."""
    room = body.get("room") if isinstance(body, dict) else None
    if isinstance(room, dict):
        return room
    return body if isinstance(body, dict) else {}


def _join_urls(body: Any) -> tuple[ParticipantUrl, ...]:
    """U2: the list under participants or user_urls; keys user_id or user, url or link."""
    room = _room(body)
    items = room.get("participants") or room.get("user_urls") or []
    urls = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            user, url = item.get("user_id") or item.get("user"), item.get("url") or item.get("link")
            if isinstance(user, str) and user and isinstance(url, str) and url:
                urls.append(ParticipantUrl(user, url))
    return tuple(urls)


ADAPTER = KaleyraProvider  # what the engine builds for accounts of this type
