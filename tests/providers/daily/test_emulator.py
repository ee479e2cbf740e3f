"""The Daily emulator over real HTTP: auth, bodies, validation, list cursors, update
semantics, expiry and faults (docs/providers/daily.md, U1..U18)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconcile.providers.daily import emulator
from reconcile.providers.daily.sandbox import API_KEY
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer
from reconcile.sandbox.update_mode import set_update_mode

SANDBOX_PROVIDERS = ("daily",)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z")


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url('daily')}/v1",
                      headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/rooms", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int, error: str) -> str:
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    info: str = response.json()["info"]
    return info


# -- auth and the domain ----------------------------------------------------------------

def test_a_missing_or_malformed_header_is_a_400_and_a_wrong_key_a_401(
        client: httpx.Client) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": f"Token {API_KEY}"},
                    {"Authorization": "Bearer"}):
        refused(client.get("/rooms", headers=headers), 400, "authorization-header-error")
    refused(client.get("/rooms", headers={"Authorization": "Bearer wrong"}), 401,
            "authentication-error")
    refused(client.post("/rooms", json={}, headers={"Authorization": "Bearer wrong"}), 401,
            "authentication-error")


def test_the_domain_answers_with_its_name(client: httpx.Client) -> None:
    body = client.get("/").json()
    assert body["domain_name"] == emulator.domain_of(API_KEY)
    assert re.fullmatch(r"sandbox-[0-9a-f]{10}", body["domain_name"])  # never the key
    assert body["config"] == {} and uuid.UUID(body["domain_id"]).version == 5  # stable


# -- create -----------------------------------------------------------------------------

def test_create_answers_200_with_the_room_and_only_non_default_properties(
        client: httpx.Client) -> None:
    room = create(client, name="desk", privacy="private", properties={
        "enable_chat": True, "max_participants": 200, "enable_screenshare": True,
        "enable_knocking": False, "lang": "de"})
    assert UUID.fullmatch(room["id"]) and CREATED_AT.fullmatch(room["created_at"])
    assert {k: v for k, v in room.items() if k not in ("id", "created_at")} == {
        "name": "desk", "api_created": True, "privacy": "private",
        "url": f"https://{emulator.domain_of(API_KEY)}.daily.co/desk",
        "config": {"enable_chat": True, "lang": "de"}}  # U5: defaults are not echoed


def test_an_empty_body_makes_a_public_room_with_a_generated_name(client: httpx.Client) -> None:
    response = client.post("/rooms")
    assert response.status_code == 200
    room = response.json()
    assert re.fullmatch(r"[A-Za-z0-9]{20}", room["name"])  # U17
    assert (room["privacy"], room["config"]) == ("public", {})


def test_a_taken_name_is_refused_with_the_third_party_pair(client: httpx.Client) -> None:
    create(client, name="desk")
    info = refused(client.post("/rooms", json={"name": "desk"}), 400, "invalid-request-error")
    assert info == "a room named desk already exists"  # U1
    create(client, name="Desk")  # U7: names are case-sensitive


@pytest.mark.parametrize(("body", "named"), [
    ({"name": "has space"}, "name"),
    ({"name": "x" * 129}, "128"),
    ({"privacy": "org"}, "privacy"),
    ({"owner": "me"}, "owner"),
    ({"properties": {"no_such_thing": True}}, "no_such_thing"),
    ({"properties": {"enable_chat": "yes"}}, "enable_chat"),
    ({"properties": {"max_participants": 0}}, "max_participants"),
    ({"properties": {"max_participants": 201}}, "max_participants"),
    ({"properties": {"exp": "soon"}}, "exp"),
    ({"properties": {"lang": "xx"}}, "lang"),
    ({"properties": {"geo": "mars-1"}}, "geo"),
    ({"properties": {"recordings_template": "{room_name}.mp4"}}, "recordings_template"),
    ({"properties": {"permissions": {"canSend": ["smell"]}}}, "permissions"),
    ({"properties": []}, "properties"),
])
def test_invalid_bodies_are_400s_that_name_the_key(client: httpx.Client, body: dict[str, Any],
                                                    named: str) -> None:
    assert named in refused(client.post("/rooms", json=body), 400, "invalid-request-error")


def test_a_body_that_is_not_json_is_a_json_parsing_error(client: httpx.Client) -> None:
    refused(client.post("/rooms", content=b"{nope"), 400, "json-parsing-error")
    refused(client.post("/rooms", content=b"\xff\xfe"), 400, "json-parsing-error")
    refused(client.post("/rooms", content=b"[" * 100_000), 400, "json-parsing-error")
    # Python's json takes these; a real parser does not, and the store choked on them (500)
    for raw in (b'{"name": "a", "properties": {"sfu_switchover": Infinity}}',
                b'{"name": "a", "properties": {"sfu_switchover": NaN}}',
                b'{"name": "a", "properties": {"meeting_join_hook": "https://x/\\ud800"}}'):
        refused(client.post("/rooms", content=raw), 400, "json-parsing-error")
    assert client.get("/rooms").json()["total_count"] == 0


def test_the_128_character_name_and_every_documented_shape_are_taken(
        client: httpx.Client) -> None:
    room = create(client, name="n" * 128, properties={
        "permissions": {"hasPresence": False, "canSend": ["audio"], "canAdmin": True},
        "recordings_bucket": {"bucket_name": "b", "bucket_region": "us-west-2",
                              "assume_role_arn": "arn:aws:iam::1:role/r",
                              "allow_api_access": True},
        "streaming_endpoints": [{"name": "yt", "type": "rtmp",
                                 "rtmp_config": {"url": "rtmps://x/live"}}],
        "sfu_switchover": 2, "geo": "eu-west-2", "autojoin": True})
    assert room["config"]["sfu_switchover"] == 2 and room["config"]["autojoin"] is True


# -- get, update, delete ---------------------------------------------------------------

def test_an_unknown_room_is_a_404_not_found_on_every_route(client: httpx.Client) -> None:
    for response in (client.get("/rooms/ghost"), client.post("/rooms/ghost", json={}),
                     client.delete("/rooms/ghost")):
        info = refused(response, 404, "not-found")  # U2, U13
        assert "ghost" in info
    assert "deleted" not in client.delete("/rooms/ghost").json()


def test_update_merges_keeps_privacy_and_a_null_resets(client: httpx.Client) -> None:
    create(client, name="desk", privacy="private",
           properties={"enable_chat": True, "max_participants": 12})
    response = client.post("/rooms/desk", json={"properties": {"enable_chat": None,
                                                               "lang": "fr"}})
    assert response.status_code == 200
    assert (response.json()["privacy"], response.json()["config"]) == (
        "private", {"max_participants": 12, "lang": "fr"})  # U3 merge, U4 null
    assert client.get("/rooms/desk").json()["config"] == response.json()["config"]


def test_update_in_replace_mode_takes_every_property_back(client: httpx.Client,
                                                          sandbox: Sandbox) -> None:
    create(client, name="desk", privacy="private", properties={"enable_chat": True})
    set_update_mode(sandbox, "daily", "replace")
    room = client.post("/rooms/desk", json={"properties": {"lang": "fr"}}).json()
    assert (room["privacy"], room["config"]) == ("public", {"lang": "fr"})  # U3 replace


def test_a_name_in_an_update_body_is_refused(client: httpx.Client) -> None:
    create(client, name="desk")
    info = refused(client.post("/rooms/desk", json={"name": "other"}), 400,
                   "invalid-request-error")
    assert info == "name cannot be changed"  # U14
    assert client.get("/rooms/other").status_code == 404


def test_delete_answers_deleted_and_frees_the_name_at_once(client: httpx.Client) -> None:
    first = create(client, name="desk")
    assert client.delete("/rooms/desk").json() == {"deleted": True, "name": "desk"}
    assert client.get("/rooms/desk").status_code == 404
    assert create(client, name="desk")["id"] != first["id"]


# -- the list ---------------------------------------------------------------------------

def _names(body: dict[str, Any]) -> list[str]:
    return [room["name"] for room in body["data"]]


def test_the_list_is_newest_first_and_walks_with_cursors(client: httpx.Client,
                                                         sandbox: Sandbox) -> None:
    for index in range(5):
        create(client, name=f"r{index}")
        sandbox.clock.advance(1)  # created_at has whole seconds
    first = client.get("/rooms", params={"limit": 2}).json()
    assert (first["total_count"], _names(first)) == (5, ["r4", "r3"])
    after = first["data"][-1]["id"]
    second = client.get("/rooms", params={"limit": 2, "starting_after": after}).json()
    assert _names(second) == ["r2", "r1"]
    back = client.get("/rooms", params={"limit": 2,
                                        "ending_before": second["data"][0]["id"]}).json()
    assert _names(back) == ["r4", "r3"]
    oldest = client.get("/rooms", params={"limit": 2, "ending_before": "OLDEST"}).json()
    assert _names(oldest) == ["r1", "r0"]
    assert _names(client.get("/rooms").json()) == ["r4", "r3", "r2", "r1", "r0"]


def _walk(client: httpx.Client) -> list[str]:
    names: list[str] = []
    params: dict[str, Any] = {"limit": 100}
    while page := client.get("/rooms", params=params).json()["data"]:
        names += [room["name"] for room in page]
        params = {"limit": 100, "starting_after": page[-1]["id"]}
    return names


def test_a_page_reads_its_own_rooms_not_the_whole_domain(
        client: httpx.Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page costs what it holds: with 600 rooms of one second, an expired one and two
    of a later second, a page and the pages around it decode a handful of stored rooms,
    not all 600, and agree with a walk of the whole list."""
    emulator.seed(sandbox, API_KEY, "rooms", [{"name": f"r{i:03}"} for i in range(600)])
    sandbox.clock.advance(1)
    create(client, name="gone", properties={"exp": int(sandbox.clock.now()) + 5})
    sandbox.clock.advance(10)
    create(client, name="new1")
    create(client, name="new2")
    everything = _walk(client)
    assert len(everything) == 602 and "gone" not in everything
    assert set(everything[:2]) == {"new1", "new2"}
    decoded = 0
    loads = json.loads

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return loads(*args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    first = client.get("/rooms", params={"limit": 5})
    after = client.get("/rooms", params={"limit": 5,
                                         "starting_after": first.json()["data"][-1]["id"]})
    before = client.get("/rooms", params={"limit": 4,
                                          "ending_before": after.json()["data"][0]["id"]})
    oldest = client.get("/rooms", params={"limit": 3, "ending_before": "OLDEST"})
    monkeypatch.undo()
    assert decoded < 40, decoded  # the old list decoded every room for each page
    assert first.json()["total_count"] == 602
    assert _names(first.json()) + _names(after.json()) == everything[:10]
    assert _names(before.json()) == everything[1:5]  # across the two seconds
    assert _names(oldest.json()) == everything[-3:]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "ten"},
                                    {"starting_after": "nope"}, {"ending_before": "nope"},
                                    {"starting_after": "a", "ending_before": "b"}])
