"""The Telnyx emulator's rooms traffic checked against Telnyx's official OpenAPI document.

Every request and response that goes through the `client` fixture is validated, from an
httpx response hook, against the operation the spec declares for its method and path:
request bodies against `CreateRoomRequest` / `PatchRoomRequest`, responses against the
schema declared for their status (exact code or `4XX`). Schemas are resolved with a
`referencing` registry over the whole document (OpenAPI 3.1 schemas are JSON Schema 2020-12).

Departures from the letter of the spec, each decided in docs/providers/telnyx.md:
- A property's own non-null `default` is valid for it (the spec gives
  `webhook_event_failover_url` the default "" with format uri).
- `Room.webhook_event_url` may be "", as the seed's sample shows it (U8).
Nothing else departs: an unset `unique_name`, `webhook_event_url`, `webhook_timeout_secs`
or `active_session_id` is left out, never null (the spec types them non-nullable); a 404
is the bare `video_Error`; a 401 on the list is its declared `{success, message}`.
Tighter than the spec: the room objects may carry no undeclared property (this catches a
leak of the sandbox's internal `_` keys).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconcile.providers.telnyx import emulator
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

SPEC_FILE = "telnyx/spec3.yml"
SPEC_URI = "urn:telnyx:spec3"
KEY = "KEYsandbox"
MISSING_ROOM = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"
MAY_BE_EMPTY = {"Room": ("webhook_event_url",)}  # U8: the seed's sample echoes ""
CLOSED = ("Room", "RoomSession", "RoomParticipant", "PaginationMeta")

FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    # jsonschema checks "uri" only with rfc3987 installed; "must include a scheme" is the rule.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


class ContractViolation(AssertionError):
    pass


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _admit_defaults(schema: dict[str, Any]) -> None:
    for name, prop in list(schema.get("properties", {}).items()):
        if prop.get("default") is not None and not Draft202012Validator(
                prop, format_checker=FORMATS).is_valid(prop["default"]):
            schema["properties"][name] = {"anyOf": [{"const": prop["default"]}, prop]}


def _adapt(document: dict[str, Any]) -> dict[str, Any]:
    """The documented departures listed in the module docstring, applied to room schemas."""
    schemas = document["components"]["schemas"]
    for name in CLOSED:
        schemas[name] = copy.deepcopy(schemas[name])
        _admit_defaults(schemas[name])
        schemas[name]["additionalProperties"] = False
    for name, props in MAY_BE_EMPTY.items():
        for prop in props:
            schemas[name]["properties"][prop] = {
                "anyOf": [{"const": ""}, schemas[name]["properties"][prop]]}
    return document


class SpecChecker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = _adapt(document)
        self.registry: Registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(self.document, default_specification=DRAFT202012))
        self.base_path = urlsplit(self.document["servers"][0]["url"]).path  # "/v2"
        self.templates = [(re.compile(re.sub(r"\{[^}/]+\}", "[^/]+", path)), path)
                          for path in self.document["paths"]]
        self.checked: set[tuple[str, str, int]] = set()
        self._expect_invalid = False

    # -- lookups in the document --------------------------------------------------------

    def template(self, path: str) -> str:
        matches = [template for regex, template in self.templates if regex.fullmatch(path)]
        if not matches:
            raise ContractViolation(f"{path} is not a path of the spec")
        return max(matches, key=lambda t: len(re.sub(r"\{[^}]+\}", "", t)))  # most literal

    def operation(self, method: str, template: str) -> dict[str, Any]:
        operation = self.document["paths"][template].get(method.lower())
        if operation is None:
            raise ContractViolation(f"the spec has no {method} {template}")
        return operation

    def _deref(self, pointer: str, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Follow a local `$ref` (responses and request bodies use them)."""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.document
            for segment in pointer.strip("/").split("/"):
                node = node[segment.replace("~1", "/").replace("~0", "~")]
        return pointer, node

    def _json_schema_pointer(self, pointer: str, node: dict[str, Any]) -> str | None:
        pointer, node = self._deref(pointer, node)
        if "application/json" not in node.get("content", {}):
            return None
        return f"{pointer}/content/application~1json/schema"

    def validate(self, pointer: str, instance: Any, what: str) -> None:
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"},
                                         registry=self.registry, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
            raise ContractViolation(f"{what} does not conform to {pointer}: {details}")

    # -- checks ---------------------------------------------------------------------------

    @contextmanager
    def invalid_requests(self) -> Iterator[None]:
        """Within: request bodies must violate their schema (tests of 422 answers)."""
        self._expect_invalid = True
        try:
            yield
        finally:
            self._expect_invalid = False

    def check_request_body(self, method: str, template: str, body: Any) -> None:
        operation = self.operation(method, template)
        base = f"/paths/{_escape(template)}/{method.lower()}"
        if "requestBody" not in operation:
            return
        pointer = self._json_schema_pointer(f"{base}/requestBody", operation["requestBody"])
        assert pointer is not None
        what = f"the {method} {template} request body"
        if not self._expect_invalid:
            self.validate(pointer, body, what)
            return
        try:
            self.validate(pointer, body, what)
        except ContractViolation:
            return
        raise ContractViolation(f"{what} {body!r} was expected to violate {pointer}")

    def check_response_body(self, method: str, template: str, status: int, body: Any) -> None:
        operation = self.operation(method, template)
        responses = operation["responses"]
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        if key not in responses:
            raise ContractViolation(f"{method} {template} answered {status}, not declared")
        base = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
        pointer = self._json_schema_pointer(base, responses[key])
        self.checked.add((method, template, status))
        if pointer is None:  # declared without a body schema (204, PATCH's 422)
            return
        self.validate(pointer, body, f"the {status} answer to {method} {template}")

    def check_exchange(self, response: httpx.Response, root: str) -> None:
        request = response.request
        path = request.url.path.removeprefix(root)
        if not path.startswith(self.base_path):
            raise ContractViolation(f"{request.url.path} is outside {root}{self.base_path}")
        template = self.template(path.removeprefix(self.base_path))
        if request.content:
            self.check_request_body(request.method, template, json.loads(request.content))
        elif "requestBody" in self.operation(request.method, template):
            raise ContractViolation(f"{request.method} {template} requires a request body")
        response.read()
        if response.status_code == 204:
            if response.content:
                raise ContractViolation(f"a 204 with a body: {response.content!r}")
            body = None
        else:
            if not response.headers.get("content-type", "").startswith("application/json"):
                raise ContractViolation(f"{template} answered {response.headers}")
            body = response.json()
        self.check_response_body(request.method, template, response.status_code, body)


