"""The Twilio Video Rooms emulator, driven over real HTTP (see docs/providers/twilio.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from reconcile.providers.twilio import emulator, emulator_pages
from reconcile.sandbox import core
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.emulation import iso_seconds
from reconcile.sandbox.server import SandboxServer
from reconcile.sandbox.store import DuplicateName

ACCOUNT, TOKEN = DEFAULT_CREDENTIALS["twilio"]
WALL_CLOCK = 1_767_604_000.4  # 2026-01-05T09:06:40.4Z: frozen, so timestamps are exact
ROOM_SID = re.compile(r"^RM[0-9a-f]{32}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ROOM_KEYS = {
    "sid", "status", "date_created", "date_updated", "account_sid", "enable_turn",
    "unique_name", "status_callback", "status_callback_method", "end_time", "duration", "type",
    "max_participants", "max_participant_duration", "max_concurrent_published_tracks",
    "record_participants_on_connect", "video_codecs", "media_region", "audio_only",
    "empty_room_timeout", "unused_room_timeout", "large_room", "url", "links"}


SANDBOX_PROVIDERS = ("twilio",)


@pytest.fixture
def sandbox(module_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Overrides conftest's: the module server's sandbox, emptied for each test, on a
    virtual clock that moves only when a test advances it."""
    monkeypatch.setattr(core, "time", SimpleNamespace(time=lambda: WALL_CLOCK))
    module_server.sandbox.reset()
    return module_server.sandbox


@pytest.fixture
def root(server: SandboxServer, sandbox: Sandbox) -> str:
    """The emulator's mount root, over a freshly emptied sandbox."""
    return server.url("twilio")


@pytest.fixture
def api(root: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=root, auth=(ACCOUNT, TOKEN)) as client:
        yield client


def create(api: httpx.Client, **form: Any) -> dict[str, Any]:
    response = api.post("/v1/Rooms", data=form)
    assert response.status_code == 201, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {"code": code, "message": body["message"],
                    "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return body


def stored(sandbox: Sandbox, sid: str, account: str = ACCOUNT) -> dict[str, Any]:
    record = sandbox.store.get("twilio", account, "rooms", sid)
    assert record is not None
    return record.data


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# -- auth -------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, (ACCOUNT, "wrong-token"),
                                  ("AC" + "9" * 32, TOKEN), ("", "")])
def test_bad_or_missing_credentials_get_20003(root: str, auth: tuple[str, str] | None
                                              ) -> None:
    for method, path in (("GET", "/v1/Rooms"), ("POST", "/v1/Rooms"),
                         ("GET", "/v1/Rooms/x"), ("POST", "/v1/Rooms/x"),
                         ("GET", "/v1/Rooms/x/Participants")):
        response = httpx.request(method, root + path, auth=auth)
        body = error(response, 401, 20003)
        assert body["message"] == "Authenticate"
        assert response.headers["www-authenticate"].startswith("Basic")


def test_a_malformed_authorization_header_is_401(root: str) -> None:
    response = httpx.get(root + "/v1/Rooms", headers={"Authorization": "Basic !!!"})
    error(response, 401, 20003)


def test_accounts_are_isolated_and_api_keys_work(sandbox: Sandbox, api: httpx.Client,
                                                 root: str) -> None:
    other, key = "AC" + "1" * 32, "SK" + "2" * 32
    sandbox.register("twilio", other, "other-token")
    sandbox.register("twilio", key, "key-secret")
    mine = create(api, UniqueName="shared-name")
    with httpx.Client(base_url=root, auth=(other, "other-token")) as theirs:
        assert theirs.get("/v1/Rooms").json()["rooms"] == []
        error(theirs.get(f"/v1/Rooms/{mine['sid']}"), 404, 20404)
        theirs_room = create(theirs, UniqueName="shared-name")  # names are per account
        assert theirs_room["account_sid"] == other
    with httpx.Client(base_url=root, auth=(key, "key-secret")) as keyed:
        assert create(keyed)["account_sid"] == key
    assert [r["sid"] for r in api.get("/v1/Rooms").json()["rooms"]] == [mine["sid"]]


# -- create -----------------------------------------------------------------------------

def test_create_with_an_empty_body_applies_every_documented_default(
        sandbox: Sandbox, api: httpx.Client, root: str) -> None:
    response = api.post("/v1/Rooms")
    assert response.status_code == 201
    room = response.json()
    assert set(room) == ROOM_KEYS
    sid = room["sid"]
    assert ROOM_SID.match(sid)
    assert STAMP.match(room["date_created"]) and room["date_updated"] == room["date_created"]
    assert room["date_created"] == iso_seconds(sandbox.clock.now())
    assert room == {
        "sid": sid, "status": "in-progress", "date_created": room["date_created"],
        "date_updated": room["date_created"], "account_sid": ACCOUNT, "enable_turn": True,
        "unique_name": sid, "status_callback": None, "status_callback_method": "POST",
        "end_time": None, "duration": None, "type": "group", "max_participants": 50,
        "max_participant_duration": 14400, "max_concurrent_published_tracks": 0,
        "record_participants_on_connect": False, "video_codecs": ["VP8"],
        "media_region": "us1", "audio_only": False, "empty_room_timeout": 5,
        "unused_room_timeout": 5, "large_room": False,
        "url": f"{root}/v1/Rooms/{sid}",
        "links": {"participants": f"{root}/v1/Rooms/{sid}/Participants",
                  "recordings": f"{root}/v1/Rooms/{sid}/Recordings",
                  "transcriptions": f"{root}/v1/Rooms/{sid}/Transcriptions",
                  "recording_rules": f"{root}/v1/Rooms/{sid}/RecordingRules"}}
    assert root.startswith("http://127.0.0.1:") and root.endswith("/twilio")
    data = stored(sandbox, sid)
    assert data["_participants"] == [] and data["_ever_joined"] is False


