"""The Twilio emulator against Twilio's official OpenAPI document (twilio-oai
`twilio_video_v1.json`, read from RECONCILE_PROVIDER_SPECS; never copied here).

Every request the tests send and every response they get passes through `Contract.check`:
successes must be operations the spec declares, with a declared status and a body that
validates against the response schema (openapi-core), and every room, participant and
page envelope must carry exactly the schema's fields. The spec has no error schemas, so
errors must have a status the reference (docs/providers/twilio.md) names and Twilio's
error body.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from reconcile.providers.twilio import emulator
from reconcile.sandbox import core
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.server import SandboxServer

SPEC_FILE = "twilio/twilio_video_v1.json"
REAL_HOST = "https://video.twilio.com"  # the spec's server; our mount root stands in for it
ACCOUNT, TOKEN = DEFAULT_CREDENTIALS["twilio"]
# Error statuses the reference names: validation/duplicate/token 400, auth 401,
# not found 404, no DELETE/PUT/PATCH 405 (U11), rate limit 429; a retired product (U15)
# may also answer 403 or 410.
REFERENCE_ERROR_STATUSES = {400, 401, 403, 404, 405, 410, 429}
ERROR_KEYS = {"code", "message", "more_info", "status"}
PAGE_META_KEYS = {"page", "page_size", "first_page_url", "previous_page_url", "url",
                  "next_page_url", "key"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@functools.cache
def _load(path: str) -> tuple[OpenAPI, dict[str, Any]]:
    document = json.loads(Path(path).read_text())
    return OpenAPI.from_dict(document), document


class SpecRequest:
    """An httpx request as openapi-core sees it, moved from our mount root to REAL_HOST."""

    def __init__(self, request: httpx.Request, mount: str) -> None:
        assert request.url.path.startswith(mount + "/")
        self.host_url = REAL_HOST
        self.path = request.url.path[len(mount):]
        self.method = request.method.lower()
        self.body = request.content
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())), cookie=ImmutableMultiDict(),
            path={})


class SpecResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "")


class Contract:
    def __init__(self, spec: OpenAPI, document: dict[str, Any], server: SandboxServer
                 ) -> None:
        self.spec = spec
        self.server = server
        self.root = root = server.url("twilio")
        self.mount = urlsplit(root).path
        schemas = document["components"]["schemas"]
        self.room_keys = set(schemas["video.v1.room"]["properties"])
        self.participant_keys = set(schemas["video.v1.room.room_participant"]["properties"])
        self.checked: list[tuple[str, str, int]] = []

    def check(self, response: httpx.Response) -> None:
        response.read()
        request = SpecRequest(response.request, self.mount)
        self.checked.append((request.method, request.path, response.status_code))
        if response.is_success:
            self.spec.validate_request(request)  # raises on any violation
            self.spec.validate_response(request, SpecResponse(response))
            self._exact_fields(response.json())
        else:
            assert response.status_code in REFERENCE_ERROR_STATUSES, response.text
            body = response.json()
            assert set(body) == ERROR_KEYS and body["status"] == response.status_code

    def _exact_fields(self, body: dict[str, Any]) -> None:
        """The schema lists no required fields: check every one is present, and no other."""
        if "meta" in body:
            assert set(body["meta"]) == PAGE_META_KEYS
            for link in ("first_page_url", "previous_page_url", "url", "next_page_url"):
                assert body["meta"][link] is None or self._ours(body["meta"][link])
            items = body[body["meta"]["key"]]
            keys = self.room_keys if body["meta"]["key"] == "rooms" else self.participant_keys
        elif "rules" in body:  # a room's RecordingRules resource
            assert set(body) == {"room_sid", "rules", "date_created", "date_updated"}
            return
        else:
            items, keys = [body], self.room_keys
        for item in items:
            assert set(item) == keys, set(item) ^ keys
            assert self._ours(item["url"])
            assert all(self._ours(link) for link in item["links"].values())

    def switch(self, **switches: Any) -> None:
        """Turn the emulator's per-account switches through the control API."""
        response = httpx.post(f"{self.server.control_url}/providers/twilio/accounts/"
                              f"{ACCOUNT}/switches", json=switches)
        assert response.status_code == 200, response.text

    def _ours(self, url: str) -> bool:
        # `format: uri` is not enforced by the validator: links must be absolute URLs on our
        # mount root, i.e. on REAL_HOST once mapped.
        return url.startswith(self.root + "/v1/")


