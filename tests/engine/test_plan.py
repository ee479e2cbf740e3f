"""Plan building blocks: actions, replace order, summaries, fingerprints."""

from __future__ import annotations

from reconcile.engine.plan import (
    ABSENT,
    AccountPlan,
    Action,
    Change,
    FieldChange,
    LiveRoom,
    Plan,
    fingerprint,
)


def change(action: Action, **kwargs: object) -> Change:
    return Change("telnyx", "telnyx", "rooms", "r", action, "why", **kwargs)  # type: ignore[arg-type]


def test_actions_per_kind_and_replace_order() -> None:
    assert change(Action.CREATE).actions == ["create"]
    assert change(Action.NOOP).actions == []
    assert change(Action.REPLACE).actions == ["delete", "create"]
    assert change(Action.REPLACE, replace_order="create-first").actions == ["create", "delete"]


def test_replace_paths_are_the_fields_that_force_it() -> None:
    fields = (FieldChange("a", 1, 2), FieldChange("name", "x", "y", forces_replacement=True))
    assert change(Action.REPLACE, fields=fields).replace_paths == ["name"]


def test_summary_counts_every_action_and_the_unmanaged() -> None:
    plan = Plan([AccountPlan("a", "telnyx", [change(Action.CREATE), change(Action.NOOP),
                                             change(Action.CREATE)], unmanaged=2),
                 AccountPlan("b", "twilio", [change(Action.DELETE)], unmanaged=1)])
    assert plan.summary() == {"create": 2, "update": 0, "replace": 0, "delete": 1,
                              "noop": 1, "unmanaged": 3, "uncertain": 0}
    assert plan.has_changes
    assert [c.action for c in plan.changes()] == [Action.CREATE, Action.CREATE, Action.DELETE]
    assert not Plan([AccountPlan("a", "telnyx", [change(Action.NOOP)])]).has_changes


def test_fingerprints_follow_the_live_state() -> None:
    room = LiveRoom("rooms", "r", "id1", {"a": 1, "b": [1, 2]}, status="active")
    same = LiveRoom("rooms", "r", "id1", {"b": [1, 2], "a": 1}, status="active")
    moved = LiveRoom("rooms", "r", "id1", {"a": 2, "b": [1, 2]}, status="active")
    assert room.fingerprint == same.fingerprint != moved.fingerprint
    assert fingerprint({"x": 1}) == fingerprint({"x": 1})


def test_absent_is_a_falsy_singleton() -> None:
    assert not ABSENT and repr(ABSENT) == "ABSENT"
    assert type(ABSENT)() is ABSENT
