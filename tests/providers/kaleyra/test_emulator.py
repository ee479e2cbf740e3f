"""The Kaleyra emulator over real HTTP: auth, regions, users, rooms, the U1..U15 choices,
the per-company switches, fault bodies and bulk seeding."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from reconcile.providers.kaleyra.emulator import (
    CONTROL_ROUTES,
    account_of,
    company,
    fault_response,
    seed,
    update_company,
)
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

KEY = "ak_live_sandbox"  # the sandbox's default Kaleyra key
ROOM_ID = re.compile(r"^room_[0-9a-f]{12}$")
JOIN_URL = re.compile(r"^https://sandbox\.bandyer\.com/(eu|in|us)/direct-rest-call-handler/"
                      r"[A-Za-z0-9]{20}$")
NOT_FOUND = {"error": "not_found", "message": "Not found"}
DEFAULTS = {"recording": "none", "duration": None, "call_type": "audio_video",
            "no_ringing": False, "description": None, "offline_transcription": False,
            "summarization": False}


def room_body(**settings: Any) -> dict[str, Any]:
    return {"participants": [{"user_id": "doctor", "is_admin": True},
                             {"user_id": "patient"}], **settings}


SANDBOX_PROVIDERS = ("kaleyra",)


@pytest.fixture
def server(module_server: SandboxServer, sandbox: Sandbox) -> SandboxServer:
    """Overrides conftest's: the module's server, with the users rooms need."""
    seed(sandbox, KEY, "users", [{"user_id": "doctor", "role": "plus"},
                                 {"user_id": "patient", "role": "basic"},
                                 {"user_id": "nurse", "role": "basic"}])
    return module_server


@pytest.fixture
def root(server: SandboxServer) -> str:
    return server.url("kaleyra")


@pytest.fixture
def api(root: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{root}/eu/v2", headers={"apikey": KEY}) as client:
        yield client


class Control:
    """CONTROL_ROUTES mounted the way the control API mounts them, called in-process."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.app = Starlette(routes=[Mount("/_sandbox/providers/kaleyra", routes=CONTROL_ROUTES)])
        self.app.state.sandbox = sandbox

    def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                         base_url="http://sandbox/_sandbox/providers/kaleyra"
                                         ) as client:
                return await client.request(method, path, json=json)
        return asyncio.run(call())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, json: Any) -> httpx.Response:
        return self.request("POST", path, json)


@pytest.fixture
def control(sandbox: Sandbox) -> Control:
    return Control(sandbox)


def create_room(api: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = api.post("/rooms", json=room_body(**settings))
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str, message: str = ""
                 ) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == code
    assert message in body["message"]


# -- auth and regions ------------------------------------------------------------------

ENDPOINTS = [("POST", "/users"), ("GET", "/users"), ("POST", "/rooms"), ("GET", "/rooms"),
             ("GET", "/rooms/room_000000000000"), ("DELETE", "/rooms/room_000000000000"),
             ("PUT", "/rooms/room_000000000000"), ("PATCH", "/rooms/room_000000000000")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_route_needs_a_valid_apikey(root: str, method: str, path: str) -> None:
    with httpx.Client(base_url=f"{root}/eu/v2") as client:
        assert_error(client.request(method, path, json=room_body()), 401, "unauthorized",
                     "Missing apikey")
        wrong = client.request(method, path, json=room_body(), headers={"apikey": "ak_nope"})
        assert_error(wrong, 401, "unauthorized", "Invalid apikey")
        # The secret is checked exactly: an Authorization header is no substitute.
        bearer = client.request(method, path, headers={"Authorization": f"Bearer {KEY}"})
        assert bearer.status_code == 401


def test_unknown_region_has_no_api(root: str) -> None:
    for path in ("/xx/v2/rooms", "/sandbox/v2/users", "/EU/v2/users"):
        response = httpx.post(root + path, json=room_body(), headers={"apikey": KEY})
        assert_error(response, 404, "not_found")
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize("region", ["eu", "in", "us"])
def test_join_urls_carry_the_region(root: str, region: str) -> None:
    response = httpx.post(f"{root}/{region}/v2/rooms", json=room_body(), headers={"apikey": KEY})
    assert response.status_code == 201
    for participant in response.json()["participants"]:
        assert JOIN_URL.match(participant["url"])
        assert f"bandyer.com/{region}/direct-rest-call-handler/" in participant["url"]


def test_each_key_is_its_own_company(sandbox: Sandbox, api: httpx.Client, root: str) -> None:
    room = create_room(api)
    sandbox.register("kaleyra", "ak_live_other", "ak_live_other")
    with httpx.Client(base_url=f"{root}/eu/v2", headers={"apikey": "ak_live_other"}) as other:
        assert other.get("/users").json() == {"users": []}
        assert other.get(f"/rooms/{room['room_id']}").status_code == 404
        assert other.delete(f"/rooms/{room['room_id']}").status_code == 404
        assert_error(other.post("/rooms", json=room_body()), 400, "bad_request",
                     "unknown user_id: doctor, patient")
        assert other.post("/users", json={"user_id": "doctor", "role": "plus"}).status_code == 201
    assert api.get(f"/rooms/{room['room_id']}").status_code == 200


def test_account_of_reads_the_apikey_header_without_checking_it() -> None:
    def request(headers: list[tuple[bytes, bytes]]) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/eu/v2/users",
                        "headers": headers, "query_string": b""})

    assert account_of(request([(b"apikey", b"ak_live_anything")])) == "ak_live_anything"
    assert account_of(request([(b"authorization", b"Bearer x")])) is None
    assert account_of(request([(b"apikey", b"")])) is None