@pytest.fixture(autouse=True)
def frozen_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The virtual clock moves only when a test advances it (exact durations)."""
    monkeypatch.setattr(core, "time", SimpleNamespace(time=lambda: 1_767_604_000.4))


@pytest.fixture
def contract(provider_specs: Path, serve: Callable[..., SandboxServer]) -> Contract:
    path = provider_specs / SPEC_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    spec, document = _load(str(path))
    return Contract(spec, document, serve("twilio"))


@pytest.fixture
def api(contract: Contract) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=contract.root, auth=(ACCOUNT, TOKEN),
                      event_hooks={"response": [contract.check]}) as client:
        yield client


def test_the_checker_rejects_what_the_spec_forbids(contract: Contract, api: httpx.Client
                                                   ) -> None:
    room = api.post("/v1/Rooms").json()
    request = httpx.Request("GET", f"{contract.root}/v1/Rooms/{room['sid']}",
                            headers={"Authorization": basic(ACCOUNT, TOKEN)})
    for broken in ({**room, "sid": "XX"}, {**room, "date_created": "yesterday"},
                   {**room, "status": "open"}, {**room, "video_codecs": ["VP9"]}):
        with pytest.raises(Exception, match="not valid for schema"):
            contract.check(httpx.Response(200, json=broken, request=request))
    with pytest.raises(AssertionError):
        contract.check(httpx.Response(200, json={**room, "extra": 1}, request=request))
    with pytest.raises(AssertionError):
        contract.check(httpx.Response(418, json={}, request=request))


def test_create_fetch_and_end_conform(sandbox: Sandbox, contract: Contract,
                                      api: httpx.Client) -> None:
    full = api.post("/v1/Rooms", data={
        "UniqueName": "all-hands", "Type": "group", "MaxParticipants": "30",
        "MaxParticipantDuration": "3600", "EmptyRoomTimeout": "10", "UnusedRoomTimeout": "20",
        "StatusCallback": "https://example.com/events", "StatusCallbackMethod": "GET",
        "RecordParticipantsOnConnect": "true", "TranscribeParticipantsOnConnect": "false",
        # Not TranscriptionsConfiguration: the spec types it `object` with no `encoding`,
        # which OAS 3.0 reads as exploded form fields, whereas the SDK (and the emulator)
        # send a JSON string; test_emulator.py covers it.
        "RecordingRules": '[{"type": "exclude", "all": true}]',
        "VideoCodecs": ["VP8", "H264"], "MediaRegion": "ie1", "AudioOnly": "false",
        "LargeRoom": "false", "EnableTurn": "true"})
    assert full.status_code == 201
    assert api.post("/v1/Rooms").status_code == 201  # every parameter is optional
    assert api.post("/v1/Rooms", data={"AudioOnly": "true", "Type": "group"}
                    ).json()["video_codecs"] == []
    sid = full.json()["sid"]
    assert api.get(f"/v1/Rooms/{sid}").json() == full.json()
    assert api.get("/v1/Rooms/all-hands").json() == full.json()
    rules = api.get(f"/v1/Rooms/{sid}/RecordingRules").json()
    assert rules["rules"] == [{"type": "exclude", "all": True}]
    sandbox.clock.advance(45)
    ended = api.post("/v1/Rooms/all-hands", data={"Status": "completed"})
    assert ended.status_code == 202 and ended.json()["duration"] == 45
    assert api.get(f"/v1/Rooms/{sid}").json()["status"] == "completed"
    completed = api.get("/v1/Rooms", params={"Status": "completed"}).json()
    assert [r["sid"] for r in completed["rooms"]] == [sid]


def test_list_pages_conform(sandbox: Sandbox, contract: Contract, api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": f"room-{i}"} for i in range(25)]
                  + [{"unique_name": "old", "status": "completed"}])
    url: str | None = "/v1/Rooms?PageSize=10"
    sizes: list[int] = []
    while url:
        page = api.get(url).json()
        sizes.append(len(page["rooms"]))
        url = page["meta"]["next_page_url"]
    assert sizes == [10, 10, 5]
    # U12: the spec's schema wants date-times (its description says YYYY-MM-DD).
    filtered = api.get("/v1/Rooms", params={
        "Status": "in-progress", "UniqueName": "room-3", "DateCreatedAfter":
        "2000-01-01T00:00:00Z", "DateCreatedBefore": "2999-01-01T00:00:00Z", "Page": "0"})
    assert [r["unique_name"] for r in filtered.json()["rooms"]] == ["room-3"]
    assert api.get("/v1/Rooms", params={"Status": "completed", "PageSize": "1000"}
                   ).json()["rooms"][0]["unique_name"] == "old"
    pages = [c for c in contract.checked if c[1] == "/v1/Rooms"]
    assert len(pages) == 5 and {status for *_, status in pages} == {200}


@pytest.mark.parametrize("as_group", [False, True])
def test_legacy_types_conform_as_given_or_as_group(contract: Contract, api: httpx.Client,
                                                   as_group: bool) -> None:
    contract.switch(legacy_types_as_group=as_group)  # U14: both readings of the docs
    for room_type in ("go", "peer-to-peer", "group-small"):
        room = api.post("/v1/Rooms", data={"Type": room_type, "MaxParticipants": "4"})
        assert room.status_code == 201
        assert room.json()["type"] == ("group" if as_group else room_type)


def test_previous_pages_conform(sandbox: Sandbox, api: httpx.Client) -> None:
    emulator.seed(sandbox, ACCOUNT, "rooms", [{"unique_name": f"room-{i}"} for i in range(7)])
    pages = [api.get("/v1/Rooms?PageSize=3").json()]
    while pages[-1]["meta"]["next_page_url"]:
        pages.append(api.get(pages[-1]["meta"]["next_page_url"]).json())
    assert [p["meta"]["previous_page_url"] is None for p in pages] == [True, False, False]
    back = api.get(pages[2]["meta"]["previous_page_url"]).json()
    assert back["rooms"] == pages[1]["rooms"]


def test_participant_lists_conform(sandbox: Sandbox, api: httpx.Client) -> None:
    room = api.post("/v1/Rooms", data={"UniqueName": "clinic"}).json()
    record = sandbox.find("twilio", ACCOUNT, "rooms", "clinic")
    assert record is not None
    sandbox.set_participants(record, add=["alice", "bob", "carol"])
    url: str | None = f"/v1/Rooms/{room['sid']}/Participants?PageSize=2"
    seen: list[str] = []
    while url:
        page = api.get(url).json()
        seen += [p["identity"] for p in page["participants"]]
        url = page["meta"]["next_page_url"]
    assert seen == ["alice", "bob", "carol"]
    api.post("/v1/Rooms/clinic", data={"Status": "completed"})
    gone = api.get(f"/v1/Rooms/{room['sid']}/Participants",
                   params={"Status": "disconnected", "Identity": "bob"}).json()
    assert [p["status"] for p in gone["participants"]] == ["disconnected"]


def test_errors_use_statuses_the_reference_names(contract: Contract, api: httpx.Client
                                                 ) -> None:
    api.post("/v1/Rooms", data={"UniqueName": "dup"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        (api.post("/v1/Rooms", data={"UniqueName": "dup"}), 400, 53113),
        (api.post("/v1/Rooms", data={"UniqueName": " "}), 400, 53100),
        (api.post("/v1/Rooms", data={"UniqueName": "n" * 129}), 400, 53101),
        (api.post("/v1/Rooms", content=b"UniqueName=%FF", headers=form), 400, 53102),
        (api.post("/v1/Rooms", data={"MaxParticipants": "51"}), 400, 53107),
        (api.post("/v1/Rooms", data={"Type": "huge"}), 400, 53108),
        (api.post("/v1/Rooms", data={"EmptyRoomTimeout": "0"}), 400, 53109),
        (api.post("/v1/Rooms", data={"StatusCallbackMethod": "PUT"}), 400, 53110),
        (api.post("/v1/Rooms", data={"StatusCallback": "ftp://x.example/"}), 400, 53111),
        (api.post("/v1/Rooms", data={"MediaRegion": "mars1"}), 400, 53114),
        (api.post("/v1/Rooms", data={"RecordingRules": "[]"}), 400, 53120),
        (api.post("/v1/Rooms", data={"MaxParticipantDuration": "60"}), 400, 53123),
        (api.post("/v1/Rooms", data={"AudioOnly": "true", "Type": "peer-to-peer"}), 400,
         53124),
        (api.post("/v1/Rooms/dup", data={"Status": "in-progress"}), 400, 53112),
        (api.get("/v1/Rooms", params={"PageToken": "PTbm9wZQ"}), 400, 21481),
        (api.get("/v1/Rooms", params={"PageSize": "0"}), 400, 400),
        (api.get("/v1/Rooms/missing"), 404, 20404),
        (api.get("/v1/Rooms/missing/Participants"), 404, 20404),
        (api.get("/v1/Rooms/missing/RecordingRules"), 404, 20404),
        (api.post("/v1/Rooms/missing", data={"Status": "completed"}), 404, 20404),
        (api.delete("/v1/Rooms/dup"), 405, 20004),
        (api.put("/v1/Rooms/dup"), 405, 20004),
        (api.get("/v1/Rooms", auth=(ACCOUNT, "wrong")), 401, 20003),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["code"]) == (status, code)
    assert len(contract.checked) == len(cases) + 1


def test_injected_rate_limits_conform(contract: Contract, api: httpx.Client) -> None:
    armed = httpx.put(f"{contract.server.control_url}/faults/twilio",
                      json={"burst_429": {"rate": 1, "length": 1, "retry_after": 3}})
    assert armed.status_code == 200, armed.text
    limited = api.get("/v1/Rooms")
    assert (limited.status_code, limited.json()["code"]) == (429, 20429)
    assert limited.headers["retry-after"] == "3"


@pytest.mark.parametrize(("retired", "status", "code"), [
    (True, 404, 20404), (401, 401, 20003), (403, 403, 20403), (404, 404, 20404),
    (410, 410, 20404)])
def test_a_retired_product_answers_every_operation_with_one_error(
        contract: Contract, api: httpx.Client, retired: bool | int, status: int, code: int
        ) -> None:
    room = api.post("/v1/Rooms", data={"UniqueName": "standup"}).json()
    contract.switch(retired=retired)  # U15
    for response in (api.get("/v1/Rooms"), api.post("/v1/Rooms"),
                     api.get(f"/v1/Rooms/{room['sid']}"),
                     api.post(f"/v1/Rooms/{room['sid']}", data={"Status": "completed"}),
                     api.get(f"/v1/Rooms/{room['sid']}/Participants")):
        assert (response.status_code, response.json()["code"]) == (status, code)
