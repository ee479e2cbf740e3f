"""Metered Video meeting rooms over the real API.

Settings change in place with a PUT carrying the full declared set and always `privacy`;
`roomName` cannot (a rename is create new + delete old); DELETE archives. The secret key
travels in the query string, so it is added by an httpx auth hook (the http layer masks it
in URLs) and scrubbed from every message this adapter builds. U-numbers refer to
`docs/providers/metered.md`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import httpx

from reconcile import redact
from reconcile.config import AccountConfig
from reconcile.engine.answers import BOOLEAN, NULL, STRING, Answer, RoomShape, distinct
from reconcile.engine.http import HttpError, parse_json, segment
from reconcile.engine.plan import Action, Change, FieldChange, LiveRoom
from reconcile.engine.provider import Capabilities, NameTaken, Provider
from reconcile.errors import ReconcileError
from reconcile.escape import printable
from reconcile.models import Room
from reconcile.providers.metered.model import MeteredAccount, MeteredRoom

KIND = "rooms"
KEY_FIELD = MeteredRoom.KEY_FIELD
ROOM_PATH = "/api/v1/room"
LIST_PATH = "/api/v1/rooms"
SECRET_PARAM = "secretKey"
DEFAULT_PRIVACY = "public"  # U1: what the server applies when privacy is omitted
ALREADY_EXISTS = "already exist"  # U3: the one message the reference lets us match on
NOT_FOUND_STATUSES = frozenset({400, 404})  # U4: an unknown room is 400 "Invalid request"
EXPIRED = "expired"
# U15: the defaults the create page's sample shows. Plans never rely on them (they compare
# only declared fields); export leaves these values out of the starter file.
SAMPLE_DEFAULTS: dict[str, Any] = {
    "privacy": DEFAULT_PRIVACY, "deleteOnExp": False, "autoJoin": False,
    "enableRequestToJoin": False, "enableChat": False, "enableScreenSharing": True,
    "joinVideoOn": True, "joinAudioOn": True, "ownerOnlyBroadcast": False,
    "recordRoom": False, "ejectAtRoomExp": False, "lang": "en", "enableRecording": False}
# Every field a room can declare, in the API's names (the model's aliases).
SETTINGS = tuple(name for name in MeteredRoom.yaml_names()
                 if name not in MeteredRoom.MANAGEMENT_FIELDS)
# `_id` may be absent (the name then stands for it, see _live).
ROOM = RoomShape("_id", KEY_FIELD, MeteredRoom, id_required=False, key_types=STRING,
                 extra={"archived": BOOLEAN | NULL})


class MeteredAuthError(ReconcileError):
    """The app refused the secret key (U9); never retried."""


class RoomGone(ReconcileError):
    """A room to update no longer exists (archived since it was read)."""


class SecretKeyAuth(httpx.Auth):
    """Adds `secretKey` to every request's query string (Metered's only auth)."""

    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({SECRET_PARAM: self._secret_key})
        yield request

    def __repr__(self) -> str:
        return "SecretKeyAuth(***)"


class MeteredProvider(Provider):
    type = "metered"
    capabilities = Capabilities(
        in_place=frozenset(SETTINGS) - {KEY_FIELD},
        replace_order="create-first",  # U8: a rename creates the new room, then archives the old
        delete="DELETE (archives the room; its name is free again)",
        sessions=False)

    # -- connection: what the core needs to build this account's HttpClient ---------------

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        """`https://<app>.metered.live` (a sandbox endpoint already holds the app)."""
        assert isinstance(account.settings, MeteredAccount)
        return f"https://{account.settings.app}.metered.live"

    @classmethod
    def auth(cls, account: AccountConfig) -> httpx.Auth:
        """`secretKey` in the query string of every call."""
        return SecretKeyAuth(account.secrets["secret_key"])

    # -- reads ------------------------------------------------------------------------

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        # U5: one request, no pagination; so no loop to follow, but a room listed twice
        # is as wrong as a repeated page.
        answer = Answer.of(await self._request("GET", LIST_PATH), self.type)
        return distinct((self._live(room) for room in room_list(answer.body, answer)),
                        self.type)

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        try:
            response = await self._request("GET", _room_path(key))
        except HttpError as exc:
            if exc.status in NOT_FOUND_STATUSES:  # U4 (auth failures were raised already)
                return None
            raise
        room = Answer.of(response, self.type).room((), ROOM)  # U4: absent is a 400
        return None if room.get("archived") is True else self._live(room)

    # -- writes -----------------------------------------------------------------------

    async def create(self, kind: str, room: Room) -> LiveRoom:
        body = {"privacy": DEFAULT_PRIVACY, **self.desired_fields(room)}  # U1: always sent
        try:
            response = await self._request("POST", ROOM_PATH, json=body)
        except HttpError as exc:
            if exc.status < 500 and ALREADY_EXISTS in _message(exc.body):
                raise NameTaken(room.key) from exc
            raise
        return await self._returned(response, room.key)

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        name = _name(live)
        # U7: the live settings with the declared ones over them, so a PUT that replaces
        # the room keeps what the file does not declare, as a merging one does; privacy is
        # required, so an unset one goes as the server's default. U8: never roomName.
        body = {k: v for k, v in {"privacy": DEFAULT_PRIVACY, **live.fields,
                                  **self.desired_fields(room)}.items() if k != KEY_FIELD}
        try:
            response = await self._request("PUT", _room_path(name), json=body)
        except HttpError as exc:
            # U4: a 400 is either "unknown room" or a refused body; GET tells which.
            if exc.status in NOT_FOUND_STATUSES and await self.find(kind, name) is None:
                raise RoomGone(f"metered room {name!r} of account {self.account.alias!r}"
                               " no longer exists") from exc
            raise
        return await self._returned(response, name)

    async def delete(self, kind: str, live: LiveRoom) -> None:
        name = _name(live)
        try:
            await self._request("DELETE", _room_path(name))
        except HttpError as exc:
            # U4/U6: an archived room answers 400 too; gone is what we wanted.
            if exc.status in NOT_FOUND_STATUSES and await self.find(kind, name) is None:
                return
            raise

    # -- planning ---------------------------------------------------------------------

    def desired_fields(self, room: Room) -> dict[str, Any]:
        # A null declares nothing: PUT merges (U7), so Metered has no way to clear a field.
        return {k: v for k, v in super().desired_fields(room).items() if v is not None}

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        return {name: value for name, value in super().exportable_fields(kind, live).items()
                if name not in SAMPLE_DEFAULTS or value != SAMPLE_DEFAULTS[name]}

    def annotate(self, change: Change) -> Change:
        live = change.live
        if live is None or live.status != EXPIRED:
            return change
        # U16: nobody can join an expired room, but apply cannot fix what the file (or the
        # dashboard, for an undeclared expiry) says: the action stays, the reason tells.
        note = f"expired at {_iso(live.fields['expireUnixSec'])}"
        reason = note if change.action is Action.NOOP else f"{change.reason}; {note}"
        return dataclasses.replace(change, reason=reason)

    # -- helpers ----------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, path, **kwargs)
        except HttpError as exc:
            if _auth_refused(exc):
                raise MeteredAuthError(self._scrub(
                    f"metered account {self.account.alias!r}: the secret key was refused"
                    f" ({exc.status} {_message(exc.body) or 'with no message'});"
                    f" {self.credentials_hint()}")) from exc
            raise

    async def _returned(self, response: httpx.Response, name: str) -> LiveRoom:
        """The room a create or PUT answered with, re-read when the body lacks it (U2)."""
        room = _json(response)
        if isinstance(room, dict) and room.get(KEY_FIELD) == name:
            return self._live(Answer.of(response, self.type).room((), ROOM))
        found = await self.find(KIND, name)
        if found is None:
            raise ReconcileError(f"metered room {name!r} of account {self.account.alias!r}"
                                 " was written but cannot be read back")
        return found

    def _live(self, room: dict[str, Any]) -> LiveRoom:
        # U14: a field missing from the answer (or null) is unset: keep only present ones.
        fields = {name: room[name] for name in SETTINGS if room.get(name) is not None}
        name = room.get(KEY_FIELD)
        key = name if isinstance(name, str) else None
        return LiveRoom(KIND, key, str(room.get("_id") or key), fields,
                        status=EXPIRED if _expired(fields.get("expireUnixSec")) else None,
                        join_urls=(f"{self.base_url(self.account)}/{segment(key)}",)
                        if key else ())

    def _scrub(self, text: str) -> str:
        """The text with the key masked in every form it may be quoted in (URL-encoded,
        say), and escaped: it quotes the provider."""
        return printable(redact.scrub(text, redact.secret_forms(self.account.secrets.values())))


def room_list(body: Any, answer: Answer | None = None) -> list[dict[str, Any]]:
    """The non-archived rooms of a list answer (`answer`, which `body` is the JSON of): a
    bare array, or one under `rooms`/`data` (U5); each room checked."""
    answer = answer or Answer(body, provider=MeteredProvider.type, method="GET", url=LIST_PATH)
    path: tuple[str, ...] | None = ()
    if isinstance(body, dict):
        path = next(((k,) for k in ("rooms", "data") if isinstance(body.get(k), list)), None)
    elif not isinstance(body, list):
        path = None
    if path is None:
        raise answer.malformed("an unexpected body (neither a list of rooms nor one under"
                               " `rooms` or `data`)")
    return [room for room in answer.rooms(path, ROOM) if room.get("archived") is not True]


def _room_path(name: str) -> str:
    return f"{ROOM_PATH}/{segment(name)}"


def _name(live: LiveRoom) -> str:
    if live.key is None:
        raise ReconcileError(f"metered room {live.id} has no roomName to address it by")
    return live.key


def _json(response: httpx.Response) -> Any:
    try:
        return parse_json(response.content)
    except ValueError:
        return None


def _message(body: Any) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def _auth_refused(exc: HttpError) -> bool:
    # U9: 401/403, or any other 4xx whose message is about the key.
    if exc.status in (401, 403):
        return True
    message = _message(exc.body).lower()
    return 400 <= exc.status < 500 and ("secret" in message or "key" in message)


def _expired(expire: Any) -> bool:
    return isinstance(expire, int | float) and not isinstance(expire, bool) \
        and expire < time.time()


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ADAPTER = MeteredProvider  # what the engine builds for accounts of this type