# -- users (U13) -----------------------------------------------------------------------

def test_create_user_echoes_and_lists(api: httpx.Client) -> None:
    response = api.post("/users", json={"user_id": "usr_new", "role": "plus", "x": 1})
    assert response.status_code == 201
    assert response.json() == {"user_id": "usr_new", "role": "plus"}
    users = api.get("/users").json()["users"]
    assert users[-1] == {"id": "usr_new", "role": "plus"}
    assert [u["id"] for u in users] == ["doctor", "patient", "nurse", "usr_new"]


def test_user_id_is_generated_when_not_chosen(api: httpx.Client) -> None:
    first = api.post("/users", json={"role": "basic"}).json()
    second = api.post("/users", json={"role": "basic"}).json()
    assert re.match(r"^user_[0-9a-f]{12}$", first["user_id"]) and first["role"] == "basic"
    assert first["user_id"] != second["user_id"]


def test_existing_user_id_is_a_400(api: httpx.Client) -> None:
    response = api.post("/users", json={"user_id": "doctor", "role": "basic"})
    assert_error(response, 400, "bad_request")
    assert response.json()["message"] == "user_id already exists"
    assert {"id": "doctor", "role": "plus"} in api.get("/users").json()["users"]  # unchanged


@pytest.mark.parametrize(("body", "message"), [
    (None, "JSON object"), ([], "JSON object"), ("text", "JSON object"),
    ({"user_id": "u1"}, "role must be one of basic, plus"),
    ({"user_id": "u1", "role": "admin"}, "role must be one of basic, plus"),
    ({"user_id": "", "role": "plus"}, "user_id must be a non-empty string"),
    ({"user_id": 7, "role": "plus"}, "user_id must be a non-empty string"),
])
def test_user_validation(api: httpx.Client, body: Any, message: str) -> None:
    response = api.post("/users", content=b"" if body is None else None,
                        json=None if body is None else body)
    assert_error(response, 400, "bad_request", message)


def test_concurrent_creates_of_one_user_succeed_once(sandbox: Sandbox, root: str) -> None:
    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{root}/eu/v2", headers={"apikey": KEY}) as c:
            return await asyncio.gather(*(
                c.post("/users", json={"user_id": "racer", "role": "plus"}) for _ in range(10)))

    responses = asyncio.run(fire())
    assert sorted(r.status_code for r in responses) == [201] + [400] * 9
    for response in responses:
        if response.status_code == 400:
            assert response.json() == {"error": "bad_request",
                                       "message": "user_id already exists"}
    assert [u.id for u in sandbox.store.list("kaleyra", KEY, "users", name="racer")] == ["racer"]


def test_users_page_by_offset_and_limit_until_an_empty_page(sandbox: Sandbox,
                                                            api: httpx.Client) -> None:
    seed(sandbox, KEY, "users", [{"user_id": f"u{i:03}", "role": "basic"} for i in range(247)])
    seen, offset, sizes = [], 0, []
    while True:  # the official Android demo's loop
        page = api.get("/users", params={"offset": offset, "limit": 100})
        assert page.status_code == 200
        users = page.json()["users"]
        sizes.append(len(users))
        if not users:
            break
        seen += [u["id"] for u in users]
        offset += len(users)
    assert sizes == [100, 100, 50, 0]
    assert seen == ["doctor", "patient", "nurse"] + [f"u{i:03}" for i in range(247)]
    # 100 is the most a page holds, and the default.
    assert len(api.get("/users", params={"limit": 1000}).json()["users"]) == 100
    assert len(api.get("/users").json()["users"]) == 100
    assert [u["id"] for u in api.get("/users?offset=5&limit=2").json()["users"]] == [
        "u002", "u003"]


