"""The SignalWire emulator over real HTTP: every route, error path and reference choice."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from reconcile.providers.signalwire.emulator import account_of, fault_response, seed
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer
from reconcile.sandbox.store import DuplicateName

AUTH = ("a1b2c3d4-project", "PTsandbox")
URL = "https://signalwire.com/docs/apis/error-codes"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ROOM_DEFAULTS = {
    "description": None, "max_members": 20, "quality": "720p", "fps": 20, "join_from": None,
    "join_until": None, "remove_at": None, "remove_after_seconds_elapsed": None,
    "layout": "grid-responsive", "record_on_start": False, "tone_on_entry_and_exit": False,
    "room_join_video_off": False, "user_join_video_off": False, "enable_room_previews": False,
    "sync_audio_video": None, "meta": None, "prioritize_handraise": False}
COLOURS = {"primary": "#044EF4", "background": "#FFFFFF", "foreground": "#1D2127",
           "success": "#17BB58", "negative": "#F42C50"}
CONFERENCE_DEFAULTS = {
    "description": None, "join_from": None, "join_until": None, "quality": "720p",
    "layout": "grid-responsive", "size": "medium", "record_on_start": False,
    "tone_on_entry_and_exit": False, "user_join_video_off": False, "room_join_video_off": False,
    "enable_chat": True, "enable_room_previews": False, "meta": None,
    **{f"{t}_{p}": v for t in ("dark", "light") for p, v in COLOURS.items()}}


def err(code: str, attribute: str, message: str | None = None) -> dict[str, str]:
    entry = {"type": "validation_error", "code": code, "attribute": attribute, "url": URL}
    if message is not None:
        entry["message"] = message
    return entry


def codes(response: httpx.Response) -> list[tuple[str, str]]:
    """(attribute, code) of each 422 entry, after checking every entry's shape."""
    assert response.status_code == 422, response.text
    entries = response.json()["errors"]
    for entry in entries:
        assert set(entry) == {"type", "code", "message", "attribute", "url"}
        assert entry["type"] == "validation_error" and entry["url"] == URL and entry["message"]
    return [(e["attribute"], e["code"]) for e in entries]


SANDBOX_PROVIDERS = ("signalwire",)


def client(server: SandboxServer, space: str = "acme",
           auth: tuple[str, str] | None = AUTH) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url('signalwire')}/{space}/api/video", auth=auth)


@pytest.fixture
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    with client(server) as c:
        yield c


def make(api: httpx.Client, kind: str = "rooms", **body: Any) -> dict[str, Any]:
    response = api.post(f"/{kind}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# -- auth and transport ------------------------------------------------------------------

ROUTES = [("GET", "/rooms"), ("POST", "/rooms"), ("GET", "/rooms/x"), ("PUT", "/rooms/x"),
          ("DELETE", "/rooms/x"), ("GET", "/conferences"), ("POST", "/conferences"),
          ("GET", "/conferences/x"), ("PUT", "/conferences/x"), ("DELETE", "/conferences/x")]


@pytest.mark.parametrize("auth", [None, ("proj", "wrong"), ("", "")])
def test_every_route_needs_basic_auth(server: SandboxServer, auth: tuple[str, str] | None
                                      ) -> None:
    with client(server, auth=auth) as anonymous:
        for method, path in ROUTES:
            response = anonymous.request(method, path, json={"name": "r"})
            assert response.status_code == 401, (method, path)
            assert response.json() == {"error": "Unauthorized"}
            assert response.headers["content-type"] == "application/json"


def test_bearer_and_garbage_headers_are_unauthorized(api: httpx.Client) -> None:
    for header in ("Bearer PTsandbox", "Basic not-base64!", "Basic " + "bm9jb2xvbg=="):
        response = api.get("/rooms", headers={"Authorization": header}, auth=None)
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}


def test_registered_project_must_match_its_token(server: SandboxServer,
                                                 sandbox: Sandbox) -> None:
    sandbox.register("signalwire", "p-123", "PTsecret")
    with client(server, auth=("p-123", "PTsecret")) as ok:
        assert ok.get("/rooms").status_code == 200
    with client(server, auth=("p-123", "PTsandbox")) as wrong:
        assert wrong.get("/rooms").status_code == 401


