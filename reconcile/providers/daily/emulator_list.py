"""The Daily emulator's list (`GET /v1/rooms`): newest first, cursor pages by room id
(`starting_after`, `ending_before`, `OLDEST`), `limit` 1..100, expired rooms left out;
anything invalid is a 400 (U12)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from reconcile.providers.daily.emulator_rules import Invalid, expired
from reconcile.sandbox.store import Record, Store

PROVIDER = "daily"
KIND = "rooms"
MAX_LIMIT = 100
OLDEST = "OLDEST"


@dataclass(frozen=True)
class ListQuery:
    limit: int = MAX_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None


def parse_list_query(request: Request) -> ListQuery:
    params = request.query_params
    raw = params.get("limit", str(MAX_LIMIT)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(f"limit must be an integer between 1 and {MAX_LIMIT}")
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise Invalid("give starting_after or ending_before, not both")
    return ListQuery(int(raw), after, before)


def visible(record: Record, now: float) -> bool:
    return not expired(record.data, now)


def _order(record: Record) -> tuple[int, str]:
    # created_at has whole seconds: rooms of one second go by id (as Daily says they may)
    return int(record.data.get("_created", 0)), record.id


def page(store: Store, account: str, query: ListQuery, now: float
         ) -> tuple[list[Record], int]:
    """One page of the visible rooms, newest first, and how many are visible in all."""
    rooms = sorted((r for r in store.list(PROVIDER, account, KIND) if visible(r, now)),
                   key=_order, reverse=True)
    ids = [r.id for r in rooms]
    if query.starting_after is not None:
        start = _index(ids, query.starting_after) + 1
        return rooms[start:start + query.limit], len(rooms)
    if query.ending_before is not None:
        end = len(rooms) if query.ending_before == OLDEST else \
            _index(ids, query.ending_before)
        return rooms[max(0, end - query.limit):end], len(rooms)
    return rooms[:query.limit], len(rooms)


def _index(ids: list[str], cursor: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise Invalid(f"no room with id {cursor} to page from") from None