@pytest.mark.parametrize("query", ["offset=-1", "offset=abc", "limit=0", "limit=-5",
                                   "limit=1.5"])
def test_bad_paging_parameters_are_a_400(api: httpx.Client, query: str) -> None:
    assert_error(api.get(f"/users?{query}"), 400, "bad_request", "must be an integer")


# -- rooms: create (U1, U2, U7, U8, U11, U12) ---------------------------------------------

def test_create_room_returns_id_urls_and_the_settings_with_defaults(api: httpx.Client) -> None:
    response = api.post("/rooms", json={
        "participants": [{"user_id": "doctor", "is_admin": True, "extra": "ignored"},
                         {"user_id": "patient", "tools": {}},
                         {"user_id": "nurse", "tools": {"chat": True, "whiteboard": False}}],
        "unknown_field": 1})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    room = response.json()
    assert ROOM_ID.match(room["room_id"])
    assert {k: v for k, v in room.items() if k not in ("room_id", "participants")} == DEFAULTS
    urls = [p.pop("url") for p in room["participants"]]
    assert all(JOIN_URL.match(url) for url in urls) and len(set(urls)) == 3
    # Missing tools (every tool) and empty tools (none) stay distinguishable.
    assert room["participants"] == [
        {"user_id": "doctor", "is_admin": True},
        {"user_id": "patient", "is_admin": False, "tools": {}},
        {"user_id": "nurse", "is_admin": False, "tools": {"chat": True, "whiteboard": False}},
    ]


def test_create_room_echoes_every_setting(api: httpx.Client) -> None:
    settings = {"recording": "automatic", "duration": 3600, "call_type": "audio_upgradable",
                "no_ringing": True, "description": "follow-up",
                "offline_transcription": True, "summarization": True}
    room = create_room(api, **settings)
    assert {k: room[k] for k in settings} == settings
    assert create_room(api, recording="manual", call_type="audio_only",
                       duration=60)["duration"] == 60
    nulls = create_room(api, duration=None, description=None, recording=None)
    assert {k: nulls[k] for k in DEFAULTS} == DEFAULTS


def test_every_create_issues_a_new_room_id_and_new_urls(api: httpx.Client) -> None:
    first, second = create_room(api), create_room(api)
    assert first["room_id"] != second["room_id"]
    urls = [p["url"] for room in (first, second) for p in room["participants"]]
    assert len(set(urls)) == 4


def test_ids_come_from_the_seeded_generator(tmp_path: Path) -> None:
    def ids(db: str) -> list[str]:
        sb = Sandbox(db, seed=99)
        try:
            seed(sb, KEY, "users", [{"user_id": "a", "role": "plus"},
                                    {"user_id": "b", "role": "basic"}])
            body = {"participants": [{"user_id": "a"}, {"user_id": "b"}]}
            return [r["room_id"] for r in seed(sb, KEY, "rooms", [body, body])]
        finally:
            sb.close()

    assert ids(str(tmp_path / "one.db")) == ids(str(tmp_path / "two.db"))


def test_concurrent_room_creates_get_distinct_ids(sandbox: Sandbox, root: str) -> None:
    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{root}/eu/v2", headers={"apikey": KEY}) as c:
            return await asyncio.gather(*(c.post("/rooms", json=room_body())
                                          for _ in range(10)))

    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["room_id"] for r in responses}) == 10
    assert sandbox.store.count("kaleyra", KEY, "rooms") == 10


def test_participant_count_is_2_to_25(sandbox: Sandbox, api: httpx.Client) -> None:
    seed(sandbox, KEY, "users", [{"user_id": f"p{i}", "role": "plus"} for i in range(26)])
    people = [{"user_id": f"p{i}"} for i in range(26)]
    assert api.post("/rooms", json={"participants": people[:2]}).status_code == 201
    full = api.post("/rooms", json={"participants": people[:25]})
    assert full.status_code == 201 and len(full.json()["participants"]) == 25
    for count in (0, 1, 26):
        assert_error(api.post("/rooms", json={"participants": people[:count]}), 400,
                     "bad_request", "between 2 and 25")


