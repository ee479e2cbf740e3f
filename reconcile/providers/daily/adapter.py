"""Daily rooms over the real API (`https://api.daily.co/v1`): rooms are addressed by name,
every setting but the name updates in place with `POST /rooms/{name}`, a rename is a new
room plus a delete. U-numbers refer to docs/providers/daily.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconcile import redact
from reconcile.config import AccountConfig
from reconcile.engine.answers import BOOLEAN, STRING, Answer, RoomShape, distinct
from reconcile.engine.http import HttpError, PaginationError, RateLimiter, TransportError, segment
from reconcile.engine.plan import ABSENT, FieldChange, LiveRoom
from reconcile.engine.provider import Capabilities, NameTaken, Provider
from reconcile.escape import printable
from reconcile.models import Room
from reconcile.providers.daily import properties as p
from reconcile.providers.daily.model import DailyRoom

KIND = "rooms"
ROOMS_PATH = "/v1/rooms"
PAGE_SIZE = 100  # the API's maximum (U12)
KEY_FIELD = DailyRoom.KEY_FIELD
TOP_LEVEL = ("privacy",)  # beside `name`; every other field lives in `properties`
SETTINGS = tuple(name for name in DailyRoom.yaml_names()
                 if name not in DailyRoom.MANAGEMENT_FIELDS)
PROPERTIES = tuple(name for name in SETTINGS if name != KEY_FIELD and name not in TOP_LEVEL)
# Section 7: DELETE /rooms/{name} takes about 2 a second and 50 in 30 seconds (requests,
# seconds): a long prune keeps within both instead of meeting 429s.
DELETE_BUDGETS = ((2, 1.0), (50, 30.0))
# U1: after these, a refused create is not a taken name
NOT_A_NAME_CLASH = frozenset({401, 403, 429})
ROOM = RoomShape("id", KEY_FIELD, None, key_types=STRING,
                 extra={"privacy": STRING, "url": STRING, "api_created": BOOLEAN})


class DailyProvider(Provider):
    type = "daily"
    capabilities = Capabilities(
        in_place=frozenset(SETTINGS) - {KEY_FIELD},
        replace_order="create-first",  # a rename: the new name first, then the old goes
        delete="DELETE (permanent; everyone in the room is removed; the name is free)",
        sessions=False)

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        return "https://api.daily.co"

    @classmethod
    def auth_headers(cls, account: AccountConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.secrets['api_key']}"}

    @classmethod
    def rate_limits(cls) -> tuple[RateLimiter, ...]:
        return tuple(RateLimiter(requests, seconds, methods=frozenset({"DELETE"}))
                     for requests, seconds in DELETE_BUDGETS)

    # -- reads ---------------------------------------------------------------------------

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        """Newest first, 100 a page, each page after the last id of the one before (U12):
        it ends on a short page, never on `total_count`."""
        rooms: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        cursors: set[str] = set()
        for _ in range(self.http.settings.max_pages):
            response = await self.http.request("GET", ROOMS_PATH, params=params)
            answer = Answer.of(response, self.type)
            page = answer.rooms(("data",), ROOM)
            rooms += page
            if len(page) < PAGE_SIZE:
                return distinct((self._live(room) for room in rooms), self.type)
            cursor = page[-1]["id"]
            if cursor in cursors:  # a page that ends where an earlier one did: a loop
                raise PaginationError(f"the pages loop: a second page ends at room {cursor}",
                                      provider=self.type)
            cursors.add(cursor)
            params = {"limit": PAGE_SIZE, "starting_after": cursor}
        raise PaginationError(f"the list goes on past {self.http.settings.max_pages:,} pages;"
                              " refusing to follow", provider=self.type)

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        try:
            response = await self.http.request("GET", _room_path(key))
        except HttpError as exc:
            if exc.status == 404:  # U2: unknown or expired
                return None
            raise
        return self._live(Answer.of(response, self.type).room((), ROOM))

    # -- writes --------------------------------------------------------------------------

    async def create(self, kind: str, room: Room) -> LiveRoom:
        try:
            response = await self.http.request("POST", ROOMS_PATH, json=self._body(room, None))
        except HttpError as exc:
            # U1: the duplicate name's status is unconfirmed and `info` is never parsed:
            # a refused create whose name now exists is a taken name.
            if 400 <= exc.status < 500 and exc.status not in NOT_A_NAME_CLASH \
                    and await self.find(kind, room.key) is not None:
                raise NameTaken(room.key) from exc
            raise
        return self._live(Answer.of(response, self.type).room((), ROOM))

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        # U3: the live settings with the declared ones over them, so that a server which
        # replaces `properties` keeps what the file does not declare, as a merging one does.
        try:
            response = await self.http.request("POST", _room_path(live.key or live.id),
                                               json=self._body(room, live.fields))
        except HttpError as exc:
            if exc.status == 404:  # U13: gone (or expired) since the plan read it
                return await self.create(kind, room)
            raise
        return self._live(Answer.of(response, self.type).room((), ROOM))

    async def delete(self, kind: str, live: LiveRoom) -> None:
        try:
            await self.http.request("DELETE", _room_path(live.key or live.id))
        except HttpError as exc:
            if exc.status != 404:  # gone already, expired or not (U9)
                raise

    # -- planning ------------------------------------------------------------------------

    def provider_default(self, kind: str, field: str) -> Any:
        """Section 9: a key `config` leaves out has its documented (or the domain's)
        default; a property without one is unset (ABSENT)."""
        if field == "privacy":
            return p.DEFAULT_PRIVACY
        return p.ABSENT_MEANS.get(field, ABSENT)

    async def missing_reason(self, kind: str, key: str) -> str:
        """U9: Daily answers for a room past its `exp` as for one never made (no read
        tells them apart), so the create may bring back a room that expired."""
        return "not found or expired"

    def is_drift(self, kind: str, live: LiveRoom, change: FieldChange) -> bool:
        """A declared null (reset, U4) against an unset property is no drift; an object
        (permissions, a bucket) drifts only in the keys the file declares: keys Daily adds
        inside it (a default it fills in) are not the file's to judge."""
        if change.before is ABSENT and change.after is None:
            return False
        return not _covers(change.before, change.after)

    def error_message(self, exc: HttpError | TransportError) -> str:
        """The common message, with Daily's `info` after its stable `error` type."""
        message = super().error_message(exc)
        body = exc.body if isinstance(exc, HttpError) else None
        if isinstance(exc, HttpError) and isinstance(body, dict) \
                and isinstance(body.get("error"), str) and isinstance(body.get("info"), str):
            head = f"{exc.status}: {body['error']}"
            forms = redact.secret_forms(self.account.secrets.values())
            info = printable(redact.scrub(body["info"], forms))[:300]
            message = message.replace(head, f"{head}: {info}", 1)
        return message

    # -- helpers -------------------------------------------------------------------------

    def _body(self, room: Room, live: Mapping[str, Any] | None) -> dict[str, Any]:
        """A create body (`live` None) or an update body over the live fields: `name` on
        create only (U14), then `privacy` and `properties`; a declared null is sent as
        null (U4)."""
        fields = {**(live or {}), **self.desired_fields(room)}
        body: dict[str, Any] = {KEY_FIELD: room.key} if live is None else {}
        body.update({name: fields[name] for name in TOP_LEVEL if name in fields})
        body["properties"] = {name: fields[name] for name in PROPERTIES if name in fields}
        return body

    def _live(self, room: dict[str, Any]) -> LiveRoom:
        config = room.get("config")
        config = config if isinstance(config, dict) else {}
        # Only what the model knows: unknown `config` keys (autojoin, sip_uri…) are ignored.
        fields = {KEY_FIELD: room[KEY_FIELD],
                  **{name: config[name] for name in PROPERTIES if name in config}}
        if isinstance(room.get("privacy"), str):
            fields["privacy"] = room["privacy"]
        url = room.get("url")
        return LiveRoom(KIND, room[KEY_FIELD], str(room["id"]), fields,
                        join_urls=(url,) if isinstance(url, str) and url else ())


def _covers(live: Any, declared: Any) -> bool:
    """Whether a live object holds every declared key at the declared value (recursively);
    any other value must be equal."""
    if isinstance(live, dict) and isinstance(declared, dict):
        return all(key in live and _covers(live[key], value) for key, value in declared.items())
    return bool(live == declared)


def _room_path(name: str) -> str:
    return f"{ROOMS_PATH}/{segment(name)}"


ADAPTER = DailyProvider  # what the engine builds for accounts of this type
