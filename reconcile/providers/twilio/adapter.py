"""Twilio Programmable Video rooms over the real API (see docs/providers/twilio.md).

Twilio changes nothing in place: any drift is a replace (end the room with
`Status=completed`, create it again). Rooms end by themselves minutes after they empty, so
a declared room that ended plans as a create with the reason "ended". Requests are
form-encoded with PascalCase keys; answers are snake_case JSON. Twilio's docs give
December 5, 2026 as the end of Programmable Video for existing customers: from then on
plan and apply print a notice, and answers that mean the product is gone become one clear
error (`ProductRetired`), never "room not found" (docs/providers/twilio.md U15).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx

from reconcile.config import AccountConfig
from reconcile.engine import provider as engine_provider
from reconcile.engine.answers import ARRAY, NULL, STRING, Answer, RoomShape, distinct
from reconcile.engine.http import HttpClient, HttpError, segment
from reconcile.engine.plan import ABSENT, FieldChange, LiveRoom
from reconcile.engine.provider import Capabilities, NameTaken, Provider, RunContext
from reconcile.errors import ReconcileError
from reconcile.models import Room
from reconcile.providers.twilio.model import DEFAULT_PARTICIPANTS, LEGACY_TYPES, TwilioRoom

DEFAULT_ENDPOINT = "https://video.twilio.com"
BASE_PATH = "/v1/Rooms"
PAGE_SIZE = 1000  # the API's maximum
KIND = "rooms"
LIVE = "in-progress"  # completed and failed rooms (U10) hold no name and are not live
# Settings the room resource echoes back (read-only and session fields never count).
SHOWN = ("unique_name", "type", "max_participants", "max_participant_duration",
         "empty_room_timeout", "unused_room_timeout", "status_callback",
         "status_callback_method", "record_participants_on_connect", "video_codecs",
         "media_region", "audio_only", "large_room", "enable_turn")
# Create parameters no read shows: drift in them cannot be seen, so they are never diffed.
UNSEEN = frozenset({"transcribe_participants_on_connect", "transcriptions_configuration"})
JSON_FIELDS = frozenset({"recording_rules", "transcriptions_configuration"})
# What Twilio stores when a field is not set (max_participants depends on the type, U7).
DEFAULTS: dict[str, Any] = {
    "type": "group", "max_participant_duration": 14400, "empty_room_timeout": 5,
    "unused_room_timeout": 5, "status_callback": None, "status_callback_method": "POST",
    "record_participants_on_connect": False, "video_codecs": ["VP8"], "media_region": "us1",
    "audio_only": False, "large_room": False, "enable_turn": True, "recording_rules": []}
NAME_TAKEN = 53113
ALREADY_ENDED = frozenset({53112, 53118})  # U3: ending a room that is not in progress
ROOM = RoomShape("sid", "unique_name", TwilioRoom, extra={"status": STRING})
# Twilio's docs: existing customers may use Programmable Video until this day (U15).
END_OF_SERVICE = date(2026, 12, 5)
MIGRATION_DOC = "docs/migration.md"
RETIRED_CODES = frozenset({20403})  # "Forbidden": after the end date, read as "gone"


class ProductRetired(ReconcileError):
    """Twilio's answer means Programmable Video is no longer there for the account."""


