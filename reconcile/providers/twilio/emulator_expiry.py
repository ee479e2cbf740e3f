"""Twilio rooms that end by themselves under the sandbox's virtual clock: an in-progress
room nobody is in completes `unused_room_timeout` minutes after creation when nobody ever
joined, else `empty_room_timeout` minutes after the last participant left."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from reconcile.providers.twilio.emulator_rooms import KIND, PROVIDER, ended
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.store import Record

# -- auto-completion under the virtual clock ----------------------------------------------

# In-progress rooms nobody is in, with the moment they complete: `unused_room_timeout`
# minutes after creation if nobody ever joined, else `empty_room_timeout` minutes after the
# last participant left. Timeouts of 0 (ad-hoc rooms) never expire.
_EXPIRY_SQL = """
SELECT seq, id, name, deadline, CASE WHEN deadline <= :now THEN data END FROM (
  SELECT seq, id, name, data,
    CASE WHEN data ->> '$._ever_joined'
      THEN coalesce(data ->> '$._last_left_at', data ->> '$._created_at')
           + 60.0 * (data ->> '$.empty_room_timeout')
      ELSE (data ->> '$._created_at') + 60.0 * (data ->> '$.unused_room_timeout') END
      AS deadline,
    CASE WHEN data ->> '$._ever_joined' THEN data ->> '$.empty_room_timeout'
      ELSE data ->> '$.unused_room_timeout' END AS timeout
  FROM records
  WHERE provider = :provider AND account = :account AND kind = :kind AND live = 1
    AND data ->> '$.status' = 'in-progress'
    AND coalesce(json_array_length(data, '$._participants'), 0) = 0)
WHERE timeout > 0
"""
# Rooms ended out of band (the control API merging `status`) stop counting as live.
_STALE_SQL = """
UPDATE records SET live = 0
WHERE provider = :provider AND account = :account AND kind = :kind AND live = 1
  AND data ->> '$.status' != 'in-progress'
"""
# A deadline is always set at least a minute ahead (timeouts are >= 1 minute), so after a
# sweep at virtual time t nothing new can fall due before t + 60: skip sweeps until then.
_MIN_LEAD = 60.0
_sweeps: WeakKeyDictionary[Sandbox, dict[str, tuple[float, float]]] = WeakKeyDictionary()


def expire_rooms(sandbox: Sandbox, account: str) -> None:
    """Complete the account's rooms whose deadline has passed, at their deadline."""
    now = sandbox.clock.now()
    swept_at, next_due = _sweeps.get(sandbox, {}).get(account, (math.inf, -math.inf))
    if swept_at <= now < next_due:
        return
    release_ended(sandbox, account)
    params = {"provider": PROVIDER, "account": account, "kind": KIND, "now": now}
    upcoming = [now + _MIN_LEAD]
    with sandbox.store.transaction() as conn:
        for seq, sid, name, deadline, data in conn.execute(_EXPIRY_SQL, params).fetchall():
            if data is None:
                upcoming.append(deadline)
                continue
            record = Record(seq, PROVIDER, account, KIND, sid, name, True, json.loads(data))
            sandbox.store.update(record, ended(record.data, deadline), live=False)
    _sweeps.setdefault(sandbox, {})[account] = (now, min(upcoming))


def release_ended(sandbox: Sandbox, account: str) -> None:
    """Rooms whose `status` was set out of band stop holding their name."""
    with sandbox.store.transaction() as conn:
        conn.execute(_STALE_SQL, {"provider": PROVIDER, "account": account, "kind": KIND})


def forget_sweeps(sandbox: Sandbox, accounts: Iterable[str]) -> None:
    """Force the next request to sweep (after rooms were written with past deadlines)."""
    marks = _sweeps.get(sandbox, {})
    for account in accounts:
        marks.pop(account, None)
