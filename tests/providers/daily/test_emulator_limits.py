"""The Daily emulator's per-domain switches over real HTTP and the control API: the
participant cap (U11) and the rate budgets of section 7 (U8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconcile.providers.daily import emulator
from reconcile.providers.daily.sandbox import API_KEY
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

SANDBOX_PROVIDERS = ("daily",)
OTHER_KEY = "other-domain-key"


@pytest.fixture
def client(server: SandboxServer, sandbox: Sandbox) -> Iterator[httpx.Client]:
    sandbox.register("daily", OTHER_KEY, OTHER_KEY)
    with httpx.Client(base_url=f"{server.url('daily')}/v1",
                      headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c


@pytest.fixture
def frozen(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sandbox clock held still; move it by adding to the list's one value."""
    now = [sandbox.clock.now()]
    monkeypatch.setattr(sandbox.clock, "now", lambda: now[0])
    return now


def switch(server: SandboxServer, key: str = API_KEY, **switches: Any) -> httpx.Response:
    return httpx.post(f"{server.control_url}/providers/daily/accounts/{key}/switches",
                      json=switches)


def status(response: httpx.Response) -> tuple[int, str | None]:
    body = response.json()
    return response.status_code, body.get("error") if isinstance(body, dict) else None


# -- U11: the participant cap ------------------------------------------------------------

def test_the_cap_is_200_unless_the_domain_is_switched_higher(server: SandboxServer,
                                                              client: httpx.Client) -> None:
    big = {"name": "hall", "properties": {"max_participants": 1000}}
    assert status(client.post("/rooms", json=big)) == (400, "invalid-request-error")
    assert switch(server, participant_cap=1000).json()["participant_cap"] == 1000
    assert client.post("/rooms", json=big).json()["config"]["max_participants"] == 1000
    assert status(client.post("/rooms/hall", json={"properties": {"max_participants": 1001}})
                  ) == (400, "invalid-request-error")
    other = {"Authorization": f"Bearer {OTHER_KEY}"}  # another domain keeps 200
    assert status(client.post("/rooms", json=big, headers=other)) == (
        400, "invalid-request-error")


def test_seeding_follows_the_domain_cap(server: SandboxServer, sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="between 1 and 200"):
        emulator.seed(sandbox, API_KEY, "rooms", [{"name": "a", "max_participants": 300}])
    switch(server, participant_cap=300)
    assert emulator.seed(sandbox, API_KEY, "rooms", [{"name": "a", "max_participants": 300}])


@pytest.mark.parametrize("body", [{"participant_cap": 0}, {"participant_cap": "500"},
                                  {"participant_cap": True}, {"rate_limits": 1},
                                  {"unknown": 1}])
def test_bad_switch_values_are_refused(server: SandboxServer, body: dict[str, Any]) -> None:
    response = switch(server, **body)
    assert response.status_code == 400 and "participant_cap (an integer" in response.text


@pytest.mark.parametrize("raw", [b"{oops", b"[" * 100_000, b'{"a":' * 50_000, b"\xff",
                                 b"null", b"{}", b'{"participant_cap": NaN}',
                                 b'{"participant_cap": 1e400}', b'{"participant_cap": -1}'])
def test_hostile_switch_bodies_are_a_400_and_leave_the_switches_working(
        server: SandboxServer, raw: bytes) -> None:
    url = f"{server.control_url}/providers/daily/accounts/{API_KEY}/switches"
    response = httpx.post(url, content=raw)
    assert response.status_code == 400 and "participant_cap (an integer" in response.text
    assert httpx.get(url).json() == {"participant_cap": 200, "rate_limits": False}


# -- U8: the rate budgets ------------------------------------------------------------------

def test_budgets_are_off_unless_switched_on(client: httpx.Client, frozen: list[float]) -> None:
    assert {client.get("/rooms").status_code for _ in range(30)} == {200}


def test_most_routes_take_20_a_second_together(
        server: SandboxServer, client: httpx.Client, frozen: list[float]) -> None:
    """Reads and writes share the tier (its 100 in 5 seconds follows from 20 in any
    second, so the second is what binds)."""
    switch(server, rate_limits=True)
    assert {client.get("/rooms").status_code for _ in range(19)} == {200}
    assert client.post("/rooms", json={"name": "twentieth"}).status_code == 200
    limited = client.get("/")
    assert status(limited) == (429, "rate-limit-error")
    assert limited.headers["Retry-After"] == "1"
    assert status(client.post("/rooms", json={"name": "late"})) == (429, "rate-limit-error")
    assert client.get("/rooms/late").status_code == 429  # refused requests did not count
    frozen[0] += 1
    assert client.post("/rooms", json={"name": "late"}).status_code == 200
    other = {"Authorization": f"Bearer {OTHER_KEY}"}  # another domain has its own budget
    switch(server, OTHER_KEY, rate_limits=True)
    assert client.get("/rooms", headers=other).status_code == 200


def test_deletes_take_2_a_second_and_50_in_30_seconds(
        server: SandboxServer, client: httpx.Client, sandbox: Sandbox,
        frozen: list[float]) -> None:
    emulator.seed(sandbox, API_KEY, "rooms", [{"name": f"r{i}"} for i in range(60)])
    switch(server, rate_limits=True)
    deleted = 0
    for second in range(25):
        assert [client.delete(f"/rooms/r{deleted + i}").status_code for i in range(2)] == [
            200, 200], second
        deleted += 2
        limited = client.delete(f"/rooms/r{deleted}")
        assert status(limited) == (429, "rate-limit-error")
        assert client.get("/rooms/r59").status_code == 200  # reads have their own budget
        frozen[0] += 1
    limited = client.delete(f"/rooms/r{deleted}")  # 50 in 25 s: wait for the first to leave
    assert status(limited) == (429, "rate-limit-error")
    assert limited.headers["Retry-After"] == "5"
    frozen[0] += 5
    assert client.delete(f"/rooms/r{deleted}").status_code == 200
    switch(server, rate_limits=False)
    assert {client.delete(f"/rooms/r{i}").status_code for i in range(51, 56)} == {200}
