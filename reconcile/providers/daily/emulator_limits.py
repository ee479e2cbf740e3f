"""The Daily emulator's per-domain switches (control API:
``POST /_sandbox/providers/daily/accounts/{API key}/switches``) and the rate budgets of
docs/providers/daily.md section 7.

- ``participant_cap``: the highest `max_participants` the domain takes (U11: 200 unless
  Daily raised it for the domain).
- ``rate_limits``: enforce Daily's budgets per domain (U8): most routes 20 requests a
  second and 100 in 5 seconds, `DELETE /rooms/{name}` 2 a second and 50 in 30 seconds.
  A request over a budget is a 429 `rate-limit-error` with `Retry-After` and is not
  counted. Time is the sandbox's clock.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from reconcile.models import INT32_MAX
from reconcile.providers.daily import properties as p
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.switches import Switches

PROVIDER = "daily"


def _cap(value: Any) -> bool:
    return type(value) is int and 1 <= value <= INT32_MAX


SWITCHES = Switches(
    PROVIDER, {"participant_cap": p.PARTICIPANT_CAP, "rate_limits": False},
    {"participant_cap": (_cap, f"an integer from 1 to {INT32_MAX}"),
     "rate_limits": (lambda value: isinstance(value, bool), "true or false")})
CONTROL_ROUTES = [SWITCHES.route()]


def participant_cap(sandbox: Sandbox, key: str) -> int:
    return int(SWITCHES.of(sandbox, key)["participant_cap"])


@dataclass(frozen=True)
class Budget:
    requests: int
    seconds: float


# Section 7: every room route but DELETE is in the "most endpoints" tier.
BUDGETS = {"most": (Budget(20, 1), Budget(100, 5)), "delete": (Budget(2, 1), Budget(50, 30))}


def _seen_key(key: str, tier: str) -> str:
    return f"{PROVIDER}:requests:{tier}:{key}"


def rate_wait(sandbox: Sandbox, key: str, method: str) -> int | None:
    """Seconds until the request fits its domain's budgets, or None: it fits (or the
    budgets are off), and is counted. The requests seen live in the store, as the clock
    and the switches do: processes sharing it share the budgets, and a reset ends them."""
    if not SWITCHES.of(sandbox, key)["rate_limits"]:
        return None
    tier = "delete" if method == "DELETE" else "most"
    budgets = BUDGETS[tier]
    now = sandbox.clock.now()
    with sandbox.store.transaction():
        raw = sandbox.store.get_meta(_seen_key(key, tier))
        oldest = now - max(b.seconds for b in budgets)
        seen = [t for t in (json.loads(raw) if raw else []) if t > oldest]
        waits = [seen[-b.requests] + b.seconds - now for b in budgets
                 if sum(1 for t in seen if t > now - b.seconds) >= b.requests]
        if not waits:
            sandbox.store.set_meta(_seen_key(key, tier), json.dumps([*seen, now]))
    return max(1, math.ceil(max(waits))) if waits else None
