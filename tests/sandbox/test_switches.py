"""Per-account emulator switches (reconcile.sandbox.switches), served by the control API."""

from __future__ import annotations

import httpx
import pytest

from reconcile.sandbox.server import SandboxServer

SANDBOX_PROVIDERS = ("twilio", "kaleyra")
SWITCHES = "/providers/twilio/accounts/AC1/switches"


@pytest.fixture
def server(module_server: SandboxServer) -> SandboxServer:
    """A real server of the two emulators with control routes, freshly reset (this
    folder's `sandbox` fixture belongs to its fake emulator)."""
    module_server.sandbox.reset()
    return module_server


def control(server: SandboxServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, server.control_url + path, **kwargs)  # type: ignore[arg-type]


def test_switches_read_turn_and_reset_per_account(server: SandboxServer) -> None:
    off = {"legacy_types_as_group": False, "retired": False}
    assert control(server, "GET", SWITCHES).json() == off
    turned = control(server, "POST", SWITCHES, json={"retired": 410})
    assert (turned.status_code, turned.json()) == (200, {**off, "retired": 410})
    assert control(server, "GET", "/providers/twilio/accounts/AC2/switches").json() == off
    server.sandbox.reset()
    assert control(server, "GET", SWITCHES).json() == off


@pytest.mark.parametrize("body", [{}, [], {"retired": 418}, {"retired": "yes"},
                                  {"legacy_types_as_group": 1}, {"unknown": True}])
def test_bad_switches_are_refused_with_what_each_accepts(server: SandboxServer,
                                                         body: object) -> None:
    response = control(server, "POST", SWITCHES, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "send a JSON object among: legacy_types_as_group (true or false);"
        " retired (false, true (404) or one of 401, 403, 404, 410)")
    assert control(server, "GET", SWITCHES).json()["retired"] is False


def test_every_emulators_control_routes_answer_when_served(server: SandboxServer) -> None:
    # They read the Sandbox from the control app's state (once a 500 for Kaleyra's).
    response = control(server, "GET", "/providers/kaleyra/companies/ak_x/features")
    assert (response.status_code, response.json()) == (
        200, {"transcription": True, "summarization": True})