@functools.cache
def _load_checker(spec_path: Path) -> SpecChecker:
    # 4 MB of YAML: load it once per test module, with the C loader.
    with spec_path.open("rb") as handle:
        return SpecChecker(yaml.load(handle, Loader=yaml.CSafeLoader))


@pytest.fixture
def checker(provider_specs: Path) -> SpecChecker:
    path = provider_specs / SPEC_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    checker = _load_checker(path)
    checker.checked.clear()
    return checker


SANDBOX_PROVIDERS = ("telnyx",)


@pytest.fixture
def client(checker: SpecChecker, server: SandboxServer) -> Iterator[httpx.Client]:
    """Talks to the emulator; every exchange is checked against the spec."""
    root = server.url("telnyx")
    hook = functools.partial(_hook, checker, urlsplit(root).path)
    with httpx.Client(base_url=root + checker.base_path, event_hooks={"response": [hook]},
                      headers={"Authorization": f"Bearer {KEY}"}) as http:
        yield http


def _hook(checker: SpecChecker, root: str, response: httpx.Response) -> None:
    checker.check_exchange(response, root)


# -- the emulator conforms ------------------------------------------------------------------

def test_room_lifecycle_conforms(client: httpx.Client, checker: SpecChecker,
                                 sandbox: Sandbox) -> None:
    room = client.post("/rooms", json={
        "unique_name": "standup", "max_participants": 12, "enable_recording": True,
        "webhook_event_url": "https://example.com/hook",
        "webhook_event_failover_url": "https://failover.example.com",
        "webhook_timeout_secs": 25}).json()["data"]
    bare = client.post("/rooms", json={}).json()["data"]  # unset and defaults everywhere
    assert not {"unique_name", "webhook_event_url", "webhook_timeout_secs",
                "active_session_id"} & set(bare)  # left out, not null
    with checker.invalid_requests():  # U8: the seed's request sends "", the spec a URI
        empty = client.post("/rooms", json={"webhook_event_url": "",
                                            "webhook_event_failover_url": ""}).json()["data"]
    assert (empty["webhook_event_url"], empty["webhook_event_failover_url"]) == ("", "")
    record = sandbox.store.get("telnyx", KEY, "rooms", room["id"])
    assert record is not None
    sandbox.set_participants(record, add=["alice", "bob"])  # RoomSession, RoomParticipant

    for params in ({}, {"include_sessions": "true"}):
        assert client.get(f"/rooms/{room['id']}", params=params).status_code == 200
    assert client.patch(f"/rooms/{bare['id']}", json={"max_participants": 3}).is_success
    assert client.patch(f"/rooms/{room['id']}", json={"unique_name": "renamed"}).is_success
    assert client.delete(f"/rooms/{bare['id']}").status_code == 204
    assert checker.checked == {
        ("POST", "/rooms", 201), ("GET", "/rooms/{room_id}", 200),
        ("PATCH", "/rooms/{room_id}", 200), ("DELETE", "/rooms/{room_id}", 204)}