def test_create_echoes_every_form_parameter(sandbox: Sandbox, api: httpx.Client) -> None:
    form = {"UniqueName": "all-hands", "Type": "group", "MaxParticipants": "25",
            "MaxParticipantDuration": "600", "EmptyRoomTimeout": "10",
            "UnusedRoomTimeout": "60", "StatusCallback": "https://example.com/cb?x=1",
            "StatusCallbackMethod": "GET", "RecordParticipantsOnConnect": "true",
            "TranscribeParticipantsOnConnect": "True",
            "TranscriptionsConfiguration": '{"languageCode": "en-US"}',
            "RecordingRules": '[{"type": "exclude", "all": true}]',
            "VideoCodecs": ["H264", "VP8"], "MediaRegion": "de1", "AudioOnly": "false",
            "LargeRoom": "TRUE", "EnableTurn": "false", "Ignored": "unknown keys are ignored"}
    room = create(api, **form)
    assert {k: room[k] for k in (
        "unique_name", "type", "max_participants", "max_participant_duration",
        "empty_room_timeout", "unused_room_timeout", "status_callback",
        "status_callback_method", "record_participants_on_connect", "video_codecs",
        "media_region", "audio_only", "large_room", "enable_turn")} == {
        "unique_name": "all-hands", "type": "group", "max_participants": 25,
        "max_participant_duration": 600, "empty_room_timeout": 10, "unused_room_timeout": 60,
        "status_callback": "https://example.com/cb?x=1", "status_callback_method": "GET",
        "record_participants_on_connect": True, "video_codecs": ["H264", "VP8"],
        "media_region": "de1", "audio_only": False, "large_room": True,
        "enable_turn": True}  # EnableTurn is deprecated: always true
    data = stored(sandbox, room["sid"])
    assert data["_recording_rules"] == [{"type": "exclude", "all": True}]
    assert data["_transcriptions_configuration"] == {"languageCode": "en-US"}
    assert data["_transcribe_participants_on_connect"] is True
    assert "Ignored" not in data and "ignored" not in room


def test_recording_rules_also_accept_the_rules_envelope(sandbox: Sandbox,
                                                        api: httpx.Client) -> None:
    room = create(api, RecordingRules='{"rules": [{"type": "include", "kind": "audio"}]}')
    assert stored(sandbox, room["sid"])["_recording_rules"] == [
        {"type": "include", "kind": "audio"}]


@pytest.mark.parametrize(("room_type", "cap"), [("group", 50), ("go", 50),
                                                ("peer-to-peer", 10), ("group-small", 4)])
def test_max_participants_defaults_and_caps_per_type(api: httpx.Client, room_type: str,
                                                     cap: int) -> None:
    assert create(api, Type=room_type)["max_participants"] == cap  # U7
    assert create(api, Type=room_type, MaxParticipants=str(cap))["max_participants"] == cap
    body = error(api.post("/v1/Rooms", data={"Type": room_type,
                                             "MaxParticipants": str(cap + 1)}), 400, 53107)
    assert "MaxParticipants" in body["message"]


@pytest.mark.parametrize("room_type", ["go", "peer-to-peer", "group-small"])
def test_the_legacy_switch_creates_legacy_types_as_group_rooms(
        server: SandboxServer, api: httpx.Client, room_type: str) -> None:
    assert create(api, Type=room_type)["type"] == room_type  # switch off: stored as given
    switch = httpx.post(f"{server.control_url}/providers/twilio/accounts/{ACCOUNT}/switches",
                        json={"legacy_types_as_group": True})
    assert switch.status_code == 200, switch.text
    room = create(api, Type=room_type, MaxParticipants="20")  # U14: group's cap, not 10/4
    assert (room["type"], room["max_participants"]) == ("group", 20)
    assert create(api, Type=room_type)["max_participants"] == 50


def test_audio_only_in_a_legacy_room_type_is_53124(api: httpx.Client) -> None:
    body = error(api.post("/v1/Rooms", data={"AudioOnly": "true", "Type": "go"}), 400, 53124)
    assert body["message"] == "The AudioOnly flag is not supported for the Room type"


def test_audio_only_rooms_have_no_video_codecs(api: httpx.Client) -> None:
    assert create(api, AudioOnly="true")["video_codecs"] == []
    assert create(api, AudioOnly="true", VideoCodecs="H264")["video_codecs"] == []
    assert create(api, VideoCodecs=["VP8", "VP8"])["video_codecs"] == ["VP8"]


