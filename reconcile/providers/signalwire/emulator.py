"""SignalWire Video emulator: Rooms and Video Conferences.

The mount root stands in for the scheme only: the first path segment is the space, so
`https://acme.signalwire.com/api/video/rooms` is served at `<root>/acme/api/video/rooms`. The
space is the sandbox account; each resource keeps its own name index (U3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.signalwire.fields import (
    CONFERENCES,
    ERRORS_URL,
    KINDS,
    ROOMS,
    SIZE_MEMBERS,
    Invalid,
    Kind,
    build,
    error,
    timestamp,
)
from reconcile.providers.signalwire.model import UUID_PATTERN
from reconcile.providers.signalwire.sandbox import SANDBOX
from reconcile.sandbox.core import Sandbox, SandboxConnection, public
from reconcile.sandbox.emulation import basic_auth, iso_micros, json_body, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName, Record
from reconcile.sandbox.update_mode import update_base

PROVIDER = "signalwire"
_SPACE = re.compile(r"/([^/]+)/api/video(?:/|$)")
_UUID = re.compile(UUID_PATTERN)
_TOKEN_KEY = "signalwire/page_token/"
_PAGE_PARAMS = ("page_number", "page_size", "page_token")
_FLAGS = {"true": True, "1": True, "false": False, "0": False}
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
            _route(sandbox, kind, collection, {"GET": _list, "POST": _create}),
            _route(sandbox, kind, collection + "/{key}",
                   {"GET": _get, "PUT": _update, "DELETE": _delete}),
        ]
    return Starlette(routes=routes, exception_handlers={
        HTTPException: _http_error, Exception: _server_error})


# -- plumbing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    request: Request
    sandbox: Sandbox
    kind: Kind
    space: str

    def lookup(self, key: str, *, by_name: bool = False) -> Record | None:
        """By id when `key` is UUID-shaped, else by name where allowed (U5)."""
        store = self.sandbox.store
        if _UUID.fullmatch(key):
            return store.get(PROVIDER, self.space, self.kind.kind, key.lower())
        return store.find_live(PROVIDER, self.space, self.kind.kind, key) if by_name else None

    def render(self, record_id: str, data: dict[str, Any], *, session: bool = False,
               now: float = 0.0) -> dict[str, Any]:
        room = public(data)
        live = _active_session(self.request, record_id, data, now) if session else None
        if live is not None:  # no session: the key is left out, as the spec's example
            room["active_session"] = live
        return room


Handler = Callable[[Call], Awaitable[Response]]


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


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() not in _FLAGS:
        raise Invalid([error("invalid_parameter", f"{name} must be true or false", name)])
    return _FLAGS[value.lower()]


def _new(sandbox: Sandbox, kind: Kind, body: dict[str, Any], now: float
         ) -> tuple[str, dict[str, Any]]:
    """A new resource's id and stored data, from a create body."""
    values = build(kind, body)
    name = values.pop("name") or sandbox.random_hex(12)  # U6: conferences may omit it
    record_id = sandbox.random_uuid()
    stamp = iso_micros(now)
    return record_id, {"id": record_id, "name": name, **values,
                       "created_at": stamp, "updated_at": stamp}


def _active_session(request: Request, record_id: str, data: dict[str, Any], now: float
                    ) -> dict[str, Any] | None:
    """The live session, from the sandbox's participant bookkeeping; None when nobody is in."""
    session_id = data.get("_session_id")
    if not session_id or not data.get("_participants"):
        return None
    started = float(data.get("_session_started_at") or now)
    previews = bool(data.get("enable_room_previews"))
    path = request.url.path
    space_root = str(request.url.replace(path=path[:path.index("/api/video")], query=""))
    session = {
        "id": session_id, "room_id": record_id, "name": data.get("name"),
        "display_name": data.get("display_name"), "join_from": data.get("join_from"),
        "join_until": data.get("join_until"), "remove_at": data.get("remove_at"),
        "remove_after_seconds_elapsed": data.get("remove_after_seconds_elapsed"),
        "layout": data.get("layout"),
        "max_members": data.get("max_members") or SIZE_MEMBERS.get(data.get("size") or ""),
        "fps": data.get("fps", 20), "quality": data.get("quality"),
        "start_time": iso_micros(started), "duration": max(0, int(now - started)),
        "status": "in-progress", "record_on_start": data.get("record_on_start"),
        "enable_room_previews": previews,
        "preview_url": f"{space_root}/api/video/room_sessions/{session_id}/preview"
        if previews else None,
        "audio_video_sync": data.get("sync_audio_video"),
    }
    return {key: value for key, value in session.items() if value is not None}


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
    session = _flag(call.request, "include_active_session")
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


# -- lists -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int
    token: str | None
    after_seq: int  # the page starts after this record
    prev_token: str | None  # the token of the page before, when that page is not the first
    starts_after: str | None
    ends_before: str | None
    session: bool


