"""The Daily emulator's list (`GET /v1/rooms`): newest first, cursor pages by room id
(`starting_after`, `ending_before`, `OLDEST`), `limit` 1..100, expired rooms left out;
anything invalid is a 400 (U12)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

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


# The rooms a list shows (live, not expired: U9) in its order, newest first with the id
# breaking ties (created_at has whole seconds), all in SQL: a page reads only its rooms.
_EXP = "json_extract(data, '$.exp')"  # an integer when set (the body checks see to it)
_CREATED = "json_extract(data, '$._created')"
# The provider is written out, not bound: only then may SQLite use the partial indexes.
_LIVE = f"FROM records WHERE provider='{PROVIDER}' AND account=? AND kind=? AND live=1"
_VISIBLE = f"{_LIVE} AND NOT COALESCE({_EXP} <= ?, 0)"
# Indexes on those expressions, for Daily's records only: a page walks the order from its
# cursor, and the count subtracts the expired rooms found by range from the live ones.
INDEXES = (
    f"CREATE INDEX IF NOT EXISTS daily_rooms_in_order ON records"
    f" (provider, account, kind, {_CREATED}, id) WHERE live=1 AND provider='{PROVIDER}'",
    f"CREATE INDEX IF NOT EXISTS daily_rooms_by_exp ON records"
    f" (provider, account, kind, {_EXP}) WHERE live=1 AND provider='{PROVIDER}'",
)


def create_indexes(store: Store) -> None:
    with store.transaction() as conn:
        for sql in INDEXES:
            conn.execute(sql)


def page(store: Store, account: str, query: ListQuery, now: float
         ) -> tuple[list[dict[str, Any]], int]:
    """One page of the visible rooms (as stored), newest first, and how many are visible
    in all. Each read is a range of an index, so a page costs what it holds."""
    scope: list[Any] = [account, KIND, now]
    backwards = query.ending_before is not None
    cursor = query.starting_after or query.ending_before
    with store.transaction() as conn:
        total = int(conn.execute(f"SELECT COUNT(*) {_LIVE}", scope[:2]).fetchone()[0]) - int(
            conn.execute(f"SELECT COUNT(*) {_LIVE} AND {_EXP} <= ?", scope).fetchone()[0])
        if cursor is None or (cursor == OLDEST and backwards):
            rows = _rows(conn, scope, "", [], backwards, query.limit)
        else:
            found = conn.execute(f"SELECT {_CREATED} {_VISIBLE} AND id=?",
                                 [*scope, cursor]).fetchone()
            if found is None:
                raise Invalid(f"no room with id {cursor} to page from")
            rows = _beyond(conn, scope, found[0], cursor, backwards, query.limit)
    rooms = [json.loads(data) for (data,) in rows]
    return (rooms[::-1] if backwards else rooms), total


def _beyond(conn: sqlite3.Connection, scope: list[Any], created: Any, cursor: str,
            backwards: bool, limit: int) -> list[tuple[str]]:
    """Up to `limit` rooms past the cursor room: those of its second, then the others
    (two ranges: SQLite walks no index range for "created, then id" past a pair)."""
    op = ">" if backwards else "<"
    rows = _rows(conn, scope, f" AND {_CREATED} = ? AND id {op} ?", [created, cursor],
                 backwards, limit, ("id",))  # one second: ordering it again costs a sort
    if len(rows) < limit:
        rows += _rows(conn, scope, f" AND {_CREATED} {op} ?", [created], backwards,
                      limit - len(rows))
    return rows


def _rows(conn: sqlite3.Connection, scope: list[Any], where: str, args: list[Any],
          backwards: bool, limit: int, by: tuple[str, ...] = (_CREATED, "id")
          ) -> list[tuple[str]]:
    order = ", ".join(f"{column} {'ASC' if backwards else 'DESC'}" for column in by)
    return conn.execute(f"SELECT data {_VISIBLE}{where} ORDER BY {order} LIMIT ?",
                        [*scope, *args, limit]).fetchall()
