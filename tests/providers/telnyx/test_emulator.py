"""The Telnyx rooms emulator over real HTTP, against docs/providers/telnyx.md."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from reconcile.providers.telnyx import emulator
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

KEY = "KEYsandbox"
OTHER_KEY = "KEYother"
DAY = 86_400
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SETTINGS = ("unique_name", "max_participants", "enable_recording", "webhook_event_url",
            "webhook_event_failover_url", "webhook_timeout_secs")
MISSING_ROOM = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"

UNAUTHORIZED = {"errors": [{
    "code": "10009", "title": "Authentication failed",
    "detail": "Could not understand the provided credentials.",
    "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/10009"}}]}
LIST_UNAUTHORIZED = {"success": False, "message": "Authentication failed"}
NAME_TAKEN = {"errors": [{"code": "422", "title": "Unprocessable entity",
                          "detail": "unique_name has already been taken",
                          "source": {"pointer": "/unique_name"}}]}
LIST_ERROR = {"success": False, "message": "Error"}


SANDBOX_PROVIDERS = ("telnyx",)


def _client(server: SandboxServer, key: str | None = KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url("telnyx") + "/v2", headers=headers)


# Clients are shared too: building one (its SSL context) costs more than most tests.
@pytest.fixture(scope="module")
def _clients(module_server: SandboxServer) -> Iterator[dict[str | None, httpx.Client]]:
    clients = {key: _client(module_server, key) for key in (KEY, OTHER_KEY, None)}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def api(_clients: dict[str | None, httpx.Client], sandbox: Sandbox) -> httpx.Client:
    return _clients[KEY]


@pytest.fixture
def other(_clients: dict[str | None, httpx.Client], sandbox: Sandbox) -> httpx.Client:
    """A second account's client."""
    sandbox.register("telnyx", OTHER_KEY, OTHER_KEY)
    return _clients[OTHER_KEY]


@pytest.fixture
def anonymous(_clients: dict[str | None, httpx.Client], sandbox: Sandbox) -> httpx.Client:
    return _clients[None]


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/rooms", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def not_found(room_id: str) -> dict[str, Any]:
    # U4: the spec's bare video_Error, not wrapped in `errors`.
    return {"code": "404", "title": "Resource not found", "detail": f"Room {room_id} not found"}


def stored_names(sandbox: Sandbox, account: str = KEY) -> list[str | None]:
    return [r.name for r in sandbox.store.list("telnyx", account, "rooms")]


# -- create -------------------------------------------------------------------------------

