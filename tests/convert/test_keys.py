"""Room keys at the target: taken as they are, or reported with a suggested key."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from reconcile.convert.keys import key_rule, refusal, target_key
from reconcile.convert.mapping import KeyRule, Outcome
from reconcile.models import Room, Templated, matching
from reconcile.providers import crosswalk, provider_models


def kind(provider: str, name: str = "rooms") -> tuple[KeyRule, type[Room]]:
    model = next(k.model for k in provider_models(provider).kinds if k.name == name)
    return crosswalk(provider)[name].key, model


@pytest.mark.parametrize(("provider", "key", "suggested"), [
    ("signalwire", "Daily Standup!", "Daily-Standup"),
    ("metered", "Daily Standup!", "Daily-Standup"),
    ("signalwire", "x" * 128, "x" * 100),
    ("metered", "café au lait", "caf-au-lait"),
])
def test_a_refused_key_is_reported_with_a_suggestion(provider: str, key: str,
                                                     suggested: str) -> None:
    rule, model = kind(provider)
    got, issue = target_key(key, rule, model, set())
    assert got == suggested
    assert issue is not None and issue.outcome is Outcome.LOSSY
    assert f"suggested key `{suggested}`" in issue.message
    assert refusal(model, suggested) == ""


def test_a_key_the_target_takes_is_kept() -> None:
    rule, model = kind("telnyx")
    assert target_key("Daily Standup!", rule, model, set()) == ("Daily Standup!", None)


def test_collisions_and_hopeless_keys_are_refused() -> None:
    rule, model = kind("signalwire")
    taken = {"a-b"}
    key, issue = target_key("a b", rule, model, taken)
    assert key is None and issue is not None and issue.outcome is Outcome.REFUSED
    assert "used by another converted room" in issue.message
    key, issue = target_key("!!!", rule, model, set())
    assert key is None and issue is not None and "no key the target takes" in issue.message
    key, issue = target_key("a-b", rule, model, taken)
    assert key is None and issue is not None and "used twice" in issue.message
    # SignalWire cannot look a UUID-shaped name up: the model says so, and no suggestion helps
    uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert target_key(uuid, rule, model, set())[0] is None


def test_a_reference_is_carried_with_a_note() -> None:
    rule, model = kind("metered")
    key, issue = target_key("${ROOM}", rule, model, set())
    assert key == "${ROOM}" and issue is not None and issue.outcome is Outcome.NOTE


def test_a_reference_used_twice_is_refused() -> None:
    """SignalWire rooms and conferences may share a key; moved into one kind, they may not,
    a reference included (it was carried twice, and the file failed its own check)."""
    rule, model = kind("telnyx")
    key, issue = target_key("${ROOM}", rule, model, {"${ROOM}"})
    assert key is None and issue is not None and issue.outcome is Outcome.REFUSED
    assert "used twice" in issue.message


class Desk(Room):
    """A made-up kind: its key rule comes from its model, whatever the model says."""

    KEY_FIELD = "deskName"
    desk_name: Templated[Annotated[str, *matching(
        r"^[a-z.-]+$", "may contain only a-z, `.` and `-`", min_length=1,
        max_length=7)]] = Field(alias="deskName")


def test_the_key_rule_is_read_from_the_model() -> None:
    """Characters and length come from the model: a crosswalk cannot hold a copy that
    drifts from it (Metered's lowercase rule once did)."""
    rule = key_rule(Desk)
    assert rule == KeyRule("deskName", "a-z.-", 7)
    assert target_key("Big Desk 2", rule, Desk, set())[0] == "ig-esk"
    assert key_rule(provider_models("twilio").kinds[0].model).allowed is None
