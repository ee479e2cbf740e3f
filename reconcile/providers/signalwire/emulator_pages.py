"""SignalWire emulator: lists, one page at a time, with `PA<uuid>` page tokens kept in
the store and absolute links (U7)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from reconcile.providers.signalwire.emulator_call import PROVIDER, Call, flag
from reconcile.providers.signalwire.fields import CONFERENCES, Invalid, error, timestamp
from reconcile.sandbox.emulation import json_response

_TOKEN_KEY = "signalwire/page_token/"
_PAGE_PARAMS = ("page_number", "page_size", "page_token")


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


async def list_page(call: Call) -> Response:
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
        session = flag(call.request, "include_active_session")
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
