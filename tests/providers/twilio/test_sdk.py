"""The official Twilio Python SDK (`twilio`) against the Twilio emulator.

Every request the SDK builds for https://video.twilio.com is rewritten to the emulator's
mount root by `EmulatorHttpClient`, the SDK's own extension point (the `http_client`
argument of `twilio.rest.Client`); any other URL fails the test before a byte is sent, and
every https:// URL is bound to an adapter that refuses to connect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from reconcile.providers.twilio import emulator
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

twilio_rest = pytest.importorskip("twilio.rest")
twilio_exceptions = pytest.importorskip("twilio.base.exceptions")
twilio_http = pytest.importorskip("twilio.http.http_client")
requests_adapters = pytest.importorskip("requests.adapters")  # a dependency of twilio

SANDBOX_PROVIDERS = ("twilio",)
REAL_ROOT = "https://video.twilio.com"
ACCOUNT, TOKEN = DEFAULT_CREDENTIALS["twilio"]
ROOM_SID = re.compile(r"^RM[0-9a-f]{32}$")
TwilioRestException = twilio_exceptions.TwilioRestException


class NoHttps(requests_adapters.BaseAdapter):
    """Mounted for https://: the emulator speaks plain HTTP on loopback, so anything that
    would go out over TLS is a bug, refused before a connection is opened."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"refusing to send {request.url} off the loopback")

    def close(self) -> None:
        pass