def test_unknown_routes_and_methods_use_declared_bodies(api: httpx.Client) -> None:
    assert api.get("/rooms/x/y").json() == {"error": "Not Found"}
    assert api.get("/streams").status_code == 404
    response = api.patch("/rooms/x", json={})
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    response = api.post("/rooms/x", json={})
    assert response.status_code == 405


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"null", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400(api: httpx.Client, content: bytes) -> None:
    room = make(api, name="target")
    for method, path in (("POST", "/rooms"), ("PUT", f"/rooms/{room['id']}"),
                         ("POST", "/conferences")):
        response = api.request(method, path, content=content,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (method, path)
        assert response.json() == {"error": "Bad Request"}


def test_an_empty_body_is_an_empty_object(api: httpx.Client) -> None:
    assert codes(api.post("/rooms")) == [("name", "missing_required_parameter")]
    assert codes(api.post("/conferences")) == [("display_name", "missing_required_parameter")]


# -- rooms ---------------------------------------------------------------------------


def test_create_room_returns_200_with_every_default(api: httpx.Client,
                                                    sandbox: Sandbox) -> None:
    response = api.post("/rooms", json={"name": "standup"})
    assert response.status_code == 200  # U1
    room = response.json()
    assert UUID_RE.match(room.pop("id"))
    created, updated = room.pop("created_at"), room.pop("updated_at")
    assert STAMP_RE.match(created) and created == updated
    assert room == {"name": "standup", "display_name": "standup", **ROOM_DEFAULTS}
    assert "active_session" not in room


def test_create_room_stores_every_settable_field(api: httpx.Client) -> None:
    body = {"name": "All_Fields-1", "display_name": "All fields", "description": "d" * 3000,
            "max_members": 300, "quality": "1080p", "join_from": "2030-01-01",
            "join_until": "2030-01-02T10:30:00+02:00", "remove_at": "2030-01-03T00:00:00.5Z",
            "remove_after_seconds_elapsed": 200000, "layout": "10x10", "record_on_start": True,
            "enable_room_previews": True, "sync_audio_video": False,
            "meta": {"team": "core", "n": [1, 2]}, "fps": 30, "prioritize_handraise": True,
            "unknown": "ignored"}
    room = make(api, **body)
    assert room["join_from"] == "2030-01-01T00:00:00Z"  # a date means midnight UTC
    assert room["join_until"] == "2030-01-02T08:30:00Z"  # stored in UTC
    assert room["remove_at"] == "2030-01-03T00:00:00.500000Z"
    for field in ("display_name", "description", "max_members", "quality", "layout",
                  "remove_after_seconds_elapsed", "record_on_start", "enable_room_previews",
                  "sync_audio_video", "meta"):
        assert room[field] == body[field], field
    # Read-only fields keep their values (U12); unknown fields are dropped.
    assert room["fps"] == 20 and room["prioritize_handraise"] is False
    assert "unknown" not in room


def test_null_on_create_means_default(api: httpx.Client) -> None:
    room = make(api, name="nulls", display_name=None, max_members=None, layout=None)
    assert room["display_name"] == "nulls"
    assert room["max_members"] == 20 and room["layout"] == "grid-responsive"


@pytest.mark.parametrize(("body", "expected"), [
    ({}, [("name", "missing_required_parameter")]),
    ({"name": ""}, [("name", "missing_required_parameter")]),
    ({"name": "has space"}, [("name", "invalid_parameter")]),
    ({"name": "é"}, [("name", "invalid_parameter")]),
    ({"name": "trailing\n"}, [("name", "invalid_parameter")]),
    ({"name": "n" * 101}, [("name", "invalid_parameter")]),
    ({"name": 12}, [("name", "invalid_parameter")]),
    ({"name": "r", "display_name": "x" * 201}, [("display_name", "invalid_parameter")]),
    ({"name": "r", "display_name": 5}, [("display_name", "invalid_parameter")]),
    ({"name": "r", "description": "x" * 3001}, [("description", "invalid_parameter")]),
    ({"name": "r", "max_members": 0}, [("max_members", "invalid_parameter")]),
    ({"name": "r", "max_members": 301}, [("max_members", "invalid_parameter")]),
    ({"name": "r", "max_members": "20"}, [("max_members", "invalid_parameter")]),
    ({"name": "r", "max_members": True}, [("max_members", "invalid_parameter")]),
    ({"name": "r", "quality": "4k"}, [("quality", "invalid_parameter")]),
    ({"name": "r", "layout": "7x7"}, [("layout", "invalid_parameter")]),
    ({"name": "r", "remove_after_seconds_elapsed": 0},
     [("remove_after_seconds_elapsed", "invalid_parameter")]),
    ({"name": "r", "remove_after_seconds_elapsed": 200001},
     [("remove_after_seconds_elapsed", "invalid_parameter")]),
    ({"name": "r", "record_on_start": "yes"}, [("record_on_start", "invalid_parameter")]),
    ({"name": "r", "sync_audio_video": 1}, [("sync_audio_video", "invalid_parameter")]),
    ({"name": "r", "meta": {"k": "v" * 2000}}, [("meta", "invalid_parameter")]),
    ({"name": "r", "meta": ["list"]}, [("meta", "invalid_parameter")]),
    ({"name": "r", "join_from": "tomorrow"}, [("join_from", "invalid_parameter")]),
    ({"name": "r", "join_until": "2030-01-01T10:00:00"}, [("join_until", "invalid_parameter")]),
    ({"name": "r", "remove_at": 1767225600}, [("remove_at", "invalid_parameter")]),
    ({"name": "r", "join_from": "2030-01-02", "join_until": "2030-01-01T23:59:59Z"},
     [("join_until", "invalid_join_until_date")]),
])
def test_room_validation(api: httpx.Client, body: dict[str, Any],
                         expected: list[tuple[str, str]]) -> None:
    assert codes(api.post("/rooms", json=body)) == expected
    assert api.get("/rooms").json()["data"] == []


def test_room_validation_reports_every_failing_field(api: httpx.Client) -> None:
    response = api.post("/rooms", json={
        "max_members": 999, "quality": "8k", "layout": "x", "description": 3,
        "join_from": "2030-02-01", "join_until": "2030-01-01"})
    assert codes(response) == [
        ("name", "missing_required_parameter"), ("description", "invalid_parameter"),
        ("quality", "invalid_parameter"), ("layout", "invalid_parameter"),
        ("max_members", "invalid_parameter"), ("join_until", "invalid_join_until_date")]
    first = response.json()["errors"][0]
    assert first == err("missing_required_parameter", "name", "Name must be present")
    assert response.json()["errors"][-1]["message"] == (
        "Join Until date can't be in the past of Join From date")


def test_equal_join_window_is_accepted(api: httpx.Client) -> None:
    room = make(api, name="instant", join_from="2030-01-01", join_until="2030-01-01T00:00:00Z")
    assert room["join_from"] == room["join_until"]


def test_get_room_by_id_and_by_name(api: httpx.Client) -> None:
    room = make(api, name="lobby")
    assert api.get(f"/rooms/{room['id']}").json() == room
    assert api.get(f"/rooms/{room['id'].upper()}").json() == room
    assert api.get("/rooms/lobby").json() == room
    for missing in ("nobody", "00000000-0000-4000-8000-000000000000"):
        response = api.get(f"/rooms/{missing}")
        assert response.status_code == 404
        assert response.json() == {"error": "Not Found"}


def test_uuid_shaped_room_name_is_only_an_id(api: httpx.Client) -> None:
    name = "123e4567-e89b-42d3-a456-426614174000"
    room = make(api, name=name)  # the API accepts it; the reconciler rejects it (U5)
    assert api.get(f"/rooms/{name}").status_code == 404
    assert api.get(f"/rooms/{room['id']}").json()["name"] == name


def test_put_room_merges_only_the_fields_sent(api: httpx.Client, sandbox: Sandbox) -> None:
    room = make(api, name="merge", description="before", max_members=7, meta={"a": 1},
                join_from="2030-01-01")
    sandbox.clock.advance(90)
    response = api.put(f"/rooms/{room['id']}", json={
        "quality": "1080p", "description": None, "name": "renamed", "fps": 30,
        "colour": "ignored", "join_until": "2030-02-01"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "merge"  # name is immutable and ignored (U13)
    assert updated["quality"] == "1080p" and updated["description"] is None
    assert updated["join_until"] == "2030-02-01T00:00:00Z"
    assert updated["max_members"] == 7 and updated["meta"] == {"a": 1}  # U4: merge
    assert updated["fps"] == 20 and "colour" not in updated
    assert updated["created_at"] == room["created_at"]
    assert updated["updated_at"] > room["updated_at"]
    assert api.get("/rooms/merge").json() == updated
    assert api.get("/rooms/renamed").status_code == 404


def test_put_room_validation_leaves_the_room_unchanged(api: httpx.Client) -> None:
    room = make(api, name="strict", join_from="2030-06-01")
    path = f"/rooms/{room['id']}"
    assert codes(api.put(path, json={"max_members": None, "quality": "x"})) == [
        ("quality", "invalid_parameter"), ("max_members", "invalid_parameter")]
    # The join window is checked against the stored join_from.
    assert codes(api.put(path, json={"join_until": "2030-05-31"})) == [
        ("join_until", "invalid_join_until_date")]
    assert api.get(path).json() == room
    assert api.put(path, json={}).json()["max_members"] == 20


def test_put_and_delete_rooms_only_by_id(api: httpx.Client) -> None:
    make(api, name="byname")
    for method in ("PUT", "DELETE"):
        for key in ("byname", "00000000-0000-4000-8000-000000000000"):
            response = api.request(method, f"/rooms/{key}", json={})
            assert response.status_code == 404
            assert response.json() == {"error": "Not Found"}


def test_delete_room_is_204_and_frees_the_name(api: httpx.Client) -> None:
    room = make(api, name="gone")
    response = api.delete(f"/rooms/{room['id']}")
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"/rooms/{room['id']}").status_code == 404
    assert api.get("/rooms/gone").status_code == 404
    assert api.delete(f"/rooms/{room['id']}").status_code == 404
    assert make(api, name="gone")["id"] != room["id"]


def test_duplicate_room_name_is_422_not_unique(api: httpx.Client) -> None:
    make(api, name="dup")
    response = api.post("/rooms", json={"name": "dup"})
    assert response.status_code == 422
    assert response.json() == {"errors": [err(
        "not_unique_within_project", "name", "Value must be unique within project.")]}
    make(api, name="DUP")  # names are case-sensitive


# -- conferences ---------------------------------------------------------------------


def test_create_conference_defaults_and_generated_name(api: httpx.Client) -> None:
    conference = make(api, "conferences", display_name="All hands")
    assert UUID_RE.match(conference.pop("id"))
    assert re.fullmatch(r"[0-9a-f]{12}", conference.pop("name"))  # U6
    assert STAMP_RE.match(conference.pop("created_at"))
    conference.pop("updated_at")
    assert conference == {"display_name": "All hands", **CONFERENCE_DEFAULTS}


def test_create_conference_fields_meta_and_update_only_flags(api: httpx.Client) -> None:
    conference = make(api, "conferences", name="town-hall", display_name="Town hall",
                      description="monthly", size="large", enable_chat=False,
                      record_on_start=True, enable_room_previews=True, layout="5up",
                      quality="1080p", join_from="2030-01-01", dark_primary="#abcdef",
                      light_negative="#000000", meta={"ignored": True},
                      tone_on_entry_and_exit=True, room_join_video_off=True)
    assert conference["name"] == "town-hall"
    assert conference["size"] == "large" and conference["enable_chat"] is False
    assert conference["dark_primary"] == "#abcdef" and conference["light_negative"] == "#000000"
    assert conference["join_from"] == "2030-01-01T00:00:00Z"
    assert conference["meta"] is None  # U10
    # Not accepted on create: ignored like any unknown field.
    assert conference["tone_on_entry_and_exit"] is False
    assert conference["room_join_video_off"] is False


@pytest.mark.parametrize(("body", "expected"), [
    ({}, [("display_name", "missing_required_parameter")]),
    ({"display_name": ""}, [("display_name", "missing_required_parameter")]),
    ({"display_name": None, "name": "ok"}, [("display_name", "missing_required_parameter")]),
    ({"display_name": "x" * 201}, [("display_name", "invalid_parameter")]),
    ({"display_name": "d", "name": "bad name"}, [("name", "invalid_parameter")]),
    ({"display_name": "d", "size": "huge"}, [("size", "invalid_parameter")]),
    ({"display_name": "d", "enable_chat": "no"}, [("enable_chat", "invalid_parameter")]),
    ({"display_name": "d", "dark_primary": "blue"}, [("dark_primary", "invalid_parameter")]),
    ({"display_name": "d", "dark_success": "#FFFFFF\n"}, [("dark_success", "invalid_parameter")]),
    ({"display_name": "d", "light_background": "#FFF"},
     [("light_background", "invalid_parameter")]),
    ({"display_name": "d", "description": "x" * 3001}, [("description", "invalid_parameter")]),
    ({"display_name": "d", "join_from": "2030-01-02", "join_until": "2030-01-01"},
     [("join_until", "invalid_join_until_date")]),
    ({"name": "a b", "size": "xl", "light_primary": "#12345"},
     [("name", "invalid_parameter"), ("display_name", "missing_required_parameter"),
      ("size", "invalid_parameter"), ("light_primary", "invalid_parameter")]),
])
def test_conference_validation(api: httpx.Client, body: dict[str, Any],
                               expected: list[tuple[str, str]]) -> None:
    assert codes(api.post("/conferences", json=body)) == expected
    assert api.get("/conferences").json()["data"] == []


def test_put_conference_requires_display_name_and_merges(api: httpx.Client,
                                                         sandbox: Sandbox) -> None:
    conference = make(api, "conferences", name="conf", display_name="Conf", size="small")
    path = f"/conferences/{conference['id']}"
    assert codes(api.put(path, json={"size": "large"})) == [
        ("display_name", "missing_required_parameter")]  # U11
    assert codes(api.put(path, json={"display_name": None})) == [
        ("display_name", "missing_required_parameter")]
    sandbox.clock.advance(5)
    updated = api.put(path, json={
        "display_name": "Renamed", "name": "ignored", "tone_on_entry_and_exit": True,
        "user_join_video_off": True, "meta": {"x": 1}, "dark_primary": None}).json()
    assert updated["name"] == "conf" and updated["display_name"] == "Renamed"
    assert updated["size"] == "small"  # merged, not reset to the default (U4)
    assert updated["tone_on_entry_and_exit"] is True and updated["user_join_video_off"] is True
    assert updated["meta"] is None and updated["dark_primary"] is None
    assert updated["updated_at"] > conference["updated_at"]
    assert codes(api.put(path, json={"display_name": "x", "enable_chat": None})) == [
        ("enable_chat", "invalid_parameter")]
    assert api.get(path).json() == updated


def test_conferences_have_no_name_route(api: httpx.Client) -> None:
    conference = make(api, "conferences", name="named", display_name="N")
    assert api.get("/conferences/named").status_code == 404
    assert api.get("/conferences/named").json() == {"error": "Not Found"}
    assert api.get(f"/conferences/{conference['id']}").json() == conference
    assert api.put("/conferences/named", json={"display_name": "x"}).status_code == 404
    assert api.delete("/conferences/named").status_code == 404
    assert api.delete(f"/conferences/{conference['id']}").status_code == 204
    assert api.get(f"/conferences/{conference['id']}").status_code == 404
    assert api.put(f"/conferences/{conference['id']}",
                   json={"display_name": "x"}).status_code == 404


def test_name_indexes_are_per_resource_and_per_space(server: SandboxServer,
                                                     api: httpx.Client) -> None:
    room = make(api, name="shared")
    make(api, "conferences", name="shared", display_name="S")  # U3: separate indexes
    assert codes(api.post("/conferences", json={"name": "shared", "display_name": "x"})) == [
        ("name", "not_unique_within_project")]
    with client(server, space="other") as other:
        assert other.get("/rooms/shared").status_code == 404
        assert other.get(f"/rooms/{room['id']}").status_code == 404
        assert other.delete(f"/rooms/{room['id']}").status_code == 404
        assert other.get("/rooms").json()["data"] == []
        make(other, name="shared")
    assert api.get("/rooms/shared").json() == room


@pytest.mark.parametrize(("kind", "body"), [
    ("rooms", {"name": "race"}), ("conferences", {"name": "race", "display_name": "Race"})])
def test_concurrent_same_name_creates_succeed_once(server: SandboxServer, sandbox: Sandbox,
                                                   kind: str, body: dict[str, Any]) -> None:
    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{server.url('signalwire')}/acme/api/video",
                                     auth=AUTH) as c:
            return await asyncio.gather(*(c.post(f"/{kind}", json=body) for _ in range(10)))

    responses = asyncio.run(race())
    assert sorted(r.status_code for r in responses) == [200] + [422] * 9
    for response in responses:
        if response.status_code == 422:
            assert codes(response) == [("name", "not_unique_within_project")]
    assert sandbox.store.count("signalwire", "acme", kind) == 1


# -- lists ---------------------------------------------------------------------------


def follow(api: httpx.Client, url: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Every page from `url` on, the way the SDK does: until `links.next` is absent."""
    rooms: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    next_url: str | None = url
    while next_url:
        response = api.get(next_url)
        assert response.status_code == 200, response.text
        rooms += response.json()["data"]
        links.append(response.json()["links"])
        next_url = links[-1].get("next")
    return rooms, links


def test_list_pages_at_the_maximum_page_size(api: httpx.Client, sandbox: Sandbox,
                                             server: SandboxServer) -> None:
    seed(sandbox, "acme", "rooms", [{"name": f"room-{i:04}"} for i in range(2500)])
    rooms, links = follow(api, "/rooms?page_size=1000")
    assert [r["name"] for r in rooms] == [f"room-{i:04}" for i in range(2500)]
    assert len(links) == 3 and "next" not in links[-1]
    base = f"{server.url('signalwire')}/acme/api/video/rooms"
    assert links[0]["self"] == f"{base}?page_number=0&page_size=1000"
    assert all(link["first"] == f"{base}?page_size=1000" for link in links)
    assert "prev" not in links[0]
    token = re.fullmatch(rf"{re.escape(base)}\?page_number=1&page_size=1000&page_token=PA"
                         r"([0-9a-f-]{36})", links[0]["next"])
    assert token and UUID_RE.match(token.group(1))
    assert links[1]["self"] == links[0]["next"]
    assert links[1]["prev"] == links[0]["self"]
    assert links[2]["prev"] == links[1]["self"]
    # `prev` and `self` lead back to the same pages.
    assert api.get(links[2]["prev"]).json()["data"] == rooms[1000:2000]
    assert api.get(links[1]["self"]).json()["data"] == rooms[1000:2000]


def test_list_default_page_size_and_exact_fit(api: httpx.Client, sandbox: Sandbox) -> None:
    seed(sandbox, "acme", "conferences", [{"display_name": f"c{i}"} for i in range(100)])
    page = api.get("/conferences").json()
    assert len(page["data"]) == 50 and "page_size=50" in page["links"]["self"]
    second = api.get(page["links"]["next"]).json()
    assert len(second["data"]) == 50 and "next" not in second["links"]  # no empty last page
    assert api.get("/rooms").json() == {"links": {
        "self": str(api.base_url).rstrip("/") + "/rooms?page_number=0&page_size=50",
        "first": str(api.base_url).rstrip("/") + "/rooms?page_size=50"}, "data": []}


def test_list_skips_deleted_rooms_between_pages(api: httpx.Client, sandbox: Sandbox) -> None:
    rooms = seed(sandbox, "acme", "rooms", [{"name": f"r{i}"} for i in range(6)])
    first = api.get("/rooms", params={"page_size": 2}).json()
    api.delete(f"/rooms/{rooms[2]['id']}")
    rest, _ = follow(api, first["links"]["next"])
    assert [r["name"] for r in rest] == ["r3", "r4", "r5"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"page_size": 0}, [("page_size", "invalid_parameter")]),
    ({"page_size": 1001}, [("page_size", "invalid_parameter")]),
    ({"page_size": "ten"}, [("page_size", "invalid_parameter")]),
    ({"page_number": -1}, [("page_number", "invalid_parameter")]),
    ({"page_number": 1}, [("page_token", "page_token_required")]),
    ({"page_number": 1, "page_token": "PAnope"}, [("page_token", "page_token_is_invalid")]),
    ({"page_token": "PA00000000-0000-4000-8000-000000000000"},
     [("page_token", "page_token_is_invalid")]),
    ({"include_active_session": "maybe"}, [("include_active_session", "invalid_parameter")]),
    ({"starts_after": "soon", "ends_before": "2030-13-01"},
     [("starts_after", "invalid_parameter"), ("ends_before", "invalid_parameter")]),
    ({"starts_after": "1700000000"}, [("starts_after", "invalid_parameter")]),
    ({"page_size": 0, "page_number": 2}, [("page_size", "invalid_parameter"),
                                          ("page_token", "page_token_required")]),
])
def test_list_query_validation(api: httpx.Client, params: dict[str, Any],
                               expected: list[tuple[str, str]]) -> None:
    assert codes(api.get("/rooms", params=params)) == expected


def test_page_tokens_belong_to_their_space_and_resource(server: SandboxServer,
                                                        api: httpx.Client,
                                                        sandbox: Sandbox) -> None:
    seed(sandbox, "acme", "rooms", [{"name": f"r{i}"} for i in range(3)])
    next_url = api.get("/rooms", params={"page_size": 1}).json()["links"]["next"]
    token = httpx.URL(next_url).params["page_token"]
    params = {"page_number": 1, "page_token": token}
    assert codes(api.get("/conferences", params=params)) == [
        ("page_token", "page_token_is_invalid")]
    with client(server, space="other") as other:
        assert codes(other.get("/rooms", params=params)) == [
            ("page_token", "page_token_is_invalid")]
    assert api.get("/rooms", params=params).json()["data"][0]["name"] == "r1"


def test_page_tokens_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = Sandbox(db, seed=7)
    seed(first, "acme", "rooms", [{"name": f"r{i}"} for i in range(5)])
    with SandboxServer(first, providers=("signalwire",)) as server, client(server) as api:
        next_url = api.get("/rooms", params={"page_size": 2}).json()["links"]["next"]
    first.close()
    second = Sandbox(db, seed=7)
    try:
        with SandboxServer(second, providers=("signalwire",)) as server, \
                client(server) as api:
            query = httpx.URL(next_url).query.decode()
            rooms, _ = follow(api, f"/rooms?{query}")
    finally:
        second.close()
    assert [r["name"] for r in rooms] == ["r2", "r3", "r4"]


def test_list_filters_by_join_window(api: httpx.Client, sandbox: Sandbox) -> None:
    seed(sandbox, "acme", "rooms", [
        {"name": "none"},
        {"name": "jan", "join_from": "2030-01-01", "join_until": "2030-01-31"},
        {"name": "feb", "join_from": "2030-02-01T00:00:00.250Z",
         "join_until": "2030-02-28T12:00:00+01:00"},
        {"name": "mar", "join_from": "2030-03-01", "join_until": "2030-03-31"}])

    def names(**params: str) -> list[str]:
        response = api.get("/rooms", params=params)
        assert response.status_code == 200, response.text
        return [r["name"] for r in response.json()["data"]]

    assert names() == ["none", "jan", "feb", "mar"]  # no name filter, no implicit filter
    assert names(starts_after="2030-02-01") == ["feb", "mar"]
    assert names(starts_after="2030-02-01T00:00:00.5Z") == ["mar"]
    assert names(ends_before="2030-02-28T11:00:00Z") == ["jan", "feb"]
    assert names(ends_before="2030-02-28T10:59:59Z") == ["jan"]
    assert names(starts_after="2030-01-15", ends_before="2030-03-01") == ["feb"]
    assert names(name="jan") == ["none", "jan", "feb", "mar"]  # no filter by name
    # Filters ride along on every link, so following `next` keeps them.
    page = api.get("/rooms", params={"starts_after": "2030-01-01", "page_size": 1}).json()
    assert all("starts_after=2030-01-01" in link for link in page["links"].values())
    rooms, _ = follow(api, page["links"]["next"])
    assert [r["name"] for r in rooms] == ["feb", "mar"]


def test_conference_filters_accept_unix_timestamps(api: httpx.Client,
                                                   sandbox: Sandbox) -> None:
    seed(sandbox, "acme", "conferences", [
        {"display_name": "a", "name": "early", "join_from": "2023-11-14T22:13:19Z",
         "join_until": "2023-11-14T22:13:19Z"},
        {"display_name": "b", "name": "late", "join_from": "2023-11-14T22:13:21Z",
         "join_until": "2023-11-14T22:13:21Z"}])
    data = api.get("/conferences", params={"starts_after": "1700000000"}).json()["data"]
    assert [c["name"] for c in data] == ["late"]
    data = api.get("/conferences", params={"ends_before": "1700000000.5"}).json()["data"]
    assert [c["name"] for c in data] == ["early"]
    assert codes(api.get("/conferences", params={"ends_before": "9" * 30})) == [
        ("ends_before", "invalid_parameter")]


# -- active sessions -----------------------------------------------------------------


def test_active_session_only_when_requested(api: httpx.Client, sandbox: Sandbox,
                                            server: SandboxServer) -> None:
    room = make(api, name="live", enable_room_previews=True, sync_audio_video=True,
                join_from="2030-01-01", max_members=9)
    idle = make(api, name="idle")
    record = sandbox.find("signalwire", "acme", "rooms", "live")
    assert record is not None
    record = sandbox.set_participants(record, add=["alice", "bob"])
    sandbox.clock.advance(125)
    assert "active_session" not in api.get("/rooms/live").json()
    got = api.get("/rooms/live", params={"include_active_session": "true"}).json()
    session = got.pop("active_session")
    assert got == room
    assert UUID_RE.match(session.pop("id"))
    assert STAMP_RE.match(session.pop("start_time"))
    assert 125 <= session.pop("duration") <= 130
    assert session.pop("preview_url") == (
        f"{server.url('signalwire')}/acme/api/video/room_sessions/"
        f"{record.data['_session_id']}/preview")
    assert session == {
        "room_id": room["id"], "name": "live", "display_name": "live",
        "join_from": "2030-01-01T00:00:00Z", "layout": "grid-responsive", "max_members": 9,
        "fps": 20, "quality": "720p", "status": "in-progress", "record_on_start": False,
        "enable_room_previews": True, "audio_video_sync": True}
    listed = api.get("/rooms", params={"include_active_session": "1"}).json()["data"]
    # No session: the key is left out, not null, as the spec shows (issue 12, defect 6).
    assert ["active_session" in r for r in listed] == [True, False]
    assert "active_session" not in api.get("/rooms").json()["data"][0]
    assert "active_session" not in api.get(
        f"/rooms/{idle['id']}?include_active_session=true").json()
    sandbox.set_participants(record, remove=["alice", "bob"])
    assert "active_session" not in api.get("/rooms/live?include_active_session=true").json()
    assert api.get("/rooms/live?include_active_session=false").json() == room


def test_conference_active_session(api: httpx.Client, sandbox: Sandbox) -> None:
    conference = make(api, "conferences", name="c", display_name="C", size="small")
    record = sandbox.find("signalwire", "acme", "conferences", conference["id"])
    assert record is not None
    sandbox.set_participants(record, add=["p"])
    got = api.get(f"/conferences/{conference['id']}",
                  params={"include_active_session": "true"}).json()["active_session"]
    assert got["room_id"] == conference["id"] and got["max_members"] == 10
    assert got["status"] == "in-progress" and "preview_url" not in got


# -- the sandbox contract ------------------------------------------------------------


def test_fault_responses() -> None:
    limited = fault_response(429, 7)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert json.loads(bytes(limited.body)) == {"errors": [{
        "code": "rate_limit_exceeded", "message": "The rate limit has been exceeded.",
        "url": URL}]}
    broken = fault_response(500, None)
    assert "retry-after" not in broken.headers
    assert json.loads(bytes(broken.body)) == {"error": "Internal Server Error"}
    assert json.loads(bytes(fault_response(503, 2).body)) == {"error": "Service Unavailable"}
    assert json.loads(bytes(fault_response(599, None).body)) == {"error": "Error"}


def test_injected_faults_use_the_signalwire_bodies_per_space(server: SandboxServer,
                                                              api: httpx.Client,
                                                              sandbox: Sandbox) -> None:
    set_faults(sandbox, "signalwire", {"rate_limit": {"requests": 2, "per_seconds": 10}})
    assert [api.post("/rooms", json={"name": f"r{i}"}).status_code for i in range(3)] == [
        200, 200, 429]
    limited = api.get("/rooms")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["errors"][0]["code"] == "rate_limit_exceeded"
    with client(server, space="other") as other:  # the budget is per space
        assert other.get("/rooms").status_code == 200
    set_faults(sandbox, "signalwire", {"error_rate": 1, "error_statuses": [500]})
    failed = api.get("/rooms")
    assert failed.status_code == 500
    assert failed.json() == {"error": "Internal Server Error"}


@pytest.mark.parametrize(("path", "space"), [
    ("/signalwire/acme/api/video/rooms", "acme"), ("/acme/api/video/conferences/x", "acme"),
    ("/signalwire/api/api/video", "api"), ("/signalwire/acme/other", None), ("/", None)])
def test_account_of_reads_the_space(path: str, space: str | None) -> None:
    request = Request({"type": "http", "method": "GET", "path": path, "query_string": b"",
                       "headers": [], "root_path": ""})
    assert account_of(request) == space


def test_seed_applies_create_rules(sandbox: Sandbox, api: httpx.Client) -> None:
    rooms = seed(sandbox, "acme", "rooms", [{"name": "a", "join_from": "2030-01-01"},
                                            {"name": "b", "max_members": 3}])
    assert rooms[0]["display_name"] == "a" and rooms[0]["join_from"] == "2030-01-01T00:00:00Z"
    assert rooms[1]["max_members"] == 3 and rooms[1]["quality"] == "720p"
    assert api.get("/rooms/b").json() == rooms[1]
    conferences = seed(sandbox, "acme", "conferences", [{"display_name": "x"}])
    assert re.fullmatch(r"[0-9a-f]{12}", conferences[0]["name"])
    assert api.get(f"/conferences/{conferences[0]['id']}").json() == conferences[0]


@pytest.mark.parametrize(("kind", "items", "message"), [
    ("rooms", [{"name": "ok"}, {"name": "bad name"}], r"rooms\[1\]: name: Name must"),
    ("rooms", [{}], "Name must be present"),
    ("conferences", [{"name": "c"}], "Display name must be present"),
    ("rooms", ["text"], r"rooms\[0\] must be an object"),
    ("streams", [], "no kind 'streams'"),
])
def test_seed_rejects_invalid_input(sandbox: Sandbox, kind: str, items: list[Any],
                                    message: str) -> None:
    seed(sandbox, "acme", "rooms", [{"name": "taken"}])
    with pytest.raises(ValueError, match=message):
        seed(sandbox, "acme", kind, items)
    assert sandbox.store.count("signalwire", "acme", "rooms") == 1  # all or nothing


@pytest.mark.parametrize(("items", "name"), [
    ([{"name": "x"}, {"name": "x"}], "x"), ([{"name": "new"}, {"name": "taken"}], "taken")])
def test_seed_reports_the_taken_name(sandbox: Sandbox, items: list[dict[str, Any]],
                                     name: str) -> None:
    seed(sandbox, "acme", "rooms", [{"name": "taken"}])
    with pytest.raises(DuplicateName, match=f"the name '{name}' is already taken"):
        seed(sandbox, "acme", "rooms", items)
    assert sandbox.store.count("signalwire", "acme", "rooms") == 1
    seed(sandbox, "acme", "conferences", [{"name": "taken", "display_name": "t"}])  # U3


def test_seeding_ten_thousand_rooms_stores_each_once(sandbox: Sandbox) -> None:
    # How fast is for bench/sandbox.py to say ("seeded ... in ... s"), not a timed assertion.
    rooms = seed(sandbox, "acme", "rooms", [{"name": f"r{i}"} for i in range(10_000)])
    assert len(rooms) == 10_000 and len({r["id"] for r in rooms}) == 10_000


def test_an_unexpected_error_is_the_declared_500(api: httpx.Client, sandbox: Sandbox) -> None:
    room = make(api, name="corrupt")
    record = sandbox.find("signalwire", "acme", "rooms", room["id"])
    assert record is not None
    # Stored out of band in a shape the renderer cannot read.
    sandbox.store.update(record, {**record.data, "_session_id": "s", "_participants": ["p"],
                                  "_session_started_at": "not a number"})
    response = api.get("/rooms/corrupt", params={"include_active_session": "true"})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