@pytest.mark.parametrize(("given", "stored_as"), [("get", "GET"), ("POST", "POST")])
def test_status_callback_method_is_get_or_post(api: httpx.Client, given: str,
                                               stored_as: str) -> None:
    assert create(api, StatusCallbackMethod=given)["status_callback_method"] == stored_as


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH", "DELETE", "head"])
def test_status_callback_methods_the_spec_does_not_list_are_53110(
        sandbox: Sandbox, api: httpx.Client, method: str) -> None:
    body = error(api.post("/v1/Rooms", data={"StatusCallbackMethod": method}), 400, 53110)
    assert "StatusCallbackMethod" in body["message"]  # U13
    assert sandbox.store.count("twilio", ACCOUNT, "rooms", live=None) == 0


def test_a_json_body_is_ignored_and_the_room_is_named_after_its_sid(api: httpx.Client
                                                                    ) -> None:
    response = api.post("/v1/Rooms", json={"UniqueName": "json-room", "Type": "go",
                                           "MaxParticipants": 999})
    assert response.status_code == 201
    room = response.json()
    assert room["unique_name"] == room["sid"]
    assert room["type"] == "group" and room["max_participants"] == 50
    error(api.get("/v1/Rooms/json-room"), 404, 20404)


@pytest.mark.parametrize(("form", "code"), [
    ({"EmptyRoomTimeout": "0"}, 53109), ({"EmptyRoomTimeout": "61"}, 53109),
    ({"UnusedRoomTimeout": "1.5"}, 53109), ({"UnusedRoomTimeout": "soon"}, 53109),
    ({"UnusedRoomTimeout": "-1"}, 53109),
    ({"UniqueName": ""}, 53100), ({"UniqueName": "   "}, 53100),
    ({"UniqueName": "RM" + "a" * 32}, 53100), ({"UniqueName": "x" * 129}, 53101),
    ({"MaxParticipants": "0"}, 53107), ({"MaxParticipants": "51"}, 53107),
    ({"MaxParticipants": "ten"}, 53107), ({"MaxParticipantDuration": "86401"}, 53123),
    ({"MaxParticipantDuration": "599"}, 53123), ({"Type": "huge"}, 53108),
    ({"VideoCodecs": "VP9"}, 53114), ({"VideoCodecs": ["VP8", ""]}, 53114),
    ({"MediaRegion": "mars1"}, 53114), ({"AudioOnly": "yes"}, 53114),
    ({"LargeRoom": "1"}, 53114), ({"EnableTurn": "maybe"}, 53114),
    ({"StatusCallback": "not a url"}, 53111), ({"StatusCallback": "ftp://x.example/"}, 53111),
    ({"StatusCallback": "https://x.example/" + "a" * 1010}, 53111),
    ({"StatusCallbackMethod": "FETCH"}, 53110), ({"RecordingRules": "not json"}, 53120),
    ({"RecordingRules": '{"type": "exclude"}'}, 53120), ({"RecordingRules": "[]"}, 53120),
    ({"RecordingRules": '[{"all": true}]'}, 53120),
    ({"RecordingRules": '[{"type": "include", "all": true, "kind": "audio"}]'}, 53120),
    ({"RecordingRules": json.dumps([{"type": "include", "all": True}] * 21)}, 53120),
    ({"TranscriptionsConfiguration": "[1, 2]"}, 53114),
])
def test_invalid_create_parameters_are_400(sandbox: Sandbox, api: httpx.Client,
                                           form: dict[str, Any], code: int) -> None:
    body = error(api.post("/v1/Rooms", data=form), 400, code)
    messages = {53109: "Room timeout is out of range", 53100: "Room name is invalid",
                53101: "Room name is too long", 53120: "Invalid Recording Rule(s)"}
    if code in messages:
        assert body["message"] == messages[code]  # U4
    else:
        assert next(iter(form)) in body["message"]  # names the parameter (U2)
    assert sandbox.store.count("twilio", ACCOUNT, "rooms", live=None) == 0


def test_name_length_limit_is_128_characters(api: httpx.Client) -> None:
    assert create(api, UniqueName="n" * 128)["unique_name"] == "n" * 128  # U5


def test_a_name_that_is_not_utf8_is_53102(api: httpx.Client) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = error(api.post("/v1/Rooms", content=b"UniqueName=caf%E9", headers=headers),
                 400, 53102)
    assert body["message"] == "Room name contains invalid characters"
    error(api.post("/v1/Rooms", content=b"MediaRegion=%FF", headers=headers), 400, 53114)
    assert create(api, UniqueName="café ☕")["unique_name"] == "café ☕"


def test_a_duplicate_in_progress_name_is_53113(api: httpx.Client) -> None:
    create(api, UniqueName="standup")
    body = error(api.post("/v1/Rooms", data={"UniqueName": "standup"}), 400, 53113)
    assert body["message"] == "Room exists"  # U1, U4
    assert create(api, UniqueName="Standup")["unique_name"] == "Standup"  # case-sensitive