class TwilioProvider(Provider):
    type = "twilio"
    capabilities = Capabilities(
        in_place=frozenset(), replace_order="delete-first",
        delete="POST Status=completed (ends the room; participants are disconnected)",
        sessions=True)

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        return "https://video.twilio.com"

    @classmethod
    def auth(cls, account: AccountConfig) -> tuple[str, str]:
        """HTTP Basic: Account SID (or API key SID) and auth token (or the key's secret)."""
        return account.secrets["account_sid"], account.secrets["auth_token"]

    def __init__(self, account: AccountConfig, http: HttpClient, *,
                 today: date | None = None) -> None:
        super().__init__(account, http)
        # Looked up at call time: tests set the calendar.
        self.today = today if today is not None else engine_provider.utc_today()

    @classmethod
    def open(cls, account: AccountConfig, http: HttpClient, context: RunContext
             ) -> TwilioProvider:
        return cls(account, http, today=context.today())

    @classmethod
    def notices(cls, today: date) -> list[str]:
        if today < END_OF_SERVICE:
            return []
        return [f"Twilio's documentation gives {END_OF_SERVICE:%B} {END_OF_SERVICE.day},"
                f" {END_OF_SERVICE.year} as the last day of Programmable Video for existing"
                f" customers. Twilio rooms keep working for as long as Twilio answers; to"
                f" move them to another provider, see {MIGRATION_DOC} (`reconcile convert`)."]

    # -- the end of service (U15) -------------------------------------------------------

    async def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """A request whose failure, when it means the product is gone, says so. A 404 on
        one room is checked against the room list: only a list that answers makes it an
        ordinary "no such room"."""
        try:
            return await self.http.request(method, path, **options)
        except HttpError as exc:
            self._check_retired(exc, collection=path == BASE_PATH)
            if exc.status == 404:
                await self._request("GET", BASE_PATH, params={"PageSize": 1})
            raise

    def _check_retired(self, exc: HttpError, *, collection: bool) -> None:
        ended = self.today >= END_OF_SERVICE
        code = _code(exc)
        if exc.status == 410 or (collection and exc.status == 404) or (ended and (
                exc.status in (401, 403) or code in RETIRED_CODES)):
            answer = f"{exc.status}" + (f" (code {code})" if code is not None else "")
            also = " (or its credentials are wrong)" if exc.status == 401 else ""
            raise ProductRetired(
                f"{self.account.alias}: Twilio answered {answer}: Programmable Video may"
                f" have ended for this account{also}; Twilio's documentation gives"
                f" {END_OF_SERVICE.isoformat()} as its end of service. To move these rooms"
                f" to another provider, see {MIGRATION_DOC}.") from None

    # -- reads --------------------------------------------------------------------------

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        # The default Status lists in-progress rooms only: those are the live ones.
        return await self._rooms({"PageSize": PAGE_SIZE})

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        # The query filter, not the path form: names may hold reserved URL characters.
        # U6: the filter may match loosely; keep the exact name only.
        rooms = await self._rooms({"UniqueName": key, "PageSize": PAGE_SIZE})
        return next((room for room in rooms if room.key == key), None)

    async def missing_reason(self, kind: str, key: str) -> str:
        """"ended" when a completed room has the name (it ended by itself, or was ended)."""
        response = await self._request("GET", BASE_PATH, params={
            "Status": "completed", "UniqueName": key, "PageSize": 1})
        ended = any(room.get("unique_name") == key
                    for room in _items(Answer.of(response, self.type), ROOM))
        return "ended" if ended else "not found"

    async def session_active(self, kind: str, live: LiveRoom) -> bool | None:
        try:
            response = await self._request(
                "GET", f"{BASE_PATH}/{segment(live.id)}/Participants",
                params={"Status": "connected", "PageSize": 1})
        except HttpError as exc:
            if exc.status == 404:  # gone: nobody is in it
                return False
            raise
        return bool(_items(Answer.of(response, self.type)))

    async def _rooms(self, params: dict[str, Any]) -> list[LiveRoom]:
        try:
            found = [self._live(room) async for room in self._pages(params)
                     if room.get("status") == LIVE]
        except HttpError as exc:  # a next page failing
            self._check_retired(exc, collection=True)
            raise
        return await self._with_recording_rules(distinct(found, self.type))

    async def _pages(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a list, following `meta.next_page_url` until it is null. Page
        tokens chain, so pages are fetched one after the other."""
        response = await self._request("GET", BASE_PATH, params=params)
        async for page in self.http.link_pages(
                response, lambda page: page.at(("meta", "next_page_url"), STRING | NULL,
                                               required=False),
                parse=lambda response: Answer.of(response, self.type)):
            for item in _items(page, ROOM):
                yield item

    @functools.cached_property
    def _declaring_rules(self) -> frozenset[str]:
        """The keys of the rooms that declare recording rules (found once: every create
        asks, and dumping every model each time made applying N rooms quadratic). Set
        fields are what `declared()` dumps: asked without dumping each room."""
        return frozenset(room.key for room in self.account.rooms.get(KIND, [])
                         if "recording_rules" in room.model.model_fields_set)

    async def _with_recording_rules(self, rooms: list[LiveRoom]) -> list[LiveRoom]:
        """Recording rules live in a sub-resource: read them only for the rooms that
        declare them, so plans that do not use them pay nothing."""
        wanted = self._declaring_rules
        targets = [i for i, room in enumerate(rooms) if room.key in wanted]
        rules = await asyncio.gather(*(self._recording_rules(rooms[i]) for i in targets))
        for i, found in zip(targets, rules, strict=True):
            rooms[i] = dataclasses.replace(
                rooms[i], fields={**rooms[i].fields, "recording_rules": found})
        return rooms

    async def _recording_rules(self, live: LiveRoom) -> Any:
        response = await self._request("GET", f"{BASE_PATH}/{segment(live.id)}/RecordingRules")
        rules = Answer.of(response, self.type).at(("rules",), ARRAY | NULL, required=False)
        return self.normalize("recording_rules", rules or [])

    # -- writes -------------------------------------------------------------------------

    async def create(self, kind: str, room: Room) -> LiveRoom:
        try:
            response = await self._request("POST", BASE_PATH, data=_form(room))
        except HttpError as exc:
            if _code(exc) == NAME_TAKEN:  # U1: by code, whatever the 4xx status
                raise NameTaken(room.key) from exc
            raise
        created = Answer.of(response, self.type).room((), ROOM)
        (live,) = await self._with_recording_rules([self._live(created)])
        return live

    async def delete(self, kind: str, live: LiveRoom) -> None:
        """End the room (Twilio has no DELETE, U11); an ended or unknown room is done."""
        try:
            await self._request("POST", f"{BASE_PATH}/{segment(live.id)}",
                                data={"Status": "completed"})
        except HttpError as exc:
            if exc.status == 404:
                return
            # U3: 53112/53118 may also mean a bad request: believe "ended" only once a
            # read confirms the room is no longer in progress.
            if _code(exc) in ALREADY_ENDED and not await self._in_progress(live.id):
                return
            raise

    async def _in_progress(self, sid: str) -> bool:
        try:
            response = await self._request("GET", f"{BASE_PATH}/{segment(sid)}")
        except HttpError as exc:
            if exc.status == 404:
                return False
            raise
        status = Answer.of(response, self.type).at(("status",), STRING, required=False)
        return bool(status == LIVE)

    # -- comparison ---------------------------------------------------------------------

    def normalize(self, field: str, value: Any) -> Any:
        if field == "video_codecs" and isinstance(value, list):
            return sorted(set(value))  # a set: order has no meaning
        if field == "status_callback_method" and isinstance(value, str):
            return value.upper()
        if field == "enable_turn":
            return True  # deprecated: Twilio always considers it true
        if field == "recording_rules" and isinstance(value, list):
            return [_without_nulls(rule) for rule in value]
        return value

    def desired_fields(self, room: Room) -> dict[str, Any]:
        """Declared fields as Twilio will store them: a null (or an empty codec list)
        gets the provider's default, which can depend on other fields of the room."""
        fields = super().desired_fields(room)
        for name, value in fields.items():
            if value is None or (name == "video_codecs" and value == []):
                fields[name] = self.normalize(name, _room_default(room, name))
        return fields

    def is_drift(self, kind: str, live: LiveRoom, change: FieldChange) -> bool:
        """A field no read shows always reads as unset, and a legacy type reads as
        `group` (U14): neither is drift, nor a reason to replace."""
        return change.name not in UNSEEN and not _legacy_read_as_group(change)

    def provider_default(self, kind: str, field: str) -> Any:
        return DEFAULTS.get(field, ABSENT)

    # -- export ---------------------------------------------------------------------------

    export_omits = {field: "no Twilio read shows it" for field in sorted(UNSEEN)}

    async def export_rooms(self, kind: str) -> list[LiveRoom]:
        """Every live room with its recording rules (a plan reads them only for the rooms
        that declare them): a starter file without them would record nothing after the
        next replace."""
        rooms = await self.list_rooms(kind)
        gate = asyncio.Semaphore(self.read_concurrency)

        async def with_rules(room: LiveRoom) -> LiveRoom:
            if room.key is None or "recording_rules" in room.fields:
                return room  # unnamed rooms are never exported
            async with gate:
                rules = await self._recording_rules(room)
            return dataclasses.replace(room, fields={**room.fields, "recording_rules": rules})

        return list(await asyncio.gather(*(with_rules(room) for room in rooms)))

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        fields = super().exportable_fields(kind, live)
        # Defaults that depend on the room's other fields, which DEFAULTS cannot hold (U7).
        if fields.get("max_participants") == DEFAULT_PARTICIPANTS[live.fields.get("type")
                                                                  or "group"]:
            del fields["max_participants"]
        if fields.get("video_codecs") == [] and live.fields.get("audio_only"):
            del fields["video_codecs"]
        return fields

    def _live(self, room: dict[str, Any]) -> LiveRoom:
        sid = str(room["sid"])
        name = room.get("unique_name")
        # A room created without a name is named after its sid: unnamed, never managed.
        key = None if name in (None, sid) else str(name)
        fields = {field: self.normalize(field, room[field]) for field in SHOWN
                  if field in room}
        return LiveRoom(KIND, key, sid, fields, status=room.get("status"))


# -- helpers --------------------------------------------------------------------------------

def _items(page: Answer, shape: RoomShape | None = None) -> list[Any]:
    """A page's items, under the key that `meta.key` names; rooms checked by `shape`."""
    key = page.at(("meta", "key"), STRING, required=False) or KIND
    return page.rooms((key,), shape) if shape is not None else page.at((key,), ARRAY)


def _code(exc: HttpError) -> int | None:
    """Twilio's error code; None unless it is a number (it is compared and looked up)."""
    code = exc.body.get("code") if isinstance(exc.body, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _pascal(field: str) -> str:
    return "".join(part.capitalize() for part in field.split("_"))


def _form(room: Room) -> dict[str, str | list[str]]:
    """The create form: PascalCase keys, `true`/`false`, repeated keys for lists, JSON
    strings for objects. The user's own values, nulls left out (Twilio's default)."""
    form: dict[str, str | list[str]] = {}
    for field, value in room.declared().items():
        if value is None:
            continue
        if field in JSON_FIELDS:
            form[_pascal(field)] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            form[_pascal(field)] = "true" if value else "false"
        elif isinstance(value, list):
            form[_pascal(field)] = [str(item) for item in value]
        else:
            form[_pascal(field)] = str(value)
    return form


def _room_default(room: Room, field: str) -> Any:
    if field == "video_codecs":
        return [] if getattr(room, "audio_only", None) else DEFAULTS["video_codecs"]
    if field == "max_participants":
        return DEFAULT_PARTICIPANTS[getattr(room, "type", None) or "group"]  # U7
    return DEFAULTS.get(field)


def _legacy_read_as_group(change: FieldChange) -> bool:
    """A legacy type that Twilio created as `group` (U14): not drift, never a replace."""
    return change.name == "type" and change.after in LEGACY_TYPES and change.before == "group"


def _without_nulls(rule: Any) -> Any:
    return {k: v for k, v in rule.items() if v is not None} if isinstance(rule, dict) \
        else rule


ADAPTER = TwilioProvider  # what the engine builds for accounts of this type
