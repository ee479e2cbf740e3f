"""Starter accounts, derived from each provider's models: valid as written, for any alias."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config import check
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.starter import account_yaml, credential_variables, locators

from .conftest import per_provider

PROVIDERS = sorted(PROVIDER_PACKAGES)


def validate(tmp_path: Path, accounts: str) -> list[str]:
    path = tmp_path / "rooms.yaml"
    path.write_text(f"version: 1\nproviders:\n{accounts}")
    return [str(d) for d in check(path)]


def test_every_starter_account_is_valid(tmp_path: Path) -> None:
    assert validate(tmp_path, "".join(account_yaml(p) for p in PROVIDERS)) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_starter_under_another_alias_is_valid_and_typed(tmp_path: Path, provider: str
                                                          ) -> None:
    text = account_yaml(provider, alias="team-eu", endpoint="http://127.0.0.1:1/x", room=False)
    assert f"  team-eu:\n    type: {provider}\n" in text
    assert "    endpoint: http://127.0.0.1:1/x\n" in text
    assert validate(tmp_path, text) == []
    for field, variable in credential_variables(provider, "team-eu").items():
        assert f"      {field}: ${{{variable}}}\n" in text
        assert variable.startswith("TEAM_EU_")


def test_locators_come_from_the_models() -> None:
    assert {p: locators(p) for p in PROVIDERS} == per_provider("LOCATORS")


def test_a_starter_room_fills_every_required_field() -> None:
    assert account_yaml("kaleyra").endswith(
        "    rooms:\n      - {name: team-standup, participants: [{user_id: host, is_admin: true},"
        " {user_id: guest}]}\n")
    assert "      - {roomName: team-standup}\n" in account_yaml("metered")
