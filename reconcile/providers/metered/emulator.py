"""Emulator of the Metered Video meeting-rooms REST API (`https://<app>.metered.live/api/v1`).

The first path segment stands in for the app's host, so `/acme/api/v1/rooms` is
`https://acme.metered.live/api/v1/rooms`. Behaviours the docs leave open follow the
unconfirmed behaviours U1..U17 of `docs/providers/metered.md`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.metered.model import NAME_PATTERN
from reconcile.providers.metered.sandbox import SANDBOX
from reconcile.sandbox.core import Sandbox, SandboxConnection
from reconcile.sandbox.emulation import iso_millis, json_body, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName, Record
from reconcile.sandbox.update_mode import update_base

PROVIDER = "metered"
KIND = "rooms"

INVALID_REQUEST = "Invalid request"
ROOM_EXISTS = "Room already exists"
ARCHIVED = "Room successfully archived"

NAME_RE = re.compile(NAME_PATTERN)  # U12: what the model accepts
GENERATED_NAME_LENGTH = 10  # U11: e.g. "6kpYYvYj75"

ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "privacy": ("public", "private"),
    "compositionLayout": ("grid", "active_speaker"),
}
INT_FIELDS = frozenset({  # U13: any non-negative integer
    "expireUnixSec", "notBeforeUnixSec", "maxParticipants", "ejectAfterElapsedTimeInSec",
    "endMeetingAfterNoActivityInSec",
})
BOOL_FIELDS = frozenset({
    "ejectAtRoomExp", "deleteOnExp", "autoJoin", "showInviteBox", "enableRequestToJoin",
    "enableChat", "newChatForMeetingSession", "enableScreenSharing", "joinVideoOn",
    "joinAudioOn", "enableRecording", "ownerOnlyBroadcast", "recordRoom", "audioOnlyRoom",
    "enableComposition", "recordComposition", "enableRTMPOut", "enableLiveStreaming",
})
STR_FIELDS = frozenset({
    "meetingJoinWebhook", "meetingLeftWebhook", "meetingStartedWebhook",
    "meetingEndedWebhook", "rtmpOutURL", "lang",
})
# Set by the server only: request bodies cannot change them.
SERVER_FIELDS = frozenset({"_id", "app", "created", "archived", "__v"})
# Metered's own fields that happen to start with "_", unlike the sandbox's internal keys.
PROVIDER_UNDERSCORE_FIELDS = frozenset({"_id", "__v"})

# U15: the create-page sample, plus enableRecording (in the intro-page sample), in that order.
BASELINE: dict[str, Any] = {
    "privacy": "public",  # U1
    "deleteOnExp": False,
    "autoJoin": False,
    "enableRequestToJoin": False,
    "enableChat": False,
    "enableScreenSharing": True,
    "joinVideoOn": True,
    "joinAudioOn": True,
    "ownerOnlyBroadcast": False,
    "enableRecording": False,
    "recordRoom": False,
    "ejectAtRoomExp": False,
    "lang": "en",
    "archived": False,
}


FRESH = {k: v for k, v in BASELINE.items() if k != "archived"}  # what a PUT can reset


def _is_setting(key: str) -> bool:
    return not key.startswith("_") and key not in SERVER_FIELDS and key != "roomName"


class InvalidRoom(ValueError):
    """A room body the API answers with 400 "Invalid request"."""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- rooms: validation, construction, rendering (shared by the API and seed()) ---------------

def _field_problem(key: str, value: Any) -> str | None:
    if key in ENUM_FIELDS and value not in ENUM_FIELDS[key]:
        return f"must be one of {', '.join(ENUM_FIELDS[key])}"
    if key in INT_FIELDS and not (type(value) is int and value >= 0):
        return "must be a non-negative integer"
    if key in BOOL_FIELDS and not isinstance(value, bool):
        return "must be true or false"
    if key in STR_FIELDS and not isinstance(value, str):
        return "must be a string"
    if key == "roomName" and not (isinstance(value, str) and NAME_RE.fullmatch(value)):
        return "may contain only letters, digits, '_' and '-'"
    return None


def settable(body: Any, *, with_name: bool) -> dict[str, Any]:
    """The fields of a create (with_name=True) or PUT body that the room stores, validated.

    Server fields and "_" keys are dropped (they would clash with the sandbox's internal
    keys); every other key is stored verbatim (U17). PUT ignores roomName (U8).
    """
    if not isinstance(body, Mapping):
        raise InvalidRoom("the body must be a JSON object")
    fields = {k: v for k, v in body.items()
              if not k.startswith("_") and k not in SERVER_FIELDS
              and (with_name or k != "roomName")}
    for key, value in fields.items():
        problem = _field_problem(key, value)
        if problem:
            raise InvalidRoom(f"{key} {problem} (got {value!r})")
    return fields


def check_room(data: Mapping[str, Any]) -> None:
    """Rules across fields, checked on the room as it would be stored."""
    if data.get("enableRTMPOut") is True and not data.get("rtmpOutURL"):
        raise InvalidRoom("rtmpOutURL is required when enableRTMPOut is true")


@lru_cache(maxsize=1024)
def app_id(app: str) -> str:
    """The app's 24-hex id: stable per app name, across runs and processes."""
    return hashlib.sha256(f"metered-app:{app}".encode()).hexdigest()[:24]