def test_bad_list_parameters_are_400s(client: httpx.Client, params: dict[str, Any]) -> None:
    refused(client.get("/rooms", params=params), 400, "invalid-request-error")  # U12


# -- expiry (U9, U16) ----------------------------------------------------------------------

def test_an_expired_room_is_hidden_gone_on_delete_and_its_name_free(
        client: httpx.Client, sandbox: Sandbox) -> None:
    exp = int(time.time()) + 60
    old = create(client, name="brief", properties={"exp": exp})
    create(client, name="stays")
    sandbox.clock.advance(120)
    listing = client.get("/rooms").json()
    assert (listing["total_count"], _names(listing)) == (1, ["stays"])
    refused(client.get("/rooms/brief"), 404, "not-found")
    refused(client.post("/rooms/brief", json={}), 404, "not-found")
    assert create(client, name="brief")["id"] != old["id"]


def test_deleting_an_expired_room_says_404_and_deleted(client: httpx.Client,
                                                       sandbox: Sandbox) -> None:
    create(client, name="brief", properties={"exp": int(time.time()) + 60})
    sandbox.clock.advance(120)
    response = client.delete("/rooms/brief")
    assert response.status_code == 404 and response.json()["deleted"] is True
    assert client.delete("/rooms/brief").json().get("deleted") is None  # purged


