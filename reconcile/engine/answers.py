"""Provider answers read defensively: JSON checked for the shape an adapter relies on.

A broken or hostile provider may answer anything. Adapters read bodies through `Answer`,
whose errors (`MalformedAnswer`, never a KeyError or a TypeError) name the provider, the
request and the place in the body (`data[3].unique_name`), but never the value found there:
it may be a credential or personal data.

A malformed room fails the account's whole read instead of being skipped: a managed room
left out would plan as a create (a duplicate, or a name clash), an unmanaged one would
escape `prune`, so a plan made from part of the list is worse than no plan.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconcile.engine.http import PaginationError, UnusableAnswer, json_body
from reconcile.engine.plan import LiveRoom
from reconcile.models import Room

JsonTypes = frozenset[str]
OBJECT: JsonTypes = frozenset({"object"})
ARRAY: JsonTypes = frozenset({"array"})
STRING: JsonTypes = frozenset({"string"})
INTEGER: JsonTypes = frozenset({"integer"})
BOOLEAN: JsonTypes = frozenset({"boolean"})
NULL: JsonTypes = frozenset({"null"})
_ARTICLES = {"object": "an object", "array": "an array", "string": "a string",
             "integer": "an integer", "number": "a number", "boolean": "a boolean",
             "null": "null"}
Path = tuple[str | int, ...]


class MalformedAnswer(UnusableAnswer):
    """A body whose shape the adapter cannot use: a wrong type, a missing field."""


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, types: JsonTypes) -> bool:
    found = json_type(value)
    return found in types or (found == "integer" and "number" in types)


def _describe(types: JsonTypes) -> str:
    names = sorted(types, key=lambda t: (t == "null", t))
    return " or ".join(_ARTICLES.get(t, t) for t in names)


def where(path: Path) -> str:
    """A path into a body as one would write it: `data[3].unique_name`."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "the body"