class EmulatorHttpClient(twilio_http.TwilioHttpClient):
    """The SDK's requests-based client, with the Twilio host swapped for the emulator.

    The SDK requests absolute URLs: `https://video.twilio.com/v1/...` for the calls it
    builds, and `meta.next_page_url` verbatim (the emulator's own root) while paging.
    """

    def __init__(self, root: str) -> None:
        super().__init__(timeout=10)
        assert self.session is not None
        self.session.trust_env = False  # no proxy or netrc from the environment
        self.session.mount("https://", NoHttps())
        self.root = root
        self.sent: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = []
        self.statuses: list[int] = []

    def request(self, method: str, url: str, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if url.startswith(REAL_ROOT + "/"):
            url = self.root + url[len(REAL_ROOT):]
        assert url.startswith(self.root + "/"), f"the SDK tried to leave the sandbox: {url}"
        self.sent.append((method, url, params, data))
        response = super().request(method, url, params=params, data=data, **kwargs)
        self.statuses.append(response.status_code)
        return response


@pytest.fixture
def http(server: SandboxServer) -> Iterator[EmulatorHttpClient]:
    http = EmulatorHttpClient(server.url("twilio"))
    yield http
    assert http.session is not None
    http.session.close()


def make_client(http: EmulatorHttpClient, token: str = TOKEN) -> Any:
    # `environment` keeps TWILIO_EDGE/TWILIO_REGION (which change the host) out of the test.
    return twilio_rest.Client(ACCOUNT, token, http_client=http,
                              environment={"TWILIO_ACCOUNT_SID": ACCOUNT})


@pytest.fixture
def client(http: EmulatorHttpClient) -> Any:
    return make_client(http)


def create_room(client: Any, name: str) -> Any:
    return client.video.v1.rooms.create(
        unique_name=name, type="group", max_participants=12, empty_room_timeout=7,
        video_codecs=["VP8", "H264"], record_participants_on_connect=True)


FIELDS = ("sid", "status", "date_created", "date_updated", "account_sid", "enable_turn",
          "unique_name", "status_callback", "status_callback_method", "end_time", "duration",
          "type", "max_participants", "max_participant_duration",
          "max_concurrent_published_tracks", "record_participants_on_connect", "video_codecs",
          "media_region", "audio_only", "empty_room_timeout", "unused_room_timeout",
          "large_room", "url", "links")


def fields(room: Any) -> dict[str, Any]:
    return {name: getattr(room, name) for name in FIELDS}


def test_requests_for_other_hosts_never_leave_the_process(client: Any,
                                                          http: EmulatorHttpClient) -> None:
    # Checked without sending anything: every https:// URL is bound to the refusing adapter.
    assert http.session is not None
    assert isinstance(http.session.get_adapter(REAL_ROOT + "/v1/Rooms"), NoHttps)
    # api.twilio.com is not the Video host: the rewriting hook refuses it before sending.
    with pytest.raises(AssertionError, match="tried to leave the sandbox"):
        client.api.v2010.accounts.list(limit=1)
    assert http.sent == []


def test_create_sends_twilio_form_and_returns_the_room(client: Any, http: EmulatorHttpClient,
                                                       server: SandboxServer,
                                                       sandbox: Sandbox) -> None:
    room = create_room(client, "standup")

    [(method, url, params, data)] = http.sent
    assert (method, url, params) == ("POST", server.url("twilio") + "/v1/Rooms", None)
    assert data == {"UniqueName": "standup", "Type": "group", "MaxParticipants": 12,
                    "EmptyRoomTimeout": 7, "VideoCodecs": ["VP8", "H264"],
                    "RecordParticipantsOnConnect": "true"}
    assert ROOM_SID.match(room.sid)
    got = fields(room)
    assert isinstance(got.pop("date_created"), datetime)
    assert isinstance(got.pop("date_updated"), datetime)
    links = got.pop("links")
    assert set(links) == {"participants", "recordings", "transcriptions", "recording_rules"}
    assert got == {
        "sid": room.sid, "status": "in-progress", "account_sid": ACCOUNT, "enable_turn": True,
        "unique_name": "standup", "status_callback": None, "status_callback_method": "POST",
        "end_time": None, "duration": None, "type": "group", "max_participants": 12,
        "max_participant_duration": 14400, "max_concurrent_published_tracks": 0,
        "record_participants_on_connect": True, "video_codecs": ["VP8", "H264"],
        "media_region": "us1", "audio_only": False, "empty_room_timeout": 7,
        "unused_room_timeout": 5, "large_room": False,
        "url": f"{server.url('twilio')}/v1/Rooms/{room.sid}"}
    assert room.date_created.tzinfo is not None
    stored = sandbox.store.get("twilio", ACCOUNT, "rooms", room.sid)
    assert stored is not None and stored.data["unique_name"] == "standup"


def test_fetch_by_sid_and_by_unique_name(client: Any, http: EmulatorHttpClient,
                                         server: SandboxServer) -> None:
    created = create_room(client, "by-name")
    by_sid = client.video.v1.rooms(created.sid).fetch()
    by_name = client.video.v1.rooms("by-name").fetch()
    assert fields(by_sid) == fields(created) == fields(by_name)
    assert [(m, u) for m, u, _, _ in http.sent[1:]] == [
        ("GET", f"{server.url('twilio')}/v1/Rooms/{created.sid}"),
        ("GET", f"{server.url('twilio')}/v1/Rooms/by-name")]


def test_list_and_stream_page_through_next_page_url(client: Any, http: EmulatorHttpClient,
                                                    server: SandboxServer,
                                                    sandbox: Sandbox) -> None:
    seeded = emulator.seed(sandbox, ACCOUNT, "rooms",
                           [{"unique_name": f"room-{i:02}"} for i in range(23)]
                           + [{"unique_name": f"old-{i}", "status": "completed"}
                              for i in range(4)])
    live = [r["sid"] for r in seeded if r["status"] == "in-progress"]

    limited = client.video.v1.rooms.list(limit=17, page_size=5)
    assert [r.sid for r in limited] == live[:17]
    # 17 rooms at 5 a page: four requests, the SDK stops once it has its limit.
    urls = [url for _, url, _, _ in http.sent]
    assert len(urls) == 4
    assert http.sent[0][2] == {"PageSize": 5}
    assert urls[0] == f"{server.url('twilio')}/v1/Rooms"
    assert all(re.search(r"\?PageSize=5&Page=\d&PageToken=PT", u) for u in urls[1:])
    assert [int(re.search(r"&Page=(\d)", u)[1]) for u in urls[1:]] == [1, 2, 3]  # type: ignore[index]

    http.sent.clear()
    everything = list(client.video.v1.rooms.stream(page_size=10))
    assert [r.sid for r in everything] == live
    assert all(r.status == "in-progress" for r in everything)
    assert len(http.sent) == 3  # 10 + 10 + 3, and the last page has no next_page_url

    completed = client.video.v1.rooms.list(status="completed", page_size=3)
    assert sorted(r.unique_name for r in completed) == ["old-0", "old-1", "old-2", "old-3"]
    assert all(r.end_time is not None for r in completed)

    page = client.video.v1.rooms.page(page_size=20)
    assert [r.sid for r in page] == live[:20]
    assert page.next_page_url.startswith(f"{server.url('twilio')}/v1/Rooms?PageSize=20&Page=1")
    assert [r.sid for r in page.next_page()] == live[20:]

    [named] = client.video.v1.rooms.list(unique_name="room-07")
    assert named.sid == live[7]


def test_date_filters_as_the_sdk_serialises_them(client: Any, http: EmulatorHttpClient,
                                                 sandbox: Sandbox) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [
        {"unique_name": "old", "date_created": "2024-01-01T10:00:00Z", "unused_room_timeout": 0},
        {"unique_name": "mid", "date_created": "2024-01-02T23:59:59Z", "unused_room_timeout": 0},
        {"unique_name": "new", "date_created": "2024-01-03T00:00:00Z", "unused_room_timeout": 0},
    ])
    rooms = client.video.v1.rooms
    # The SDK turns dates and datetimes alike into YYYY-MM-DDTHH:MM:SSZ (U12).
    assert [r.unique_name for r in rooms.list(date_created_after=date(2024, 1, 2))] == \
        ["mid", "new"]
    assert http.sent[-1][2] == {"DateCreatedAfter": "2024-01-02T00:00:00Z"}
    assert [r.unique_name for r in rooms.list(date_created_before=datetime(2024, 1, 3))] == \
        ["old", "mid"]
    assert [r.unique_name for r in rooms.list(date_created_after="2024-01-02",
                                              date_created_before="2024-01-03")] == ["mid"]
    assert rooms(
        "old").fetch().date_created == datetime.fromisoformat("2024-01-01T10:00:00+00:00")


