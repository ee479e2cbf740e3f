"""Emulator of the Kaleyra Video (Bandyer) v2 REST API: users and rooms.

The mount root stands in for `https://api.<region>.bandyer.com`, so every route starts
with the region: `/eu/v2/rooms`. The account is the `apikey` header itself. Rooms have no
name, no list and no update (U5, U6); the behaviours for the [unconfirmed] points follow
the unconfirmed behaviours of `docs/providers/kaleyra.md` (U1..U15).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from reconcile.providers.kaleyra.emulator_rules import (
    DEFAULT_COMPANY,
    REGIONS,
    Invalid,
    parse_room,
    parse_user,
)
from reconcile.sandbox.core import Sandbox, SandboxConnection, public
from reconcile.sandbox.emulation import json_body, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName

PROVIDER = "kaleyra"
USERS, ROOMS = "users", "rooms"
DEFAULT_LIMIT = MAX_LIMIT = 100  # the official Android demo pages users 100 at a time
JOIN_URL = "https://sandbox.bandyer.com/{region}/direct-rest-call-handler/{token}"  # U12
TOKEN_LENGTH = 20
SEED_REGION = "eu"

Endpoint = Callable[[Request], Awaitable[Response]]


# -- responses -----------------------------------------------------------------------

def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None
           ) -> Response:
    """U9: every error is `{"error": code, "message": text}`."""
    return json_response({"error": code, "message": message}, status, headers)


def _bad_request(message: str) -> Response:
    return _error(400, "bad_request", message)


def _not_found() -> Response:
    return _error(404, "not_found", "Not found")


def fault_response(status: int, retry_after: int | None) -> Response:
    """An injected 429 (U10) or 5xx in the API's error shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Server error"
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _error(status, phrase.lower().replace(" ", "_"), phrase.capitalize(), headers)


def account_of(request: Request) -> str | None:
    """The account is the API key (one key per Company); not verified here."""
    return request.headers.get("apikey") or None


# -- per-company switches, in store meta so every process sharing the database sees them --

def _company_key(account: str) -> str:
    return f"{PROVIDER}.company.{account}"


def company(sandbox: Sandbox, account: str) -> dict[str, bool]:
    """The company's feature flags and the room-routes switch (defaults: all on)."""
    raw = sandbox.store.get_meta(_company_key(account))
    return {**DEFAULT_COMPANY, **(json.loads(raw) if raw else {})}


def update_company(sandbox: Sandbox, account: str, changes: Mapping[str, bool]
                   ) -> dict[str, bool]:
    """Switch some of `transcription`, `summarization`, `room_routes`; returns them all."""
    unknown = set(changes) - set(DEFAULT_COMPANY)
    if unknown or not all(isinstance(v, bool) for v in changes.values()):
        raise ValueError(f"expected booleans for {', '.join(DEFAULT_COMPANY)};"
                         f" got {dict(changes)!r}")
    with sandbox.store.transaction():
        settings = {**company(sandbox, account), **changes}
        sandbox.store.set_meta(_company_key(account), json.dumps(settings))
    return settings


# -- rendering and building -------------------------------------------------------------

def _user_created(user: dict[str, Any]) -> dict[str, Any]:
    """U13: create echoes `user_id` and `role` (the list shows `id`)."""
    return {"user_id": user["id"], "role": user["role"]}


def _build_room(sandbox: Sandbox, region: str, body: Any, role_of: Callable[[str], str | None],
                settings: Mapping[str, bool]) -> dict[str, Any]:
    """The stored room (U2): a fresh room_id (U11) and one new join URL per participant."""
    room = parse_room(body, role_of, settings)
    participants = [
        {"user_id": p["user_id"],
         "url": JOIN_URL.format(region=region, token=sandbox.random_chars(TOKEN_LENGTH)), **p}
        for p in room.pop("participants")]
    return {"room_id": _room_id(sandbox), "participants": participants, **room}


def _answer(room: dict[str, Any], settings: Mapping[str, bool]) -> dict[str, Any]:
    """A stored room as create and get answer it: the v2 shape (U2), or under the company's
    `v1_answers` switch the documented v1 one, `{"room": {..., "user_urls": [...]}}`."""
    shown = public(room)
    if not settings["v1_answers"]:
        return shown
    urls = [{"user": p["user_id"], "url": p["url"], "tools": p.get("tools", {}),
             "is_admin": bool(p.get("is_admin"))} for p in shown.pop("participants")]
    return {"room": {**shown, "user_urls": urls}}


