"""The fault layer: request counting and every kind of injected fault, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from types import ModuleType

import httpx
import pytest
from pydantic import ValidationError
from starlette.responses import PlainTextResponse

from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.faults import FaultConfig, get_faults, set_faults
from reconcile.sandbox.server import SandboxServer

from .conftest import FAKE_TOKEN, OTHER_PROBES, needs_real_emulators, probe_get

OTHER_TOKEN = "KEYother"


def rooms_stored(sandbox: Sandbox, account: str = FAKE_TOKEN) -> list[str | None]:
    return [r.name for r in sandbox.store.list("fake", account, "room", live=None)]


def statuses(api: httpx.Client, count: int, method: str = "GET") -> list[int]:
    return [api.request(method, "/v1/rooms").status_code for _ in range(count)]


# -- counting -----------------------------------------------------------------------------

def test_every_request_is_counted_by_provider_and_method(
        api: httpx.Client, control: SandboxControl) -> None:
    api.get("/v1/rooms")
    api.get("/v1/rooms/nope")
    api.post("/v1/rooms", json={"name": "a"})
    api.post("/v1/rooms", json={"name": "a"})  # a duplicate still counts
    httpx.get(api.base_url.join("/fake/v1/rooms"))  # so does an unauthorized one
    control.set_faults("fake", error_rate=1)
    api.delete("/v1/rooms/x")  # and a faulted one
    counters = control.counters()
    assert counters["providers"] == {"fake": {"GET": 3, "POST": 2, "DELETE": 1}}
    assert counters["totals"] == {"fake": 6}
    assert counters["methods"] == {"GET": 3, "POST": 2, "DELETE": 1}
    assert counters["total"] == 6


def test_the_control_api_is_neither_counted_nor_faulted(
        api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", error_rate=1, latency_ms=300)
    started = time.perf_counter()
    for _ in range(3):
        control.health()
    assert time.perf_counter() - started < 0.5
    assert control.counters()["total"] == 0


# -- latency ------------------------------------------------------------------------------

def test_latency_is_added_to_every_request(api: httpx.Client, control: SandboxControl
                                           ) -> None:
    api.get("/v1/rooms")  # warm the connection
    control.set_faults("fake", latency_ms=150)
    started = time.perf_counter()
    assert api.get("/v1/rooms").status_code == 200
    assert 0.15 <= time.perf_counter() - started < 1.0


def test_jitter_stays_within_its_bounds(api: httpx.Client, control: SandboxControl) -> None:
    api.get("/v1/rooms")
    control.set_faults("fake", latency_ms=50, jitter_ms=100)
    for _ in range(4):
        started = time.perf_counter()
        api.get("/v1/rooms")
        assert 0.05 <= time.perf_counter() - started < 1.0


def test_latency_does_not_block_other_requests(fake_server: SandboxServer,
                                               control: SandboxControl) -> None:
    control.set_faults("fake", latency_ms=300)

    async def burst() -> float:
        async with httpx.AsyncClient(base_url=fake_server.url("fake"), headers={
                "Authorization": f"Bearer {FAKE_TOKEN}"}) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get("/v1/rooms") for _ in range(10)))
            assert all(r.status_code == 200 for r in responses)
            return time.perf_counter() - started

    elapsed = asyncio.run(burst())
    assert 0.3 <= elapsed < 1.5  # ten sleeps side by side, not one after another


# -- 5xx errors ---------------------------------------------------------------------------

def test_errors_use_the_emulators_body_and_skip_the_handler(
        api: httpx.Client, control: SandboxControl, sandbox: Sandbox) -> None:
    control.set_faults("fake", error_rate=1, error_statuses=[502])
    response = api.post("/v1/rooms", json={"name": "never"})
    assert response.status_code == 502
    assert response.json() == {"fake_error": 502}
    assert "retry-after" not in response.headers
    assert rooms_stored(sandbox) == []


def test_error_statuses_are_drawn_from_the_configured_set(
        api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", error_rate=1)
    assert set(statuses(api, 60)) == {500, 502, 503}
    control.set_faults("fake", error_rate=1, error_statuses=[500, 503])
    assert set(statuses(api, 30)) == {500, 503}


def test_error_rate_is_a_probability(api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", error_rate=0.25, error_statuses=[503])
    seen = statuses(api, 200)
    assert set(seen) == {200, 503}
    assert 25 <= seen.count(503) <= 75


# -- 429 bursts ---------------------------------------------------------------------------

def test_a_burst_of_429_carries_retry_after(api: httpx.Client, control: SandboxControl,
                                            sandbox: Sandbox) -> None:
    control.set_faults("fake", burst_429={"rate": 1, "length": 3, "retry_after": 7})
    for _ in range(3):
        response = api.post("/v1/rooms", json={"name": "never"})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json() == {"fake_error": 429}
    assert rooms_stored(sandbox) == []


def test_bursts_come_in_runs_of_their_length(api: httpx.Client, control: SandboxControl
                                             ) -> None:
    control.set_faults("fake", burst_429={"rate": 0.2, "length": 4})
    seen = statuses(api, 120)
    runs, current = [], 0
    for status in [*seen, 200]:
        if status == 429:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    assert runs, "no burst in 120 requests at a rate of 0.2"
    assert all(run % 4 == 0 for run in runs[:-1])  # back-to-back bursts merge
    assert set(seen) == {200, 429}


def test_retry_after_is_added_when_the_emulator_forgets_it(
        sandbox: Sandbox, fake: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "fault_response", lambda status, retry_after: PlainTextResponse(
        "busy", status_code=status))
    set_faults(sandbox, "fake", {"burst_429": {"rate": 1, "retry_after": 4}})
    with SandboxServer(sandbox, providers=("fake",), emulators={"fake": fake.EMULATOR}) as server:
        response = httpx.get(server.url("fake") + "/v1/rooms")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "4"


# -- rate limit ---------------------------------------------------------------------------

def test_rate_limit_per_account_with_retry_after(
        fake_server: SandboxServer, api: httpx.Client, control: SandboxControl) -> None:
    control.register("fake", OTHER_TOKEN, OTHER_TOKEN)
    control.set_faults("fake", rate_limit={"requests": 3, "per_seconds": 10})
    assert statuses(api, 3) == [200, 200, 200]
    limited = api.get("/v1/rooms")
    assert limited.status_code == 429
    assert limited.json() == {"fake_error": 429}
    assert limited.headers["retry-after"] == "10"
    # Another account has its own budget.
    other = httpx.get(fake_server.url("fake") + "/v1/rooms",
                      headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert other.status_code == 200
    # The window slides on the virtual clock; Retry-After counts down, rounded up.
    control.advance(3.5)
    assert api.get("/v1/rooms").headers["retry-after"] == "7"
    control.advance(6.5)
    assert statuses(api, 4) == [200, 200, 200, 429]


def test_rate_limit_retry_after_is_at_least_one_second(
        api: httpx.Client, control: SandboxControl) -> None:
    # A long window, then the clock moved to 0.9 s before its end: the remainder is under a
    # second however slowly a loaded machine sends the requests (a 0.2 s window was not).
    control.set_faults("fake", rate_limit={"requests": 1, "per_seconds": 10})
    assert statuses(api, 2) == [200, 429]
    control.advance(9.1)
    assert api.get("/v1/rooms").headers["retry-after"] == "1"


# -- commit then fail -----------------------------------------------------------------------

def test_commit_then_drop_stores_the_room_but_loses_the_reply(
        api: httpx.Client, control: SandboxControl, sandbox: Sandbox,
        capfd: pytest.CaptureFixture[str]) -> None:
    control.set_faults("fake", commit_then_fail={"rate": 1, "mode": "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v1/rooms", json={"name": "made"})
    assert rooms_stored(sandbox) == ["made"]
    # Reads are never affected.
    listed = api.get("/v1/rooms")
    assert listed.status_code == 200 and listed.json()["data"][0]["name"] == "made"
    # A bodiless reply (204) is dropped too: the client cannot tell the delete happened.
    room_id = listed.json()["data"][0]["id"]
    with pytest.raises(httpx.RemoteProtocolError):
        api.delete(f"/v1/rooms/{room_id}")
    assert rooms_stored(sandbox) == []
    # The server keeps serving, and says nothing about the deliberate drops.
    control.clear_faults("fake")
    assert api.post("/v1/rooms", json={"name": "after"}).status_code == 201
    err = capfd.readouterr().err
    assert "Traceback" not in err and "without completing" not in err


def test_commit_then_delay_stores_the_room_and_times_the_client_out(
        api: httpx.Client, control: SandboxControl, sandbox: Sandbox) -> None:
    control.set_faults("fake", commit_then_fail={"rate": 1, "mode": "delay", "delay_s": 5})
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        api.post("/v1/rooms", json={"name": "slow"}, timeout=0.3)
    assert rooms_stored(sandbox) == ["slow"]
    assert time.perf_counter() - started < 1.5
    control.clear_faults("fake")
    assert api.get("/v1/rooms").status_code == 200


def test_commit_then_delay_answers_late_when_the_client_waits(
        api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", commit_then_fail={"rate": 1, "mode": "delay", "delay_s": 0.3})
    started = time.perf_counter()
    response = api.post("/v1/rooms", json={"name": "late"})
    assert time.perf_counter() - started >= 0.3
    assert response.status_code == 201 and response.json()["name"] == "late"


def test_commit_then_fail_mixed_drops_some_replies_and_holds_others(
        api: httpx.Client, control: SandboxControl, sandbox: Sandbox) -> None:
    control.set_faults("fake", commit_then_fail={"rate": 1, "mode": "mixed", "delay_s": 5})
    outcomes = []
    for index in range(12):
        try:
            api.post("/v1/rooms", json={"name": f"r{index}"}, timeout=0.3)
        except (httpx.RemoteProtocolError, httpx.ReadTimeout) as exc:
            outcomes.append(type(exc).__name__)
    assert set(outcomes) == {"RemoteProtocolError", "ReadTimeout"} and len(outcomes) == 12
    assert len(rooms_stored(sandbox)) == 12  # every one stored all the same


def test_commit_then_fail_rate_is_a_probability(api: httpx.Client, control: SandboxControl,
                                                sandbox: Sandbox) -> None:
    control.set_faults("fake", commit_then_fail={"rate": 0.5, "mode": "drop"})
    outcomes = []
    for index in range(40):
        try:
            outcomes.append(api.post("/v1/rooms", json={"name": f"r{index}"}).status_code)
        except httpx.RemoteProtocolError:
            outcomes.append("dropped")
    assert 8 <= outcomes.count("dropped") <= 32
    assert len(rooms_stored(sandbox)) == 40


# -- determinism --------------------------------------------------------------------------

CHAOS = {"error_rate": 0.2, "burst_429": {"rate": 0.1, "length": 2},
         "commit_then_fail": {"rate": 0.3, "mode": "drop"}}


def fault_sequence(fake: ModuleType, seed: int, config: dict[str, object]) -> list[object]:
    sandbox = Sandbox(seed=seed)
    sandbox.register("fake", FAKE_TOKEN, FAKE_TOKEN)
    set_faults(sandbox, "fake", config)
    seen: list[object] = []
    with SandboxServer(sandbox, providers=("fake",), emulators={"fake": fake.EMULATOR}) as server, \
            httpx.Client(base_url=server.url("fake"),
                         headers={"Authorization": f"Bearer {FAKE_TOKEN}"}) as client:
        for index in range(30):
            method = "POST" if index % 2 else "GET"
            try:
                seen.append(client.request(method, "/v1/rooms",
                                           json={"name": f"r{index}"}).status_code)
            except httpx.RemoteProtocolError:
                seen.append("dropped")
    sandbox.close()
    return seen


def test_the_same_seed_repeats_the_same_faults(fake: ModuleType) -> None:
    first = fault_sequence(fake, 7, CHAOS)
    assert len(set(first)) >= 3  # a real mix of outcomes
    assert fault_sequence(fake, 7, CHAOS) == first
    assert fault_sequence(fake, 8, CHAOS) != first
    # A seed in the configuration wins over the sandbox's.
    assert fault_sequence(fake, 99, {**CHAOS, "seed": 7}) == first


def test_each_new_configuration_restarts_the_sequence(api: httpx.Client,
                                                      control: SandboxControl) -> None:
    control.set_faults("fake", error_rate=0.5, seed=3)
    first = statuses(api, 20)
    control.set_faults("fake", error_rate=0.5, seed=3)
    assert statuses(api, 20) == first
    control.set_faults("fake", error_rate=0.5, seed=4)
    assert statuses(api, 20) != first


# -- configuration ------------------------------------------------------------------------

def test_fault_config_validates_and_round_trips_json() -> None:
    config = FaultConfig.model_validate_json(
        '{"latency_ms": 5, "error_rate": 0.5, "error_statuses": [503],'
        ' "burst_429": {"rate": 0.1}, "rate_limit": {"requests": 5, "per_seconds": 1},'
        ' "commit_then_fail": {"rate": 1, "mode": "delay", "delay_s": 2}, "seed": 4}')
    assert FaultConfig.model_validate_json(config.model_dump_json()) == config
    assert config.burst_429 is not None and config.burst_429.length == 3
    assert FaultConfig().is_noop and not config.is_noop
    for bad in ({"error_rate": 1.5}, {"error_statuses": [404]}, {"error_statuses": []},
                {"latency_ms": -1}, {"burst_429": {"length": 2}}, {"surprise": 1},
                {"commit_then_fail": {"rate": 1, "mode": "explode"}},
                {"rate_limit": {"requests": 0, "per_seconds": 1}}):
        with pytest.raises(ValidationError):
            FaultConfig.model_validate(bad)


def test_faults_set_in_process_as_a_dict_are_validated(
        sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.faults["fake"] = {"error_rate": 1, "error_statuses": [500]}
    assert api.get("/v1/rooms").status_code == 500
    assert isinstance(sandbox.faults["fake"], FaultConfig)
    set_faults(sandbox, "fake", None)
    assert get_faults(sandbox, "fake") == FaultConfig()
    assert api.get("/v1/rooms").status_code == 200


# -- the real emulators ---------------------------------------------------------------------

@needs_real_emulators
@pytest.mark.parametrize("provider", PROVIDERS)
def test_real_emulators_answer_faults_in_their_own_words(real: SandboxServer, provider: str
                                                          ) -> None:
    module = load_emulator(provider)
    assert probe_get(real, provider).status_code == 200
    set_faults(real.sandbox, provider, {"error_rate": 1, "error_statuses": [503]})
    response = probe_get(real, provider)
    assert response.status_code == 503
    assert response.content == module.fault_response(503, None).body
    set_faults(real.sandbox, provider, {"burst_429": {"rate": 1, "retry_after": 2}})
    response = probe_get(real, provider)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.content == module.fault_response(429, 2).body
    assert real.sandbox.counter_table()[provider] == {"GET": 3}


@needs_real_emulators
@pytest.mark.parametrize("provider", PROVIDERS)
def test_real_emulators_rate_limit_by_their_account(real: SandboxServer, provider: str
                                                    ) -> None:
    set_faults(real.sandbox, provider, {"rate_limit": {"requests": 2, "per_seconds": 60}})
    assert [probe_get(real, provider).status_code for _ in range(3)] == [200, 200, 429]
    # The window is keyed by the emulator's own idea of the account.
    assert probe_get(real, provider, OTHER_PROBES[provider]).status_code == 200
    assert probe_get(real, provider).status_code == 429