def test_concurrent_same_name_creates_succeed_exactly_once(sandbox: Sandbox, root: str
                                                           ) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=root, auth=(ACCOUNT, TOKEN)) as client:
            return await asyncio.gather(*(client.post("/v1/Rooms", data={"UniqueName": "race"})
                                          for _ in range(10)))

    responses = asyncio.run(burst())
    assert sorted(r.status_code for r in responses) == [201] + [400] * 9
    for response in responses:
        if response.status_code == 400:
            error(response, 400, 53113)
    rooms = sandbox.store.list("twilio", ACCOUNT, "rooms", live=None)
    assert [r.name for r in rooms] == ["race"]


# -- fetch ------------------------------------------------------------------------------

def test_fetch_by_sid_and_by_name(api: httpx.Client) -> None:
    room = create(api, UniqueName="Support Desk")
    assert api.get(f"/v1/Rooms/{room['sid']}").json() == room
    by_name = api.get("/v1/Rooms/Support%20Desk")
    assert by_name.status_code == 200 and by_name.json() == room


def test_fetch_unknown_room_is_20404(api: httpx.Client) -> None:
    body = error(api.get("/v1/Rooms/RM" + "0" * 32), 404, 20404)
    assert body["message"] == f"The requested resource /v1/Rooms/RM{'0' * 32} was not found"
    error(api.get("/v1/Rooms/no-such-room"), 404, 20404)


def test_unknown_paths_get_a_twilio_404(api: httpx.Client) -> None:
    error(api.get("/v1/Compositions"), 404, 20404)
    error(api.get("/v2/Rooms"), 404, 20404)


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_rooms_cannot_be_deleted_or_replaced(api: httpx.Client, method: str) -> None:
    room = create(api, UniqueName="keep")
    for path in (f"/v1/Rooms/{room['sid']}", "/v1/Rooms/keep", "/v1/Rooms"):
        body = error(api.request(method, path), 405, 20004)  # U11
        assert body["message"] == "Method not allowed"
    error(api.request(method, f"/v1/Rooms/{room['sid']}/Participants"), 405, 20004)
    assert api.get("/v1/Rooms/keep").json()["status"] == "in-progress"


# -- end (update) -----------------------------------------------------------------------

def test_completing_a_room_frees_its_name(sandbox: Sandbox, api: httpx.Client) -> None:
    room = create(api, UniqueName="retro")
    sandbox.clock.advance(90)
    response = api.post("/v1/Rooms/retro", data={"Status": "completed"})
    assert response.status_code == 202
    done = response.json()
    assert done["sid"] == room["sid"] and done["status"] == "completed"
    assert done["end_time"] == iso_seconds(sandbox.clock.now()) == done["date_updated"]
    assert done["duration"] == 90
    assert api.get(f"/v1/Rooms/{room['sid']}").json() == done
    error(api.get("/v1/Rooms/retro"), 404, 20404)  # by name: in-progress rooms only
    again = create(api, UniqueName="retro")
    assert again["sid"] != room["sid"]
    assert api.get("/v1/Rooms/retro").json()["sid"] == again["sid"]
    completed = api.get("/v1/Rooms", params={"Status": "completed"}).json()["rooms"]
    assert [r["sid"] for r in completed] == [room["sid"]]


@pytest.mark.parametrize("form", [{"Status": "in-progress"}, {"Status": "failed"},
                                  {"Status": "COMPLETED"}, {}, {"UniqueName": "x"}])
def test_anything_but_completing_is_53112(api: httpx.Client, form: dict[str, str]) -> None:
    room = create(api)
    body = error(api.post(f"/v1/Rooms/{room['sid']}", data=form), 400, 53112)
    assert body["message"] == "Status is invalid"
    assert api.get(f"/v1/Rooms/{room['sid']}").json()["status"] == "in-progress"


def test_a_json_update_is_an_empty_form(api: httpx.Client) -> None:
    room = create(api)
    error(api.post(f"/v1/Rooms/{room['sid']}", json={"Status": "completed"}), 400, 53112)


def test_completing_twice_is_53112_and_unknown_rooms_404(api: httpx.Client) -> None:
    room = create(api)
    assert api.post(f"/v1/Rooms/{room['sid']}", data={"Status": "completed"}).status_code \
        == 202
    error(api.post(f"/v1/Rooms/{room['sid']}", data={"Status": "completed"}), 400, 53112)
    error(api.post("/v1/Rooms/nobody", data={"Status": "completed"}), 404, 20404)


def test_completing_disconnects_participants(sandbox: Sandbox, api: httpx.Client) -> None:
    room = create(api, UniqueName="class")
    record = sandbox.find("twilio", ACCOUNT, "rooms", "class")
    assert record is not None
    sandbox.set_participants(record, add=["alice", "bob"])
    sandbox.clock.advance(120)
    api.post("/v1/Rooms/class", data={"Status": "completed"})
    people = api.get(f"/v1/Rooms/{room['sid']}/Participants").json()["participants"]
    assert [(p["identity"], p["status"], p["duration"]) for p in people] == [
        ("alice", "disconnected", 120), ("bob", "disconnected", 120)]
    assert all(p["end_time"] == iso_seconds(sandbox.clock.now()) for p in people)


