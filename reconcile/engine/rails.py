"""Safety rails: what blocks a plan (exit 3) until a person says how to proceed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconcile.engine.plan import AccountPlan, Action, Plan
from reconcile.models import Account

DESTROYING = (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True, slots=True)
class Block:
    account: str
    message: str  # says what is blocked and how to proceed


def check(plan: Plan, settings: Mapping[str, Account], *, force: bool,
          allow_disruption: bool) -> list[Block]:
    """Every rail the plan trips. `settings` maps an account alias to its Account model."""
    blocks: list[Block] = []
    for account in plan.accounts:
        blocks += _threshold(account, settings[account.alias], force)
        blocks += _prevent_destroy(account)
        if not allow_disruption:
            blocks += _disruption(account)
    return blocks


def _threshold(account: AccountPlan, settings: Account, force: bool) -> list[Block]:
    safety = settings.safety
    destroying = sum(1 for c in account.changes if c.action in DESTROYING)
    managed = account.managed
    if force or not destroying or managed < safety.min_managed_rooms:
        return []
    share = 100 * destroying / managed if managed else 100.0  # min_managed_rooms: 0
    if share <= safety.max_destroy_percent:
        return []
    return [Block(account.alias, f"{account.alias}: the plan deletes or replaces {destroying}"
                                 f" of {managed} managed rooms ({share:.0f}%, over the"
                                 f" {safety.max_destroy_percent}% limit); check the plan,"
                                 " then rerun with --force, or raise"
                                 " safety.max_destroy_percent")]


def _prevent_destroy(account: AccountPlan) -> list[Block]:
    return [Block(account.alias, f"{change.address}: prevent_destroy is set, and the plan"
                                 f" would {change.action.value} it ({change.reason}); remove"
                                 " prevent_destroy from the room to allow it")
            for change in account.changes
            if change.action in DESTROYING and change.desired is not None
            and getattr(change.desired, "prevent_destroy", False)]


def _disruption(account: AccountPlan) -> list[Block]:
    return [Block(account.alias, f"{change.address}: people are in this room now, and the plan"
                                 f" would {change.action.value} it; rerun with"
                                 " --allow-disruption to go ahead anyway")
            for change in account.changes if change.live_session]
