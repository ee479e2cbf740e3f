"""Emulator of Daily's rooms REST API (`https://api.daily.co/v1`), per docs/providers/daily.md.

The mount root stands in for `https://api.daily.co`. The Bearer key names the account and,
through a hash of it, its domain. Rooms are stored as `GET
/rooms/{name}` returns them except that every property set sits beside `name` and
`privacy` rather than under `config` (so the control API can read and change each one);
rendering nests them and leaves out the ones at their default (U5). A room whose `exp`
has passed is invisible (U9).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.daily import properties as p
from reconcile.providers.daily.emulator_limits import CONTROL_ROUTES, participant_cap, rate_wait
from reconcile.providers.daily.emulator_list import (
    create_indexes,
    page,
    parse_list_query,
    visible,
)
from reconcile.providers.daily.emulator_rules import (
    Invalid,
    apply_properties,
    check_body,
    expired,
    shown_config,
)
from reconcile.sandbox.core import Sandbox, SandboxConnection
from reconcile.sandbox.emulation import iso_millis, json_response, parse_body
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName, Record
from reconcile.sandbox.update_mode import update_base

PROVIDER = "daily"
KIND = "rooms"
GENERATED_NAME_LENGTH = 20  # U17
CREATE_KEYS = ("name", "privacy", "properties")  # a create body's top level


# -- answers ---------------------------------------------------------------------------

def error(status: int, kind: str, info: str | None = None,
          headers: dict[str, str] | None = None) -> Response:
    body = {"error": kind} if info is None else {"error": kind, "info": info}
    return json_response(body, status, headers)


def _not_found(name: str, **extra: Any) -> Response:
    # U2: Daily's type for an unknown room is undocumented; third-party fixtures show this.
    return json_response({"error": "not-found", "info": f"room {name} not found", **extra}, 404)


def fault_response(status: int, retry_after: int | None) -> Response:
    if status == 429:  # U8: Retry-After and no other rate header
        return error(429, "rate-limit-error", "Too many requests",
                     {"Retry-After": str(1 if retry_after is None else retry_after)})
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return error(status, "server-error", "An unexpected error occurred", headers)


def domain_of(key: str) -> str:
    """The emulated domain of an API key: stable, and never the key itself (it shows in
    every join URL)."""
    return f"sandbox-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


ROOM_FIELDS = ("id", "name", "api_created", "privacy", "url", "created_at")


def is_property(key: str) -> bool:
    return key not in ROOM_FIELDS and not key.startswith("_")


def render(data: dict[str, Any]) -> dict[str, Any]:
    room = {k: data[k] for k in ROOM_FIELDS if k in data}
    room["config"] = shown_config({k: v for k, v in data.items() if is_property(k)})
    return room


def new_room(sandbox: Sandbox, key: str, checked: dict[str, Any]) -> dict[str, Any]:
    name = checked.get("name") or sandbox.random_chars(GENERATED_NAME_LENGTH)
    now = int(sandbox.clock.now())  # created_at has whole seconds
    return {"id": sandbox.random_uuid(), "name": name, "api_created": True,
            "privacy": checked.get("privacy", p.DEFAULT_PRIVACY),
            "url": f"https://{domain_of(key)}.daily.co/{name}",
            "created_at": iso_millis(now), "_created": now, **checked["properties"]}


# -- HTTP ------------------------------------------------------------------------------

Handler = Callable[[Request, str], Awaitable[Response]]


class _Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Bearer auth on every route: a missing or malformed header is a 400, a wrong key
        a 401; then the domain's rate budgets when switched on (U8); then a refused body is
        a 400 with Daily's error types (U10)."""
        async def run(request: Request) -> Response:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            key = key.strip()
            if scheme.lower() != "bearer" or not key:
                return error(400, "authorization-header-error",
                             "Authorization header must be 'Bearer <API key>'")
            if not self.sandbox.authenticate(PROVIDER, key, key):
                return error(401, "authentication-error", "The API key is not valid")
            wait = rate_wait(self.sandbox, key, request.method)
            if wait is not None:
                return fault_response(429, wait)
            try:
                return await handler(request, key)
            except Invalid as exc:
                return error(400, "invalid-request-error", str(exc))
            except json.JSONDecodeError:
                return error(400, "json-parsing-error", "The body is not valid JSON")
        return run

    def visible_room(self, key: str, name: str) -> Record | None:
        record = self.store.find_live(PROVIDER, key, KIND, name)
        return record if record is not None and visible(record, self.now) else None

    @property
    def now(self) -> float:
        return self.sandbox.clock.now()

    async def domain(self, request: Request, key: str) -> Response:
        return json_response({"domain_name": domain_of(key),
                              "domain_id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                              "config": {}})

    async def list(self, request: Request, key: str) -> Response:
        query = parse_list_query(request)
        rooms, total = page(self.store, key, query, self.now)
        return json_response({"total_count": total, "data": [render(room) for room in rooms]})

    async def create(self, request: Request, key: str) -> Response:
        checked = check_body(await _body(request), create=True,
                             cap=participant_cap(self.sandbox, key))
        data = new_room(self.sandbox, key, checked)
        with self.store.transaction():
            stale = self.store.find_live(PROVIDER, key, KIND, data["name"])
            if stale is not None and expired(stale.data, self.now):
                self.store.delete(stale)  # U9: an expired room's name is free
            try:
                self.store.insert(PROVIDER, key, KIND, data["id"], data["name"], data)
            except DuplicateName:  # U1
                raise Invalid(f"a room named {data['name']} already exists") from None
        return json_response(render(data))  # 200, not 201

    async def get(self, request: Request, key: str) -> Response:
        name = request.path_params["name"]
        record = self.visible_room(key, name)
        return _not_found(name) if record is None else json_response(render(record.data))

    async def update(self, request: Request, key: str) -> Response:
        name = request.path_params["name"]
        body = await _body(request)
        with self.store.transaction():
            record = self.visible_room(key, name)
            if record is None:  # U13
                return _not_found(name)
            checked = check_body(body, create=False, cap=participant_cap(self.sandbox, key))
            # U3: merge, or under the control API's switch replace privacy and properties
            base = update_base(self.sandbox, PROVIDER, record.data,
                               {"privacy": p.DEFAULT_PRIVACY},
                               lambda field: field == "privacy" or is_property(field))
            data = {**apply_properties(base, checked["properties"]),
                    "privacy": checked.get("privacy", base["privacy"])}
            self.store.update(record, data)
        return json_response(render(data))

    async def delete(self, request: Request, key: str) -> Response:
        name = request.path_params["name"]
        with self.store.transaction():
            record = self.store.find_live(PROVIDER, key, KIND, name)
            if record is None:
                return _not_found(name)
            self.store.delete(record)  # the name is free at once
            if expired(record.data, self.now):  # U9: "implicitly deleted" already
                return _not_found(name, deleted=True)
        return json_response({"deleted": True, "name": name})


async def _body(request: Request) -> Any:
    """The JSON body (an empty one is `{}`); json.JSONDecodeError when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return parse_body(raw)
    except ValueError as exc:  # JSONDecodeError, or what else parse_body refuses
        raise json.JSONDecodeError(str(exc), "", 0) from None


async def _no_route(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return error(status, "not-found" if status == 404 else "invalid-request-error",
                 f"{request.method} {request.url.path}")


def create_app(sandbox: Sandbox) -> Starlette:
    create_indexes(sandbox.store)
    api = _Api(sandbox)
    room = "/v1/rooms/{name}"
    return Starlette(exception_handlers={404: _no_route, 405: _no_route}, routes=[
        Route("/v1", api.endpoint(api.domain), methods=["GET"]),
        Route("/v1/", api.endpoint(api.domain), methods=["GET"]),
        Route("/v1/rooms", api.endpoint(api.list), methods=["GET"]),
        Route("/v1/rooms", api.endpoint(api.create), methods=["POST"]),
        Route(room, api.endpoint(api.get), methods=["GET"]),
        Route(room, api.endpoint(api.update), methods=["POST"]),
        Route(room, api.endpoint(api.delete), methods=["DELETE"]),
    ])


def account_of(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Create rooms from create bodies, all or none. An item may add `api_created: false`
    (a dashboard room), and may give properties beside `name` and `privacy`, as they are
    stored, instead of under `properties`; legacy keys such as `autojoin` are taken."""
    if kind != KIND:
        raise ValueError(f"daily has one room kind, {KIND!r}, not {kind!r}")
    datas = []
    for index, item in enumerate(rooms):
        flat = {k: v for k, v in item.items() if k not in CREATE_KEYS and k != "api_created"}
        body = {k: v for k, v in item.items() if k in CREATE_KEYS}
        body["properties"] = {**flat, **(body.get("properties") or {})}
        try:
            data = new_room(sandbox, account, check_body(
                body, create=True, cap=participant_cap(sandbox, account)))
        except Invalid as exc:
            raise ValueError(f"daily room #{index}: {exc}") from None
        datas.append({**data, "api_created": item.get("api_created", True) is not False})
    names = [d["name"] for d in datas]
    if len(set(names)) != len(names):
        raise ValueError("daily room names must be unique among the seeded rooms")
    sandbox.store.insert_many([(PROVIDER, account, KIND, d["id"], d["name"], d) for d in datas])
    return [render(d) for d in datas]


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: an API key (so a domain) of the account's own, so aliases stay apart."""
    key = f"sandbox-{alias}"
    return SandboxConnection("", {"api_key": key}, key, key)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="name",
    control_routes=CONTROL_ROUTES)