# -- list -------------------------------------------------------------------------------

def test_list_defaults_to_in_progress_rooms(sandbox: Sandbox, api: httpx.Client,
                                            root: str) -> None:
    live = create(api, UniqueName="a")
    ended = create(api, UniqueName="b")
    api.post(f"/v1/Rooms/{ended['sid']}", data={"Status": "completed"})
    emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "c", "status": "failed"}])
    page = api.get("/v1/Rooms").json()
    assert [r["unique_name"] for r in page["rooms"]] == ["a"]
    assert page["rooms"][0] == live
    assert page["meta"] == {
        "page": 0, "page_size": 50,
        "first_page_url": f"{root}/v1/Rooms?PageSize=50&Page=0", "previous_page_url": None,
        "url": f"{root}/v1/Rooms?PageSize=50&Page=0", "next_page_url": None, "key": "rooms"}
    for status, names in (("in-progress", ["a"]), ("completed", ["b"]), ("failed", ["c"])):
        got = api.get("/v1/Rooms", params={"Status": status}).json()["rooms"]
        assert [r["unique_name"] for r in got] == names


def test_list_filters_by_exact_unique_name(api: httpx.Client) -> None:
    create(api, UniqueName="team")
    create(api, UniqueName="team-2")
    create(api, UniqueName="Team")
    got = api.get("/v1/Rooms", params={"UniqueName": "team"}).json()
    assert [r["unique_name"] for r in got["rooms"]] == ["team"]  # U6: exact, case-sensitive
    assert "UniqueName=team&" in got["meta"]["url"]


def test_list_filters_by_creation_date(sandbox: Sandbox, api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": "old", "date_created": "2024-01-01T10:00:00Z", "unused_room_timeout": 0},
        {"unique_name": "mid", "date_created": "2024-01-02T23:59:59Z", "unused_room_timeout": 0},
        {"unique_name": "new", "date_created": "2024-01-03T00:00:00Z", "unused_room_timeout": 0},
    ])

    def names(**params: str) -> list[str]:
        response = api.get("/v1/Rooms", params=params)
        assert response.status_code == 200, response.text
        return [r["unique_name"] for r in response.json()["rooms"]]

    assert names(DateCreatedAfter="2024-01-02") == ["mid", "new"]  # on or after
    assert names(DateCreatedBefore="2024-01-03") == ["old", "mid"]  # strictly before
    assert names(DateCreatedAfter="2024-01-02", DateCreatedBefore="2024-01-03") == ["mid"]
    assert names(DateCreatedAfter="2024-01-02T23:59:59Z") == ["mid", "new"]  # U12
    assert names(DateCreatedBefore="2024-01-01T10:00:01+00:00") == ["old"]
    error(api.get("/v1/Rooms", params={"DateCreatedAfter": "yesterday"}), 400, 400)


@pytest.mark.parametrize("params", [{"PageSize": "0"}, {"PageSize": "1001"},
                                    {"PageSize": "ten"}, {"Page": "-1"}, {"Page": "x"},
                                    {"Status": "open"}])
def test_bad_list_parameters_are_400(api: httpx.Client, params: dict[str, str]) -> None:
    error(api.get("/v1/Rooms", params=params), 400, 400)  # U2: the catalogue's Bad Request


@pytest.mark.parametrize("token", ["garbage", "PT!!!", "PT" + "A" * 10, "PTA", "PT_w",
                                   "PTUk0wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA"])
def test_bad_page_tokens_are_21481(api: httpx.Client, token: str) -> None:
    body = error(api.get("/v1/Rooms", params={"PageToken": token}), 400, 21481)
    assert body["message"] == "Invalid PageToken"


def test_pagination_across_pages_at_the_maximum_page_size(sandbox: Sandbox,
                                                          api: httpx.Client, root: str
                                                          ) -> None:
    seeded = emulator.seed(sandbox, ACCOUNT, "rooms",
                           [{"unique_name": f"room-{i:04}"} for i in range(2500)])
    url: str | None = f"{root}/v1/Rooms?PageSize=1000"
    pages: list[dict[str, Any]] = []
    while url:
        response = api.get(url)
        assert response.status_code == 200
        pages.append(response.json())
        url = pages[-1]["meta"]["next_page_url"]
    assert [len(p["rooms"]) for p in pages] == [1000, 1000, 500]
    assert [p["meta"]["page"] for p in pages] == [0, 1, 2]
    sids = [r["sid"] for p in pages for r in p["rooms"]]
    assert sids == [r["sid"] for r in seeded]
    first_next = pages[0]["meta"]["next_page_url"]
    token = emulator_pages.token(pages[0]["rooms"][-1]["sid"])
    assert first_next == f"{root}/v1/Rooms?PageSize=1000&Page=1&PageToken={token}"
    assert token.startswith("PT")  # U8
    assert pages[1]["meta"]["url"] == first_next
    assert pages[1]["meta"]["first_page_url"] == f"{root}/v1/Rooms?PageSize=1000&Page=0"
    assert pages[0]["meta"]["previous_page_url"] is None
    # Page 2 and later link back, and the previous pages hold what they held going forward.
    for number in (2, 1):
        previous = pages[number]["meta"]["previous_page_url"]
        assert previous is not None and f"Page={number - 1}&PageToken=PB" in previous
        back = api.get(previous).json()
        assert [r["sid"] for r in back["rooms"]] == [r["sid"] for r in pages[number - 1]["rooms"]]
        assert back["meta"]["page"] == number - 1
        assert back["meta"]["next_page_url"] is not None
    first_again = api.get(pages[1]["meta"]["previous_page_url"]).json()
    assert first_again["meta"]["previous_page_url"] is None  # page 0 has none
    assert api.get(first_again["meta"]["next_page_url"]).json()["rooms"] == pages[1]["rooms"]