def test_the_plus_rule_is_about_the_user_role_not_is_admin(api: httpx.Client) -> None:
    basic_admins = {"participants": [{"user_id": "patient", "is_admin": True},
                                     {"user_id": "nurse", "is_admin": True}]}
    assert_error(api.post("/rooms", json=basic_admins), 400, "bad_request",
                 "at least one participant must be a plus user")
    plus_guest = {"participants": [{"user_id": "doctor"}, {"user_id": "patient"}]}
    assert api.post("/rooms", json=plus_guest).status_code == 201


ROOM_ERRORS = [
    (["not", "an", "object"], "JSON object"),
    ({}, "participants is required"),
    ({"participants": {"user_id": "doctor"}}, "participants must be an array"),
    ({"participants": ["doctor", "patient"]}, "participants[0] must be an object"),
    ({"participants": [{"user_id": "doctor"}, {"is_admin": True}]},
     "participants[1].user_id is required"),
    ({"participants": [{"user_id": "doctor"}, {"user_id": ""}]},
     "participants[1].user_id is required"),
    ({"participants": [{"user_id": "doctor"}, {"user_id": "ghost"}, {"user_id": "casper"}]},
     "unknown user_id: ghost, casper"),
    (room_body(participants=[{"user_id": "doctor", "is_admin": "yes"}, {"user_id": "nurse"}]),
     "participants[0].is_admin must be a boolean"),
    (room_body(participants=[{"user_id": "doctor", "tools": []}, {"user_id": "nurse"}]),
     "participants[0].tools must be an object of booleans"),
    (room_body(participants=[{"user_id": "doctor"}, {"user_id": "nurse",
                                                     "tools": {"chat": "on"}}]),
     "participants[1].tools must be an object of booleans"),
    (room_body(duration=59), "duration must be an integer of at least 60"),
    (room_body(duration="3600"), "duration must be an integer"),
    (room_body(duration=60.5), "duration must be an integer"),
    (room_body(duration=True), "duration must be an integer"),
    (room_body(recording="always"), "recording must be one of none, automatic, manual"),
    (room_body(recording=True), "recording must be one of"),
    (room_body(call_type="video"),
     "call_type must be one of audio_video, audio_upgradable, audio_only"),
    (room_body(no_ringing="false"), "no_ringing must be a boolean"),
    (room_body(description=42), "description must be a string"),
    (room_body(offline_transcription=1, recording="manual"),
     "offline_transcription must be a boolean"),
    # U14: the prerequisites of the AI features.
    (room_body(offline_transcription=True), "offline_transcription requires recording"),
    (room_body(offline_transcription=True, recording="none"),
     "offline_transcription requires recording"),
    (room_body(summarization=True, recording="automatic"),
     "summarization requires offline_transcription"),
    (room_body(summarization=True, offline_transcription=False, recording="automatic"),
     "summarization requires offline_transcription"),
]


@pytest.mark.parametrize(("body", "message"), ROOM_ERRORS)
def test_room_validation(sandbox: Sandbox, api: httpx.Client, body: Any, message: str) -> None:
    assert_error(api.post("/rooms", json=body), 400, "bad_request", message)
    assert sandbox.store.count("kaleyra", KEY, "rooms") == 0


def test_a_body_that_is_not_json_is_a_400(api: httpx.Client) -> None:
    for content in (b"", b"{not json", b"\xff\xfe"):
        assert_error(api.post("/rooms", content=content), 400, "bad_request", "JSON object")


# -- rooms: get, delete, no list, no update (U3..U6, U15) -----------------------------------

def test_get_returns_the_create_body_and_delete_removes_it(api: httpx.Client) -> None:
    created = create_room(api, recording="manual", description="x")
    path = f"/rooms/{created['room_id']}"
    fetched = api.get(path)
    assert fetched.status_code == 200 and fetched.json() == created
    deleted = api.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(api.get(path), 404, "not_found")
    assert api.delete(path).json() == NOT_FOUND


def test_unknown_room_is_a_404(api: httpx.Client) -> None:
    for response in (api.get("/rooms/room_ffffffffffff"), api.delete("/rooms/nope")):
        assert response.status_code == 404 and response.json() == NOT_FOUND