def test_complete_with_update_frees_the_name(client: Any, http: EmulatorHttpClient) -> None:
    room = create_room(client, "to-end")
    ended = client.video.v1.rooms(room.sid).update(status="completed")
    assert http.sent[-1][0] == "POST" and http.sent[-1][3] == {"Status": "completed"}
    assert (ended.sid, ended.status) == (room.sid, "completed")
    assert ended.end_time is not None and ended.end_time >= room.date_created
    assert isinstance(ended.duration, int) and ended.duration >= 0
    assert client.video.v1.rooms(room.sid).fetch().status == "completed"
    assert client.video.v1.rooms.list() == []

    # The name belongs to in-progress rooms only: it can be used again at once.
    again = create_room(client, "to-end")
    assert again.sid != room.sid and again.status == "in-progress"

    with pytest.raises(TwilioRestException) as excinfo:
        room.update(status="completed")  # the instance's own proxy: already ended
    assert (excinfo.value.status, excinfo.value.code) == (400, 53112)
    assert excinfo.value.method == "POST"


def test_a_duplicate_name_is_53113(client: Any) -> None:
    first = create_room(client, "twice")
    with pytest.raises(TwilioRestException) as excinfo:
        create_room(client, "twice")
    error = excinfo.value
    assert (error.status, error.code, error.method) == (400, 53113, "POST")
    assert error.msg == "Unable to create record: Room exists"
    assert error.uri == "/Rooms"
    assert [r.sid for r in client.video.v1.rooms.list()] == [first.sid]


def test_a_missing_room_is_404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as excinfo:
        client.video.v1.rooms("RM" + "0" * 32).fetch()
    assert excinfo.value.status == 404
    assert excinfo.value.code in (20404, 53106)


def test_a_wrong_auth_token_is_20003(http: EmulatorHttpClient) -> None:
    client = make_client(http, token="not-the-token")
    with pytest.raises(TwilioRestException) as excinfo:
        create_room(client, "nope")
    assert (excinfo.value.status, excinfo.value.code) == (401, 20003)
    assert excinfo.value.msg == "Unable to create record: Authenticate"
    # Pages do not go through Version.exception: the SDK raises its base TwilioException.
    with pytest.raises(twilio_exceptions.TwilioException, match="Unable to fetch page"):
        client.video.v1.rooms.list()
    assert http.statuses == [401, 401]
