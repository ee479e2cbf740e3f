"""SignalWire Video emulator: Rooms and Video Conferences.

The mount root stands in for the scheme only: the first path segment is the space, so
`https://acme.signalwire.com/api/video/rooms` is served at `<root>/acme/api/video/rooms`. The
space is the sandbox account; each resource keeps its own name index (U3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.signalwire.emulator_call import PROVIDER, Call, Handler, flag
from reconcile.providers.signalwire.emulator_pages import list_page
from reconcile.providers.signalwire.fields import (
    CONFERENCES,
    ERRORS_URL,
    KINDS,
    ROOMS,
    Invalid,
    Kind,
    build,
    error,
)
from reconcile.providers.signalwire.sandbox import SANDBOX
from reconcile.sandbox.core import Sandbox, SandboxConnection, public
from reconcile.sandbox.emulation import basic_auth, iso_micros, json_body, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName
from reconcile.sandbox.update_mode import update_base

_SPACE = re.compile(r"/([^/]+)/api/video(?:/|$)")
Row = tuple[str, str, str, str, str | None, dict[str, Any]]  # what Store.insert_many takes


# -- the contract the sandbox relies on ----------------------------------------------


def fault_response(status: int, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if status == 429:  # U9
        return json_response({"errors": [{
            "code": "rate_limit_exceeded", "message": "The rate limit has been exceeded.",
            "url": ERRORS_URL}]}, 429, headers)
    return _status(status, headers)


def account_of(request: Request) -> str | None:
    """The space: the path segment before `/api/video`, with or without the mount prefix."""
    match = _SPACE.search(request.url.path)
    return match.group(1) if match else None


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Create many rooms or conferences at once, with the create endpoint's rules."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"signalwire has no kind {kind!r}; use one of {', '.join(KINDS)}")
    now = sandbox.clock.now()
    rows: list[Row] = []
    for index, body in enumerate(rooms):
        if not isinstance(body, dict):
            raise ValueError(f"{kind}[{index}] must be an object")
        try:
            record_id, data = _new(sandbox, spec, body, now)
        except Invalid as exc:
            raise ValueError(f"{kind}[{index}]: {exc}") from None
        rows.append((PROVIDER, account, kind, record_id, data["name"], data))
    try:
        sandbox.store.insert_many(rows)
    except DuplicateName:  # the control API answers it with a 409: keep the type, name the name
        raise DuplicateName(_duplicate_message(sandbox, account, kind, rows)) from None
    return [public(row[5]) for row in rows]


def _duplicate_message(sandbox: Sandbox, account: str, kind: str, rows: list[Row]) -> str:
    seen: set[str | None] = set()
    for *_, name, _data in rows:
        if name in seen or sandbox.store.find_live(PROVIDER, account, kind, str(name)):
            return f"{kind}: the name {name!r} is already taken in space {account!r}"
        seen.add(name)
    return f"{kind}: a name is already taken in space {account!r}"


def create_app(sandbox: Sandbox) -> Starlette:
    routes: list[Route] = []
    for kind in (ROOMS, CONFERENCES):
        collection = f"/{{space}}/api/video/{kind.kind}"
        routes += [
            _route(sandbox, kind, collection, {"GET": list_page, "POST": _create}),
            _route(sandbox, kind, collection + "/{key}",
                   {"GET": _get, "PUT": _update, "DELETE": _delete}),
        ]
    return Starlette(routes=routes, exception_handlers={
        HTTPException: _http_error, Exception: _server_error})


# -- plumbing --------------------------------------------------------------------------


def _route(sandbox: Sandbox, kind: Kind, path: str, handlers: dict[str, Handler]) -> Route:
    async def endpoint(request: Request) -> Response:
        if not sandbox.authenticate(PROVIDER, *basic_auth(request)):
            return _status(401)
        call = Call(request, sandbox, kind, request.path_params["space"])
        try:
            return await handlers[request.method if request.method != "HEAD" else "GET"](call)
        except Invalid as exc:
            return json_response({"errors": exc.errors}, 422)
    return Route(path, endpoint, methods=list(handlers))


def _status(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """The declared body of a non-422 error (U8): `{"error": "Not Found"}` and so on."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # a status Python has no name for
        phrase = "Error"
    return json_response({"error": phrase}, status, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _status(exc.status_code, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return _status(500)


async def _body(request: Request) -> dict[str, Any] | None:
    """The JSON object sent, {} when nothing was sent, None when it is not a JSON object."""
    data = await json_body(request)
    if data is None and not (await request.body()).strip():
        return {}
    return data if isinstance(data, dict) else None


def _new(sandbox: Sandbox, kind: Kind, body: dict[str, Any], now: float
         ) -> tuple[str, dict[str, Any]]:
    """A new resource's id and stored data, from a create body."""
    values = build(kind, body)
    name = values.pop("name") or sandbox.random_hex(12)  # U6: conferences may omit it
    record_id = sandbox.random_uuid()
    stamp = iso_micros(now)
    return record_id, {"id": record_id, "name": name, **values,
                       "created_at": stamp, "updated_at": stamp}


# -- handlers --------------------------------------------------------------------------


async def _create(call: Call) -> Response:
    body = await _body(call.request)
    if body is None:
        return _status(400)
    record_id, data = _new(call.sandbox, call.kind, body, call.sandbox.clock.now())
    try:
        call.sandbox.store.insert(PROVIDER, call.space, call.kind.kind, record_id,
                                  data["name"], data)
    except DuplicateName:  # U2
        raise Invalid([error("not_unique_within_project", "Value must be unique within"
                             " project.", "name")]) from None
    return json_response(call.render(record_id, data))  # 200, as the spec says (U1)


async def _get(call: Call) -> Response:
    session = flag(call.request, "include_active_session")
    record = call.lookup(call.request.path_params["key"], by_name=call.kind is ROOMS)
    if record is None:
        return _status(404)
    return json_response(call.render(record.id, record.data, session=session,
                                     now=call.sandbox.clock.now()))


async def _update(call: Call) -> Response:
    body = await _body(call.request)
    store = call.sandbox.store
    with store.transaction():  # read-modify-write: no lost updates between processes
        record = call.lookup(call.request.path_params["key"])
        if record is None:
            return _status(404)
        if body is None:
            return _status(400)
        # U4: a merge, or under the control API's switch a replace; name ignored (U13)
        base = update_base(call.sandbox, PROVIDER, record.data, _fresh(call.kind, record.data),
                           call.kind.update_rules.__contains__)
        data = build(call.kind, body, base)
        data["updated_at"] = iso_micros(call.sandbox.clock.now())
        store.update(record, data)
    return json_response(call.render(record.id, data))


def _fresh(kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
    """The settings a PUT can change, as a new resource of this name has them."""
    return {**{k: v for k, v in kind.defaults.items() if k in kind.update_rules},
            "display_name": data.get("name")}


async def _delete(call: Call) -> Response:
    record = call.lookup(call.request.path_params["key"])
    if record is None:
        return _status(404)
    call.sandbox.store.delete(record)
    return Response(status_code=204)


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: the space is the account; any project with the sandbox token."""
    principal, token = SANDBOX.credentials
    return SandboxConnection(f"/{settings.space}", {"project_id": "sandbox", "token": token},
                             principal, token)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="name")