def test_default_page_size_is_50_and_filters_ride_along(sandbox: Sandbox,
                                                        api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [{"status": "completed"} for _ in range(60)])
    first = api.get("/v1/Rooms", params={"Status": "completed"}).json()
    assert len(first["rooms"]) == 50 and first["meta"]["page_size"] == 50
    assert first["meta"]["next_page_url"].split("?")[1].startswith(
        "Status=completed&PageSize=50&Page=1&PageToken=PT")
    second = api.get(first["meta"]["next_page_url"]).json()
    assert len(second["rooms"]) == 10 and second["meta"]["next_page_url"] is None


def test_filtered_pages_skip_rows_that_do_not_match(sandbox: Sandbox,
                                                    api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": f"r{i}", "status": "completed" if i % 3 else "failed"}
        for i in range(12)])
    names: list[str] = []
    url: str | None = "/v1/Rooms?Status=failed&PageSize=2"
    while url:
        page = api.get(url).json()
        names += [r["unique_name"] for r in page["rooms"]]
        url = page["meta"]["next_page_url"]
    assert names == ["r0", "r3", "r6", "r9"]


def test_the_page_parameter_is_echoed(api: httpx.Client) -> None:
    create(api)
    meta = api.get("/v1/Rooms", params={"Page": "7", "PageSize": "5"}).json()["meta"]
    assert meta["page"] == 7 and meta["page_size"] == 5
    assert meta["url"].endswith("/v1/Rooms?PageSize=5&Page=7")


# -- auto-completion under the virtual clock -------------------------------------------

def test_an_unused_room_completes_after_unused_room_timeout(sandbox: Sandbox,
                                                            api: httpx.Client) -> None:
    room = create(api, UniqueName="lonely")
    sandbox.clock.advance(299)
    assert api.get("/v1/Rooms/lonely").json()["status"] == "in-progress"
    sandbox.clock.advance(3600)  # noticed long after the deadline
    done = api.get(f"/v1/Rooms/{room['sid']}").json()
    expected_end = iso_seconds(at(room["date_created"]).timestamp() + 300)
    assert done["status"] == "completed"
    assert done["end_time"] == expected_end == done["date_updated"]
    assert done["duration"] == 300
    error(api.get("/v1/Rooms/lonely"), 404, 20404)
    assert api.get("/v1/Rooms").json()["rooms"] == []
    assert create(api, UniqueName="lonely")["sid"] != room["sid"]


def test_a_custom_unused_timeout_is_in_minutes(sandbox: Sandbox, api: httpx.Client) -> None:
    room = create(api, UnusedRoomTimeout="1", EmptyRoomTimeout="30")
    sandbox.clock.advance(59)
    assert api.get(f"/v1/Rooms/{room['sid']}").json()["status"] == "in-progress"
    sandbox.clock.advance(2)
    assert api.get(f"/v1/Rooms/{room['sid']}").json()["duration"] == 60


def test_an_emptied_room_completes_after_empty_room_timeout(sandbox: Sandbox,
                                                            api: httpx.Client) -> None:
    room = create(api, UniqueName="talk", EmptyRoomTimeout="2", UnusedRoomTimeout="1")
    record = sandbox.find("twilio", ACCOUNT, "rooms", "talk")
    assert record is not None
    record = sandbox.set_participants(record, add=["alice"])
    sandbox.clock.advance(3600)  # occupied rooms never expire
    people = api.get("/v1/Rooms/talk/Participants").json()["participants"]
    assert [(p["identity"], p["status"]) for p in people] == [("alice", "connected")]
    record = sandbox.set_participants(record, remove=["alice"])
    left_at = sandbox.clock.now()
    sandbox.clock.advance(119)
    assert api.get("/v1/Rooms/talk").json()["status"] == "in-progress"
    sandbox.clock.advance(600)
    done = api.get(f"/v1/Rooms/{room['sid']}").json()
    assert done["status"] == "completed"
    assert done["end_time"] == iso_seconds(left_at + 120)
    assert done["duration"] == int(left_at + 120) - int(at(room["date_created"]).timestamp())


def test_a_room_that_fills_again_does_not_expire(sandbox: Sandbox, api: httpx.Client) -> None:
    create(api, UniqueName="busy", EmptyRoomTimeout="1")
    record = sandbox.find("twilio", ACCOUNT, "rooms", "busy")
    assert record is not None
    record = sandbox.set_participants(record, add=["a"])
    api.get("/v1/Rooms")  # a sweep while occupied
    record = sandbox.set_participants(record, remove=["a"])
    sandbox.clock.advance(30)
    record = sandbox.set_participants(record, add=["b"])
    sandbox.clock.advance(600)
    assert api.get("/v1/Rooms/busy").json()["status"] == "in-progress"


