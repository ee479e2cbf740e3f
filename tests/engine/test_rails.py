"""The destroy threshold on plans built in memory: where exactly it starts to block (the
CLI's exit 3 per provider is in tests/commands/test_engine_matrix.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reconcile.engine.plan import AccountPlan, Action, Change, Plan
from reconcile.engine.rails import check
from reconcile.models import Safety


def plan_of(deletes: int, managed: int) -> Plan:
    changes = [Change("telnyx", "telnyx", "rooms", f"x-{i}", Action.DELETE, "pruned")
               for i in range(deletes)]
    changes.append(Change("telnyx", "telnyx", "rooms", "kept", Action.UPDATE, "changed"))
    return Plan([AccountPlan("telnyx", "telnyx", changes, managed=managed)])


def blocks(plan: Plan, *, force: bool = False, **safety: int) -> list[str]:
    settings = {"telnyx": SimpleNamespace(safety=Safety(**safety))}
    return [b.message for b in check(plan, settings, force=force, allow_disruption=True)]


@pytest.mark.parametrize(("deletes", "managed", "blocked"), [
    (3, 10, False),  # 30 %: at the default limit, not over it
    (4, 10, True),
    (30, 100, False),
    (31, 100, True),
    (9, 9, False),  # under min_managed_rooms, no share is too many
])
def test_the_threshold_blocks_only_over_the_limit(deletes: int, managed: int,
                                                  blocked: bool) -> None:
    assert bool(blocks(plan_of(deletes, managed))) is blocked


def test_the_block_says_how_to_proceed_and_force_lifts_it() -> None:
    plan = plan_of(4, 10)
    assert blocks(plan) == [
        "telnyx: the plan deletes or replaces 4 of 10 managed rooms (40%, over the 30%"
        " limit); check the plan, then rerun with --force, or raise"
        " safety.max_destroy_percent"]
    assert blocks(plan, force=True) == []
    assert blocks(plan, max_destroy_percent=40) == []


def test_with_no_minimum_a_delete_among_no_managed_rooms_is_all_of_them() -> None:
    (message,) = blocks(plan_of(1, 0), min_managed_rooms=0)
    assert "deletes or replaces 1 of 0 managed rooms (100%, over the 30% limit)" in message
    assert blocks(plan_of(0, 0), min_managed_rooms=0) == []  # updates alone never block