def _room_id(sandbox: Sandbox) -> str:
    return "room_" + sandbox.random_hex(12)


def _user_id(sandbox: Sandbox) -> str:
    """For users created without a chosen id (documented: "otherwise it is generated")."""
    return "user_" + sandbox.random_hex(12)


# -- the API -------------------------------------------------------------------------------

Handler = Callable[["_Api", Request, str], Awaitable[Response]]


def _authenticated(handler: Handler) -> Callable[[_Api, Request], Awaitable[Response]]:
    """Checks the region (an unknown one has no host: 404) and the `apikey` (401, U9)."""
    @functools.wraps(handler)
    async def endpoint(self: _Api, request: Request) -> Response:
        if request.path_params["region"] not in REGIONS:
            return _not_found()
        account = account_of(request)
        if account is None:
            return _error(401, "unauthorized", "Missing apikey header")
        if not self.sandbox.authenticate(PROVIDER, account, account):
            return _error(401, "unauthorized", "Invalid apikey")
        return await handler(self, request, account)
    return endpoint


def _int_param(request: Request, key: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise Invalid(f"{key} must be an integer of at least {minimum}")
    return min(value, 2**62)  # SQLite integers stop at 2**63


class _Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    def _role_of(self, account: str) -> Callable[[str], str | None]:
        def role_of(user_id: str) -> str | None:
            user = self.store.get(PROVIDER, account, USERS, user_id)
            return user.data.get("role") if user else None
        return role_of

    @_authenticated
    async def create_user(self, request: Request, account: str) -> Response:
        try:
            user = parse_user(await json_body(request), lambda: _user_id(self.sandbox))
        except Invalid as exc:
            return _bad_request(str(exc))
        try:
            # The name index makes concurrent creates of one user_id succeed exactly once.
            self.store.insert(PROVIDER, account, USERS, user["id"], user["id"], user)
        except DuplicateName:
            return _bad_request("user_id already exists")
        return json_response(_user_created(user), 201)

    @_authenticated
    async def list_users(self, request: Request, account: str) -> Response:
        """U13: offset/limit paging; a page past the end is empty."""
        try:
            offset = _int_param(request, "offset", 0, minimum=0)
            limit = min(_int_param(request, "limit", DEFAULT_LIMIT, minimum=1), MAX_LIMIT)
        except Invalid as exc:
            return _bad_request(str(exc))
        users = self.store.list(PROVIDER, account, USERS, offset=offset, limit=limit)
        return json_response({"users": [public(user.data) for user in users]})

    @_authenticated
    async def create_room(self, request: Request, account: str) -> Response:
        body = await json_body(request)
        try:
            room = _build_room(self.sandbox, request.path_params["region"], body,
                               self._role_of(account), company(self.sandbox, account))
        except Invalid as exc:
            return _bad_request(str(exc))
        while True:  # a room_id collision (48 random bits) only costs a new id
            try:
                self.store.insert(PROVIDER, account, ROOMS, room["room_id"], None, room)
                break
            except DuplicateName:
                room["room_id"] = _room_id(self.sandbox)
        return json_response(_answer(room, company(self.sandbox, account)), 201)

    @_authenticated
    async def get_room(self, request: Request, account: str) -> Response:
        """U3: the create body, 200; U15: rooms never expire."""
        settings = company(self.sandbox, account)
        if not settings["room_routes"]:
            return _not_found()
        record = self.store.get(PROVIDER, account, ROOMS, request.path_params["room_id"])
        return json_response(_answer(record.data, settings)) if record else _not_found()

    @_authenticated
    async def delete_room(self, request: Request, account: str) -> Response:
        """U4: 204, then 404 on GET and DELETE."""
        if not company(self.sandbox, account)["room_routes"]:
            return _not_found()
        with self.store.transaction():
            record = self.store.get(PROVIDER, account, ROOMS, request.path_params["room_id"])
            if record is not None:
                self.store.delete(record)
        return Response(status_code=204) if record else _not_found()

    @_authenticated
    async def no_such_route(self, request: Request, account: str) -> Response:
        """U5 (no room list) and U6 (no room update)."""
        return _not_found()


async def _unmatched(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the API's error shape."""
    return _not_found()


def create_app(sandbox: Sandbox) -> Starlette:
    api = _Api(sandbox)
    v2 = [
        Route("/users", api.create_user, methods=["POST"]),
        Route("/users", api.list_users, methods=["GET"]),
        Route("/rooms", api.create_room, methods=["POST"]),
        Route("/rooms", api.no_such_route, methods=["GET"]),
        Route("/rooms/{room_id}", api.get_room, methods=["GET"]),
        Route("/rooms/{room_id}", api.delete_room, methods=["DELETE"]),
        Route("/rooms/{room_id}", api.no_such_route, methods=["PUT", "PATCH"]),
    ]
    return Starlette(routes=[Mount("/{region}/v2", routes=v2)],
                     exception_handlers={404: _unmatched, 405: _unmatched})


# -- bulk seeding ------------------------------------------------------------------------

def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Bulk-create users (`{user_id, role}`) or rooms (create bodies, plus an optional
    `region`, default eu, for the join URLs), with the API's validation."""
    if kind == USERS:
        users = _each(kind, rooms, lambda item: parse_user(item, lambda: _user_id(sandbox)))
        rows = [(PROVIDER, account, USERS, u["id"], u["id"], u) for u in users]
        rendered = [_user_created(u) for u in users]
    elif kind == ROOMS:
        # One read of the account's users instead of one per participant.
        roles = {user.id: user.data.get("role")
                 for user in sandbox.store.list(PROVIDER, account, USERS)}
        settings = company(sandbox, account)
        built = _each(kind, rooms, lambda item: _build_room(
            sandbox, _seed_region(item), item, roles.get, settings))
        rows = [(PROVIDER, account, ROOMS, r["room_id"], None, r) for r in built]
        rendered = [public(r) for r in built]
    else:
        raise ValueError(f"unknown kind {kind!r}: expected {USERS} or {ROOMS}")
    try:
        sandbox.store.insert_many(rows)
    except DuplicateName as exc:
        raise ValueError(f"{kind}: an id is already taken ({exc})") from exc
    return rendered


def _each(kind: str, items: list[Any], build: Callable[[Any], dict[str, Any]]
          ) -> list[dict[str, Any]]:
    """Builds every item; an invalid one becomes a ValueError naming its index."""
    built = []
    for index, item in enumerate(items):
        try:
            built.append(build(item))
        except Invalid as exc:
            raise ValueError(f"{kind}[{index}]: {exc}") from exc
    return built


def _seed_region(item: Any) -> str:
    region = item.get("region", SEED_REGION) if isinstance(item, dict) else SEED_REGION
    if region not in REGIONS:
        raise Invalid(f"region must be one of {', '.join(REGIONS)}")
    return region


# -- sandbox control routes (mounted at /_sandbox/providers/kaleyra/...) ----------------

def _settings_endpoint(fields: dict[str, str]) -> Endpoint:
    """GET shows some company settings; POST switches them. `fields` maps body keys to
    setting names. The mounting app must keep the Sandbox in `app.state.sandbox`."""
    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        account = request.path_params["account"]
        if request.method == "POST":
            body = await json_body(request)
            if (not isinstance(body, dict) or not body or not set(body) <= set(fields)
                    or not all(isinstance(value, bool) for value in body.values())):
                return _bad_request(f"send a JSON object of booleans among {', '.join(fields)}")
            update_company(sandbox, account, {fields[k]: v for k, v in body.items()})
        settings = company(sandbox, account)
        return json_response({key: settings[name] for key, name in fields.items()})
    return endpoint


CONTROL_ROUTES: list[Route] = [
    # {"transcription": false} makes rooms with offline_transcription fail with 400 (U14).
    Route("/companies/{account}/features",
          _settings_endpoint({"transcription": "transcription",
                              "summarization": "summarization"}),
          methods=["GET", "POST"]),
    # {"enabled": false} answers 404 to GET/DELETE of every room of the company, to test
    # an adapter's state-only fallback.
    Route("/companies/{account}/room-routes", _settings_endpoint({"enabled": "room_routes"}),
          methods=["GET", "POST"]),
    # {"v1": true} answers create and get in the documented v1 shape (U2).
    Route("/companies/{account}/answers", _settings_endpoint({"v1": "v1_answers"}),
          methods=["GET", "POST"]),
]


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: a company (API key) of the account's own, in its region."""
    key = f"ak_sandbox_{alias}"
    return SandboxConnection(f"/{settings.region}", {"api_key": key}, key, key)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, control_routes=CONTROL_ROUTES)