def test_list_pages_conform(client: httpx.Client, checker: SpecChecker,
                            sandbox: Sandbox) -> None:
    rooms = emulator.seed(sandbox, KEY, "rooms",
                          [{"unique_name": f"r{i}"} for i in range(7)] + [{}])
    record = sandbox.store.get("telnyx", KEY, "rooms", rooms[0]["id"])
    assert record is not None
    sandbox.set_participants(record, add=["carol"])
    for number in (1, 2, 3, 4):
        body = client.get("/rooms", params={"page[number]": number, "page[size]": 3,
                                            "include_sessions": "true"}).json()
        assert body["meta"]["total_pages"] == 3
    assert client.get("/rooms", params={"filter[unique_name]": "r3"}).json()["data"]
    assert client.get("/rooms").status_code == 200
    assert client.get("/rooms", params={"page[size]": 251}).status_code == 400
    assert checker.checked == {("GET", "/rooms", 200), ("GET", "/rooms", 400)}


def test_error_answers_conform(client: httpx.Client, checker: SpecChecker) -> None:
    room = client.post("/rooms", json={"unique_name": "taken"}).json()["data"]
    for method in ("GET", "PATCH", "DELETE"):
        body = {"max_participants": 5} if method == "PATCH" else None
        assert client.request(method, f"/rooms/{MISSING_ROOM}", json=body).status_code == 404
    assert client.post("/rooms", json={"unique_name": "taken"}).status_code == 422
    with checker.invalid_requests():
        assert client.post("/rooms", json={"max_participants": 1,
                                           "webhook_event_url": "nope"}).status_code == 422
        assert client.patch(f"/rooms/{room['id']}",
                            json={"webhook_timeout_secs": 31}).status_code == 422
    refused = {"Authorization": "Bearer KEYwrong"}
    assert client.get("/rooms", headers=refused).json() == {
        "success": False, "message": "Authentication failed"}
    assert client.patch(f"/rooms/{room['id']}", headers=refused,
                        json={"max_participants": 5}).status_code == 401
    assert checker.checked >= {("GET", "/rooms/{room_id}", 404), ("POST", "/rooms", 422),
                               ("PATCH", "/rooms/{room_id}", 404),
                               ("DELETE", "/rooms/{room_id}", 404),
                               ("PATCH", "/rooms/{room_id}", 422), ("GET", "/rooms", 401),
                               ("PATCH", "/rooms/{room_id}", 401)}


# -- the checker can fail -----------------------------------------------------------------

def _valid_room(sandbox: Sandbox) -> dict[str, Any]:
    [room] = emulator.seed(sandbox, KEY, "rooms", [{"unique_name": "x"}])
    return room


MALFORMED: list[tuple[str, Any]] = [
    ("max_participants", "ten"), ("max_participants", None), ("id", "not-a-uuid"),
    ("created_at", "yesterday"), ("enable_recording", "yes"), ("_participants", ["alice"]),
    ("webhook_event_failover_url", "no-scheme.example.com"), ("record_type", 1),
    ("sessions", [{"active": "yes"}]), ("sessions", [{"participants": [{"joined_at": 5}]}]),
    # non-nullable in the spec: an unset one is left out
    ("unique_name", None), ("active_session_id", None), ("webhook_event_url", None),
    ("webhook_timeout_secs", None),
]


@pytest.mark.parametrize(("field", "value"), MALFORMED)
def test_checker_rejects_a_malformed_room(checker: SpecChecker, sandbox: Sandbox,
                                          field: str, value: Any) -> None:
    room = _valid_room(sandbox)
    checker.check_response_body("GET", "/rooms/{room_id}", 200, {"data": room})  # sanity
    with pytest.raises(ContractViolation):
        checker.check_response_body("GET", "/rooms/{room_id}", 200,
                                    {"data": {**room, field: value}})


def test_checker_rejects_bad_requests_errors_and_statuses(checker: SpecChecker) -> None:
    with pytest.raises(ContractViolation):
        checker.check_request_body("POST", "/rooms", {"max_participants": 1})
    with pytest.raises(ContractViolation):
        checker.check_response_body("GET", "/rooms/{room_id}", 404,
                                    {"detail": "no code, no title"})
    with pytest.raises(ContractViolation):  # U4: the declared 404 is a bare error
        checker.check_response_body("GET", "/rooms/{room_id}", 404, {"errors": [
            {"code": "404", "title": "Resource not found"}]})
    with pytest.raises(ContractViolation):  # the list's 4XX is {success, message}
        checker.check_response_body("GET", "/rooms", 401, {"success": "no", "message": 1})
    with pytest.raises(ContractViolation):
        checker.check_response_body("POST", "/rooms", 422, {"errors": [{"code": 422}]})
    with pytest.raises(ContractViolation):
        checker.check_response_body("DELETE", "/rooms/{room_id}", 200, {})
    with pytest.raises(ContractViolation), checker.invalid_requests():
        checker.check_request_body("POST", "/rooms", {"max_participants": 5})
