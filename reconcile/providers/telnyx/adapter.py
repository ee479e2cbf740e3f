"""Telnyx Video rooms over the real API: every field updates in place (PATCH)."""

from __future__ import annotations

import asyncio
from typing import Any

from reconcile.config import AccountConfig
from reconcile.engine.answers import INTEGER, NULL, STRING, Answer, RoomShape, distinct
from reconcile.engine.http import HttpError, PaginationError, segment
from reconcile.engine.plan import ABSENT, FieldChange, LiveRoom
from reconcile.engine.provider import Capabilities, NameTaken, Provider
from reconcile.models import Room
from reconcile.providers.telnyx.model import TelnyxRoom

BASE_PATH = "/v2/rooms"
PAGE_SIZE = 250  # the API's maximum
SETTINGS = ("unique_name", "max_participants", "enable_recording", "webhook_event_url",
            "webhook_event_failover_url", "webhook_timeout_secs")
# What Telnyx stores when a field is not set (spec defaults). An unset URL or timeout
# may read back as null, "" or not at all: all three are read as None (unset).
DEFAULTS: dict[str, Any] = {"max_participants": 10, "enable_recording": False,
                            "webhook_event_url": None, "webhook_event_failover_url": None,
                            "webhook_timeout_secs": None}
ROOM = RoomShape("id", "unique_name", TelnyxRoom, key_required=False,
                 extra={"active_session_id": STRING | NULL})


class TelnyxProvider(Provider):
    type = "telnyx"
    capabilities = Capabilities(in_place=None, replace_order="delete-first",
                                delete="DELETE (permanent; participants are disconnected)",
                                sessions=True)

    @classmethod
    def origin(cls, account: AccountConfig) -> str:
        return "https://api.telnyx.com"

    @classmethod
    def auth_headers(cls, account: AccountConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.secrets['api_key']}"}

    async def list_rooms(self, kind: str) -> list[LiveRoom]:
        first = await self._page(1)
        pages = first.at(("meta", "total_pages"), INTEGER, required=False) or 1
        limit = self.http.settings.max_pages
        if pages > limit:  # before asking for any: each would be a request in flight
            raise first.malformed(f"meta.total_pages says {pages:,} pages, past the"
                                  f" {limit:,}-page cap", PaginationError)
        rest = await asyncio.gather(*(self._page(n) for n in range(2, pages + 1)))
        # Numbered pages have no links to loop: a page repeating another repeats its rooms.
        return distinct((_live(room) for page in (first, *rest)
                         for room in page.rooms(("data",), ROOM)), self.type)

    async def _page(self, number: int) -> Answer:
        response = await self.http.request(
            "GET", BASE_PATH, params={"page[size]": PAGE_SIZE, "page[number]": number})
        return Answer.of(response, self.type)

    async def find(self, kind: str, key: str) -> LiveRoom | None:
        response = await self.http.request("GET", BASE_PATH,
                                           params={"filter[unique_name]": key})
        # U2: the filter may match loosely; keep the exact name only.
        return next((_live(r) for r in Answer.of(response, self.type).rooms(("data",), ROOM)
                     if r.get("unique_name") == key), None)

    async def create(self, kind: str, room: Room) -> LiveRoom:
        try:
            response = await self.http.request("POST", BASE_PATH,
                                               json=self.desired_fields(room))
        except HttpError as exc:
            if _name_taken(exc):
                raise NameTaken(room.key) from exc
            raise
        return _live(Answer.of(response, self.type).room(("data",), ROOM))

    async def update(self, kind: str, live: LiveRoom, room: Room,
                     changes: tuple[FieldChange, ...]) -> LiveRoom:
        # U10: the live settings overlaid with the declared ones, so a server that resets
        # what a PATCH leaves out still keeps every undeclared field as it was.
        body = {**live.fields, **self.desired_fields(room)}
        response = await self.http.request("PATCH", f"{BASE_PATH}/{segment(live.id)}", json=body)
        return _live(Answer.of(response, self.type).room(("data",), ROOM))

    async def delete(self, kind: str, live: LiveRoom) -> None:
        try:
            await self.http.request("DELETE", f"{BASE_PATH}/{segment(live.id)}")
        except HttpError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    def normalize(self, field: str, value: Any) -> Any:
        return None if value == "" else value  # "" is unset, as null and absent are

    def provider_default(self, kind: str, field: str) -> Any:
        return DEFAULTS.get(field, ABSENT)


def _live(room: dict[str, Any]) -> LiveRoom:
    # Only the settings that are set: null, "" and absent all mean unset.
    return LiveRoom("rooms", room.get("unique_name") or None, str(room["id"]),
                    {name: room[name] for name in SETTINGS
                     if room.get(name) is not None and room[name] != ""},
                    active_session=bool(room.get("active_session_id")))


def _name_taken(exc: HttpError) -> bool:
    if exc.status != 422 or not isinstance(exc.body, dict):
        return False
    # U4: errors come wrapped in `errors`, or as one bare error object.
    errors = exc.body.get("errors", [exc.body])
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):  # an error body of another shape says nothing
            continue
        source = error.get("source")
        pointer = source.get("pointer") if isinstance(source, dict) else None
        if pointer == "/unique_name" or "unique_name" in str(error.get("detail", "")):
            return True
    return False


ADAPTER = TelnyxProvider  # what the engine builds for accounts of this type
