"""The emulator contract: every registered provider's emulator satisfies it, and the host
refuses a module that does not export one."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.requests import Request

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.app import found_in, load_emulator
from reconcile.sandbox.cli import sandbox as sandbox_cli
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.emulator import Emulator, EmulatorParts

# The protocol's members, read from the class: a member added there is checked here too.
MEMBERS = sorted(name for name in vars(Emulator) if not name.startswith("_"))
BARE_REQUEST = {"type": "http", "headers": [], "path": "/", "query_string": b""}


def test_the_contract_names_what_the_host_calls() -> None:
    assert MEMBERS == ["account_of", "control_routes", "create_app", "fault_response",
                       "is_live", "name_field", "sandbox_connection", "seed"]


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_every_registered_emulator_satisfies_the_contract(provider: str) -> None:
    emulator = load_emulator(provider)
    assert isinstance(emulator, Emulator)
    for name in MEMBERS:  # each member is there, and a method where the contract has one
        member = getattr(emulator, name)
        assert callable(member) == inspect.isfunction(getattr(Emulator, name)), name


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_every_emulator_answers_through_the_contract(provider: str) -> None:
    emulator = load_emulator(provider)
    box = Sandbox()
    try:
        assert callable(emulator.create_app(box))
        response = emulator.fault_response(429, 7)
        assert response.status_code == 429 and response.headers["retry-after"] == "7"
        assert emulator.account_of(Request(BARE_REQUEST)) is None  # no credentials
        field = emulator.name_field
        assert field is None or isinstance(field, str | dict)
    finally:
        box.close()


def test_a_module_without_an_emulator_is_refused() -> None:
    with pytest.raises(TypeError, match=r"reconcile\.sandbox\.core must define EMULATOR"):
        found_in("reconcile.sandbox.core")


def test_serve_refuses_an_emulator_module_without_one() -> None:
    result = CliRunner().invoke(sandbox_cli, ["serve", "--emulator", "x=reconcile.sandbox.core"])
    assert result.exit_code == 2
    assert "reconcile.sandbox.core must define EMULATOR" in result.output
    assert "Traceback" not in result.output


def test_parts_stand_in_for_missing_hooks() -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("not called")

    parts = EmulatorParts(create_app=never, fault_response=never, account_of=never,
                          seed=never, sandbox_connection=never)
    assert isinstance(parts, Emulator)
    assert parts.name_field is None and parts.control_routes == ()
    assert parts.is_live("rooms", {"status": "ended"}) is None  # no rule of its own
