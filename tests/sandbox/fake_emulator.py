"""A tiny emulator of the emulator contract (`EMULATOR`, written as a class of its own,
not an `EmulatorParts`), to test the sandbox machinery on its own.

Rooms live at ``/v1/rooms``; a request's account is its bearer token, which must be
registered (principal = secret = token) through the control API or `Sandbox.register`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.sandbox.core import Sandbox, SandboxConnection, public
from reconcile.sandbox.emulation import bearer_token, iso_micros, json_body, json_response
from reconcile.sandbox.store import DuplicateName, Record

PROVIDER = "fake"
KIND = "room"


def fault_response(status: int, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return json_response({"fake_error": status}, status, headers)


def account_of(request: Request) -> str | None:
    return bearer_token(request)


def _room(sandbox: Sandbox, item: dict[str, Any]) -> dict[str, Any]:
    name, size = item.get("name"), item.get("size", 10)
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise ValueError("size must be an integer from 1 to 100")
    return {"id": sandbox.random_uuid(), "name": name, "size": size,
            "created_at": iso_micros(sandbox.clock.now())}


def is_live(kind: str, data: dict[str, Any]) -> bool:
    """An ended room frees its name (the control API's PATCH follows this)."""
    return data.get("status") != "ended"


def render(record: Record) -> dict[str, Any]:
    return {**public(record.data), "participants": len(record.data.get("_participants", []))}


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    made = [_room(sandbox, item) for item in rooms]
    sandbox.store.insert_many([(PROVIDER, account, kind, r["id"], r["name"], r) for r in made])
    return made


def create_app(sandbox: Sandbox) -> Starlette:
    def authorized(request: Request) -> str | None:
        token = bearer_token(request)
        return token if sandbox.authenticate(PROVIDER, token, token) else None

    def lookup(request: Request, account: str) -> Record | None:
        return sandbox.store.get(PROVIDER, account, KIND, request.path_params["id"])

    async def rooms(request: Request) -> Response:
        account = authorized(request)
        if account is None:
            return json_response({"error": "unauthorized"}, 401)
        if request.method == "GET":
            size = int(request.query_params.get("page_size", "20"))
            page = int(request.query_params.get("page", "1"))
            records = sandbox.store.list(PROVIDER, account, KIND, offset=(page - 1) * size,
                                         limit=size)
            return json_response({"data": [render(r) for r in records]})
        body = await json_body(request)
        try:
            room = _room(sandbox, body if isinstance(body, dict) else {})
            record = sandbox.store.insert(PROVIDER, account, KIND, room["id"], room["name"],
                                          room)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        except DuplicateName:
            return json_response({"error": "name taken"}, 422)
        return json_response(render(record), 201)

    async def room(request: Request) -> Response:
        account = authorized(request)
        if account is None:
            return json_response({"error": "unauthorized"}, 401)
        record = lookup(request, account)
        if record is None:
            return json_response({"error": "not found"}, 404)
        if request.method == "DELETE":
            sandbox.store.delete(record)
            return Response(status_code=204)
        if request.method == "PATCH":
            body = await json_body(request) or {}
            record = sandbox.store.update(record, {**record.data, **body},
                                          name=body.get("name", record.name))
        return json_response(render(record))

    return Starlette(routes=[
        Route("/v1/rooms", rooms, methods=["GET", "POST"]),
        Route("/v1/rooms/{id}", room, methods=["GET", "PATCH", "DELETE"]),
    ])


async def _stats(request: Request) -> Response:
    return json_response({"provider": PROVIDER, "extra": True})


CONTROL_ROUTES = [Route("/stats", _stats, methods=["GET"])]


class _Fake:
    """The contract, by hand: what a plugin's emulator would write."""

    name_field = "name"
    control_routes = CONTROL_ROUTES
    create_app = staticmethod(create_app)
    fault_response = staticmethod(fault_response)
    account_of = staticmethod(account_of)
    seed = staticmethod(seed)
    is_live = staticmethod(is_live)

    @staticmethod
    def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
        return SandboxConnection("", {"token": alias}, alias, alias)


EMULATOR = _Fake()
