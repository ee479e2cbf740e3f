"""The sandbox's control API, mounted at ``/_sandbox``: JSON in, JSON out.

It resets state, moves the virtual clock, reads request counters, sets faults, registers
credentials, seeds rooms and changes them out of band (drift, participants). It is
neither counted nor faulted. `reconcile.sandbox.client.SandboxControl` calls it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.emulation import iso_micros, parse_body
from reconcile.sandbox.emulator import Emulator
from reconcile.sandbox.faults import get_faults, set_faults
from reconcile.sandbox.store import DuplicateName, Record
from reconcile.sandbox.update_mode import set_update_mode, update_mode

_ADVANCE_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}

Handler = Callable[[Request], Awaitable[Response]]


class ControlError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = parse_body(raw) if raw else {}
    except ValueError as exc:
        raise ControlError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _get(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *,
         required: bool = True, default: Any = None) -> Any:
    if name not in body:
        if required:
            raise ControlError(400, f"missing field '{name}'")
        return default
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
        names = " or ".join(t.__name__ for t in _types(kind))
        raise ControlError(400, f"field '{name}' must be a {names}")
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _strings(body: dict[str, Any], name: str) -> list[str]:
    values: list[str] = _get(body, name, list, required=False, default=[])
    if not all(isinstance(v, str) for v in values):
        raise ControlError(400, f"field '{name}' must be a list of strings")
    return values


def record_view(record: Record) -> dict[str, Any]:
    """A stored room as the control API shows it: internal keys included."""
    return {"seq": record.seq, "provider": record.provider, "account": record.account,
            "kind": record.kind, "id": record.id, "name": record.name, "live": record.live,
            "data": record.data}


def _live_param(request: Request) -> bool | None:
    value = request.query_params.get("live")
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ControlError(400, "query parameter 'live' must be true or false")


class _Control:
    def __init__(self, sandbox: Sandbox, emulators: Mapping[str, Emulator]) -> None:
        self.sandbox = sandbox
        self.emulators = dict(emulators)

    def _emulator(self, provider: str) -> Emulator:
        if provider not in self.emulators:
            raise ControlError(404, f"unknown provider '{provider}'",
                               providers=sorted(self.emulators))
        return self.emulators[provider]

    def _record(self, request: Request) -> Record:
        p = request.path_params
        self._emulator(p["provider"])
        record = self.sandbox.find(p["provider"], p["account"], p["kind"], p["key"])
        if record is None:
            raise ControlError(404, f"no {p['kind']} '{p['key']}' in {p['provider']} account"
                                    f" '{p['account']}' (looked up by id, then live name)")
        return record

    def _name_field(self, provider: str, kind: str) -> str | None:
        declared = self.emulators[provider].name_field
        return declared.get(kind) if isinstance(declared, dict) else declared

    # -- state --------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok", "providers": list(self.emulators),
                      "seed": self.sandbox.seed})

    async def reset(self, request: Request) -> Response:
        self.sandbox.reset()
        return _json({"status": "reset"})

    def _clock(self) -> dict[str, Any]:
        now = self.sandbox.clock.now()
        return {"now": now, "iso": iso_micros(now), "offset_seconds": self.sandbox.clock.offset}

    async def clock(self, request: Request) -> Response:
        return _json(self._clock())

    async def advance(self, request: Request) -> Response:
        body = await _body(request)
        unknown = set(body) - set(_ADVANCE_UNITS)
        if unknown or not body:
            raise ControlError(400, "give 'seconds', 'minutes' and/or 'hours' (numbers >= 0)")
        seconds = sum(_get(body, unit, (int, float)) * factor
                      for unit, factor in _ADVANCE_UNITS.items() if unit in body)
        if seconds < 0 or any(body[u] < 0 for u in body):
            raise ControlError(400, "the clock only moves forward")
        self.sandbox.clock.advance(seconds)
        return _json(self._clock())

    def _counters(self) -> dict[str, Any]:
        table = self.sandbox.counter_table()
        methods: dict[str, int] = {}
        for per_method in table.values():
            for method, count in per_method.items():
                methods[method] = methods.get(method, 0) + count
        return {"providers": table,
                "totals": {p: sum(per.values()) for p, per in table.items()},
                "methods": methods, "total": sum(methods.values())}

    async def counters(self, request: Request) -> Response:
        return _json(self._counters())

    async def clear_counters(self, request: Request) -> Response:
        self.sandbox.counters.clear()
        return _json(self._counters())

    # -- faults -------------------------------------------------------------------------

    async def all_faults(self, request: Request) -> Response:
        return _json({p: get_faults(self.sandbox, p).model_dump(mode="json")
                      for p in self.emulators})

    async def faults(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        self._emulator(provider)
        if request.method == "PUT":
            body = await _body(request)
            try:
                set_faults(self.sandbox, provider, body)
            except ValidationError as exc:
                raise ControlError(400, "invalid fault configuration", errors=[
                    {"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                    for e in exc.errors()]) from exc
        elif request.method == "DELETE":
            set_faults(self.sandbox, provider, None)
        return _json(get_faults(self.sandbox, provider).model_dump(mode="json"))

    # -- how in-place updates treat the fields they leave out -----------------------------

    async def update_mode(self, request: Request) -> Response:
        """GET or PUT `{"mode": "merge" | "replace"}` (see reconcile.sandbox.update_mode)."""
        provider = request.path_params["provider"]
        self._emulator(provider)
        if request.method == "PUT":
            try:
                set_update_mode(self.sandbox, provider, _get(await _body(request), "mode", str))
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
        return _json({"provider": provider, "mode": update_mode(self.sandbox, provider)})

    # -- accounts and rooms ---------------------------------------------------------------

    async def register(self, request: Request) -> Response:
        body = await _body(request)
        provider = _get(body, "provider", str)
        self._emulator(provider)
        principal, secret = _get(body, "principal", str), _get(body, "secret", str)
        if not principal or not secret:
            raise ControlError(400, "principal and secret must not be empty")
        self.sandbox.register(provider, principal, secret)
        return _json({"provider": provider, "principal": principal}, 201)

    async def seed(self, request: Request) -> Response:
        body = await _body(request)
        provider = _get(body, "provider", str)
        emulator = self._emulator(provider)
        account, kind = _get(body, "account", str), _get(body, "kind", str)
        rooms = _get(body, "rooms", list)
        if not all(isinstance(room, dict) for room in rooms):
            raise ControlError(400, "field 'rooms' must be a list of objects")
        try:
            created = emulator.seed(self.sandbox, account, kind, rooms)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        except DuplicateName as exc:
            raise ControlError(409, f"a live room already has one of these names ({exc})"
                               ) from exc
        return _json({"count": len(created), "rooms": created}, 201)

    async def rooms(self, request: Request) -> Response:
        p = request.path_params
        self._emulator(p["provider"])
        records = self.sandbox.store.list(p["provider"], p["account"], p["kind"],
                                          live=_live_param(request))
        return _json({"count": len(records), "rooms": [record_view(r) for r in records]})

    async def room(self, request: Request) -> Response:
        record = self._record(request)
        if request.method == "GET":
            return _json(record_view(record))
        if request.method == "DELETE":
            self.sandbox.store.delete(record)
            return Response(status_code=204)
        patch = await _body(request)
        data = {**record.data, **patch}
        live = _live_param(request)
        if live is None:  # e.g. Twilio's status, Metered's archive
            live = self.emulators[record.provider].is_live(record.kind, data)
        field = self._name_field(record.provider, record.kind)
        name = patch[field] if field is not None and field in patch else record.name
        if name is not None and not isinstance(name, str):
            raise ControlError(400, f"field '{field}' (the room's name) must be a string")
        try:
            updated = self.sandbox.store.update(record, data, name=name, live=live)
        except DuplicateName as exc:
            raise ControlError(409, f"another live {record.kind} is named '{name}'") from exc
        return _json(record_view(updated))

    async def participants(self, request: Request) -> Response:
        record = self._record(request)
        body = await _body(request)
        if set(body) - {"add", "remove"}:
            raise ControlError(400, "give 'add' and/or 'remove' (lists of participant ids)")
        updated = self.sandbox.set_participants(record, add=_strings(body, "add"),
                                                remove=_strings(body, "remove"))
        return _json(record_view(updated))

    def routes(self) -> list[BaseRoute]:
        room = "/rooms/{provider}/{account}/{kind}"
        routes: list[BaseRoute] = [
            Route("/health", self.health, methods=["GET"]),
            Route("/reset", self.reset, methods=["POST"]),
            Route("/clock", self.clock, methods=["GET"]),
            Route("/clock/advance", self.advance, methods=["POST"]),
            Route("/counters", self.counters, methods=["GET"]),
            Route("/counters", self.clear_counters, methods=["DELETE"]),
            Route("/faults", self.all_faults, methods=["GET"]),
            Route("/faults/{provider}", self.faults, methods=["GET", "PUT", "DELETE"]),
            Route("/update-mode/{provider}", self.update_mode, methods=["GET", "PUT"]),
            Route("/accounts", self.register, methods=["POST"]),
            Route("/seed", self.seed, methods=["POST"]),
            Route(room, self.rooms, methods=["GET"]),
            # `path`: a room's name may hold a slash.
            Route(room + "/{key:path}/participants", self.participants, methods=["POST"]),
            Route(room + "/{key:path}", self.room, methods=["GET", "PATCH", "DELETE"]),
        ]
        routes += [Mount(f"/providers/{p}", routes=list(emulator.control_routes))
                   for p, emulator in self.emulators.items() if emulator.control_routes]
        return routes


async def _control_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlError)
    return _json({"error": exc.message, **exc.extra}, exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                        headers=exc.headers)


def create_control_app(sandbox: Sandbox, emulators: Mapping[str, Emulator]) -> Starlette:
    control = _Control(sandbox, emulators)
    app = Starlette(routes=control.routes(), exception_handlers={
        ControlError: _control_error, HTTPException: _http_error})
    app.state.sandbox = sandbox  # what providers' control_routes read (request.app is this)
    return app
