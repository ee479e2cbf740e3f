"""Emulator of the Telnyx Video Rooms API (`/v2/rooms`), per docs/providers/telnyx.md.

The mount root stands in for `https://api.telnyx.com`. Rooms are stored in the response shape
of `GET /v2/rooms/{id}` under the account named by the Bearer key; `active_session_id` and
`sessions` are derived from the sandbox's internal session keys when rendered.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.telnyx.emulator_list import KIND, PROVIDER, page, parse_list_query
from reconcile.sandbox.core import Sandbox, SandboxConnection, public
from reconcile.sandbox.emulation import bearer_token, iso_micros, json_body, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName, Record
from reconcile.sandbox.update_mode import update_base

# Telnyx publishes no per-endpoint limit; this nominal value only fills `x-ratelimit-limit`.
NOMINAL_RATE_LIMIT = 100

# The settings a new room has when the create body omits them (the spec's defaults).
# The spec types unique_name, webhook_event_url and webhook_timeout_secs (and
# active_session_id) as non-nullable with no default: unset, they are left out of the
# room rather than null.
DEFAULTS: dict[str, Any] = {
    "max_participants": 10,
    "enable_recording": False,
    "webhook_event_failover_url": "",
}

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


# -- error bodies ------------------------------------------------------------------------

def _errors(*errors: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(errors)}


def _invalid(pointer: str, detail: str) -> dict[str, Any]:
    """One entry of a 422 `video_Errors` body (U1 uses the same code and title)."""
    return {"code": "422", "title": "Unprocessable entity", "detail": detail,
            "source": {"pointer": pointer}}


def _unauthorized() -> Response:
    return json_response(_errors({
        "code": "10009", "title": "Authentication failed",
        "detail": "Could not understand the provided credentials.",
        "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/10009"},
    }), 401)


def _not_found(room_id: str) -> Response:
    # U4: the spec's bare `video_Error`, not wrapped in `errors` like other Telnyx errors.
    return json_response({"code": "404", "title": "Resource not found",
                          "detail": f"Room {room_id} not found"}, 404)


def _list_unauthorized() -> Response:
    """U7: the list's declared 4XX body is the generic `{success, message}` one."""
    return json_response({"success": False, "message": "Authentication failed"}, 401)


def _unprocessable(errors: list[dict[str, Any]]) -> Response:
    return json_response({"errors": errors}, 422)


def _name_taken() -> Response:
    return _unprocessable([_invalid("/unique_name", "unique_name has already been taken")])


def _list_error() -> Response:
    """U6: the spec's generic video error, for any invalid list parameter."""
    return json_response({"success": False, "message": "Error"}, 400)


def fault_response(status: int, retry_after: int | None) -> Response:
    headers: dict[str, str] = {}
    if status == 429:
        # Shared rule 2 and U5: a 429 always says when to come back.
        wait = 1 if retry_after is None else retry_after
        body = _errors({"code": "10011", "title": "Too many requests",
                        "detail": "You have exceeded the maximum number of allowed requests."})
        headers = {"Retry-After": str(wait), "x-ratelimit-limit": str(NOMINAL_RATE_LIMIT),
                   "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(wait)}
    else:
        body = _errors({"code": "10007", "title": "Unexpected error",
                        "detail": "An unexpected error occurred."})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
    return json_response(body, status, headers)


# -- validation of create and PATCH bodies (identical property sets) ------------------------

def _name(value: Any) -> str | None:
    # U3: any non-empty string; null leaves (or makes) the room unnamed (None: unset).
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError("unique_name must be a non-empty string")


def _integer(name: str, low: int, high: int, *, nullable: bool) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        raise ValueError(f"{name} must be an integer between {low} and {high}")
    return check


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("enable_recording must be a boolean")


def _url(name: str) -> Callable[[Any], str | None]:
    unset = DEFAULTS.get(name)  # None: the setting is left out of the room

    def check(value: Any) -> str | None:
        if value is None:
            return unset
        if value == "":  # U8: taken, and echoed as "" (seed 001)
            return ""
        if isinstance(value, str):
            parts = urlsplit(value)
            if parts.scheme and parts.netloc:
                return value
        raise ValueError(f"{name} must be a URL that includes a scheme, such as 'https'")
    return check


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "unique_name": _name,
    "max_participants": _integer("max_participants", 2, 50, nullable=False),
    "enable_recording": _boolean,
    "webhook_event_url": _url("webhook_event_url"),
    "webhook_event_failover_url": _url("webhook_event_failover_url"),
    "webhook_timeout_secs": _integer("webhook_timeout_secs", 0, 30, nullable=True),
}


