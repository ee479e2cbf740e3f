"""Fuzzing what the providers answer: every registered emulator serves over loopback HTTP as
usual, but a tampering layer edits their answers before they leave (a field of a room
given a wrong type, removed, nulled, made huge or odd; an envelope key changed; a room
repeated; a body cut short, emptied or replaced by non-JSON). Every adapter then reads
through its real request path: `list_rooms` of each kind, then a whole plan and apply.

Property: `list_rooms` gives LiveRooms or raises a ReconcileError; plan gives a plan or
raises a ReconcileError; apply reports each change as applied or failed with a message.
Never another exception.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Message, Receive, Scope, Send

from reconcile.config import Config, load
from reconcile.engine.http import HttpSettings
from reconcile.engine.plan import Action, LiveRoom, Plan
from reconcile.engine.provider import RunContext
from reconcile.engine.run import open_accounts
from reconcile.errors import ReconcileError
from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.emulator import Emulator
from reconcile.sandbox.server import SandboxServer
from reconcile.sandbox.store import Record

from ..commands.wrapped import wrapped
from ..conftest import SANDBOX_ENVIRON, accounts_file, per_provider
from .conftest import budget
from .strategies import HUGE_NUMBERS, ODD_STRINGS, json_values

# Fail fast: one retry at most, and no waiting (answers are wrong, not slow).
FAST = HttpSettings(timeout=10.0, connect_timeout=5.0, attempts=2, backoff_initial=0.001,
                    backoff_max=0.002)


# -- the tampering layer ----------------------------------------------------------------------

def _templates(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every route an emulator app serves."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _templates(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, prefix + route.path


def _template_of(routes: list[BaseRoute], scope: Scope, prefix: str = "") -> str | None:
    """The template of the route that serves `scope`, as Starlette itself matches it."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            return _template_of(route.routes, {**scope, **child}, prefix + route.path)
        if isinstance(route, Route):
            return prefix + route.path
    return None


@dataclass(frozen=True)
class Edit:
    """One change to an answer: `op` at the node that `path` leads to (each step an index
    into that node's keys or items, wrapped around), with `value` where one is needed."""

    op: str
    path: tuple[int, ...] = ()
    value: Any = None


RAW_OPS = ("truncate", "empty", "garbage", "html", "digits")


