"""The official Telnyx Python SDK (`telnyx`) against the Telnyx rooms emulator.

The SDK takes its API root as `base_url`; the emulator's root plus `/v2` stands in for
https://api.telnyx.com/v2. Its httpx client carries a request hook that fails the test on
any other URL, and every https:// URL is bound to a transport that refuses to connect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from reconcile.providers.telnyx import emulator
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

telnyx = pytest.importorskip("telnyx")

SANDBOX_PROVIDERS = ("telnyx",)
KEY = DEFAULT_CREDENTIALS["telnyx"][1]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MISSING_ROOM = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"
HOOK = "https://hooks.invalid/telnyx"  # stored only: the emulator never calls webhooks
NAME_TAKEN = {"errors": [{"code": "422", "title": "Unprocessable entity",
                          "detail": "unique_name has already been taken",
                          "source": {"pointer": "/unique_name"}}]}
UNAUTHORIZED = {"errors": [{
    "code": "10009", "title": "Authentication failed",
    "detail": "Could not understand the provided credentials.",
    "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/10009"}}]}


class NoHttps(httpx.BaseTransport):
    """The emulator speaks plain HTTP on loopback: nothing may go out over TLS."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"refusing to send {request.url} off the loopback")


class Recorder:
    """The httpx request hook: keeps every request and refuses any URL off the emulator."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.sent: list[httpx.Request] = []
        self.refused: list[str] = []  # checked at teardown: the SDK wraps our error

    def __call__(self, request: httpx.Request) -> None:
        url = str(request.url)
        if not url.startswith(self.base + "/"):
            self.refused.append(url)
            raise AssertionError(f"the SDK tried to leave the sandbox: {url}")
        self.sent.append(request)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, str(r.url).removeprefix(self.base)) for r in self.sent]


@pytest.fixture
def recorder(server: SandboxServer) -> Iterator[Recorder]:
    recorder = Recorder(server.url("telnyx") + "/v2")
    yield recorder
    assert recorder.refused == []


def make_client(recorder: Recorder, key: str = KEY) -> Any:
    http = telnyx.DefaultHttpxClient(
        trust_env=False, follow_redirects=False, mounts={"https://": NoHttps()},
        event_hooks={"request": [recorder]})
    # Strict validation: a response that does not fit the SDK's models raises
    # APIResponseValidationError instead of being coerced silently.
    return telnyx.Telnyx(api_key=key, base_url=recorder.base, http_client=http,
                         max_retries=0, timeout=10, _strict_response_validation=True)


@pytest.fixture
def client(recorder: Recorder) -> Iterator[Any]:
    with make_client(recorder) as client:
        yield client


def seed(sandbox: Sandbox, count: int) -> list[dict[str, Any]]:
    return emulator.seed(sandbox, KEY, "rooms",
                         [{"unique_name": f"room-{i:02}"} for i in range(count)])


def test_other_hosts_are_refused_before_sending(client: Any, recorder: Recorder) -> None:
    http = client._client
    # Checked without sending anything: the real API root maps to the refusing transport.
    assert isinstance(http._transport_for_url(httpx.URL("https://api.telnyx.com/v2/rooms")),
                      NoHttps)
    # The hook refuses any other root; the SDK reports the refusal as a connection error.
    with pytest.raises(telnyx.APIConnectionError) as excinfo:
        client.with_options(base_url="http://127.0.0.1:9/v2").rooms.list()
    assert isinstance(excinfo.value.__cause__, AssertionError)
    assert recorder.refused == ["http://127.0.0.1:9/v2/rooms"] and recorder.sent == []
    recorder.refused.clear()


def test_create_posts_json_with_a_bearer_key(client: Any, recorder: Recorder,
                                             sandbox: Sandbox) -> None:
    room = client.rooms.create(unique_name="standup", max_participants=12,
                               enable_recording=True, webhook_event_url=HOOK,
                               webhook_timeout_secs=10).data

    [request] = recorder.sent
    assert (request.method, str(request.url)) == ("POST", recorder.base + "/rooms")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "unique_name": "standup", "max_participants": 12, "enable_recording": True,
        "webhook_event_url": HOOK, "webhook_timeout_secs": 10}

    assert UUID.match(room.id)
    assert (room.unique_name, room.max_participants, room.enable_recording) == \
        ("standup", 12, True)
    assert (room.webhook_event_url, room.webhook_event_failover_url,
            room.webhook_timeout_secs) == (HOOK, "", 10)
    assert (room.record_type, room.active_session_id, room.sessions) == ("room", None, [])
    assert isinstance(room.created_at, datetime) and room.created_at.tzinfo is not None
    assert room.updated_at == room.created_at
    assert room.model_extra == {}  # no field the SDK's model does not know...
    # ...and none missing but active_session_id, which no session leaves out (the spec
    # types it non-nullable)
    assert room.model_fields_set == set(type(room).model_fields) - {"active_session_id"}
    assert sandbox.store.get("telnyx", KEY, "rooms", room.id) is not None


def test_create_applies_the_documented_defaults(client: Any) -> None:
    room = client.rooms.create().data
    assert (room.unique_name, room.max_participants, room.enable_recording,
            room.webhook_event_url, room.webhook_event_failover_url,
            room.webhook_timeout_secs) == (None, 10, False, None, "", None)


def test_retrieve_returns_what_create_returned(client: Any) -> None:
    created = client.rooms.create(unique_name="fetch-me", max_participants=3).data
    assert client.rooms.retrieve(created.id).data == created
    with_sessions = client.rooms.retrieve(created.id, include_sessions=True).data
    assert with_sessions == created and with_sessions.sessions == []


def test_list_auto_paginates_until_the_last_page(client: Any, recorder: Recorder,
                                                 sandbox: Sandbox) -> None:
    rooms = seed(sandbox, 45)
    ids = [room["id"] for room in rooms]

    first = client.rooms.list(page_size=10)
    assert [room.id for room in first.data] == ids[:10]
    assert (first.meta.page_number, first.meta.total_pages) == (1, 5)
    assert first.has_next_page()
    assert [room.id for room in first.iter_pages().__next__().data] == ids[:10]

    recorder.sent.clear()
    assert [room.id for room in client.rooms.list(page_size=10)] == ids
    assert recorder.calls() == [("GET", "/rooms?page%5Bsize%5D=10")] + [
        ("GET", f"/rooms?page%5Bsize%5D=10&page%5Bnumber%5D={n}") for n in range(2, 6)]

    second = first.get_next_page()
    assert [room.id for room in second.data] == ids[10:20]
    last = client.rooms.list(page_size=10, page_number=5)
    assert [room.id for room in last.data] == ids[40:]
    assert not last.has_next_page()

    # The default page size (20) and the deepObject filter.
    assert len(list(client.rooms.list())) == 45
    [match] = client.rooms.list(filter={"unique_name": "room-07"}).data
    assert match.id == ids[7]
    assert str(recorder.sent[-1].url).endswith("/rooms?filter%5Bunique_name%5D=room-07")


def test_date_filters(client: Any, recorder: Recorder, sandbox: Sandbox) -> None:
    old = client.rooms.create(unique_name="old").data
    sandbox.clock.advance(2 * 86_400)
    new = client.rooms.create(unique_name="new").data

    def names(**dates: Any) -> list[str]:
        return [r.unique_name for r in client.rooms.list(filter={"date_created_at": dates})]

    assert names(eq=old.created_at.date()) == ["old"]
    assert str(recorder.sent[-1].url).endswith(
        f"/rooms?filter%5Bdate_created_at%5D%5Beq%5D={old.created_at.date()}")
    assert names(gte=new.created_at.date()) == ["new"]
    assert names(lte=new.created_at.date().isoformat()) == ["old", "new"]
    assert names(gte=date(2999, 1, 1)) == []


def test_update_patches_only_the_given_fields_and_renames(client: Any,
                                                          recorder: Recorder) -> None:
    room = client.rooms.create(unique_name="old-name", max_participants=5,
                               webhook_event_url=HOOK).data
    updated = client.rooms.update(room.id, unique_name="new-name", max_participants=20).data

    request = recorder.sent[-1]
    assert (request.method, str(request.url)) == ("PATCH", f"{recorder.base}/rooms/{room.id}")
    assert json.loads(request.content) == {"unique_name": "new-name", "max_participants": 20}
    assert (updated.id, updated.unique_name, updated.max_participants) == \
        (room.id, "new-name", 20)
    assert (updated.webhook_event_url, updated.enable_recording) == (HOOK, False)  # kept
    assert updated.created_at == room.created_at and updated.updated_at >= room.updated_at
    assert client.rooms.retrieve(room.id).data == updated
    assert client.rooms.list(filter={"unique_name": "old-name"}).data == []
    assert [r.id for r in client.rooms.list(filter={"unique_name": "new-name"})] == [room.id]


def test_delete_removes_the_room_and_frees_its_name(client: Any, recorder: Recorder) -> None:
    room = client.rooms.create(unique_name="short-lived").data
    assert client.rooms.delete(room.id) is None
    request = recorder.sent[-1]
    assert (request.method, str(request.url)) == ("DELETE", f"{recorder.base}/rooms/{room.id}")
    assert request.headers["accept"] == "*/*"
    with pytest.raises(telnyx.NotFoundError):
        client.rooms.retrieve(room.id)
    again = client.rooms.create(unique_name="short-lived").data  # U9: reusable at once
    assert again.id != room.id


def test_a_duplicate_name_is_422(client: Any) -> None:
    client.rooms.create(unique_name="taken")
    with pytest.raises(telnyx.UnprocessableEntityError) as excinfo:
        client.rooms.create(unique_name="taken")
    assert excinfo.value.status_code == 422
    assert excinfo.value.body == NAME_TAKEN

    other = client.rooms.create(unique_name="free").data
    with pytest.raises(telnyx.UnprocessableEntityError) as excinfo:
        client.rooms.update(other.id, unique_name="taken")
    assert excinfo.value.body == NAME_TAKEN
    assert client.rooms.retrieve(other.id).data.unique_name == "free"


def test_validation_errors_are_422_with_a_pointer(client: Any) -> None:
    with pytest.raises(telnyx.UnprocessableEntityError) as excinfo:
        client.rooms.create(max_participants=1)
    [error] = excinfo.value.body["errors"]
    assert error["source"] == {"pointer": "/max_participants"}
    assert isinstance(error["code"], str) and error["title"]


def test_a_missing_room_is_404_everywhere(client: Any, recorder: Recorder) -> None:
    calls = [lambda: client.rooms.retrieve(MISSING_ROOM),
             lambda: client.rooms.update(MISSING_ROOM, max_participants=4),
             lambda: client.rooms.delete(MISSING_ROOM)]
    for call in calls:
        with pytest.raises(telnyx.NotFoundError) as excinfo:
            call()
        assert excinfo.value.status_code == 404
        error = excinfo.value.body  # U4: the spec's bare error object
        assert error["code"] == "404" and MISSING_ROOM in error["detail"]
    assert len(recorder.sent) == 3  # no retries


def test_a_wrong_key_is_401(recorder: Recorder) -> None:
    with make_client(recorder, key="KEYwrong") as client:
        with pytest.raises(telnyx.AuthenticationError) as excinfo:
            client.rooms.create(unique_name="nope")
        assert excinfo.value.status_code == 401
        assert excinfo.value.body == UNAUTHORIZED
        with pytest.raises(telnyx.AuthenticationError):
            client.rooms.list()
    assert len(recorder.sent) == 2
