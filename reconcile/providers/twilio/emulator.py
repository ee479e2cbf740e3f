"""Emulator of Twilio Programmable Video's Rooms REST API (`https://video.twilio.com`).

See docs/providers/twilio.md: form-encoded PascalCase requests, snake_case JSON
answers, HTTP Basic auth by Account SID, rooms that end (`Status=completed`) instead of
being deleted, names unique among in-progress rooms only, and rooms that complete by
themselves under the sandbox's virtual clock.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.providers.twilio.emulator_expiry import expire_rooms, forget_sweeps, release_ended
from reconcile.providers.twilio.emulator_pages import Cursor, bad_token, base_url, meta, paging
from reconcile.providers.twilio.emulator_rooms import (
    CREATE_FIELDS,
    KIND,
    PROVIDER,
    SEED_FIELDS,
    STATUSES,
    TwilioError,
    bad_query,
    ended,
    form_pairs,
    invalid,
    new_room,
    parse_date,
    parse_form,
    participants,
    render,
    room_settings,
)
from reconcile.providers.twilio.emulator_switches import (
    CONTROL_ROUTES,
    legacy_types_as_group,
    retired_error,
)
from reconcile.sandbox.core import Sandbox, SandboxConnection
from reconcile.sandbox.emulation import basic_auth, json_response
from reconcile.sandbox.emulator import Emulator, EmulatorParts
from reconcile.sandbox.store import DuplicateName, Record

__all__ = ["CONTROL_ROUTES", "EMULATOR", "PROVIDER", "account_of", "create_app",
           "fault_response", "seed"]

REAL_BASE = "https://video.twilio.com"  # for rooms rendered outside a request (seed)
ROOM_FILTERS = ("Status", "UniqueName", "DateCreatedAfter", "DateCreatedBefore")
PARTICIPANT_FILTERS = ("Status", "Identity", "DateCreatedAfter", "DateCreatedBefore")
PARTICIPANT_STATUSES = ("connected", "disconnected", "reconnecting")



# -- the contract the sandbox uses ----------------------------------------------------------

def create_app(sandbox: Sandbox) -> Starlette:
    api = _Rooms(sandbox)
    return Starlette(
        routes=[Route("/v1/Rooms", api.rooms, methods=["GET", "POST"]),
                Route("/v1/Rooms/{room}", api.room, methods=["GET", "POST"]),
                Route("/v1/Rooms/{room}/Participants", api.participants, methods=["GET"]),
                Route("/v1/Rooms/{room}/RecordingRules", api.recording_rules,
                      methods=["GET"])],
        exception_handlers={TwilioError: _twilio_error, 404: _not_found, 405: _not_allowed})


def fault_response(status: int, retry_after: int | None) -> Response:
    """An injected failure, in Twilio's error body (U9: 429 is code 20429)."""
    code = {429: 20429, 503: 20503}.get(status, 20500)
    try:
        message = "Too Many Requests" if status == 429 else HTTPStatus(status).phrase
    except ValueError:
        message = "Service Error"
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(TwilioError(status, code, message), headers)


def account_of(request: Request) -> str | None:
    """The Account SID a request claims (Basic auth username), unverified."""
    return basic_auth(request)[0]