def new_room(sandbox: Sandbox, app: str, body: Any) -> dict[str, Any]:
    """The stored document of a room created from a create body."""
    fields = settable(body, with_name=True)
    name = fields.pop("roomName", None) or sandbox.random_chars(GENERATED_NAME_LENGTH)
    now = sandbox.clock.now()
    data = {**BASELINE, **fields, "_id": sandbox.random_hex(24), "roomName": name,
            "app": app_id(app), "created": iso_millis(now), "__v": 0}
    check_room(data)
    return data


def render(data: Mapping[str, Any]) -> dict[str, Any]:
    """The room as the API returns it. Not core.public(): that would drop `_id` and `__v`."""
    return {k: v for k, v in data.items()
            if k in PROVIDER_UNDERSCORE_FIELDS or not k.startswith("_")}


# -- HTTP ----------------------------------------------------------------------------------

def _error(status: int, message: str) -> Response:
    return json_response({"success": False, "message": message}, status)


async def _body(request: Request) -> Any:
    """The JSON body; an empty body is an empty object (the Python sample posts none)."""
    if not (await request.body()).strip():
        return {}
    body = await json_body(request)
    if body is None:
        raise InvalidRoom("the body is not JSON")
    return body


Handler = Callable[[Request, str], Awaitable[Response]]