def test_rooms_have_no_list_and_no_update(api: httpx.Client) -> None:
    room = create_room(api)
    assert api.get("/rooms").json() == NOT_FOUND
    for method in ("PUT", "PATCH"):
        response = api.request(method, f"/rooms/{room['room_id']}", json={"duration": 120})
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert api.get(f"/rooms/{room['room_id']}").json() == room  # untouched


def test_unknown_paths_and_methods_answer_in_the_error_shape(api: httpx.Client) -> None:
    for method, path in [("GET", "/company"), ("POST", "/rooms/room_000000000000"),
                         ("DELETE", "/users"), ("GET", "/rooms/a/sessions")]:
        response = api.request(method, path)
        assert response.status_code == 404 and response.json() == NOT_FOUND


def test_rooms_stay_retrievable_however_much_time_passes(sandbox: Sandbox,
                                                         api: httpx.Client) -> None:
    room = create_room(api, duration=60)
    sandbox.clock.advance(90 * 24 * 3600)
    assert api.get(f"/rooms/{room['room_id']}").json() == room


def test_out_of_band_changes_and_participants_render(sandbox: Sandbox,
                                                     api: httpx.Client) -> None:
    room = create_room(api)
    record = sandbox.find("kaleyra", KEY, "rooms", room["room_id"])
    assert record is not None
    record = sandbox.store.update(record, {**record.data, "call_type": "audio_only"})
    sandbox.set_participants(record, add=["doctor", "patient"])
    fetched = api.get(f"/rooms/{room['room_id']}").json()
    assert fetched == {**room, "call_type": "audio_only"}  # no internal keys leak


# -- per-company switches (control routes) ---------------------------------------------------

def test_features_are_on_by_default_and_switchable(control: Control,
                                                   api: httpx.Client) -> None:
    features = f"/companies/{KEY}/features"
    assert control.get(features).json() == {"transcription": True, "summarization": True}
    ai = {"recording": "automatic", "offline_transcription": True, "summarization": True}
    assert api.post("/rooms", json=room_body(**ai)).status_code == 201

    off = control.post(features, json={"summarization": False})
    assert off.status_code == 200
    assert off.json() == {"transcription": True, "summarization": False}
    assert_error(api.post("/rooms", json=room_body(**ai)), 400, "bad_request",
                 "summarization is not enabled for this company")
    assert api.post("/rooms", json=room_body(recording="automatic",
                                             offline_transcription=True)).status_code == 201

    control.post(features, json={"transcription": False})
    assert_error(api.post("/rooms", json=room_body(recording="manual",
                                                   offline_transcription=True)),
                 400, "bad_request", "offline transcription is not enabled for this company")
    assert api.post("/rooms", json=room_body(recording="manual")).status_code == 201

    control.post(features, json={"transcription": True, "summarization": True})
    assert api.post("/rooms", json=room_body(**ai)).status_code == 201
    assert control.get("/companies/ak_live_other/features").json()["transcription"] is True


@pytest.mark.parametrize("body", [{}, {"transcription": "no"}, {"recording": False}, [True],
                                  {"enabled": False}])
def test_feature_switch_rejects_bad_bodies(control: Control, body: Any) -> None:
    response = control.post(f"/companies/{KEY}/features", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": "send a JSON object of"
                               " booleans among transcription, summarization"}
    assert control.get(f"/companies/{KEY}/features").json() == {"transcription": True,
                                                                "summarization": True}


def test_room_routes_switch_hides_get_and_delete(sandbox: Sandbox, control: Control,
                                                 api: httpx.Client) -> None:
    switch = f"/companies/{KEY}/room-routes"
    room = create_room(api)
    path = f"/rooms/{room['room_id']}"
    assert control.get(switch).json() == {"enabled": True}
    assert control.post(switch, json={"enabled": False}).json() == {"enabled": False}
    assert api.get(path).json() == NOT_FOUND
    assert api.delete(path).json() == NOT_FOUND
    assert sandbox.store.get("kaleyra", KEY, "rooms", room["room_id"]) is not None
    assert api.post("/rooms", json=room_body()).status_code == 201  # create still works
    assert control.post(switch, json={"enabled": "no"}).status_code == 400
    control.post(switch, json={"enabled": True})
    assert api.get(path).json() == room
    assert api.delete(path).status_code == 204