@functools.cache
def settings_types(model: type[Room]) -> Mapping[str, JsonTypes]:
    """The JSON types each field of a room model takes, by its API name (from the model's
    JSON Schema; a field whose types it cannot tell is left out, so never checked)."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})

    def types(node: Mapping[str, Any]) -> set[str] | None:
        if "$ref" in node:
            node = definitions.get(node["$ref"].rsplit("/", 1)[-1], {})
        if "type" in node:
            kind = node["type"]
            return {kind} if isinstance(kind, str) else set(kind)
        if "const" in node:
            return {json_type(node["const"])}
        branches = node.get("anyOf") or node.get("oneOf")
        if not branches:
            return None
        found: set[str] = set()
        for branch in branches:
            more = types(branch)
            if more is None:
                return None
            found |= more
        return found

    result: dict[str, JsonTypes] = {}
    for name, node in schema.get("properties", {}).items():
        if name in model.MANAGEMENT_FIELDS:
            continue
        kinds = types(node)
        if kinds is not None:
            result[name] = frozenset(kinds)
    return result


# The Python types json.loads gives for each JSON type (bool is not an integer here).
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),), "boolean": (bool,), "integer": (int,), "number": (int, float),
    "string": (str,), "array": (list,), "object": (dict,)}
# One field's check: its name, the exact types allowed, and whether it must be there.
Check = tuple[str, JsonTypes, bool]


@dataclass(frozen=True)
class RoomShape:
    """What an adapter relies on in one room object: its id and key, the types of the
    settings its model declares, and any other field it reads (`extra`)."""

    id_field: str | None
    key_field: str | None
    model: type[Room] | None = None
    id_required: bool = True
    key_types: JsonTypes = STRING | NULL
    key_required: bool = True  # False: a room may leave its key out (an unnamed room)
    extra: Mapping[str, JsonTypes] = field(default_factory=dict)

    @functools.cached_property
    def checks(self) -> tuple[Check, ...]:
        """Every field to check, worked out once per shape (not once per room)."""
        checks: list[Check] = []
        if self.id_field:
            checks.append((self.id_field, STRING, self.id_required))
        if self.key_field:
            checks.append((self.key_field, self.key_types, self.key_required))
        fields = settings_types(self.model) if self.model is not None else {}
        checks += [(name, types | NULL, False) for name, types in fields.items()
                   if name != self.key_field]
        checks += [(name, types, False) for name, types in self.extra.items()]
        return tuple(checks)

    @functools.cached_property
    def fast_checks(self) -> tuple[tuple[str, frozenset[type], bool], ...]:
        """`checks` as exact Python types: a room of plain parsed JSON passes with one set
        lookup a field. An optional field may be null, as `Answer._check` allows."""
        return tuple((name, frozenset(python for kind in types | (NULL if not required
                                                                  else frozenset())
                                      for python in _PYTHON_TYPES.get(kind, ())), required)
                     for name, types, required in self.checks)

    def fits(self, room: dict[str, Any]) -> bool:
        """True when `room` surely passes; False when it must be checked in full."""
        for name, types, required in self.fast_checks:
            if name in room:
                if type(room[name]) not in types:
                    return False
            elif required:
                return False
        return True


class Answer:
    """One parsed answer and where it came from, for errors that say exactly what is
    wrong and where."""

    def __init__(self, body: Any, *, provider: str | None, method: str | None = None,
                 url: str | None = None) -> None:
        self.body = body
        self.provider, self.method, self.url = provider, method, url

    @classmethod
    def of(cls, response: httpx.Response, provider: str | None) -> Answer:
        """The response's JSON (NotJson when it is not JSON)."""
        return cls(json_body(response, provider), provider=provider,
                   method=response.request.method, url=str(response.request.url))

    def malformed(self, problem: str, kind: type[UnusableAnswer] = MalformedAnswer
                  ) -> UnusableAnswer:
        return kind(problem, provider=self.provider, method=self.method, url=self.url)

    def at(self, path: Path, types: JsonTypes, *, required: bool = True) -> Any:
        """The value at `path`, of one of `types`. Missing (or null on the way there) is
        an error when `required`, else None; a wrong type is always an error."""
        return self._check(self.body, (), path, types, required)

    def _check(self, value: Any, done: Path, path: Path, types: JsonTypes,
               required: bool, about: str = "") -> Any:
        for step in path:
            container = OBJECT if isinstance(step, str) else ARRAY
            if value is None and done:
                return self._missing(done, required, about)
            if not _fits(value, container):
                raise self._wrong(done, value, container, about)
            present = step in value if isinstance(step, str) else -len(value) <= step < len(value)
            done = (*done, step)
            if not present:
                return self._missing(done, required, about)
            value = value[step]
        if value is None and "null" not in types:
            return self._missing(done, required, about)
        if not _fits(value, types):
            raise self._wrong(done, value, types, about)
        return value

    def _missing(self, path: Path, required: bool, about: str) -> None:
        if required:
            raise self.malformed(f"{where(path)}{about} is missing")

    def _wrong(self, path: Path, value: Any, types: JsonTypes, about: str = ""
               ) -> UnusableAnswer:
        return self.malformed(f"{where(path)}{about} is {_ARTICLES[json_type(value)]},"
                              f" expected {_describe(types)}")

    def rooms(self, path: Path, shape: RoomShape, *, nullable: bool = False
              ) -> list[dict[str, Any]]:
        """The room objects in the array at `path`, each checked against `shape`."""
        items = self.at(path, ARRAY | NULL if nullable else ARRAY)
        return [self._room(item, (*path, index), shape)
                for index, item in enumerate(items or ())]

    def room(self, path: Path, shape: RoomShape) -> dict[str, Any]:
        """The one room object at `path` (the whole body when it is empty)."""
        return self._room(self.at(path, OBJECT) if path else self.body, path, shape)

    def _room(self, room: Any, path: Path, shape: RoomShape) -> dict[str, Any]:
        if type(room) is dict and shape.fits(room):
            return room
        if not _fits(room, OBJECT):
            raise self._wrong(path, room, OBJECT)
        checked: dict[str, Any] = room  # an object, as _fits said
        key = room.get(shape.key_field) if shape.key_field else None
        about = f" (of room {key!r})" if isinstance(key, str) else ""  # to find it by
        for name, types, required in shape.checks:
            if required or name in room:
                self._check(room, path, (name,), types, required, about)
        return checked


def distinct(rooms: Iterable[LiveRoom], provider: str | None) -> list[LiveRoom]:
    """The rooms of one list, refused when one comes twice: pages that repeat one another
    (a pagination loop under new links) would otherwise go unnoticed."""
    seen: set[str] = set()
    result = []
    for room in rooms:
        if room.id in seen:
            raise PaginationError(f"room {room.id} comes twice in the list: its pages repeat"
                                  " (a loop), or changed while they were read; plan again",
                                  provider=provider)
        seen.add(room.id)
        result.append(room)
    return result