class _Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Authenticates the app's secretKey (U9), then maps errors to Metered's bodies."""
        async def run(request: Request) -> Response:
            app = request.path_params["app"]
            if not self.sandbox.authenticate(PROVIDER, app, request.query_params.get("secretKey")):
                return _error(401, "Invalid secretKey")
            try:
                return await handler(request, app)
            except InvalidRoom:
                return _error(400, INVALID_REQUEST)
            except ApiError as exc:
                return _error(exc.status, exc.message)
        return run

    def _live_room(self, app: str, name: str) -> Record:
        """A non-archived room; unknown and archived rooms are both "Invalid request" (U4, U6)."""
        record = self.store.find_live(PROVIDER, app, KIND, name)
        if record is None:
            raise ApiError(400, INVALID_REQUEST)
        return record

    async def create(self, request: Request, app: str) -> Response:
        data = new_room(self.sandbox, app, await _body(request))
        try:
            # The partial unique index makes concurrent same-name creates succeed once (U3).
            self.store.insert(PROVIDER, app, KIND, data["_id"], data["roomName"], data)
        except DuplicateName:
            raise ApiError(400, ROOM_EXISTS) from None
        return json_response(render(data))  # U2: 200

    async def get(self, request: Request, app: str) -> Response:
        return json_response(render(self._live_room(app, request.path_params["roomName"]).data))

    async def update(self, request: Request, app: str) -> Response:
        fields = settable(await _body(request), with_name=False)
        with self.store.transaction():
            record = self._live_room(app, request.path_params["roomName"])
            # U7: omitted fields are kept, or under the control API's switch reset
            base = update_base(self.sandbox, PROVIDER, record.data, FRESH, _is_setting)
            data = {**base, **fields}
            check_room(data)
            self.store.update(record, data)
        return json_response(render(data))  # U2: 200 + the updated room

    async def delete(self, request: Request, app: str) -> Response:
        with self.store.transaction():
            record = self._live_room(app, request.path_params["roomName"])
            # Archived rows stay stored; live=0 frees the name for a new room (U6).
            self.store.update(record, {**record.data, "archived": True}, live=False)
        return json_response({"success": True, "message": ARCHIVED})

    async def list(self, request: Request, app: str) -> Response:
        # U5: a bare array of the non-archived rooms, no filters, no pagination.
        return json_response([render(r.data) for r in self.store.list(PROVIDER, app, KIND)])


def create_app(sandbox: Sandbox) -> Starlette:
    api = _Api(sandbox)
    room = "/{app}/api/v1/room/{roomName}"
    return Starlette(routes=[
        Route("/{app}/api/v1/room", api.endpoint(api.create), methods=["POST"]),
        Route(room, api.endpoint(api.get), methods=["GET"]),
        Route(room, api.endpoint(api.update), methods=["PUT"]),
        Route(room, api.endpoint(api.delete), methods=["DELETE"]),
        Route("/{app}/api/v1/rooms", api.endpoint(api.list), methods=["GET"]),
    ])


def fault_response(status: int, retry_after: int | None) -> Response:
    """Metered's bodies for an injected 429 (U10) or 5xx (delete page's 500 sample)."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    if status == 429:
        headers.setdefault("Retry-After", "1")  # every emulator's 429 carries Retry-After
        return json_response({"success": False, "message": "Too many requests"}, 429, headers)
    return json_response({"eventCode": "", "message": "error message"}, status, headers)


_ACCOUNT_RE = re.compile(r"/([^/]+)/api/v1(?:/|$)")


def account_of(request: Request) -> str | None:
    """The app name (the account rooms are stored under), read from the path alone.

    Searching the whole path works whether or not the mount prefix is still on it.
    """
    match = _ACCOUNT_RE.search(request.url.path)
    return match.group(1) if match else None


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Create many rooms of app `account` at once, from create bodies (all or none)."""
    if kind != KIND:
        raise ValueError(f"metered has only the kind {KIND!r}, not {kind!r}")
    docs = []
    for index, body in enumerate(rooms):
        try:
            docs.append(new_room(sandbox, account, body))
        except InvalidRoom as exc:
            raise ValueError(f"rooms[{index}]: {exc}") from None
    names = [d["roomName"] for d in docs]
    if len(set(names)) != len(names):
        raise ValueError("roomName values must be unique among the seeded rooms")
    try:
        sandbox.store.insert_many(
            [(PROVIDER, account, KIND, d["_id"], d["roomName"], d) for d in docs])
    except DuplicateName:
        raise ValueError(f"a seeded roomName already exists in app {account!r}") from None
    return [render(d) for d in docs]


def is_live(kind: str, data: dict[str, Any]) -> bool:
    """Archived rooms free their name (control API PATCH of `archived`)."""
    return not data.get("archived", False)


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: the app is the account; any app with the sandbox secret key."""
    principal, secret = SANDBOX.credentials
    return SandboxConnection(f"/{settings.app}", {"secret_key": secret}, principal, secret)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="roomName", is_live=is_live)
