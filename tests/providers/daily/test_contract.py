"""The Daily model, emulator and adapter checked against Daily's OpenAPI description 1.1.1.

The document is read from `$RECONCILE_PROVIDER_SPECS/daily/openapi.json` (or `.yaml`); it is
never part of the repository, and the tests skip without it. Schemas are found through the
operations (`POST /rooms` and its request body's `properties`, each route's 200 answer), so
the document's own schema names do not matter. OpenAPI 3.0's `nullable` is read as "or null".

Checked:
- every room property the model accepts is a spec property with a compatible type, its
  values inside the spec's enum, nested objects (permissions, buckets, streaming endpoints)
  likewise; the few the spec lacks are listed in `MODEL_ONLY`, each with its reason;
- every spec property is modelled, or listed in `SPEC_ONLY` with the reason;
- the spec's documented defaults are what the adapter reads a missing `config` key as;
- the emulator's answers to every room route validate against the route's 200 schema,
  `config` holds only room properties, and room objects carry no undeclared field;
- the bodies the adapter sends validate against the request schemas, with `properties`
  closed (only spec properties).

One departure, decided in docs/providers/daily.md U4: a property the file declares as `null`
is sent as `null` to reset it, although the spec marks only `geo`, `rtmp_geo` and
`recordings_template` nullable (and its prose resets `streaming_endpoints` with `null`), so
request bodies may hold `null` for any property.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft7Validator

from reconcile.engine.answers import settings_types
from reconcile.engine.plan import LiveRoom
from reconcile.providers.daily.adapter import DailyProvider
from reconcile.providers.daily.model import DailyRoom
from reconcile.providers.daily.properties import ABSENT_MEANS, UNSET_WHEN_ABSENT
from reconcile.providers.daily.sandbox import API_KEY
from reconcile.sandbox.server import SandboxServer

from ...conftest import SANDBOX_ENVIRON, RecordingHttp, load_account, rooms_file, sent

SANDBOX_PROVIDERS = ("daily",)
SPEC_FILES = ("daily/openapi.json", "daily/openapi.yaml")
TOP_LEVEL = ("name", "privacy")
# In the model (the room config page documents them, daily.md 3.2) but not in the spec.
MODEL_ONLY: dict[str, str] = {
    "transcription_template": "on the room config page; not in RoomProperties 1.1.1",
    "enable_dialout": "on the room config page; not in RoomProperties 1.1.1",
    "dialout_config": "on the room config page; not in RoomProperties 1.1.1",
    "permissions.canReceive": "on the room config page; the spec's Permissions lacks it",
}
# In the spec but deliberately not modelled.
SPEC_ONLY: dict[str, str] = {}
# Nested objects: model path -> how to reach the spec's schema from RoomProperties.
NESTED = {"permissions": ("permissions",), "recordings_bucket": ("recordings_bucket",),
          "transcription_bucket": ("transcription_bucket",),
          "streaming_endpoints": ("streaming_endpoints", "items")}
# The spec's way of saying "no default value": these read as unset (None).
NO_VALUE = {"<not set>", "NULL"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    folder = os.environ.get("RECONCILE_PROVIDER_SPECS")
    if not folder:
        pytest.skip("RECONCILE_PROVIDER_SPECS is not set: no official specs to check against")
    for name in SPEC_FILES:
        path = Path(folder) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            document: dict[str, Any] = json.loads(text) if path.suffix == ".json" \
                else yaml.safe_load(text)
            return document
    pytest.skip(f"no {' or '.join(SPEC_FILES)} under RECONCILE_PROVIDER_SPECS={folder}")


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def json_schema(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, nullable as null."""
    if not isinstance(node, dict) or depth > 12:
        return node
    node = resolve(spec, node)
    out = {k: (json_schema(spec, v, depth + 1) if k in ("items", "not") else
               {n: json_schema(spec, s, depth + 1) for n, s in v.items()} if k == "properties"
               else [json_schema(spec, s, depth + 1) for s in v]
               if k in ("oneOf", "anyOf", "allOf") else v)
           for k, v in node.items() if k not in ("nullable", "example", "description")}
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def operation(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"][path][method]
    return found


def answer_schema(spec: dict[str, Any], path: str, method: str) -> Any:
    response = operation(spec, path, method)["responses"]["200"]
    return json_schema(spec, response["content"]["application/json"]["schema"])


def request_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = operation(spec, path, method)["requestBody"]["content"]["application/json"]
    return resolve(spec, body["schema"])


def room_properties(spec: dict[str, Any]) -> dict[str, Any]:
    """RoomProperties, as the create body's `properties` names it."""
    return resolve(spec, request_schema(spec, "/rooms", "post")["properties"]["properties"])


def spec_object(spec: dict[str, Any], *path: str) -> dict[str, Any]:
    node = room_properties(spec)
    for step in path:
        node = resolve(spec, node["items"] if step == "items" else node["properties"][step])
    return node


def spec_types(spec: dict[str, Any], node: dict[str, Any]) -> set[str]:
    node = resolve(spec, node)
    if "oneOf" in node or "anyOf" in node:
        return set().union(*(spec_types(spec, n) for n in node.get("oneOf", node.get("anyOf"))))
    found = {node["type"]} if "type" in node else {"object"}
    if found == {"number"}:
        found.add("integer")
    return found | ({"null"} if node.get("nullable") else set())


def model_fields(model: type[Any]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


# -- the model against the spec -----------------------------------------------------------

def test_every_model_property_is_a_spec_property_of_a_compatible_type(
        spec: dict[str, Any]) -> None:
    spec_props = room_properties(spec)["properties"]
    problems = []
    for name, types in settings_types(DailyRoom).items():
        if name in TOP_LEVEL or name in MODEL_ONLY:
            assert name not in spec_props, f"{name} is in the spec now: drop it from MODEL_ONLY"
            continue
        if name not in spec_props:
            problems.append(f"{name}: not in the spec")
        elif not set(types) <= spec_types(spec, spec_props[name]) | {"null"}:
            problems.append(f"{name}: {sorted(types)} vs {spec_props[name]}")
    assert problems == []


def test_the_model_values_are_inside_the_spec_enums(spec: dict[str, Any]) -> None:
    schema = DailyRoom.model_json_schema(by_alias=True)["properties"]
    checked = 0
    for name, node in room_properties(spec)["properties"].items():
        allowed = resolve(spec, node).get("enum")
        if allowed is None or name not in schema:
            continue
        ours = {v for branch in schema[name].get("anyOf", [schema[name]])
                for v in branch.get("enum", ())}
        assert ours and ours <= set(allowed), name
        checked += 1
    assert checked >= 2  # enable_recording, lang


@pytest.mark.parametrize("field", sorted(NESTED))
def test_nested_objects_match_field_for_field(spec: dict[str, Any], field: str) -> None:
    model: Any = DailyRoom.model_fields[field].annotation
    inner = next(a for a in model.__args__ if a is not type(None))
    inner = getattr(inner, "__args__", (inner,))[0]  # list[X] -> X
    ours = set(model_fields(inner))
    theirs = set(spec_object(spec, *NESTED[field])["properties"])
    exempt = {k.split(".", 1)[1] for k in MODEL_ONLY if k.startswith(f"{field}.")}
    assert ours - exempt <= theirs, f"{field}: not in the spec: {sorted(ours - theirs)}"
    assert theirs <= ours | {k.split(".", 1)[1] for k in SPEC_ONLY
                             if k.startswith(f"{field}.")}, f"{field}: not modelled"


def test_every_spec_property_is_modelled_or_excluded(spec: dict[str, Any]) -> None:
    spec_props = set(room_properties(spec)["properties"])
    missing = spec_props - set(DailyRoom.yaml_names()) - set(SPEC_ONLY)
    assert missing == set(), f"model these or list them in SPEC_ONLY with the reason: {missing}"
    create = set(request_schema(spec, "/rooms", "post")["properties"])
    update = set(request_schema(spec, "/rooms/{room_name}", "post")["properties"])
    assert (create, update) == ({"name", "privacy", "properties"}, {"privacy", "properties"})


def test_documented_defaults_are_what_a_missing_key_reads_as(spec: dict[str, Any]) -> None:
    checked = 0
    for name, node in room_properties(spec)["properties"].items():
        default = resolve(spec, node).get("default")
        if default is None:
            continue
        if isinstance(default, str) and (default in NO_VALUE or " " in default
                                         or "{" in default):
            assert name in UNSET_WHEN_ABSENT, name  # "<not set>", "NULL", prose, templates
        else:
            assert ABSENT_MEANS.get(name) == default, name
        checked += 1
    assert checked >= 20


# -- the emulator's answers and the adapter's bodies against the spec -------------------------

@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url('daily')}/v1",
                      headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c


def check_answer(spec: dict[str, Any], path: str, method: str, response: httpx.Response
                 ) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    Draft7Validator(answer_schema(spec, path, method)).validate(body)
    rooms = body.get("data", []) if path == "/rooms" and method == "get" else \
        [body] if "config" in body else []
    room_fields = set(answer_schema(spec, "/rooms/{room_name}", "get")["properties"])
    known = set(room_properties(spec)["properties"]) | set(MODEL_ONLY)
    for room in rooms:
        assert set(room) <= room_fields, set(room) - room_fields  # no leaked internal key
        assert set(room["config"]) <= known, set(room["config"]) - known


def test_every_room_answer_of_the_emulator_validates(spec: dict[str, Any],
                                                     client: httpx.Client) -> None:
    full = {"name": "full", "privacy": "private", "properties": {
        "max_participants": 12, "enable_chat": True, "lang": "de", "geo": "eu-west-2",
        "exp": 4_102_444_800, "enable_recording": "cloud", "sfu_switchover": 2.5,
        "permissions": {"hasPresence": True, "canSend": ["audio"], "canAdmin": False},
        "recordings_bucket": {"bucket_name": "b", "bucket_region": "eu-central-1",
                              "assume_role_arn": "arn:aws:iam::1:role/r",
                              "allow_api_access": True},
        "streaming_endpoints": [{"name": "yt", "type": "rtmp",
                                 "rtmp_config": {"url": "rtmps://x/live/key"}}]}}
    check_answer(spec, "/rooms", "post", client.post("/rooms", json=full))
    check_answer(spec, "/rooms", "post", client.post("/rooms", json={}))
    check_answer(spec, "/rooms/{room_name}", "get", client.get("/rooms/full"))
    check_answer(spec, "/rooms/{room_name}", "post",
                 client.post("/rooms/full", json={"properties": {"lang": None}}))
    check_answer(spec, "/rooms", "get", client.get("/rooms"))
    check_answer(spec, "/rooms", "get", client.get("/rooms", params={"limit": 1}))
    check_answer(spec, "/rooms/{room_name}", "delete", client.delete("/rooms/full"))


def test_the_adapter_sends_bodies_the_spec_accepts_but_for_declared_nulls(
        spec: dict[str, Any], tmp_path: Path, server: SandboxServer) -> None:
    rooms = ("      - {name: a, privacy: private, max_participants: 12, lang: de,"
             " enable_recording: null, permissions: {canSend: [audio]},"
             " recordings_bucket: {bucket_name: b}}\n      - {name: b}\n")
    account = load_account(rooms_file(tmp_path, server, "daily", rooms), "daily",
                           SANDBOX_ENVIRON)
    declared = [room.model for room in account.rooms["rooms"]]

    async def main() -> list[Any]:
        async with RecordingHttp(DailyProvider.base_url(account),
                                 headers=DailyProvider.auth_headers(account)) as http:
            provider = DailyProvider(account, http)
            for room in declared:
                live = await provider.create("rooms", room)
                await provider.update("rooms", LiveRoom("rooms", live.key, live.id,
                                                        live.fields), room, ())
            return sent(provider)

    bodies = asyncio.run(main())
    closed = {**json_schema(spec, room_properties(spec)), "additionalProperties": False}
    for _, path, body in bodies:
        route = ("/rooms", "post") if path == "/v1/rooms" else ("/rooms/{room_name}", "post")
        resets = {k for k, v in body["properties"].items() if v is None}  # U4
        assert resets <= {"enable_recording"}, resets  # only what the file declares null
        kept = {**body, "properties": {k: v for k, v in body["properties"].items()
                                       if k not in resets}}
        Draft7Validator(json_schema(spec, request_schema(spec, *route))).validate(kept)
        Draft7Validator(closed).validate(kept["properties"])
    assert [(m, p) for m, p, _ in bodies] == [("POST", "/v1/rooms"), ("POST", "/v1/rooms/a"),
                                              ("POST", "/v1/rooms"), ("POST", "/v1/rooms/b")]