def validate_settings(body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The settings present in a create or PATCH body, normalised, and its 422 errors.

    Unknown and read-only fields are ignored, as Telnyx does.
    """
    if not isinstance(body, dict):
        return {}, [_invalid("/", "The request body must be a JSON object")]
    settings: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name, check in _CHECKS.items():
        if name in body:
            try:
                settings[name] = check(body[name])
            except ValueError as exc:
                errors.append(_invalid(f"/{name}", str(exc)))
    return settings, errors


async def _request_body(request: Request) -> Any:
    """The JSON body; an absent body counts as `{}`, malformed JSON as a non-object."""
    if not (await request.body()).strip():
        return {}
    return await json_body(request)


# -- rooms -----------------------------------------------------------------------------

def _settled(data: dict[str, Any]) -> dict[str, Any]:
    """The room without the settings that are unset (None): the answer leaves them out."""
    return {k: v for k, v in data.items() if not (v is None and k in _CHECKS)}


def _new_room(sandbox: Sandbox, account: str, settings: dict[str, Any], now: float
              ) -> dict[str, Any]:
    stamp = iso_micros(now)
    return _settled({"id": sandbox.random_uuid(), **DEFAULTS, **settings,
                     "created_at": stamp, "updated_at": stamp, "record_type": "room"})


def _participant(session_id: str, participant: str, joined_at: str) -> dict[str, Any]:
    # Sandbox participants are free-form names: derive a stable uuid, keep the name as context.
    return {"id": str(uuid.uuid5(uuid.UUID(session_id), participant)), "session_id": session_id,
            "context": participant, "joined_at": joined_at, "updated_at": joined_at,
            "record_type": "room_participant"}


def _sessions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The live session only: the sandbox forgets a session's id once it ends."""
    session_id = data.get("_session_id")
    if not session_id:
        return []
    started = iso_micros(float(data.get("_session_started_at") or 0))
    participants = [_participant(session_id, p, started) for p in data.get("_participants", [])]
    return [{"id": session_id, "room_id": data["id"], "active": True, "created_at": started,
             "updated_at": started, "participants": participants,
             "record_type": "room_session"}]


def render(data: dict[str, Any], *, include_sessions: bool = False) -> dict[str, Any]:
    """A stored room as the API returns it; `sessions` is filled only on request."""
    room = _settled(public(data))
    if data.get("_session_id"):  # non-nullable in the spec: no session, no key
        room["active_session_id"] = data["_session_id"]
    room["sessions"] = _sessions(data) if include_sessions else []
    return room


# -- HTTP handlers ---------------------------------------------------------------------------

Handler = Callable[[Request, str], Awaitable[Response]]


class _RoomsApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    def authenticated(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """U7: every route wants a valid Bearer key, which also names the account."""
        async def endpoint(request: Request) -> Response:
            key = bearer_token(request)
            if not self.sandbox.authenticate(PROVIDER, key, key):
                listing = request.method == "GET" and "room_id" not in request.path_params
                return _list_unauthorized() if listing else _unauthorized()
            return await handler(request, key or "")
        return endpoint

    def _get(self, account: str, room_id: str) -> Record | None:
        if not _UUID.fullmatch(room_id):
            return None
        return self.store.get(PROVIDER, account, KIND, room_id.lower())

    async def list_rooms(self, request: Request, account: str) -> Response:
        try:
            query = parse_list_query(request)
        except ValueError:
            return _list_error()
        records, total = page(self.store, account, query)
        return json_response({
            "data": [render(r.data, include_sessions=query.include_sessions) for r in records],
            "meta": {"page_number": query.page_number, "page_size": query.page_size,
                     "total_pages": math.ceil(total / query.page_size),
                     "total_results": total},
        })

    async def create_room(self, request: Request, account: str) -> Response:
        settings, errors = validate_settings(await _request_body(request))
        if errors:
            return _unprocessable(errors)
        data = _new_room(self.sandbox, account, settings, self.sandbox.clock.now())
        try:
            self.store.insert(PROVIDER, account, KIND, data["id"], data.get("unique_name"),
                              data)
        except DuplicateName:  # U1: the live-name index admits one room per name
            return _name_taken()
        return json_response({"data": render(data)}, 201)

    async def get_room(self, request: Request, account: str) -> Response:
        room_id = request.path_params["room_id"]
        record = self._get(account, room_id)
        if record is None:
            return _not_found(room_id)
        # The spec declares no 400 here, so an odd flag just means "no sessions".
        include = request.query_params.get("include_sessions", "").lower() == "true"
        return json_response({"data": render(record.data, include_sessions=include)})

    async def update_room(self, request: Request, account: str) -> Response:
        room_id = request.path_params["room_id"]
        body = await _request_body(request)
        with self.store.transaction():  # read-modify-write under the write lock
            record = self._get(account, room_id)
            if record is None:
                return _not_found(room_id)
            settings, errors = validate_settings(body)
            if errors:
                return _unprocessable(errors)
            # U10: a partial merge, or under the control API's switch a replace; a rename
            # keeps the id.
            base = update_base(self.sandbox, PROVIDER, record.data, DEFAULTS,
                               _CHECKS.__contains__)
            data = _settled({**base, **settings,
                             "updated_at": iso_micros(self.sandbox.clock.now())})
            try:
                self.store.update(record, data, name=data.get("unique_name"))
            except DuplicateName:
                return _name_taken()
        return json_response({"data": render(data)})

    async def delete_room(self, request: Request, account: str) -> Response:
        room_id = request.path_params["room_id"]
        record = self._get(account, room_id)
        if record is None:
            return _not_found(room_id)
        # Permanent and synchronous: participants go with the room, the name is free (U9).
        self.store.delete(record)
        return Response(status_code=204)


async def _no_route(request: Request, exc: Exception) -> Response:
    # Telnyx answers JSON everywhere, also for paths and methods it does not serve.
    status = getattr(exc, "status_code", 404)
    title = "Method not allowed" if status == 405 else "Resource not found"
    return json_response(_errors({"code": str(status), "title": title,
                                  "detail": f"{request.method} {request.url.path}"}), status)


def create_app(sandbox: Sandbox) -> Starlette:
    api = _RoomsApi(sandbox)
    auth = api.authenticated
    return Starlette(exception_handlers={404: _no_route, 405: _no_route}, routes=[
        Route("/v2/rooms", auth(api.list_rooms), methods=["GET"]),
        Route("/v2/rooms", auth(api.create_room), methods=["POST"]),
        Route("/v2/rooms/{room_id}", auth(api.get_room), methods=["GET"]),
        Route("/v2/rooms/{room_id}", auth(api.update_room), methods=["PATCH"]),
        Route("/v2/rooms/{room_id}", auth(api.delete_room), methods=["DELETE"]),
    ])


def account_of(request: Request) -> str | None:
    return bearer_token(request)


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Bulk-create rooms from create-body items, with the create endpoint's rules."""
    if kind != KIND:
        raise ValueError(f"telnyx has one room kind, 'rooms', not {kind!r}")
    now = sandbox.clock.now()
    datas: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, item in enumerate(rooms):
        settings, errors = validate_settings(item)
        if errors:
            details = "; ".join(error["detail"] for error in errors)
            raise ValueError(f"telnyx room #{index}: {details}")
        name = settings.get("unique_name")
        if name is not None and name in names:
            raise ValueError(f"telnyx room #{index}: unique_name {name!r} is repeated")
        if name is not None:
            names.add(name)
        datas.append(_new_room(sandbox, account, settings, now))
    try:
        sandbox.store.insert_many([(PROVIDER, account, KIND, d["id"], d.get("unique_name"), d)
                                   for d in datas])
    except DuplicateName as exc:
        raise ValueError("a telnyx room with one of these unique_names already exists") from exc
    return [render(d) for d in datas]


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: an API key of the account's own, so aliases stay apart."""
    key = f"KEYsandbox-{alias}"
    return SandboxConnection("", {"api_key": key}, key, key)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="unique_name")