def test_a_past_exp_is_taken_and_hides_the_room_at_once(client: httpx.Client) -> None:
    create(client, name="late", properties={"exp": 1})
    assert client.get("/rooms/late").status_code == 404


# -- seed and faults -----------------------------------------------------------------------

def test_seeded_dashboard_rooms_and_legacy_keys(client: httpx.Client, sandbox: Sandbox) -> None:
    rooms = emulator.seed(sandbox, API_KEY, "rooms", [
        {"name": "lobby", "api_created": False, "properties": {"autojoin": True}}])
    assert rooms[0]["api_created"] is False
    assert client.get("/rooms/lobby").json()["config"] == {"autojoin": True}
    flat = emulator.seed(sandbox, API_KEY, "rooms", [{"name": "flat", "enable_chat": True,
                                                      "properties": {"lang": "de"}}])
    assert flat[0]["config"] == {"enable_chat": True, "lang": "de"}  # as stored, too
    with pytest.raises(ValueError, match="#0"):
        emulator.seed(sandbox, API_KEY, "rooms", [{"name": "bad name"}])
    with pytest.raises(ValueError, match="unique"):
        emulator.seed(sandbox, API_KEY, "rooms", [{"name": "a"}, {"name": "a"}])


def test_faults_answer_in_daily_shapes(client: httpx.Client, sandbox: Sandbox) -> None:
    set_faults(sandbox, "daily", {"burst_429": {"rate": 1, "retry_after": 7}})
    response = client.get("/rooms")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["error"] == "rate-limit-error"  # U8
    set_faults(sandbox, "daily", {"error_rate": 1, "error_statuses": [500]})
    response = client.get("/rooms")
    assert (response.status_code, response.json()["error"]) == (500, "server-error")


def test_unknown_paths_and_methods_answer_json(client: httpx.Client) -> None:
    assert client.get("/nowhere").json()["error"] == "not-found"
    assert client.put("/rooms/x", json={}).status_code == 405
