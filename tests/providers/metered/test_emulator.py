"""The Metered emulator over real HTTP: routes, auth, validation, archive semantics (U1..U17)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from reconcile.providers.metered import emulator
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.emulation import iso_millis
from reconcile.sandbox.faults import set_faults
from reconcile.sandbox.server import SandboxServer

KEY = "sandbox-secret-key"
APP = "acme"
HEX24 = re.compile(r"[0-9a-f]{24}")
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
BASELINE = {
    "privacy": "public", "deleteOnExp": False, "autoJoin": False, "enableRequestToJoin": False,
    "enableChat": False, "enableScreenSharing": True, "joinVideoOn": True, "joinAudioOn": True,
    "ownerOnlyBroadcast": False, "enableRecording": False, "recordRoom": False,
    "ejectAtRoomExp": False, "lang": "en", "archived": False, "__v": 0,
}
SERVER_KEYS = {"_id", "roomName", "app", "created"}
INVALID = {"success": False, "message": "Invalid request"}
EXISTS = {"success": False, "message": "Room already exists"}
BAD_KEY = {"success": False, "message": "Invalid secretKey"}


@pytest.fixture
def root(serve: Callable[..., SandboxServer]) -> str:
    return serve("metered").url("metered")


@pytest.fixture
def client(root: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{root}/{APP}/api/v1", params={"secretKey": KEY}) as c:
        yield c


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/room", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def parse_ms(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def assert_error(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


# -- create ----------------------------------------------------------------------------------

def test_create_without_body_generates_a_name_and_applies_the_baseline(
        client: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.clock.advance(3600)
    response = client.post("/room")  # the official Python sample posts no body
    assert response.status_code == 200
    room = response.json()
    assert {k: v for k, v in room.items() if k not in SERVER_KEYS} == BASELINE  # U1, U14, U15
    assert re.fullmatch(r"[A-Za-z0-9]{10}", room["roomName"])  # U11
    assert HEX24.fullmatch(room["_id"]) and HEX24.fullmatch(room["app"])
    assert ISO_MS.fullmatch(room["created"])
    assert abs(time.time() + 3600 - parse_ms(room["created"])) < 5  # the virtual clock
    assert room["created"] == iso_millis(parse_ms(room["created"]))
    assert client.get(f"/room/{room['roomName']}").json() == room
    # stored under the account that account_of names, keyed by _id
    assert sandbox.store.get("metered", APP, "rooms", room["_id"]) is not None


def test_create_stores_every_documented_field_and_extra_keys_verbatim(
        client: httpx.Client) -> None:
    body = {
        "roomName": "All_hands-2", "privacy": "private", "expireUnixSec": 1_900_000_000,
        "ejectAtRoomExp": True, "notBeforeUnixSec": 0, "maxParticipants": 0, "autoJoin": True,
        "showInviteBox": False, "enableRequestToJoin": True, "enableChat": True,
        "newChatForMeetingSession": False, "enableScreenSharing": False, "joinVideoOn": False,
        "joinAudioOn": False, "enableRecording": True, "ownerOnlyBroadcast": True,
        "recordRoom": True, "ejectAfterElapsedTimeInSec": 7200,
        "meetingJoinWebhook": "https://h.example/join", "meetingLeftWebhook": "https://h/l",
        "meetingStartedWebhook": "https://h/s", "meetingEndedWebhook": "https://h/e",
        "endMeetingAfterNoActivityInSec": 300, "audioOnlyRoom": True, "enableComposition": True,
        "compositionLayout": "active_speaker", "recordComposition": True,
        "enableRTMPOut": True, "rtmpOutURL": "rtmp://live.example/app/key",
        "enableLiveStreaming": True, "deleteOnExp": True, "lang": "de",
        # U17: keys outside the documented table are stored and echoed as sent
        "enableWatermark": True, "custom": {"nested": [1, "two", None]},
    }
    room = create(client, **body)
    assert {k: room[k] for k in body} == body
    assert room["archived"] is False and room["__v"] == 0
    assert client.get("/room/All_hands-2").json() == room


def test_create_ignores_server_fields_and_internal_keys_in_the_body(
        client: httpx.Client, sandbox: Sandbox) -> None:
    room = create(client, roomName="r1", _id="a" * 24, app="b" * 24, created="2001-01-01",
                  archived=True, __v=7, _participants=["intruder"], _session_id="x")
    assert room["_id"] != "a" * 24 and room["app"] != "b" * 24
    assert room["created"] != "2001-01-01" and room["archived"] is False and room["__v"] == 0
    stored = sandbox.store.find_live("metered", APP, "rooms", "r1")
    assert stored is not None and "_participants" not in stored.data
    assert "_session_id" not in stored.data


def test_private_privacy_and_zero_integers_are_accepted(client: httpx.Client) -> None:
    room = create(client, roomName="p", privacy="private", maxParticipants=0, expireUnixSec=0)
    assert (room["privacy"], room["maxParticipants"], room["expireUnixSec"]) == ("private", 0, 0)


INVALID_BODIES: list[Any] = [
    {"privacy": "secret"},
    {"privacy": None},
    {"roomName": "has space"},
    {"roomName": ""},
    {"roomName": "caf\u00e9"},
    {"roomName": "a/b"},
    {"roomName": "trailing\n"},
    {"roomName": 42},
    {"compositionLayout": "mosaic"},
    {"enableRTMPOut": True},
    {"enableRTMPOut": True, "rtmpOutURL": ""},
    {"rtmpOutURL": 5},
    {"maxParticipants": -1},
    {"maxParticipants": True},
    {"maxParticipants": 2.5},
    {"maxParticipants": 10.0},
    {"maxParticipants": "10"},
    {"expireUnixSec": None},
    {"notBeforeUnixSec": [1]},
    {"ejectAfterElapsedTimeInSec": -7200},
    {"endMeetingAfterNoActivityInSec": "300"},
    {"autoJoin": "true"},
    {"deleteOnExp": 1},
    {"meetingJoinWebhook": False},
    {"lang": None},
    # not JSON objects at all
    b"{not json", b"[]", b'"room"', b"null",
]


def test_create_rejects_invalid_bodies(client: httpx.Client) -> None:
    for body in INVALID_BODIES:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post("/room", content=raw,
                               headers={"content-type": "application/json"})
        assert (response.status_code, response.json()) == (400, INVALID), body
    assert client.get("/rooms").json() == []


def test_duplicate_name_among_live_rooms_is_rejected(client: httpx.Client) -> None:
    first = create(client, roomName="standup")
    assert_error(client.post("/room", json={"roomName": "standup", "privacy": "private"}),
                 400, EXISTS)  # U3
    assert client.get("/room/standup").json() == first
    assert create(client, roomName="Standup")["roomName"] == "Standup"  # case-sensitive


def test_concurrent_same_name_creates_succeed_exactly_once(root: str, sandbox: Sandbox
                                                           ) -> None:
    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{root}/{APP}/api/v1",
                                     params={"secretKey": KEY}) as c:
            return await asyncio.gather(
                *(c.post("/room", json={"roomName": "race", "maxParticipants": i})
                  for i in range(10)))

    responses = asyncio.run(fire())
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    assert all(r.json() == EXISTS for r in responses if r.status_code == 400)
    assert sandbox.store.count("metered", APP, "rooms", live=None) == 1


# -- get, update ---------------------------------------------------------------------------

def test_unknown_rooms_are_invalid_requests(client: httpx.Client) -> None:
    for path in ("/room/nope", "/room/not a name", "/room/%00"):
        assert_error(client.get(path), 400, INVALID)  # U4
        assert_error(client.put(path, json={"privacy": "public"}), 400, INVALID)
        assert_error(client.delete(path), 400, INVALID)
    assert client.get("/rooms").json() == []


def test_put_merges_into_the_stored_room(client: httpx.Client, sandbox: Sandbox) -> None:
    before = create(client, roomName="desk", maxParticipants=5, enableChat=True)
    sandbox.clock.advance(60)
    response = client.put("/room/desk", json={"privacy": "private", "recordRoom": True,
                                               "enableWatermark": False})
    assert response.status_code == 200  # U2
    after = response.json()
    assert after == {**before, "privacy": "private", "recordRoom": True,  # U7, U17
                     "enableWatermark": False}
    assert client.get("/room/desk").json() == after
    assert client.put("/room/desk").json() == after  # an empty body changes nothing
    assert client.put("/room/desk", json={}).json() == after


def test_put_ignores_room_name_and_server_fields(client: httpx.Client) -> None:
    room = create(client, roomName="old")
    response = client.put("/room/old", json={"roomName": "new", "_id": "f" * 24,
                                             "archived": True, "created": "x", "app": "y",
                                             "__v": 3, "_participants": ["p"]})
    assert response.json() == room  # U8
    assert_error(client.get("/room/new"), 400, INVALID)
    assert client.get("/room/old").json() == room


def test_put_validates_like_create_and_keeps_the_room_on_failure(client: httpx.Client) -> None:
    room = create(client, roomName="v", maxParticipants=3)
    for body in ({"maxParticipants": -3}, {"privacy": "hidden"}, {"autoJoin": "no"},
                 {"compositionLayout": "pip"}, {"enableRTMPOut": True}):
        assert_error(client.put("/room/v", json=body), 400, INVALID)
    assert_error(client.put("/room/v", content=b"{", headers={"content-type":
                                                              "application/json"}),
                 400, INVALID)
    assert client.get("/room/v").json() == room


def test_put_checks_rtmp_rule_on_the_merged_room(client: httpx.Client) -> None:
    create(client, roomName="live", rtmpOutURL="rtmp://a/b")
    assert client.put("/room/live", json={"enableRTMPOut": True}).status_code == 200
    create(client, roomName="live2", enableRTMPOut=True, rtmpOutURL="rtmp://a/c")
    assert_error(client.put("/room/live2", json={"rtmpOutURL": ""}), 400, INVALID)
    assert client.put("/room/live2", json={"enableRTMPOut": False, "rtmpOutURL": ""}
                      ).status_code == 200


# -- delete (archive) ----------------------------------------------------------------------

def test_delete_archives_hides_and_frees_the_name(client: httpx.Client, sandbox: Sandbox
                                                  ) -> None:
    old = create(client, roomName="town-hall", privacy="private")
    response = client.delete("/room/town-hall")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Room successfully archived"}
    for call in (client.get, client.delete, lambda url: client.put(url, json={})):
        assert_error(call("/room/town-hall"), 400, INVALID)  # U6
    assert client.get("/rooms").json() == []

    new = create(client, roomName="town-hall")  # U6: the name is free again
    assert new["_id"] != old["_id"] and new["privacy"] == "public"
    assert client.get("/room/town-hall").json() == new
    assert client.get("/rooms").json() == [new]

    archived = sandbox.store.get("metered", APP, "rooms", old["_id"])
    assert archived is not None and not archived.live  # kept, not lost
    assert archived.data == {**old, "archived": True}


# -- list ------------------------------------------------------------------------------------

def test_list_is_a_bare_array_of_live_rooms_of_this_app(client: httpx.Client, root: str
                                                        ) -> None:
    assert client.get("/rooms").json() == []
    rooms = [create(client, roomName=f"r{i}") for i in range(4)]
    client.delete("/room/r1")
    with httpx.Client(params={"secretKey": KEY}) as other:
        created = other.post(f"{root}/other-app/api/v1/room", json={"roomName": "r0"})
        assert created.status_code == 200  # same name, different app
        assert created.json()["app"] != rooms[0]["app"]
        assert other.get(f"{root}/other-app/api/v1/rooms").json() == [created.json()]
    response = client.get("/rooms")
    assert response.status_code == 200
    assert response.json() == [rooms[0], rooms[2], rooms[3]]  # U5: creation order
    assert len({r["app"] for r in rooms}) == 1


def test_list_returns_thousands_of_seeded_rooms_in_one_response(
        client: httpx.Client, sandbox: Sandbox) -> None:
    seeded = emulator.seed(sandbox, APP, "rooms",
                           [{"roomName": f"room-{i:05d}", "maxParticipants": i % 50}
                            for i in range(10_000)])
    listed = client.get("/rooms").json()  # no pagination (U5)
    assert listed == seeded
    assert len({r["_id"] for r in listed}) == 10_000


def test_internal_keys_are_never_rendered(client: httpx.Client, sandbox: Sandbox) -> None:
    create(client, roomName="busy")
    record = sandbox.store.find_live("metered", APP, "rooms", "busy")
    assert record is not None
    sandbox.set_participants(record, add=["alice", "bob"])
    stored = sandbox.store.find_live("metered", APP, "rooms", "busy")
    assert stored is not None and "_session_id" in stored.data
    for room in (client.get("/room/busy").json(), client.get("/rooms").json()[0],
                 client.put("/room/busy", json={}).json()):
        assert {k for k in room if k.startswith("_")} == {"_id", "__v"}


# -- auth -----------------------------------------------------------------------------------

ROUTES = [("POST", "/room"), ("GET", "/room/x"), ("PUT", "/room/x"), ("DELETE", "/room/x"),
          ("GET", "/rooms")]


BAD_PARAMS: list[dict[str, str]] = [{}, {"secretKey": ""}, {"secretKey": "wrong"},
                                    {"secret_key": KEY}, {"SecretKey": KEY}]


def test_every_route_requires_the_secret_key(root: str, client: httpx.Client) -> None:
    create(client, roomName="x")
    with httpx.Client() as anonymous:
        for (method, path), params in itertools.product(ROUTES, BAD_PARAMS):
            response = anonymous.request(method, f"{root}/{APP}/api/v1{path}", params=params,
                                         json={"roomName": "y"})
            assert (response.status_code, response.json()) == (401, BAD_KEY), (method, params)
    assert [r["roomName"] for r in client.get("/rooms").json()] == ["x"]  # nothing changed
    assert client.get("/room/x").json()["archived"] is False


def test_a_registered_app_accepts_only_its_own_key(root: str, sandbox: Sandbox) -> None:
    sandbox.register("metered", "clinic", "clinic-key")
    with httpx.Client(base_url=root) as c:
        assert_error(c.get("/clinic/api/v1/rooms", params={"secretKey": KEY}), 401, BAD_KEY)
        assert c.get("/clinic/api/v1/rooms", params={"secretKey": "clinic-key"}).json() == []
        assert c.get("/acme/api/v1/rooms", params={"secretKey": KEY}).status_code == 200
        assert_error(c.get("/acme/api/v1/rooms", params={"secretKey": "clinic-key"}),
                     401, BAD_KEY)


def test_unknown_paths_and_methods(root: str, client: httpx.Client) -> None:
    assert client.get("/room").status_code == 405
    assert client.patch("/room/x", json={}).status_code == 405
    with httpx.Client(base_url=root) as c:
        assert c.get("/acme/api/v2/rooms", params={"secretKey": KEY}).status_code == 404


# -- seed, faults, account_of --------------------------------------------------------------

def test_seed_applies_create_defaults_and_validation(client: httpx.Client, sandbox: Sandbox
                                                     ) -> None:
    seeded = emulator.seed(sandbox, APP, "rooms", [{"roomName": "a", "privacy": "private"}, {}])
    assert seeded[0]["privacy"] == "private" and seeded[1]["privacy"] == "public"
    assert re.fullmatch(r"[A-Za-z0-9]{10}", seeded[1]["roomName"])
    assert {k: v for k, v in seeded[1].items() if k not in SERVER_KEYS} == BASELINE
    assert client.get("/room/a").json() == seeded[0]
    assert client.get("/rooms").json() == seeded


@pytest.mark.parametrize(("kind", "rooms", "message"), [
    ("conferences", [{}], "kind"),
    ("rooms", [{"roomName": "ok"}, {"maxParticipants": -1}], "rooms[1]: maxParticipants"),
    ("rooms", [{"enableRTMPOut": True}], "rtmpOutURL"),
    ("rooms", ["not-an-object"], "JSON object"),
    ("rooms", [{"roomName": "d"}, {"roomName": "d"}], "unique"),
    ("rooms", [{"roomName": "taken"}], "already exists"),
])
def test_seed_rejects_invalid_input_and_stores_nothing(
        sandbox: Sandbox, kind: str, rooms: list[Any], message: str) -> None:
    emulator.seed(sandbox, APP, "rooms", [{"roomName": "taken"}])
    with pytest.raises(ValueError, match=re.escape(message)):
        emulator.seed(sandbox, APP, kind, rooms)
    assert sandbox.store.count("metered", APP, "rooms") == 1


def test_seeded_ids_repeat_for_the_same_seed() -> None:
    def ids() -> list[str]:
        sb = Sandbox(seed=7)
        try:
            return [r["_id"] + r["roomName"] for r in emulator.seed(sb, APP, "rooms", [{}, {}])]
        finally:
            sb.close()
    assert ids() == ids()


def test_seed_then_archive_frees_a_seeded_name(client: httpx.Client, sandbox: Sandbox) -> None:
    emulator.seed(sandbox, APP, "rooms", [{"roomName": "s"}])
    assert client.delete("/room/s").status_code == 200
    assert emulator.seed(sandbox, APP, "rooms", [{"roomName": "s"}])[0]["archived"] is False


@pytest.mark.parametrize(("status", "retry_after", "body", "header"), [
    (429, 7, {"success": False, "message": "Too many requests"}, "7"),
    (429, None, {"success": False, "message": "Too many requests"}, "1"),
    (500, None, {"eventCode": "", "message": "error message"}, None),
    (503, 2, {"eventCode": "", "message": "error message"}, "2"),
])
def test_fault_response(status: int, retry_after: int | None, body: dict[str, Any],
                        header: str | None) -> None:
    response = emulator.fault_response(status, retry_after)
    assert response.status_code == status
    assert json.loads(bytes(response.body)) == body
    assert response.headers.get("retry-after") == header
    assert response.headers["content-type"] == "application/json"


def test_injected_faults_use_metered_bodies_and_per_app_limits(
        root: str, client: httpx.Client, sandbox: Sandbox) -> None:
    set_faults(sandbox, "metered", {"rate_limit": {"requests": 2, "per_seconds": 60}})
    assert [client.get("/rooms").status_code for _ in range(2)] == [200, 200]
    limited = client.get("/rooms")
    assert_error(limited, 429, {"success": False, "message": "Too many requests"})
    assert int(limited.headers["retry-after"]) >= 1
    with httpx.Client(params={"secretKey": KEY}) as other:  # account_of: limits are per app
        assert other.get(f"{root}/other-app/api/v1/rooms").status_code == 200

    set_faults(sandbox, "metered", {"error_rate": 1, "error_statuses": [500]})
    assert_error(client.get("/rooms"), 500, {"eventCode": "", "message": "error message"})

    # A create whose reply is lost was stored: the retry meets "already exists" (U3).
    set_faults(sandbox, "metered", {"commit_then_fail": {"rate": 1}})
    with pytest.raises(httpx.TransportError):
        client.post("/room", json={"roomName": "lost"})
    set_faults(sandbox, "metered", None)
    assert_error(client.post("/room", json={"roomName": "lost"}), 400, EXISTS)


def _request(path: str, root_path: str = "") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "root_path": root_path,
                    "query_string": b"secretKey=k", "headers": [], "scheme": "http",
                    "server": ("127.0.0.1", 80)})


@pytest.mark.parametrize(("path", "root_path", "account"), [
    ("/metered/acme/api/v1/rooms", "/metered", "acme"),
    ("/metered/acme/api/v1/room/x", "", "acme"),
    ("/acme/api/v1/room", "", "acme"),
    ("/metered/metered/api/v1/rooms", "/metered", "metered"),
    ("/metered/api/api/v1/rooms", "/metered", "api"),
    ("/metered/", "/metered", None),
    ("/metered/acme/api/v2/rooms", "/metered", None),
])
def test_account_of_reads_the_app_from_the_path(path: str, root_path: str,
                                                account: str | None) -> None:
    assert emulator.account_of(_request(path, root_path)) == account