def test_switches_live_in_the_database_shared_by_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    writer, reader = Sandbox(db), Sandbox(db)
    try:
        update_company(writer, KEY, {"transcription": False, "room_routes": False})
        assert company(reader, KEY) == {"transcription": False, "summarization": True,
                                        "room_routes": False, "v1_answers": False}
        assert company(reader, "ak_live_other")["room_routes"] is True
        with pytest.raises(ValueError, match="expected booleans"):
            update_company(writer, KEY, {"recording": True})
        reader.reset()  # a sandbox reset restores the defaults
        assert company(writer, KEY)["transcription"] is True
    finally:
        writer.close()
        reader.close()


# -- injected faults (U10) ----------------------------------------------------------------

def test_fault_bodies() -> None:
    throttled = fault_response(429, 7)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
    assert throttled.body == b'{"error":"too_many_requests","message":"Too many requests"}'
    unavailable = fault_response(503, None)
    assert unavailable.status_code == 503 and "retry-after" not in unavailable.headers
    assert unavailable.body == (b'{"error":"service_unavailable",'
                                b'"message":"Service unavailable"}')
    assert fault_response(500, 2).body == (b'{"error":"internal_server_error",'
                                           b'"message":"Internal server error"}')


# -- seeding --------------------------------------------------------------------------

def test_seeded_rooms_are_rendered_and_served(sandbox: Sandbox, api: httpx.Client) -> None:
    items = [room_body(description=f"r{i}") for i in range(3)]
    items.append({**room_body(), "region": "us"})
    rooms = seed(sandbox, KEY, "rooms", items)
    assert [r["description"] for r in rooms] == ["r0", "r1", "r2", None]
    assert "/us/" in rooms[3]["participants"][0]["url"] and "region" not in rooms[3]
    for room in rooms:
        assert ROOM_ID.match(room["room_id"])
        assert api.get(f"/rooms/{room['room_id']}").json() == room


def test_seed_validates_like_the_api(sandbox: Sandbox, server: SandboxServer) -> None:
    cases: list[tuple[str, list[Any], str]] = [
        ("rooms", [room_body(), room_body(duration=10)], r"rooms\[1\]: duration"),
        ("rooms", [{"participants": [{"user_id": "doctor"}, {"user_id": "x"}]}],
         r"rooms\[0\]: unknown user_id: x"),
        ("rooms", [{**room_body(), "region": "mars"}], r"rooms\[0\]: region must be one of"),
        ("users", [{"user_id": "a", "role": "root"}], r"users\[0\]: role must be one of"),
        ("users", [{"user_id": "a", "role": "plus"}, {"user_id": "a", "role": "plus"}],
         "already taken"),
        ("users", [{"user_id": "doctor", "role": "plus"}], "already taken"),
        ("sessions", [], "unknown kind 'sessions'"),
    ]
    for kind, items, message in cases:
        with pytest.raises(ValueError, match=message):
            seed(sandbox, KEY, kind, items)
    assert sandbox.store.count("kaleyra", KEY, "users") == 3  # nothing half-seeded
    assert sandbox.store.count("kaleyra", KEY, "rooms") == 0
    update_company(sandbox, KEY, {"transcription": False})
    with pytest.raises(ValueError, match="not enabled"):
        seed(sandbox, KEY, "rooms", [room_body(recording="manual", offline_transcription=True)])


def test_seeding_ten_thousand_rooms_stores_each_once(sandbox: Sandbox) -> None:
    # How fast is for bench/sandbox.py to say ("seeded ... in ... s"), not a timed assertion.
    seed(sandbox, KEY, "users", [{"user_id": "a", "role": "plus"},
                                 {"user_id": "b", "role": "basic"}])
    body = {"participants": [{"user_id": "a", "is_admin": True}, {"user_id": "b"}]}
    rooms = seed(sandbox, KEY, "rooms", [body] * 10_000)
    assert len({r["room_id"] for r in rooms}) == 10_000
    assert sandbox.store.count("kaleyra", KEY, "rooms") == 10_000


def test_the_answers_switch_gives_the_documented_v1_shape(sandbox: Sandbox, control: Control,
                                                         api: httpx.Client) -> None:
    switch = f"/companies/{KEY}/answers"
    assert control.get(switch).json() == {"v1": False}
    assert control.post(switch, json={"v1": True}).json() == {"v1": True}
    created = api.post("/rooms", json=room_body()).json()
    room = created["room"]
    assert set(created) == {"room"} and "participants" not in room
    assert [set(u) for u in room["user_urls"]] == [{"user", "url", "tools", "is_admin"}] * 2
    assert api.get(f"/rooms/{room['room_id']}").json() == created