async def _list(call: Call) -> Response:
    page = _page_query(call)
    rows = _select(call, page)
    more = len(rows) > page.size
    rows = rows[:page.size]
    next_token = _remember_token(call, rows[-1][0], page.token) if more else None
    now = call.sandbox.clock.now()
    data = [call.render(d["id"], d, session=page.session, now=now) for _, d in rows]
    return json_response({"links": _links(call.request, page, next_token), "data": data})


def _page_query(call: Call) -> Page:
    """The validated list query; every failing parameter is reported at once."""
    query = call.request.query_params
    errors: list[dict[str, str]] = []
    size = _int_param(query.get("page_size"), "page_size", 50, 1, 1000, errors)
    number = _int_param(query.get("page_number"), "page_number", 0, 0, None, errors)
    filters: dict[str, str | None] = {}
    for name in ("starts_after", "ends_before"):
        raw = query.get(name)
        try:
            filters[name] = timestamp(raw, epoch=call.kind is CONFERENCES) if raw else None
        except ValueError as exc:
            errors.append(error("invalid_parameter", f"{name} {exc}", name))
    token = query.get("page_token") or None
    after_seq, prev_token = 0, None
    if token is not None:
        saved = _saved_token(call, token)
        if saved is None:
            errors.append(error("page_token_is_invalid", "Page token is invalid.",
                                "page_token"))
        else:
            after_seq, prev_token = saved["after"], saved["prev"]
    elif number > 0:
        errors.append(error("page_token_required", "Page token is required for a page"
                            " number greater than 0.", "page_token"))
    try:
        session = _flag(call.request, "include_active_session")
    except Invalid as exc:
        errors += exc.errors
        session = False
    if errors:
        raise Invalid(errors)
    return Page(number, size, token, after_seq, prev_token, filters["starts_after"],
                filters["ends_before"], session)


def _int_param(raw: str | None, name: str, default: int, low: int, high: int | None,
               errors: list[dict[str, str]]) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        errors.append(error("invalid_parameter", f"{name} must be an integer {bounds}", name))
        return default
    return value


def _select(call: Call, page: Page) -> list[tuple[int, dict[str, Any]]]:
    """One query: up to size + 1 records after the cursor (the extra one says "more")."""
    sql = ("SELECT seq, data FROM records WHERE provider=? AND account=? AND kind=?"
           " AND live=1 AND seq>?")
    args: list[Any] = [PROVIDER, call.space, call.kind.kind, page.after_seq]
    for field, op, bound in (("join_from", ">=", page.starts_after),
                             ("join_until", "<=", page.ends_before)):
        if bound is not None:
            sql += f" AND julianday(json_extract(data, '$.{field}')) {op} julianday(?)"
            args.append(bound)
    sql += " ORDER BY seq LIMIT ?"
    args.append(page.size + 1)
    # The store has no filtered-list method; its transaction hands out the connection.
    with call.sandbox.store.transaction() as conn:
        rows = conn.execute(sql, args).fetchall()
    return [(seq, json.loads(data)) for seq, data in rows]


def _remember_token(call: Call, after_seq: int, current: str | None) -> str:
    """A new `PA<uuid>` cursor, kept in the store so it outlives a server restart."""
    token = "PA" + call.sandbox.random_uuid()
    call.sandbox.store.set_meta(_TOKEN_KEY + token, json.dumps({
        "account": call.space, "kind": call.kind.kind, "after": after_seq, "prev": current}))
    return token


def _saved_token(call: Call, token: str) -> dict[str, Any] | None:
    raw = call.sandbox.store.get_meta(_TOKEN_KEY + token)
    saved: dict[str, Any] | None = json.loads(raw) if raw else None
    if saved and saved["account"] == call.space and saved["kind"] == call.kind.kind:
        return saved
    return None


def _links(request: Request, page: Page, next_token: str | None) -> dict[str, str]:
    """Absolute links on the request's host (U7); filters ride along on every link."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGE_PARAMS]

    def link(*params: tuple[str, Any]) -> str:
        return str(request.url.replace(query=urlencode([*params, *kept])))

    size = ("page_size", page.size)
    token = (("page_token", page.token),) if page.token else ()
    links = {"self": link(("page_number", page.number), size, *token), "first": link(size)}
    if next_token is not None:
        links["next"] = link(("page_number", page.number + 1), size,
                             ("page_token", next_token))
    if page.number > 0:
        links["prev"] = (link(("page_number", page.number - 1), size,
                              ("page_token", page.prev_token))
                         if page.prev_token else link(("page_number", 0), size))
    return links


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: the space is the account; any project with the sandbox token."""
    principal, token = SANDBOX.credentials
    return SandboxConnection(f"/{settings.space}", {"project_id": "sandbox", "token": token},
                             principal, token)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="name")
