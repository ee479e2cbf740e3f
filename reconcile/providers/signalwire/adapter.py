"""SignalWire Video rooms and video conferences over the real API.

Two kinds, one account: `rooms` (`/api/video/rooms`) and `conferences`
(`/api/video/conferences`); the same name in both is two different rooms (U3). `name` is
immutable, so a rename is a replace; every other field updates in place with a PUT that
carries the full desired field set (U4), never `name` (U13). Conferences always send
`display_name` (U11) and never `meta` (U10).
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any, ClassVar

import httpx

from reconcile.config import AccountConfig
from reconcile.engine.answers import NULL, OBJECT, STRING, Answer, RoomShape, distinct
from reconcile.engine.http import HttpError, RateLimiter, segment
from reconcile.engine.plan import ABSENT, FieldChange, LiveRoom
from reconcile.engine.provider import Capabilities, NameTaken, Provider
from reconcile.models import Room
from reconcile.providers.signalwire.fields import COLOURS
from reconcile.providers.signalwire.model import (
    UUID_PATTERN,
    SignalWireAccount,
    SignalWireConference,
    SignalWireRoom,
    parse_timestamp,
)

API_PATH = "/api/video"
PAGE_SIZE = 1000  # the API's maximum
WRITE_LIMIT = (13_800, 10.0)  # POST/PUT per 10 s, account-wide (documented)
DUPLICATE_CODES = frozenset({"not_unique_within_project", "not_unique_within_space",
                             "value_not_unique"})  # U2
MODELS: dict[str, type[Room]] = {"rooms": SignalWireRoom, "conferences": SignalWireConference}
SHAPES = {kind: RoomShape("id", "name", model, key_types=STRING,
                          extra={"active_session": OBJECT | NULL})
          for kind, model in MODELS.items()}
# The settable fields of each kind, `name` included (it is the key, compared like the rest).
SETTINGS: dict[str, tuple[str, ...]] = {
    kind: tuple(n for n in model.yaml_names() if n not in model.MANAGEMENT_FIELDS)
    for kind, model in MODELS.items()}
# Conference fields a create body does not accept: a PUT right after the POST sets them.
UPDATE_ONLY = frozenset({"tone_on_entry_and_exit", "room_join_video_off",
                         "user_join_video_off"})
NEVER_SENT: dict[str, frozenset[str]] = {
    "rooms": frozenset(), "conferences": frozenset({"meta"})}  # U10
TIMESTAMPS = frozenset({"join_from", "join_until", "remove_at"})
COLOUR_FIELDS = frozenset(f"{theme}_{part}" for theme in ("dark", "light") for part in COLOURS)
_UUID = re.compile(UUID_PATTERN)


def _booleans(model: type[Room]) -> dict[str, Any]:
    """Every settable boolean of a model defaults to false (the create defaults)."""
    return {name: False for name, info in model.model_fields.items()
            if info.annotation == bool | None and name not in model.MANAGEMENT_FIELDS}


# What SignalWire gives a field nobody set; `display_name` defaults to the name (_live).
DEFAULTS: dict[str, dict[str, Any]] = {
    "rooms": {**_booleans(SignalWireRoom), "max_members": 20, "quality": "720p",
              "layout": "grid-responsive"},
    "conferences": {**_booleans(SignalWireConference), "quality": "720p",
                    "layout": "grid-responsive", "size": "medium", "enable_chat": True,
                    **{name: COLOURS[name.split("_", 1)[1]] for name in COLOUR_FIELDS}},
}


class SignalWireProvider(Provider):
    type = "signalwire"
    capabilities: ClassVar[Capabilities] = Capabilities(
        in_place=frozenset(f for fields in SETTINGS.values() for f in fields) - {"name"},
        replace_order="delete-first",
        delete="DELETE (permanent; participants are disconnected)",
        sessions=True)

    # -- connection: what the core needs to build this account's HttpClient ---------------

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        """`https://{space}.signalwire.com` (a sandbox endpoint already holds the space)."""
        assert isinstance(account.settings, SignalWireAccount)
        return f"https://{account.settings.space}.signalwire.com"

    @classmethod
    def auth(cls, account: AccountConfig) -> tuple[str, str]:
        """HTTP Basic: project id and API token."""
        return account.secrets["project_id"], account.secrets["token"]

    @classmethod
    def rate_limits(cls) -> tuple[RateLimiter, ...]:
        return (RateLimiter(*WRITE_LIMIT),)

    # -- hooks -----------------------------------------------------------------------------

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        # Cursor pagination: each page names the next, so pages are fetched in turn.
        response = await self.http.request(
            "GET", _path(kind),
            params={"page_size": PAGE_SIZE, "include_active_session": "true"})
        rooms: list[LiveRoom] = []
        # An empty page may still carry `next`: stop only without one (U7: verbatim).
        async for page in self.http.link_pages(
                response, lambda page: page.at(("links", "next"), STRING | NULL,
                                               required=False),
                parse=lambda response: Answer.of(response, self.type)):
            rooms += [self._live(kind, room, sessions=True)
                      for room in page.rooms(("data",), SHAPES[kind], nullable=True)]
        return distinct(rooms, self.type)

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        if kind != "rooms" or _UUID.fullmatch(key):  # conferences have no name lookup (U5)
            return await super().find(kind, key)
        try:
            response = await self.http.request("GET", _path(kind, key),
                                               params={"include_active_session": "true"})
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        room = self._room(kind, response)
        return self._live(kind, room, sessions=True) if room.get("name") == key else None

    async def create(self, kind: str, room: Room) -> LiveRoom:
        body = self._body(kind, room)
        late = {f: body.pop(f) for f in UPDATE_ONLY & body.keys()} if kind == "conferences" \
            else {}
        try:
            response = await self.http.request("POST", _path(kind), json=body)
        except HttpError as exc:
            if _name_taken(exc):
                raise NameTaken(room.key) from exc
            raise
        created = self._live(kind, self._room(kind, response))
        if late:  # flags only a PUT sets: without this the new room would plan as drift
            return await self._put(kind, created, room)
        return created

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        return await self._put(kind, live, room)

    async def delete(self, kind: str, live: LiveRoom) -> None:
        try:
            await self.http.request("DELETE", _path(kind, live.id))
        except HttpError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    def desired_fields(self, room: Room) -> dict[str, Any]:
        # A declared null asks for the default, which is what the live room then shows.
        return _defaulted(_kind_of(room), room.key, super().desired_fields(room))

    def normalize(self, field: str, value: Any) -> Any:
        if field in TIMESTAMPS and isinstance(value, str):
            return _instant(value)
        if field in COLOUR_FIELDS and isinstance(value, str):
            return value.upper()  # the API compares colours case-insensitively
        return value

    def provider_default(self, kind: str, field: str) -> Any:
        return DEFAULTS[kind].get(field, ABSENT)

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        fields = super().exportable_fields(kind, live)
        if fields.get("display_name") == live.key:  # the default, which DEFAULTS cannot hold
            del fields["display_name"]
        return fields

    # -- helpers ---------------------------------------------------------------------------

    async def _put(self, kind: str, live: LiveRoom, room: Room) -> LiveRoom:
        """PUT the live settings overlaid with the declared ones: the same result whether
        the API merges or replaces (U4); `name` is never sent (U13)."""
        body = self._body(kind, room, live)
        del body["name"]
        response = await self.http.request("PUT", _path(kind, live.id), json=body)
        return self._live(kind, self._room(kind, response), active=live.active_session)

    def _room(self, kind: str, response: httpx.Response) -> dict[str, Any]:
        return Answer.of(response, self.type).room((), SHAPES[kind])

    def _body(self, kind: str, room: Room, live: LiveRoom | None = None) -> dict[str, Any]:
        """A create body (no `live`): the declared fields. A PUT body: every set live
        field overlaid with the declared ones, so a field the room does not declare stays
        as the provider has it; conferences need `display_name` (U11) either way."""
        kept = {k: v for k, v in live.fields.items()
                if not _default(kind, k, v)} if live else {}
        body = {name: value for name, value in {**kept, **self.desired_fields(room)}.items()
                if name not in NEVER_SENT[kind]}
        if kind == "conferences" and "display_name" not in body:
            body["display_name"] = room.key  # a create's only default: the name
        return body

    def _live(self, kind: str, room: dict[str, Any], *, sessions: bool = False,
              active: bool | None = None) -> LiveRoom:
        """A response as a LiveRoom: settable fields only, normalised, null read as the
        default the API applies (so a declared default matches an unset field)."""
        # Every field of the response model is required, so a missing one reads as null.
        fields = _defaulted(kind, room.get("name"), {
            name: self.normalize(name, room.get(name)) for name in SETTINGS[kind]})
        if sessions:  # asked for: an absent or null session means nobody is in
            session = room.get("active_session")
            active = bool(session and session.get("status") != "completed")
        return LiveRoom(kind, room.get("name"), str(room["id"]), fields,
                        active_session=active)


def _default(kind: str, field: str, value: Any) -> bool:
    """Whether a live value is unset or the default: a PUT need not send it, as a server
    that resets what a PUT leaves out resets it to that value."""
    default = DEFAULTS[kind].get(field)
    return value is None or (value == default and type(value) is type(default))


def _kind_of(room: Room) -> str:
    return next(kind for kind, model in MODELS.items() if isinstance(room, model))


def _defaulted(kind: str, name: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    """Nulls replaced by the value SignalWire applies instead (`display_name`: the name)."""
    defaults = {**DEFAULTS[kind], "display_name": name}
    return {field: defaults.get(field) if value is None else value
            for field, value in fields.items()}


def _path(kind: str, key: str | None = None) -> str:
    if kind not in MODELS:
        raise ValueError(f"signalwire has no kind {kind!r}; use one of {', '.join(MODELS)}")
    return f"{API_PATH}/{kind}" + (f"/{segment(key)}" if key is not None else "")


def _instant(value: str) -> str:
    """One canonical UTC form: a date is midnight UTC; offsets are folded into UTC."""
    try:
        moment = parse_timestamp(value).astimezone(UTC)
    except ValueError:
        return value  # not a timestamp: compared as written
    return moment.isoformat().replace("+00:00", "Z")


def _name_taken(exc: HttpError) -> bool:
    """422 with an `errors[]` entry on `name` whose code says the name is in use (U2)."""
    if exc.status != 422 or not isinstance(exc.body, dict):
        return False
    errors = exc.body.get("errors")
    return any(isinstance(error, dict) and error.get("attribute") == "name"
               and isinstance(error.get("code"), str) and error["code"] in DUPLICATE_CODES
               for error in (errors if isinstance(errors, list) else []))


ADAPTER = SignalWireProvider  # what the engine builds for accounts of this type