def test_ad_hoc_rooms_with_zero_timeouts_never_complete(sandbox: Sandbox,
                                                        api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": "adhoc", "empty_room_timeout": 0, "unused_room_timeout": 0}])
    sandbox.clock.advance(30 * 86400)
    room = api.get("/v1/Rooms/adhoc").json()
    assert room["status"] == "in-progress" and room["unused_room_timeout"] == 0


def test_backdated_seeds_complete_at_their_deadline(sandbox: Sandbox,
                                                    api: httpx.Client) -> None:
    api.get("/v1/Rooms")  # a sweep just happened: a seed must not be hidden by it
    created = datetime.fromtimestamp(sandbox.clock.now(), UTC) - timedelta(hours=2)
    [room] = emulator.seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": "stale", "date_created": created.isoformat()}])
    done = api.get(f"/v1/Rooms/{room['sid']}").json()
    assert done["status"] == "completed"
    assert done["end_time"] == iso_seconds(created.timestamp() + 300)
    assert done["duration"] == 300


@pytest.mark.parametrize("first_look", ["fetch", "create", "list"])
def test_rooms_ended_out_of_band_free_their_name(sandbox: Sandbox, api: httpx.Client,
                                                 first_look: str) -> None:
    room = create(api, UniqueName="hook")
    record = sandbox.find("twilio", ACCOUNT, "rooms", "hook")
    assert record is not None
    sandbox.store.update(record, {**record.data, "status": "failed"})  # a control-API merge
    if first_look == "fetch":
        error(api.get("/v1/Rooms/hook"), 404, 20404)
    if first_look == "list":
        failed = api.get("/v1/Rooms", params={"Status": "failed"}).json()["rooms"]
        assert [r["sid"] for r in failed] == [room["sid"]]
    assert create(api, UniqueName="hook")["sid"] != room["sid"]
    assert api.get("/v1/Rooms").json()["rooms"][0]["unique_name"] == "hook"
    failed = api.get("/v1/Rooms", params={"Status": "failed"}).json()["rooms"]
    assert [r["sid"] for r in failed] == [room["sid"]]


# -- participants -----------------------------------------------------------------------

def test_participants_list(sandbox: Sandbox, api: httpx.Client, root: str) -> None:
    room = create(api, UniqueName="clinic")
    sid = room["sid"]
    empty = api.get(f"/v1/Rooms/{sid}/Participants").json()
    assert empty == {"participants": [], "meta": {
        "page": 0, "page_size": 50, "previous_page_url": None, "next_page_url": None,
        "first_page_url": f"{root}/v1/Rooms/{sid}/Participants?PageSize=50&Page=0",
        "url": f"{root}/v1/Rooms/{sid}/Participants?PageSize=50&Page=0",
        "key": "participants"}}
    record = sandbox.find("twilio", ACCOUNT, "rooms", "clinic")
    assert record is not None
    sandbox.clock.advance(30)
    sandbox.set_participants(record, add=["alice", "bob"])
    people = api.get("/v1/Rooms/clinic/Participants").json()["participants"]
    alice = people[0]
    assert re.match(r"^PA[0-9a-f]{32}$", alice["sid"])
    assert alice == {
        "sid": alice["sid"], "room_sid": sid, "account_sid": ACCOUNT, "status": "connected",
        "identity": "alice", "date_created": iso_seconds(sandbox.clock.now()),
        "date_updated": iso_seconds(sandbox.clock.now()),
        "start_time": iso_seconds(sandbox.clock.now()), "end_time": None, "duration": None,
        "url": f"{root}/v1/Rooms/{sid}/Participants/{alice['sid']}",
        "links": {k: f"{root}/v1/Rooms/{sid}/Participants/{alice['sid']}/{v}" for k, v in (
            ("published_tracks", "PublishedTracks"), ("subscribed_tracks", "SubscribedTracks"),
            ("subscribe_rules", "SubscribeRules"), ("anonymize", "Anonymize"))}}
    again = api.get(f"/v1/Rooms/{sid}/Participants").json()["participants"]
    assert [p["sid"] for p in again] == [p["sid"] for p in people]  # stable sids

    def identities(**params: str) -> list[str]:
        response = api.get(f"/v1/Rooms/{sid}/Participants", params=params)
        assert response.status_code == 200, response.text
        return [p["identity"] for p in response.json()["participants"]]

    assert identities(Status="connected") == ["alice", "bob"]
    assert identities(Status="disconnected") == []
    assert identities(Identity="bob") == ["bob"]
    assert identities(DateCreatedAfter="2000-01-01", DateCreatedBefore="2001-01-01") == []
    error(api.get(f"/v1/Rooms/{sid}/Participants", params={"Status": "gone"}), 400, 400)


def test_participant_pages_and_errors(sandbox: Sandbox, api: httpx.Client) -> None:
    room = create(api)
    record = sandbox.store.get("twilio", ACCOUNT, "rooms", room["sid"])
    assert record is not None
    sandbox.set_participants(record, add=["p1", "p2", "p3"])
    seen: list[str] = []
    url: str | None = f"/v1/Rooms/{room['sid']}/Participants?PageSize=2"
    while url:
        page = api.get(url).json()
        seen += [p["identity"] for p in page["participants"]]
        url = page["meta"]["next_page_url"]
    assert seen == ["p1", "p2", "p3"]
    assert page["meta"]["page"] == 1 and page["meta"]["previous_page_url"] is not None
    back = api.get(page["meta"]["previous_page_url"]).json()
    assert [p["identity"] for p in back["participants"]] == ["p1", "p2"]
    assert back["meta"]["previous_page_url"] is None
    error(api.get(f"/v1/Rooms/{room['sid']}/Participants", params={"PageToken": "PTeA"}),
          400, 21481)
    error(api.get("/v1/Rooms/nowhere/Participants"), 404, 20404)


# -- the sandbox contract ---------------------------------------------------------------

@pytest.mark.parametrize(("status", "retry_after", "code"), [(429, 7, 20429), (503, None, 20503),
                                                             (500, 1, 20500), (502, None, 20500),
                                                             (599, None, 20500)])
def test_fault_response_bodies(status: int, retry_after: int | None, code: int) -> None:
    response = emulator.fault_response(status, retry_after)
    assert response.status_code == status
    assert response.headers.get("retry-after") == (None if retry_after is None
                                                   else str(retry_after))
    body = json.loads(bytes(response.body))
    assert body["code"] == code and body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    if status == 429:
        assert body["message"] == "Too Many Requests"  # U9


def test_account_of_reads_the_basic_auth_username_without_verifying() -> None:
    def request(headers: list[tuple[bytes, bytes]]) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/v1/Rooms",
                        "headers": headers, "query_string": b""})

    header = base64.b64encode(b"AC" + b"5" * 32 + b":not-checked")
    assert emulator.account_of(request([(b"authorization", b"Basic " + header)])) \
        == "AC" + "5" * 32
    assert emulator.account_of(request([])) is None