@dataclass
class Tamper:
    """The edits of the example running now, by route ("twilio GET /v1/Rooms")."""

    edits: dict[str, list[Edit]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    in_flight: int = 0  # requests the emulators are still serving

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no request is being served: a request the client gave up on (its sibling
        failed and asyncio.run cancelled it) may still be writing on the server."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.001)
        assert not self.in_flight, f"{self.in_flight} requests still served after {timeout} s"

    def answer(self, route: str, status: int, body: bytes) -> tuple[int, bytes]:
        edits = self.edits.get(route)
        if not edits:
            return status, body
        self.touched.add(route)
        for edit in edits:
            if edit.op == "refuse":  # an error status, with an error body of its own
                status, body = edit.value[0], json.dumps(edit.value[1]).encode()
            else:
                body = _edited(body, edit)
        return status, body


def _edited(body: bytes, edit: Edit) -> bytes:
    if edit.op in RAW_OPS:
        return _raw(body, edit)
    try:
        tree = json.loads(body)
    except ValueError:
        return body  # an earlier edit made it non-JSON already
    return json.dumps(_apply(tree, edit)).encode()


def _raw(body: bytes, edit: Edit) -> bytes:
    if edit.op == "truncate":
        return body[:edit.value % max(1, len(body))]
    if edit.op == "garbage":
        return bytes(edit.value)
    if edit.op == "html":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    if edit.op == "digits":  # past the 4,300 digits Python parses into an int
        return b'{"data": [], "meta": {"total_pages": 1' + b"0" * 5000 + b"}}"
    return b""


def _apply(tree: Any, edit: Edit) -> Any:
    """The tree with `edit` made (a root edit may replace it whole)."""
    holder: list[Any] = [tree]
    parent: Any = holder
    key: Any = 0
    for step in edit.path:
        node = parent[key]
        if isinstance(node, dict) and node:
            parent, key = node, list(node)[step % len(node)]
        elif isinstance(node, list) and node:
            parent, key = node, step % len(node)
        else:
            break
    if parent is holder and edit.op == "delete":
        return {}
    _at(parent, key, edit)
    return holder[0]


def _at(parent: MutableMapping[Any, Any] | list[Any], key: Any, edit: Edit) -> None:
    node = parent[key]
    if edit.op == "replace":
        parent[key] = edit.value
    elif edit.op == "null":
        parent[key] = None
    elif edit.op == "delete":
        del parent[key]
    elif edit.op == "swap":
        parent[key] = _swapped(node)
    elif edit.op == "duplicate":  # a room (or any item) twice
        if isinstance(node, list) and node:
            node.append(node[0])
        elif isinstance(node, dict):
            parent[key] = [node, node]
    elif edit.op == "extra":
        if isinstance(node, dict):
            node[str(edit.value)[:20] or "extra"] = edit.value
        else:
            parent[key] = {"value": node, "extra": edit.value}


def _swapped(node: Any) -> Any:
    """The same content as another JSON type."""
    if isinstance(node, str):
        return len(node)
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return {str(i): item for i, item in enumerate(node)}
    return str(node)  # numbers, booleans and null as text


# Error bodies in the shapes the APIs use (JSON:API `errors`, Twilio's `code`,
# SignalWire's `attribute`, Metered's `message`), with realistic and arbitrary values.
error_values = st.one_of(
    st.sampled_from([53113, 53112, 53118, "53113", "not_unique_within_project",
                     "value_not_unique", "name", "/unique_name", "unique_name",
                     "Room already exist", "already exist", "Invalid secretKey"]),
    json_values)
error_item = st.one_of(st.dictionaries(
    st.sampled_from(["code", "title", "detail", "source", "attribute", "message", "pointer"]),
    st.one_of(error_values, st.dictionaries(st.sampled_from(["pointer"]), error_values)),
    max_size=4), error_values)
error_bodies = st.one_of(
    st.dictionaries(st.sampled_from(["errors"]), st.one_of(st.lists(error_item, max_size=3),
                                                           error_values)),
    st.dictionaries(st.sampled_from(["code", "message", "more_info", "status", "error"]),
                    error_values, max_size=4),
    json_values)


edits = st.one_of(
    st.deferred(lambda: refusals),
    st.builds(Edit, st.sampled_from(["replace", "extra"]),
              st.lists(st.integers(0, 30), max_size=5).map(tuple), json_values),
    st.builds(Edit, st.sampled_from(["replace"]),
              st.lists(st.integers(0, 30), max_size=5).map(tuple),
              st.sampled_from([*HUGE_NUMBERS, *ODD_STRINGS, float("nan"), float("inf")])),
    st.builds(Edit, st.sampled_from(["null", "delete", "swap", "duplicate"]),
              st.lists(st.integers(0, 30), max_size=5).map(tuple)),
    st.builds(Edit, st.just("truncate"), st.just(()), st.integers(0, 10_000)),
    st.builds(Edit, st.just("garbage"), st.just(()), st.binary(max_size=40)),
    st.builds(Edit, st.sampled_from(["empty", "html", "digits"])),
)


class _Tampering:
    """An emulator's ASGI app whose answers go through `tamper` on their way out."""

    def __init__(self, app: Any, provider: str, tamper: Tamper) -> None:
        self.app, self.provider, self.tamper = app, provider, tamper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        template = _template_of(self.app.routes, scope)
        route = f"{self.provider} {scope['method']} {template}"
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = self.tamper.answer(route, start["status"], b"".join(chunks))
            headers = [(k, v) for k, v in start.get("headers", [])
                       if k.lower() != b"content-length"]
            await send({**start, "status": status, "headers": [*headers,
                                             (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        self.tamper.in_flight += 1  # one event loop serves them all: no lock needed
        try:
            await self.app(scope, receive, capture)
        finally:
            self.tamper.in_flight -= 1


def tampered(provider: str, tamper: Tamper) -> Emulator:
    """The provider's emulator, its app behind the tampering layer."""
    return wrapped(provider, lambda app: _Tampering(app, provider, tamper))


def routes() -> list[str]:
    box = Sandbox()
    try:
        return [f"{p} {method} {path}" for p in PROVIDERS
                for method, path in _templates(load_emulator(p).create_app(box).routes)]
    finally:
        box.close()


ROUTES = routes()


# -- the accounts: a file applied once, then one that changes every kind of thing --------------

# Each provider's file as applied first, then as changed: a changes (an update, or a
# replace), b stays, c is new, old-1 is pruned (its tests/providers/<name>/cases.py).
BEFORE = per_provider("RESPONSES_BEFORE")
AFTER = per_provider("RESPONSES_AFTER")
PRUNE = {provider: "    prune: {match: 'old-*'}\n" for provider in PROVIDERS}


@dataclass
class Scenario:
    server: SandboxServer
    config: Config
    context: RunContext
    rows: list[Record]
    state: dict[Path, bytes]

    def __repr__(self) -> str:  # a failing example prints it: keep that readable
        return "Scenario(...)"

    def restore(self) -> None:
        """The live rooms and Kaleyra state as the first apply left them."""
        TAMPER.wait_idle()
        # A write the last example sent before it stopped (its run cut short) may still be
        # read after the client closed: it would land after the reset (a duplicate name).
        deadline = time.monotonic() + 10
        while self.server.serving() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not self.server.serving(), "the sandbox still serves after 10 s"
        self.server.sandbox.reset()
        self.server.sandbox.store.insert_many([(r.provider, r.account, r.kind, r.id, r.name,
                                                r.data) for r in self.rows])
        for path, text in self.state.items():
            path.write_bytes(text)


def _run(config: Config, context: RunContext,
         work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with open_accounts(config.accounts.values(), context, hold_locks=True,
                                 http=FAST) as run:
            return await work(run)

    return asyncio.run(main())


async def _apply_all(run: Any) -> Plan:
    plan = await run.plan()
    outcomes = await run.apply(plan)
    assert all(o.status == "applied" for o in outcomes), outcomes
    return plan


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tamper = TAMPER
    box = Sandbox(seed=6)
    with SandboxServer(box, emulators={p: tampered(p, tamper) for p in PROVIDERS}) as server:
        folder = tmp_path_factory.mktemp("responses")
        state_dir = folder / "state"
        state_dir.mkdir()
        context = RunContext(str(folder / "rooms.yaml"), state_dir=state_dir)
        before = load(accounts_file(folder, server, BEFORE, PRUNE), SANDBOX_ENVIRON)
        _run(before, context, _apply_all)
        after = load(accounts_file(folder, server, AFTER, PRUNE), SANDBOX_ENVIRON)
        rows = _all_records(box)
        state = {path: path.read_bytes() for path in state_dir.iterdir()}
        yield Scenario(server, after, context, rows, state)
    box.close()


def _all_records(box: Sandbox) -> list[Record]:
    """Every stored record (rooms, Kaleyra's users), all live after a first apply."""
    with box.store.transaction() as conn:
        kinds = conn.execute("SELECT DISTINCT provider, account, kind FROM records").fetchall()
    records = [r for provider, account, kind in kinds
               for r in box.store.list(provider, account, kind, live=None)]
    assert all(r.live for r in records)
    return records


TAMPER = Tamper()


# -- the property -----------------------------------------------------------------------------

async def _read_and_apply(run: Any) -> None:
    for provider in run.providers.values():
        for kind in provider.account.rooms:
            try:
                rooms = await provider.list_rooms(kind)
            except ReconcileError as exc:
                assert str(exc), "an error without a message"
                continue
            for room in rooms:
                assert isinstance(room, LiveRoom)
                assert room.key is None or isinstance(room.key, str), room
                assert isinstance(room.id, str) and isinstance(room.fields, Mapping), room
    try:
        plan = await run.plan()
    except ReconcileError as exc:
        assert str(exc), "an error without a message"
        return
    for change in plan.changes():
        assert isinstance(change.key, str) and isinstance(change.action, Action)
    for outcome in await run.apply(plan):
        assert outcome.status in ("applied", "failed"), outcome
        assert outcome.status == "applied" or outcome.message, outcome


def check_answers(scenario: Scenario, plan: dict[str, list[Edit]]) -> None:
    """The scenario's read, plan and apply, with `plan`'s edits to the answers."""
    scenario.restore()
    TAMPER.edits, TAMPER.touched = plan, set()
    try:
        _run(scenario.config, scenario.context, _read_and_apply)
    finally:
        TAMPER.edits = {}


@given(st.dictionaries(st.sampled_from(ROUTES), st.lists(edits, min_size=1, max_size=3),
                       min_size=1, max_size=4))
@settings(max_examples=budget(60))
def test_any_answer_is_read_or_refused_with_a_reconcile_error(
        scenario: Scenario, plan: dict[str, list[Edit]]) -> None:
    check_answers(scenario, plan)


refusals = st.builds(Edit, st.just("refuse"), st.just(()), st.tuples(
    st.sampled_from([400, 401, 403, 404, 409, 422, 500]), error_bodies))


@given(st.dictionaries(st.sampled_from(ROUTES), st.lists(refusals, min_size=1, max_size=1),
                       min_size=1, max_size=3))
@settings(max_examples=budget(60))
# What it found (tests/fuzz/test_findings.py pins each one on its own).
@example(plan={"telnyx POST /v2/rooms": [Edit("refuse", (), (422, {"errors": ["x"]}))]})
@example(plan={"twilio POST /v1/Rooms/{room}": [Edit("refuse", (), (400, {"code": [1]}))]})
@example(plan={"signalwire POST /{space}/api/video/rooms": [Edit("refuse", (), (422, {
    "errors": [{"attribute": "name", "code": ["value_not_unique"]}]}))]})
def test_any_error_answer_is_a_failure_with_a_message(
        scenario: Scenario, plan: dict[str, list[Edit]]) -> None:
    # Errors take their own paths (name taken, already gone, refused key), which answers
    # edited at random rarely reach: this one refuses requests with error bodies only.
    check_answers(scenario, plan)


def test_untampered_answers_plan_every_kind_of_change(scenario: Scenario) -> None:
    scenario.restore()

    async def plan_only(run: Any) -> Plan:
        return await run.plan()

    plan: Plan = _run(scenario.config, scenario.context, plan_only)
    actions = {(c.account, c.key): c.action for c in plan.changes()}
    for provider in PROVIDERS:
        assert actions[(provider, "c")] is Action.CREATE, provider
        assert actions[(provider, "old-1")] is Action.DELETE, provider
        assert actions[(provider, "a")] in (Action.UPDATE, Action.REPLACE), provider


def test_every_route_is_known() -> None:
    assert "twilio GET /v1/Rooms" in ROUTES and "telnyx PATCH /v2/rooms/{room_id}" in ROUTES
    assert any(r.startswith("kaleyra GET /{region}/v2/rooms/") for r in ROUTES), ROUTES

