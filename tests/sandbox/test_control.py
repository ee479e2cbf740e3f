"""The control API at /_sandbox, through its Python client and raw HTTP for the errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.client import SandboxControl, SandboxControlError
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.faults import FaultConfig
from reconcile.sandbox.server import SandboxServer

from .conftest import FAKE_TOKEN, PROBES, needs_real_emulators, probe_get

ROOMS = ("fake", FAKE_TOKEN, "room")


def raw(server: SandboxServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, server.control_url + path, **kwargs)


def seed_rooms(control: SandboxControl, *names: str) -> list[dict[str, Any]]:
    return control.seed(*ROOMS, [{"name": n} for n in names])


# -- state --------------------------------------------------------------------------------

def test_health_names_the_providers(control: SandboxControl) -> None:
    assert control.health() == {"status": "ok", "providers": ["fake"], "seed": 1234}


def test_reset_clears_rooms_clock_counters_and_faults(
        control: SandboxControl, api: httpx.Client, sandbox: Sandbox) -> None:
    seed_rooms(control, "a")
    api.get("/v1/rooms")
    control.advance(hours=1)
    control.set_faults("fake", latency_ms=5)
    control.reset()
    assert control.rooms(*ROOMS) == []
    assert control.clock()["offset_seconds"] == 0
    assert control.counters()["total"] == 0
    assert control.faults("fake") == FaultConfig().model_dump(mode="json")
    assert api.get("/v1/rooms").status_code == 200  # registered accounts survive


def test_the_clock_advances_in_seconds_minutes_and_hours(control: SandboxControl,
                                                         sandbox: Sandbox) -> None:
    before = control.clock()
    assert before["offset_seconds"] == 0 and before["iso"].endswith("Z")
    after = control.advance(30, minutes=2, hours=1)
    assert after["offset_seconds"] == 3750
    assert 3750 <= after["now"] - before["now"] < 3760
    assert sandbox.clock.offset == 3750
    assert raw_advance(control, {"minutes": 1.5})["offset_seconds"] == 3840


def raw_advance(control: SandboxControl, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(control.base_url + "/_sandbox/clock/advance", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "10"}, {"days": 1},
                                  {"seconds": True}, [1]])
def test_bad_clock_advances_are_refused(fake_server: SandboxServer, body: object) -> None:
    response = raw(fake_server, "POST", "/clock/advance", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_counters_can_be_cleared(control: SandboxControl, api: httpx.Client) -> None:
    api.get("/v1/rooms")
    assert control.counters()["providers"] == {"fake": {"GET": 1}}
    cleared = control.clear_counters()
    assert cleared == {"providers": {}, "totals": {}, "methods": {}, "total": 0}


# -- faults -------------------------------------------------------------------------------

def test_faults_get_put_delete(control: SandboxControl, fake_server: SandboxServer) -> None:
    assert control.faults("fake")["error_rate"] == 0
    stored = control.set_faults("fake", {"latency_ms": 10}, burst_429={"rate": 0.5})
    assert stored["latency_ms"] == 10
    assert stored["burst_429"] == {"rate": 0.5, "length": 3, "retry_after": 1}
    assert control.faults("fake") == stored
    assert raw(fake_server, "GET", "/faults").json() == {"fake": stored}
    assert control.clear_faults("fake") == FaultConfig().model_dump(mode="json")


def test_bad_fault_configurations_name_the_field(fake_server: SandboxServer) -> None:
    response = raw(fake_server, "PUT", "/faults/fake",
                   json={"error_rate": 2, "burst_429": {"rate": 0.1, "length": 0}})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid fault configuration"
    assert {e["field"] for e in body["errors"]} == {"error_rate", "burst_429.length"}
    assert raw(fake_server, "PUT", "/faults/fake", content=b"{oops").status_code == 400
    deep = raw(fake_server, "PUT", "/faults/fake", content=b"[" * 100_000)  # parser recursion
    assert deep.status_code == 400 and "nested too deeply" in deep.text
    assert raw(fake_server, "PUT", "/faults/nope", json={}).status_code == 404


# -- accounts and seeding -----------------------------------------------------------------

def test_registered_accounts_can_authenticate(control: SandboxControl,
                                              fake_server: SandboxServer) -> None:
    url = fake_server.url("fake") + "/v1/rooms"
    headers = {"Authorization": "Bearer KEYnew"}
    assert httpx.get(url, headers=headers).status_code == 401
    control.register("fake", "KEYnew", "KEYnew")
    assert httpx.get(url, headers=headers).status_code == 200


@pytest.mark.parametrize("body", [{"provider": "fake", "principal": "p"},
                                  {"provider": "fake", "principal": "", "secret": "s"},
                                  {"provider": "fake", "principal": 1, "secret": "s"},
                                  {"provider": "nope", "principal": "p", "secret": "s"}])
def test_bad_account_registrations_are_refused(fake_server: SandboxServer,
                                               body: dict[str, Any]) -> None:
    response = raw(fake_server, "POST", "/accounts", json=body)
    assert response.status_code == (404 if body["provider"] == "nope" else 400)


def test_seed_creates_rooms_through_the_emulator(control: SandboxControl,
                                                 api: httpx.Client) -> None:
    rooms = seed_rooms(control, "a", "b", "c")
    assert [r["name"] for r in rooms] == ["a", "b", "c"]
    listed = api.get("/v1/rooms").json()["data"]
    assert [r["id"] for r in listed] == [r["id"] for r in rooms]


def test_seed_reports_the_emulators_validation_error(fake_server: SandboxServer) -> None:
    body = {"provider": "fake", "account": FAKE_TOKEN, "kind": "room",
            "rooms": [{"name": "ok"}, {"name": "x", "size": 1000}]}
    response = raw(fake_server, "POST", "/seed", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "size must be an integer from 1 to 100"}


def test_seed_refuses_taken_names_and_bad_bodies(control: SandboxControl,
                                                 fake_server: SandboxServer) -> None:
    seed_rooms(control, "a")
    with pytest.raises(SandboxControlError) as caught:
        seed_rooms(control, "b", "a")
    assert caught.value.status == 409
    assert [r["name"] for r in control.rooms(*ROOMS)] == ["a"]  # all or nothing
    for body in ({"provider": "fake", "account": "x", "kind": "room"},
                 {"provider": "fake", "account": "x", "kind": "room", "rooms": [1]},
                 {"provider": "fake", "account": 5, "kind": "room", "rooms": []}):
        assert raw(fake_server, "POST", "/seed", json=body).status_code == 400
    assert raw(fake_server, "POST", "/seed", json={
        "provider": "nope", "account": "x", "kind": "room", "rooms": []}).status_code == 404


# -- rooms, out of band ---------------------------------------------------------------------

def test_rooms_shows_stored_rooms_with_internal_keys(control: SandboxControl,
                                                     sandbox: Sandbox) -> None:
    [room] = seed_rooms(control, "a")
    record = sandbox.store.get(*ROOMS, room["id"])
    assert record is not None
    sandbox.store.update(record, {**record.data, "_secret": 1}, live=False)
    [shown] = control.rooms(*ROOMS)
    assert shown["live"] is False and shown["data"]["_secret"] == 1
    assert shown["id"] == room["id"] and shown["name"] == "a"
    assert control.rooms(*ROOMS, live=True) == []
    assert control.rooms(*ROOMS, live=False) == [shown]
    assert control.room(*ROOMS, room["id"]) == shown


def test_patch_merges_provider_fields_and_follows_renames(
        control: SandboxControl, api: httpx.Client) -> None:
    [room] = seed_rooms(control, "a")
    patched = control.patch_room(*ROOMS, "a", {"size": 42})
    assert patched["data"]["size"] == 42 and patched["data"]["name"] == "a"
    assert api.get(f"/v1/rooms/{room['id']}").json()["size"] == 42  # drift, as the API sees it
    renamed = control.patch_room(*ROOMS, room["id"], {"name": "b"})
    assert renamed["name"] == "b" and renamed["data"]["name"] == "b"
    # The new name is the live name now: a create of "a" succeeds, of "b" fails.
    assert api.post("/v1/rooms", json={"name": "a"}).status_code == 201
    assert api.post("/v1/rooms", json={"name": "b"}).status_code == 422
    assert control.room(*ROOMS, "b")["id"] == room["id"]


def test_patch_can_set_liveness_and_refuses_name_clashes(control: SandboxControl) -> None:
    seed_rooms(control, "a", "b")
    with pytest.raises(SandboxControlError) as caught:
        control.patch_room(*ROOMS, "b", {"name": "a"})
    assert caught.value.status == 409
    ended = control.patch_room(*ROOMS, "a", {"status": "ended"})  # the emulator's is_live
    assert ended["live"] is False and ended["data"]["status"] == "ended"
    assert control.patch_room(*ROOMS, "b", {"name": "a"})["name"] == "a"
    revived = control.patch_room(*ROOMS, ended["id"], {"name": "c"}, live=True)  # ?live= wins
    assert revived["live"] is True and revived["data"]["status"] == "ended"


def test_delete_removes_a_room_out_of_band(control: SandboxControl, api: httpx.Client,
                                           fake_server: SandboxServer) -> None:
    [room] = seed_rooms(control, "a")
    control.delete_room(*ROOMS, "a")
    assert api.get(f"/v1/rooms/{room['id']}").status_code == 404
    with pytest.raises(SandboxControlError) as caught:
        control.delete_room(*ROOMS, "a")
    assert caught.value.status == 404
    assert "looked up by id, then live name" in caught.value.body["error"]


def test_participants_drive_the_session_bookkeeping(control: SandboxControl,
                                                    api: httpx.Client) -> None:
    [room] = seed_rooms(control, "a")
    joined = control.participants(*ROOMS, "a", add=["alice", "bob"])
    assert joined["data"]["_participants"] == ["alice", "bob"]
    assert joined["data"]["_ever_joined"] is True and "_session_id" in joined["data"]
    assert api.get(f"/v1/rooms/{room['id']}").json()["participants"] == 2
    control.advance(60)
    left = control.participants(*ROOMS, room["id"], remove=["alice", "bob"])
    assert left["data"]["_participants"] == [] and "_session_id" not in left["data"]
    assert left["data"]["_last_left_at"] >= joined["data"]["_session_started_at"] + 60


@pytest.mark.parametrize("body", [{"add": "alice"}, {"add": [1]}, {"kick": ["a"]}, [1]])
def test_bad_participant_changes_are_refused(control: SandboxControl,
                                             fake_server: SandboxServer, body: object) -> None:
    seed_rooms(control, "a")
    path = f"/rooms/fake/{FAKE_TOKEN}/room/a/participants"
    assert raw(fake_server, "POST", path, json=body).status_code == 400


def test_unknown_providers_rooms_and_routes_are_json_errors(
        fake_server: SandboxServer) -> None:
    for method, path, status in (("GET", "/rooms/nope/a/room", 404),
                                 ("PATCH", f"/rooms/fake/{FAKE_TOKEN}/room/ghost", 404),
                                 ("GET", "/nothing-here", 404),
                                 ("POST", "/health", 405),
                                 ("GET", "/rooms/fake/a/room?live=maybe", 400)):
        response = raw(fake_server, method, path, json={} if method != "GET" else None)
        assert response.status_code == status, path
        assert response.json()["error"]


def test_emulator_control_routes_are_mounted(fake_server: SandboxServer) -> None:
    response = raw(fake_server, "GET", "/providers/fake/stats")
    assert response.json() == {"provider": "fake", "extra": True}


def test_room_keys_with_odd_characters_are_quoted(control: SandboxControl) -> None:
    seed_rooms(control, "a b/c?")
    assert control.room(*ROOMS, "a b/c?")["name"] == "a b/c?"
    joined = control.participants(*ROOMS, "a b/c?", add=["x"])
    assert joined["name"] == "a b/c?" and joined["data"]["_participants"] == ["x"]
    assert control.patch_room(*ROOMS, "a b/c?", {"size": 3})["data"]["size"] == 3


# -- the real emulators ---------------------------------------------------------------------

@needs_real_emulators
@pytest.mark.parametrize("provider", PROVIDERS)
def test_seeding_the_real_emulators_shows_in_their_api(real: SandboxServer, provider: str
                                                       ) -> None:
    probe = PROBES[provider]
    with SandboxControl(real.base_url) as control:
        [seeded] = control.seed(provider, probe.account, probe.kind, [probe.seed])
        assert {k: seeded.get(k) for k in probe.seed} == probe.seed
        [stored] = control.rooms(provider, probe.account, probe.kind)
        assert "seeded" in (stored["id"], stored["name"])
        with pytest.raises(SandboxControlError) as caught:
            control.seed(provider, probe.account, probe.kind, [{"no_such_field": []}, 1])
        assert caught.value.status == 400
    listed = probe_get(real, provider)
    assert listed.status_code == 200
    assert f'"{next(iter(probe.seed.values()))}"' in listed.text


@needs_real_emulators
@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p != "kaleyra"])
def test_renaming_a_real_room_out_of_band_moves_its_live_name(real: SandboxServer,
                                                              provider: str) -> None:
    probe = PROBES[provider]
    field = load_emulator(provider).name_field
    with SandboxControl(real.base_url) as control:
        control.seed(provider, probe.account, probe.kind, [probe.seed])
        renamed = control.patch_room(provider, probe.account, probe.kind, "seeded",
                                     {field: "renamed"})
        assert renamed["name"] == "renamed" and renamed["data"][field] == "renamed"
        assert control.room(provider, probe.account, probe.kind, "renamed")["id"] == \
            renamed["id"]
        with pytest.raises(SandboxControlError):
            control.room(provider, probe.account, probe.kind, "seeded")
        joined = control.participants(provider, probe.account, probe.kind, "renamed",
                                      add=["alice"])
        assert joined["data"]["_participants"] == ["alice"]
