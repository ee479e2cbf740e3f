"""The Telnyx emulator's list parameters (`GET /v2/rooms`): pages, the name filter, the
deepObject date filters and `include_sessions`; anything invalid is refused (U6)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request

from reconcile.sandbox.store import Record, Store

PROVIDER = "telnyx"
KIND = "rooms"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 250

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d+")
_DEEP_KEY = re.compile(r"([A-Za-z_]+)((?:\[[A-Za-z_]*\])+)")
_DATE_FILTERS = ("date_created_at", "date_updated_at")
_DATE_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda day, wanted: day == wanted,
    "gte": lambda day, wanted: day >= wanted,
    "lte": lambda day, wanted: day <= wanted,
}


@dataclass
class ListQuery:
    page_number: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    unique_name: str | None = None
    dates: list[tuple[str, str, str]] = field(default_factory=list)  # (field, op, YYYY-MM-DD)
    include_sessions: bool = False

    def matches(self, data: dict[str, Any]) -> bool:
        return all(_DATE_OPS[op](str(data.get(name, ""))[:10], day)
                   for name, op, day in self.dates)


def _deep_params(request: Request) -> dict[tuple[str, ...], str]:
    """Query keys in deepObject style, `filter[date_created_at][gte]` -> its path tuple."""
    params: dict[tuple[str, ...], str] = {}
    for key, value in request.query_params.multi_items():
        match = _DEEP_KEY.fullmatch(key)
        path = (match[1], *match[2][1:-1].split("][")) if match else (key,)
        params[path] = value
    return params


def _int_param(value: str, low: int, high: int | None) -> int:
    if not _INT.fullmatch(value.strip()):
        raise ValueError(value)
    number = int(value)
    if number < low or (high is not None and number > high):
        raise ValueError(value)
    return number


def _flag(value: str | None) -> bool:
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise ValueError(value)


def _date_filter(path: tuple[str, ...], value: str) -> tuple[str, str, str]:
    name = path[1].replace("date_", "", 1)  # date_created_at -> created_at
    if len(path) != 3 or path[2] not in _DATE_OPS or not _DATE.fullmatch(value):
        raise ValueError(value)
    date.fromisoformat(value)  # a real calendar day
    return name, path[2], value


def parse_list_query(request: Request) -> ListQuery:
    """The list parameters; ValueError on any invalid one (U6)."""
    params = _deep_params(request)
    query = ListQuery(
        page_number=_int_param(params.get(("page", "number"), "1"), 1, None),
        page_size=_int_param(params.get(("page", "size"), str(DEFAULT_PAGE_SIZE)),
                             1, MAX_PAGE_SIZE),
        unique_name=params.get(("filter", "unique_name")),
        include_sessions=_flag(params.get(("include_sessions",))),
    )
    query.dates = [_date_filter(path, value) for path, value in params.items()
                   if path[0] == "filter" and len(path) > 1 and path[1] in _DATE_FILTERS]
    return query


def page(store: Store, account: str, query: ListQuery) -> tuple[list[Record], int]:
    """One page of rooms in creation order, and the total number of matches."""
    offset = (query.page_number - 1) * query.page_size
    if query.unique_name is None and not query.dates:
        total = store.count(PROVIDER, account, KIND)
        if offset >= total:  # also keeps huge page numbers away from SQLite
            return [], total
        return store.list(PROVIDER, account, KIND, offset=offset, limit=query.page_size), total
    # Filtered lists are rare (a name matches at most one room): filter in Python.
    matches = [r for r in store.list(PROVIDER, account, KIND, name=query.unique_name)
               if query.matches(r.data)]
    return matches[offset:offset + query.page_size], len(matches)