def test_create_applies_the_documented_defaults(api: httpx.Client) -> None:
    response = api.post("/rooms", json={"unique_name": "standup"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    room = response.json()["data"]
    assert uuid.UUID(room["id"]).version == 4
    assert STAMP.fullmatch(room["created_at"]) and room["updated_at"] == room["created_at"]
    # Unset settings the spec types non-nullable are left out, not null; so is
    # active_session_id while no session runs.
    assert room == {
        "id": room["id"], "unique_name": "standup", "max_participants": 10,
        "enable_recording": False, "webhook_event_failover_url": "",
        "created_at": room["created_at"], "updated_at": room["created_at"],
        "record_type": "room", "sessions": [],
    }
    assert api.get(f"/rooms/{room['id']}").json() == {"data": room}


def test_create_keeps_every_setting(api: httpx.Client) -> None:
    body = {"unique_name": "All Hands", "max_participants": 50, "enable_recording": True,
            "webhook_event_url": "https://example.com/hook",
            "webhook_event_failover_url": "http://failover.example.com",
            "webhook_timeout_secs": 30}
    room = create(api, **body)
    assert {k: room[k] for k in SETTINGS} == body
    fetched = api.get(f"/rooms/{room['id']}").json()["data"]
    assert {k: fetched[k] for k in SETTINGS} == body


@pytest.mark.parametrize("content", [b"", b"{}"])
def test_unnamed_rooms_are_allowed_and_never_collide(api: httpx.Client, sandbox: Sandbox,
                                                     content: bytes) -> None:
    ids = set()
    for _ in range(2):
        response = api.post("/rooms", content=content,
                            headers={"content-type": "application/json"})
        assert response.status_code == 201
        assert "unique_name" not in response.json()["data"]
        ids.add(response.json()["data"]["id"])
    assert len(ids) == 2 and stored_names(sandbox) == [None, None]


def test_create_ignores_unknown_and_read_only_fields(api: httpx.Client) -> None:
    room = create(api, unique_name="x", id=MISSING_ROOM, record_type="nope", colour="blue",
                  created_at="2000-01-01T00:00:00.000000Z", active_session_id=MISSING_ROOM)
    assert room["id"] != MISSING_ROOM and room["record_type"] == "room"
    assert "colour" not in room and room["created_at"] != "2000-01-01T00:00:00.000000Z"
    assert "active_session_id" not in room


@pytest.mark.parametrize("body", [
    {"max_participants": 2}, {"max_participants": 50}, {"webhook_timeout_secs": 0},
    {"webhook_timeout_secs": 30},
    {"webhook_event_url": "https://a.example"}, {"enable_recording": True},
])
def test_boundary_values_are_accepted(api: httpx.Client, body: dict[str, Any]) -> None:
    room = create(api, **body)
    assert {k: room[k] for k in body} == body


def test_a_null_timeout_leaves_it_out(api: httpx.Client) -> None:
    assert "webhook_timeout_secs" not in create(api, webhook_timeout_secs=None)


def test_an_empty_url_is_echoed_and_null_is_unset(api: httpx.Client) -> None:
    # U8: "" (the seed sample) is accepted and echoed as ""; null leaves the URL unset,
    # which for the failover URL is its spec default "".
    room = create(api, webhook_event_url="", webhook_event_failover_url="")
    assert (room["webhook_event_url"], room["webhook_event_failover_url"]) == ("", "")
    room = create(api, webhook_event_url=None, webhook_event_failover_url=None)
    assert "webhook_event_url" not in room and room["webhook_event_failover_url"] == ""


INVALID = [
    ("max_participants", 1), ("max_participants", 51), ("max_participants", "10"),
    ("max_participants", 10.5), ("max_participants", True), ("max_participants", None),
    ("enable_recording", "yes"), ("enable_recording", None), ("enable_recording", 1),
    ("webhook_timeout_secs", -1), ("webhook_timeout_secs", 31), ("webhook_timeout_secs", "5"),
    ("webhook_event_url", "example.com/hook"), ("webhook_event_url", "https://"),
    ("webhook_event_url", 5), ("webhook_event_failover_url", "failover.example.com"),
    ("unique_name", ""), ("unique_name", 7), ("unique_name", ["a"]),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_create_validation_errors(api: httpx.Client, sandbox: Sandbox, name: str,
                                  value: Any) -> None:
    response = api.post("/rooms", json={name: value})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == "422" and error["title"] == "Unprocessable entity"
    assert error["source"] == {"pointer": f"/{name}"} and name in error["detail"]
    assert stored_names(sandbox) == []


def test_every_invalid_field_is_reported(api: httpx.Client) -> None:
    response = api.post("/rooms", json={"max_participants": 1, "webhook_timeout_secs": 99,
                                        "unique_name": "fine"})
    assert response.status_code == 422
    assert [e["source"]["pointer"] for e in response.json()["errors"]] == [
        "/max_participants", "/webhook_timeout_secs"]


@pytest.mark.parametrize("content", [b"[1, 2]", b'"room"', b"{not json", b"null"])
def test_a_body_that_is_not_an_object_is_rejected(api: httpx.Client, content: bytes) -> None:
    response = api.post("/rooms", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == {"pointer": "/"}


def test_timestamps_follow_the_virtual_clock(api: httpx.Client, sandbox: Sandbox) -> None:
    first = create(api, unique_name="a")
    sandbox.clock.advance(3 * DAY)
    second = create(api, unique_name="b")
    assert second["created_at"][:10] > first["created_at"][:10]


# -- unique names ---------------------------------------------------------------------------

def test_duplicate_name_on_create(api: httpx.Client, sandbox: Sandbox) -> None:
    create(api, unique_name="standup")
    response = api.post("/rooms", json={"unique_name": "standup", "max_participants": 5})
    assert response.status_code == 422 and response.json() == NAME_TAKEN
    assert stored_names(sandbox) == ["standup"]


def test_names_are_case_sensitive(api: httpx.Client) -> None:
    create(api, unique_name="standup")
    create(api, unique_name="Standup")


def test_concurrent_same_name_creates_succeed_exactly_once(server: SandboxServer,
                                                           sandbox: Sandbox) -> None:
    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url("telnyx") + "/v2",
                                     headers={"Authorization": f"Bearer {KEY}"}) as client:
            return await asyncio.gather(*(
                client.post("/rooms", json={"unique_name": "race"}) for _ in range(10)))

    responses = asyncio.run(race())
    assert sorted(r.status_code for r in responses) == [201] + [422] * 9
    assert all(r.json() == NAME_TAKEN for r in responses if r.status_code == 422)
    assert stored_names(sandbox) == ["race"]


def test_names_are_scoped_to_the_account(sandbox: Sandbox, api: httpx.Client,
                                         other: httpx.Client) -> None:
    mine = create(api, unique_name="standup")
    theirs = create(other, unique_name="standup")
    assert other.get("/rooms").json()["meta"]["total_results"] == 1
    for request in (other.get, other.delete):
        assert request(f"/rooms/{mine['id']}").status_code == 404
    assert other.patch(f"/rooms/{mine['id']}", json={}).status_code == 404
    assert theirs["id"] != mine["id"]
    assert stored_names(sandbox, KEY) == stored_names(sandbox, OTHER_KEY) == ["standup"]


# -- get --------------------------------------------------------------------------------------

@pytest.mark.parametrize("room_id", [MISSING_ROOM, "not-a-uuid", "12345"])
def test_get_unknown_or_malformed_id_is_404(api: httpx.Client, room_id: str) -> None:
    response = api.get(f"/rooms/{room_id}")
    assert response.status_code == 404 and response.json() == not_found(room_id)


def test_get_accepts_an_upper_case_uuid(api: httpx.Client) -> None:
    room = create(api)
    assert api.get(f"/rooms/{room['id'].upper()}").json()["data"]["id"] == room["id"]


# -- patch ------------------------------------------------------------------------------------

def test_patch_is_a_partial_merge(api: httpx.Client, sandbox: Sandbox) -> None:
    room = create(api, unique_name="standup", enable_recording=True, webhook_timeout_secs=9,
                  webhook_event_url="https://example.com")
    sandbox.clock.advance(2.5)
    response = api.patch(f"/rooms/{room['id']}", json={"max_participants": 20})
    assert response.status_code == 200
    patched = response.json()["data"]
    # U10: omitted fields keep their values, not the spec's defaults.
    assert patched == {**room, "max_participants": 20, "updated_at": patched["updated_at"]}
    assert STAMP.fullmatch(patched["updated_at"]) and patched["updated_at"] > room["updated_at"]
    assert api.get(f"/rooms/{room['id']}").json()["data"] == patched


def test_empty_patch_only_touches_updated_at(api: httpx.Client, sandbox: Sandbox) -> None:
    room = create(api, unique_name="standup")
    sandbox.clock.advance(1)
    patched = api.patch(f"/rooms/{room['id']}", json={}).json()["data"]
    assert patched == {**room, "updated_at": patched["updated_at"]}
    assert patched["updated_at"] > room["updated_at"]


def test_patch_can_reset_nullable_settings(api: httpx.Client) -> None:
    room = create(api, webhook_event_url="https://a.example", webhook_timeout_secs=5,
                  webhook_event_failover_url="https://b.example")
    patched = api.patch(f"/rooms/{room['id']}", json={
        "webhook_event_url": "", "webhook_timeout_secs": None,
        "webhook_event_failover_url": None}).json()["data"]
    assert patched["webhook_event_url"] == "" and "webhook_timeout_secs" not in patched
    assert patched["webhook_event_failover_url"] == ""


def test_rename_in_place_keeps_the_id_and_frees_the_old_name(api: httpx.Client,
                                                             sandbox: Sandbox) -> None:
    room = create(api, unique_name="old")
    renamed = api.patch(f"/rooms/{room['id']}", json={"unique_name": "new"}).json()["data"]
    assert renamed["id"] == room["id"] and renamed["unique_name"] == "new"
    assert [r["id"] for r in api.get("/rooms", params={"filter[unique_name]": "new"})
            .json()["data"]] == [room["id"]]
    assert api.get("/rooms", params={"filter[unique_name]": "old"}).json()["data"] == []
    create(api, unique_name="old")
    assert sorted(n or "" for n in stored_names(sandbox)) == ["new", "old"]


def test_rename_to_its_own_name_is_fine(api: httpx.Client) -> None:
    room = create(api, unique_name="same")
    response = api.patch(f"/rooms/{room['id']}", json={"unique_name": "same"})
    assert response.status_code == 200


def test_rename_onto_a_taken_name_is_refused(api: httpx.Client) -> None:
    create(api, unique_name="taken")
    room = create(api, unique_name="mine")
    response = api.patch(f"/rooms/{room['id']}",
                         json={"unique_name": "taken", "max_participants": 3})
    assert response.status_code == 422 and response.json() == NAME_TAKEN
    assert api.get(f"/rooms/{room['id']}").json()["data"] == room


def test_patch_null_name_makes_the_room_unnamed(api: httpx.Client) -> None:
    room = create(api, unique_name="named")
    assert "unique_name" not in api.patch(f"/rooms/{room['id']}",
                                          json={"unique_name": None}).json()["data"]
    create(api, unique_name="named")


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_patch_validation_errors_change_nothing(api: httpx.Client, name: str,
                                                value: Any) -> None:
    room = create(api, unique_name="standup")
    response = api.patch(f"/rooms/{room['id']}", json={name: value, "enable_recording": True}
                         if name != "enable_recording" else {name: value})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == "422" and error["source"] == {"pointer": f"/{name}"}
    assert api.get(f"/rooms/{room['id']}").json()["data"] == room


@pytest.mark.parametrize("room_id", [MISSING_ROOM, "nope"])
def test_patch_unknown_room_is_404_even_with_a_bad_body(api: httpx.Client,
                                                        room_id: str) -> None:
    response = api.patch(f"/rooms/{room_id}", json={"max_participants": 0})
    assert response.status_code == 404 and response.json() == not_found(room_id)


# -- delete -----------------------------------------------------------------------------------

def test_delete_is_permanent_and_frees_the_name(api: httpx.Client, sandbox: Sandbox) -> None:
    room = create(api, unique_name="standup")
    record = sandbox.store.get("telnyx", KEY, "rooms", room["id"])
    assert record is not None
    sandbox.set_participants(record, add=["alice"])  # a live session is kicked, not kept
    response = api.delete(f"/rooms/{room['id']}")
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"/rooms/{room['id']}").status_code == 404
    assert api.delete(f"/rooms/{room['id']}").json() == not_found(room["id"])
    again = create(api, unique_name="standup")  # U9
    assert again["id"] != room["id"] and stored_names(sandbox) == ["standup"]


def test_delete_malformed_id_is_404(api: httpx.Client) -> None:
    response = api.delete("/rooms/xyz")
    assert response.status_code == 404 and response.json() == not_found("xyz")


# -- auth -------------------------------------------------------------------------------------

ROUTES = [("GET", "/rooms"), ("POST", "/rooms"), ("GET", f"/rooms/{MISSING_ROOM}"),
          ("PATCH", f"/rooms/{MISSING_ROOM}"), ("DELETE", f"/rooms/{MISSING_ROOM}")]
BAD_AUTH = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer"},
            {"Authorization": f"Basic {KEY}"}, {"Authorization": KEY}]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", BAD_AUTH)
def test_every_route_requires_the_bearer_key(anonymous: httpx.Client, sandbox: Sandbox,
                                             method: str, path: str,
                                             headers: dict[str, str]) -> None:
    response = anonymous.request(method, path, headers=headers, json={"unique_name": "x"})
    # U7: the list's declared 4XX body is the generic one; elsewhere the standard 10009.
    expected = LIST_UNAUTHORIZED if (method, path) == ("GET", "/rooms") else UNAUTHORIZED
    assert response.status_code == 401 and response.json() == expected
    assert stored_names(sandbox) == []


def test_scheme_is_case_insensitive(anonymous: httpx.Client) -> None:
    assert anonymous.get("/rooms", headers={"Authorization": f"bearer {KEY}"}).is_success


# -- list -------------------------------------------------------------------------------------

def seed(sandbox: Sandbox, count: int, account: str = KEY) -> list[dict[str, Any]]:
    return emulator.seed(sandbox, account, "rooms",
                         [{"unique_name": f"room-{i:05d}"} for i in range(count)])


def test_list_defaults_to_twenty_per_page(api: httpx.Client, sandbox: Sandbox) -> None:
    rooms = seed(sandbox, 45)
    body = api.get("/rooms").json()
    assert body["meta"] == {"page_number": 1, "page_size": 20, "total_pages": 3,
                            "total_results": 45}
    assert body["data"] == rooms[:20]


def test_list_every_page_at_the_maximum_size(api: httpx.Client, sandbox: Sandbox) -> None:
    rooms = seed(sandbox, 620)
    seen: list[str] = []
    page = 1
    while True:  # the SDK's loop: next page until page_number >= total_pages
        body = api.get("/rooms", params={"page[number]": page, "page[size]": 250}).json()
        assert body["meta"] == {"page_number": page, "page_size": 250, "total_pages": 3,
                                "total_results": 620}
        seen += [room["id"] for room in body["data"]]
        if body["meta"]["page_number"] >= body["meta"]["total_pages"]:
            break
        page += 1
    assert seen == [room["id"] for room in rooms]
    assert len(body["data"]) == 120


def test_list_past_the_last_page_is_empty(api: httpx.Client, sandbox: Sandbox) -> None:
    seed(sandbox, 3)
    for number in ("2", "99999999999999999999999"):
        body = api.get("/rooms", params={"page[number]": number, "page[size]": "3"}).json()
        assert body["data"] == [] and body["meta"]["total_results"] == 3
        assert body["meta"]["total_pages"] == 1


def test_empty_account_lists_nothing(api: httpx.Client) -> None:
    assert api.get("/rooms").json() == {"data": [], "meta": {
        "page_number": 1, "page_size": 20, "total_pages": 0, "total_results": 0}}


def test_filter_by_unique_name_is_exact(api: httpx.Client) -> None:
    room = create(api, unique_name="standup")
    create(api, unique_name="standup-2")
    create(api)
    for wanted, expected in [("standup", [room["id"]]), ("stand", []), ("STANDUP", []),
                             ("", [])]:
        body = api.get("/rooms", params={"filter[unique_name]": wanted}).json()
        assert [r["id"] for r in body["data"]] == expected
        assert body["meta"]["total_results"] == len(expected)


def test_filter_by_dates(api: httpx.Client, sandbox: Sandbox) -> None:
    old = create(api, unique_name="old")
    sandbox.clock.advance(2 * DAY)
    new = create(api, unique_name="new")
    sandbox.clock.advance(2 * DAY)
    patched_day = api.patch(f"/rooms/{old['id']}",
                            json={"enable_recording": True}).json()["data"]["updated_at"][:10]
    old_day, new_day = old["created_at"][:10], new["created_at"][:10]

    def names(**params: str) -> list[str]:
        return [r["unique_name"] for r in api.get("/rooms", params=params).json()["data"]]

    assert names(**{"filter[date_created_at][eq]": old_day}) == ["old"]
    assert names(**{"filter[date_created_at][gte]": new_day}) == ["new"]
    assert names(**{"filter[date_created_at][lte]": new_day}) == ["old", "new"]
    assert names(**{"filter[date_created_at][gte]": old_day,
                    "filter[date_created_at][lte]": old_day}) == ["old"]
    assert names(**{"filter[date_updated_at][gte]": "2999-01-01"}) == []
    assert names(**{"filter[date_updated_at][eq]": new_day}) == ["new"]
    assert names(**{"filter[date_updated_at][lte]": new_day}) == ["new"]
    assert names(**{"filter[date_updated_at][gte]": patched_day}) == ["old"]
    assert names(**{"filter[unique_name]": "old", "filter[date_created_at][eq]": new_day}) == []


@pytest.mark.parametrize("params", [
    {"page[size]": "0"}, {"page[size]": "251"}, {"page[size]": "ten"}, {"page[size]": ""},
    {"page[number]": "0"}, {"page[number]": "-1"}, {"page[number]": "1.5"},
    {"filter[date_created_at][eq]": "2021-13-01"}, {"filter[date_created_at][eq]": "2021/01/01"},
    {"filter[date_updated_at][gte]": "2021-04-25T00:00:00Z"},
    {"filter[date_created_at][gt]": "2021-04-25"}, {"filter[date_created_at]": "2021-04-25"},
    {"include_sessions": "maybe"},
])
def test_invalid_list_parameters_are_400(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/rooms", params=params)
    assert response.status_code == 400 and response.json() == LIST_ERROR


def test_unknown_list_parameters_are_ignored(api: httpx.Client) -> None:
    create(api)
    response = api.get("/rooms", params={"sort": "name", "filter[status]": "x"})
    assert response.status_code == 200 and response.json()["meta"]["total_results"] == 1


# -- sessions ---------------------------------------------------------------------------------

def test_live_session_is_rendered_from_the_sandbox(api: httpx.Client,
                                                   sandbox: Sandbox) -> None:
    room = create(api, unique_name="standup")
    record = sandbox.store.get("telnyx", KEY, "rooms", room["id"])
    assert record is not None
    record = sandbox.set_participants(record, add=["alice", "bob"])
    session_id = record.data["_session_id"]
    plain = api.get(f"/rooms/{room['id']}").json()["data"]
    assert plain["active_session_id"] == session_id and plain["sessions"] == []
    assert not any(key.startswith("_") for key in plain)

    full = api.get(f"/rooms/{room['id']}", params={"include_sessions": "true"}).json()["data"]
    [session] = full["sessions"]
    started = session["created_at"]
    assert STAMP.fullmatch(started)
    assert session == {"id": session_id, "room_id": room["id"], "active": True,
                       "created_at": started, "updated_at": started,
                       "participants": session["participants"],
                       "record_type": "room_session"}
    assert [p["context"] for p in session["participants"]] == ["alice", "bob"]
    for participant in session["participants"]:
        assert uuid.UUID(participant["id"]) and participant["session_id"] == session_id
        assert participant["record_type"] == "room_participant"
        assert participant["joined_at"] == started
    listed = api.get("/rooms", params={"include_sessions": "true"}).json()["data"]
    assert listed == [full]
    assert api.get("/rooms").json()["data"][0]["sessions"] == []

    # Ended sessions are not kept: the sandbox forgets them when the last one leaves.
    sandbox.set_participants(record, remove=["alice", "bob"])
    ended = api.get(f"/rooms/{room['id']}", params={"include_sessions": "true"}).json()["data"]
    assert "active_session_id" not in ended and ended["sessions"] == []


def test_out_of_band_changes_show_up(api: httpx.Client, sandbox: Sandbox) -> None:
    room = create(api, unique_name="standup")
    record = sandbox.store.get("telnyx", KEY, "rooms", room["id"])
    assert record is not None
    sandbox.store.update(record, {**record.data, "max_participants": 33})
    assert api.get(f"/rooms/{room['id']}").json()["data"]["max_participants"] == 33


# -- seed, fault bodies, account_of -----------------------------------------------------------

def test_seed_renders_rooms_like_create(api: httpx.Client, sandbox: Sandbox) -> None:
    [room] = emulator.seed(sandbox, KEY, "rooms", [{"unique_name": "s", "max_participants": 4,
                                                    "webhook_event_url": ""}])
    assert room["max_participants"] == 4 and room["webhook_event_url"] == ""
    assert api.get(f"/rooms/{room['id']}").json()["data"] == room


@pytest.mark.parametrize(("kind", "rooms", "message"), [
    ("conferences", [{}], "one room kind"),
    ("rooms", [{"max_participants": 1}], "max_participants"),
    ("rooms", [{"unique_name": "a"}, {"unique_name": "a"}], "repeated"),
    ("rooms", [{"unique_name": "taken"}], "already exists"),
])
def test_seed_rejects_what_create_rejects(sandbox: Sandbox, kind: str,
                                          rooms: list[dict[str, Any]], message: str) -> None:
    emulator.seed(sandbox, KEY, "rooms", [{"unique_name": "taken"}])
    with pytest.raises(ValueError, match=message):
        emulator.seed(sandbox, KEY, kind, rooms)
    assert stored_names(sandbox) == ["taken"]


def test_seeding_ten_thousand_rooms_stores_each_once(sandbox: Sandbox) -> None:
    # How fast is for bench/sandbox.py to say ("seeded ... in ... s"), not a timed assertion.
    rooms = seed(sandbox, 10_000)
    assert len(rooms) == 10_000 and sandbox.store.count("telnyx", KEY, "rooms") == 10_000
    assert len({room["id"] for room in rooms}) == 10_000


def test_restarted_sandbox_does_not_reuse_seeded_ids(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = Sandbox(db, seed=7)
    before = emulator.seed(first, KEY, "rooms", [{"unique_name": "a"}, {}])
    again = Sandbox(db, seed=7)  # same seed, same database: the rng replays the same ids
    after = emulator.seed(again, KEY, "rooms", [{"unique_name": "b"}])
    assert after[0]["id"] not in {room["id"] for room in before}
    first.close()
    again.close()


def test_fault_response_429_carries_retry_after_and_rate_limit_headers() -> None:
    response = emulator.fault_response(429, 7)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-ratelimit-reset"] == "7"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-limit"]) > 0
    assert json.loads(bytes(response.body)) == {"errors": [{
        "code": "10011", "title": "Too many requests",
        "detail": "You have exceeded the maximum number of allowed requests."}]}
    assert emulator.fault_response(429, None).headers["retry-after"] == "1"


@pytest.mark.parametrize(("retry_after", "header"), [(None, None), (3, "3")])
def test_fault_response_5xx(retry_after: int | None, header: str | None) -> None:
    response = emulator.fault_response(503, retry_after)
    assert response.status_code == 503 and response.headers.get("retry-after") == header
    assert json.loads(bytes(response.body))["errors"][0]["code"] == "10007"


def _request(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/v2/rooms", "headers": headers,
                    "query_string": b""})


def test_account_of_reads_the_key_without_checking_it() -> None:
    assert emulator.account_of(_request([(b"authorization", b"Bearer KEYwhatever")])) \
        == "KEYwhatever"
    assert emulator.account_of(_request([])) is None
    assert emulator.account_of(_request([(b"authorization", b"Basic abc")])) is None


def test_paths_it_does_not_serve_answer_json(api: httpx.Client) -> None:
    missing = api.post("/rooms/x/actions/generate_join_client_token")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "404"
    wrong_method = api.put("/rooms")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errors"][0]["title"] == "Method not allowed"