def test_seed_creates_rooms_with_defaults(sandbox: Sandbox, api: httpx.Client) -> None:
    rooms = emulator.seed(sandbox, ACCOUNT, "rooms", [
        {}, {"unique_name": "x", "type": "peer-to-peer", "video_codecs": ["H264"],
             "audio_only": False, "status_callback_method": "get"},
        {"unique_name": "done", "status": "completed"}])
    blank, x, done = rooms
    assert set(blank) == ROOM_KEYS and blank["unique_name"] == blank["sid"]
    assert blank["url"] == f"https://video.twilio.com/v1/Rooms/{blank['sid']}"
    assert (x["max_participants"], x["video_codecs"], x["status_callback_method"]) == (
        10, ["H264"], "GET")
    assert done["status"] == "completed" and done["end_time"] is not None
    listed = api.get("/v1/Rooms").json()["rooms"]
    assert [r["sid"] for r in listed] == [blank["sid"], x["sid"]]
    assert api.get("/v1/Rooms/x").json()["type"] == "peer-to-peer"
    assert emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "done"}])  # name free


@pytest.mark.parametrize(("kind", "items", "message"), [
    ("conferences", [{}], "one room kind"),
    ("rooms", [{"name": "x"}], "unknown room field"),
    ("rooms", [{"empty_room_timeout": 61}], "timeout"),
    ("rooms", [{"max_participants": "10"}], "MaxParticipants"),
    ("rooms", [{"status": "open"}], "status"),
    ("rooms", [{"date_created": "soon"}], "date_created"),
    ("rooms", ["not a mapping"], "mapping"),
    ("rooms", [{"unique_name": "twin"}, {"unique_name": "twin"}], "twin"),
])
def test_seed_rejects_invalid_rooms(sandbox: Sandbox, kind: str, items: list[Any],
                                    message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emulator.seed(sandbox, ACCOUNT, kind, items)
    assert sandbox.store.count("twilio", ACCOUNT, "rooms", live=None) == 0


def test_seed_rejects_names_already_in_progress(sandbox: Sandbox) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "taken"}])
    with pytest.raises(DuplicateName):
        emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": "free"},
                                                  {"unique_name": "taken"}])
    assert sandbox.store.count("twilio", ACCOUNT, "rooms") == 1


def test_recording_rules_link_answers_with_the_rules(server: SandboxServer) -> None:
    auth = DEFAULT_CREDENTIALS["twilio"]
    rules = '[{"type": "exclude", "all": true}]'
    with httpx.Client(base_url=server.url("twilio"), auth=auth) as http:
        room = http.post("/v1/Rooms", data={"UniqueName": "rr", "RecordingRules": rules}).json()
        answer = http.get(room["links"]["recording_rules"].split("/twilio", 1)[1])
        plain = http.get(f"/v1/Rooms/{room['sid']}/RecordingRules")
    assert answer.status_code == 200
    assert answer.json() == plain.json() == {
        "room_sid": room["sid"], "rules": [{"type": "exclude", "all": True}],
        "date_created": None, "date_updated": None}