def seed(sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Bulk-create rooms from snake_case room fields (plus `status`, `date_created`)."""
    if kind != KIND:
        raise ValueError(f"twilio has one room kind, {KIND!r}, not {kind!r}")
    now = sandbox.clock.now()
    built = [_seed_room(sandbox, account, item, now, i) for i, item in enumerate(rooms)]
    live = [data for data in built if data["status"] == "in-progress"]
    twice = [name for name, n in Counter(d["unique_name"] for d in live).items() if n > 1]
    if twice:
        raise ValueError(f"unique_name {twice[0]!r} is used by two in-progress rooms")
    # A name already held by an in-progress room raises DuplicateName (the control API's 409).
    sandbox.store.insert_many(
        [(PROVIDER, account, KIND, d["sid"], d["unique_name"], d) for d in live])
    for data in built:
        if data["status"] != "in-progress":
            sandbox.store.insert(PROVIDER, account, KIND, data["sid"], data["unique_name"],
                                 data, live=False)
    forget_sweeps(sandbox, [account])  # seeded rooms may be backdated past their deadline
    return [render(data, REAL_BASE) for data in built]


def _seed_room(sandbox: Sandbox, account: str, item: dict[str, Any], now: float, index: int
               ) -> dict[str, Any]:
    try:
        if not isinstance(item, dict):
            raise invalid("a room must be a mapping of room fields")
        unknown = sorted(set(item) - set(CREATE_FIELDS) - set(SEED_FIELDS))
        if unknown:
            raise invalid(f"unknown room field(s): {', '.join(unknown)}")
        status = item.get("status", "in-progress")
        if status not in STATUSES:
            raise invalid(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        created = parse_date(str(item["date_created"]), "date_created") \
            if "date_created" in item else now
        settings = room_settings({k: v for k, v in item.items() if k in CREATE_FIELDS},
                                 seeding=True)
    except TwilioError as exc:
        raise ValueError(f"twilio room #{index}: {exc.message}") from None
    data = new_room(_new_sid(sandbox), account, settings, created)
    return data if status == "in-progress" else ended(data, now, status)


# -- errors -------------------------------------------------------------------------------

def error_response(error: TwilioError, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, headers)


async def _twilio_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TwilioError)
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if exc.status == 401 else None
    return error_response(exc, headers)


def _path(request: Request) -> str:
    return str(request.scope["path"][len(request.scope.get("root_path", "")):])


def _resource_missing(request: Request) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {_path(request)} was not found")


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(_resource_missing(request))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    # U11: rooms have no DELETE (nor PUT/PATCH); end them with Status=completed.
    allow = exc.headers if isinstance(exc, HTTPException) else None
    return error_response(TwilioError(405, 20004, "Method not allowed"), allow and dict(allow))


# -- the API ------------------------------------------------------------------------------

class _Rooms:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    def _account(self, request: Request) -> str:
        """The authenticated Account SID; expires its overdue rooms first."""
        sid, token = basic_auth(request)
        if sid is None or not self.sandbox.authenticate(PROVIDER, sid, token):
            raise TwilioError(401, 20003, "Authenticate")
        gone = retired_error(self.sandbox, sid, _path(request))
        if gone is not None:
            raise gone  # U15: the product has ended for this account
        expire_rooms(self.sandbox, sid)
        return sid

    async def rooms(self, request: Request) -> Response:
        account = self._account(request)
        if request.method == "POST":
            return await self._create(request, account)
        return self._list(request, account)

    async def room(self, request: Request) -> Response:
        account = self._account(request)
        if request.method == "POST":
            return await self._end(request, account)
        record = self._resolve(request, account)
        return json_response(render(record.data, base_url(request)))

    async def participants(self, request: Request) -> Response:
        account = self._account(request)
        room = self._resolve(request, account).data
        q = request.query_params
        wanted = q.get("Status")
        if wanted is not None and wanted not in PARTICIPANT_STATUSES:
            raise bad_query(f"Status must be one of {', '.join(PARTICIPANT_STATUSES)}")
        after, before = _date_filters(q)
        found = [p for p in participants(room, base_url(request))
                 if wanted in (None, p["status"]) and q.get("Identity") in (None, p["identity"])
                 and after <= _participant_start(p) < before]
        size, page = paging(q)
        start, end = Cursor.of(q.get("PageToken")).window([p["sid"] for p in found], size)
        shown = found[start:end]
        path = f"/v1/Rooms/{room['sid']}/Participants"
        body = meta(request, path, "participants", PARTICIPANT_FILTERS, size, page,
                    [p["sid"] for p in shown], end < len(found))
        return json_response({"participants": shown, "meta": body})

    async def recording_rules(self, request: Request) -> Response:
        """The room's `links.recording_rules`: the rules it was created with."""
        room = self._resolve(request, self._account(request)).data
        return json_response({"room_sid": room["sid"],
                              "rules": room.get("_recording_rules") or [],
                              "date_created": None, "date_updated": None})

    async def _create(self, request: Request, account: str) -> Response:
        form = parse_form(await request.body(), request.headers.get("content-type", ""))
        settings = room_settings(form, legacy_as_group=legacy_types_as_group(self.sandbox,
                                                                             account))
        data = new_room(_new_sid(self.sandbox), account, settings, self.sandbox.clock.now())
        name = data["unique_name"]
        for attempt in range(2):
            try:
                self.store.insert(PROVIDER, account, KIND, data["sid"], name, data)
                break
            except DuplicateName:
                # Retry once if the holder had ended out of band (its name is free now).
                if attempt or self._live_by_name(account, name) is not None:
                    raise TwilioError(400, 53113, "Room exists") from None  # U1
        return json_response(render(data, base_url(request)), 201)

    async def _end(self, request: Request, account: str) -> Response:
        """`Status=completed` ends an in-progress room; anything else is 53112 (U2, U3)."""
        raw = await request.body()
        form = dict(form_pairs(raw, request.headers.get("content-type", "")))
        with self.store.transaction():
            record = self._resolve(request, account)
            if form.get("Status") != "completed" or record.data["status"] != "in-progress":
                raise TwilioError(400, 53112, "Status is invalid")
            record = self.store.update(
                record, ended(record.data, self.sandbox.clock.now()), live=False)
        return json_response(render(record.data, base_url(request)), 202)

    def _resolve(self, request: Request, account: str) -> Record:
        """A room by sid (any status), else by the name of an in-progress room."""
        key = request.path_params["room"]
        record = self.store.get(PROVIDER, account, KIND, key) \
            or self._live_by_name(account, key)
        if record is None:
            raise _resource_missing(request)
        return record

    def _live_by_name(self, account: str, name: str) -> Record | None:
        record = self.store.find_live(PROVIDER, account, KIND, name)
        if record is not None and record.data.get("status") != "in-progress":
            self.store.update(record, record.data, live=False)  # ended out of band
            return None
        return record

    def _list(self, request: Request, account: str) -> Response:
        q = request.query_params
        status = q.get("Status", "in-progress")
        if status not in STATUSES:
            raise bad_query(f"Status must be one of {', '.join(STATUSES)}, got {status!r}")
        if status != "in-progress":
            release_ended(self.sandbox, account)  # sweeps are rarer than status merges
        after, before = _date_filters(q)
        size, page = paging(q)
        cursor = Cursor.of(q.get("PageToken"))
        anchor = 0
        if cursor.sid is not None:
            start = self.store.get(PROVIDER, account, KIND, cursor.sid)
            if start is None:
                raise bad_token()
            anchor = start.seq

        def matches(data: dict[str, Any]) -> bool:
            return data.get("status") == status \
                and after <= data.get("_created_at", 0) < before

        scan = functools.partial(self._scan, account, status == "in-progress",
                                 q.get("UniqueName"), matches)
        if cursor.backwards:  # a previous page: the items before the anchor, which follows
            shown, more = scan(anchor, size, backwards=True), True
        else:
            found = scan(anchor, size + 1)
            shown, more = found[:size], len(found) > size
        body = meta(request, "/v1/Rooms", "rooms", ROOM_FILTERS, size, page,
                    [r.id for r in shown], more)
        base = base_url(request)
        return json_response({"rooms": [render(r.data, base) for r in shown], "meta": body})

    def _scan(self, account: str, live: bool, name: str | None,
              keep: Callable[[dict[str, Any]], bool], anchor: int, limit: int, *,
              backwards: bool = False) -> list[Record]:
        """Up to `limit` matching rooms after the `anchor` seq (or the last ones before
        it): one query unless filters (dates, completed vs failed) drop rows."""
        found: list[Record] = []
        while len(found) < limit:
            if backwards:
                batch = self.store.list(PROVIDER, account, KIND, live=live, name=name,
                                        before_seq=anchor, limit=limit)
                found = [r for r in batch if keep(r.data)] + found
            else:
                batch = self.store.list(PROVIDER, account, KIND, live=live, name=name,
                                        after_seq=anchor, limit=limit)
                found += [r for r in batch if keep(r.data)]
            if len(batch) < limit:
                break
            anchor = batch[0].seq if backwards else batch[-1].seq
        return found[-limit:] if backwards else found[:limit]


# -- request helpers ----------------------------------------------------------------------

def _new_sid(sandbox: Sandbox) -> str:
    return "RM" + sandbox.random_hex(32)


def _date_filters(q: Any) -> tuple[float, float]:
    after, before = q.get("DateCreatedAfter"), q.get("DateCreatedBefore")
    return (parse_date(after, "DateCreatedAfter") if after else float("-inf"),
            parse_date(before, "DateCreatedBefore") if before else float("inf"))


def _participant_start(participant: dict[str, Any]) -> float:
    return parse_date(participant["date_created"], "date_created")


def is_live(kind: str, data: dict[str, Any]) -> bool:
    """In-progress rooms hold their name (control API PATCH of `status`)."""
    return data.get("status") == "in-progress"


def sandbox_connection(alias: str, settings: Any) -> SandboxConnection:
    """`--sandbox`: an Account SID and token of the account's own, so aliases stay apart."""
    sid = "AC" + hashlib.sha256(alias.encode()).hexdigest()[:32]
    token = f"sandbox-{alias}"
    return SandboxConnection("", {"account_sid": sid, "auth_token": token}, sid, token)


# What the sandbox host calls (reconcile.sandbox.emulator).
EMULATOR: Emulator = EmulatorParts(
    create_app=create_app, fault_response=fault_response, account_of=account_of,
    seed=seed, sandbox_connection=sandbox_connection, name_field="unique_name",
    is_live=is_live, control_routes=CONTROL_ROUTES)
