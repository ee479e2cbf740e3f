"""Fuzzing drift: a rooms file on every registered emulator is applied, then a random handful of
out-of-band changes goes through the sandbox's control API (fields patched, rooms
renamed, ended, deleted or seeded undeclared, Twilio's clock moved on), with plan and
apply in between and at the end.

Properties, after every apply: a plan shows no changes; each declared room is exactly
one live room (Kaleyra: one recorded room_id, live, no leftovers); no undeclared room is
deleted unless `prune` matches it; plan and apply never raise.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config import Config, load
from reconcile.engine.http import HttpSettings
from reconcile.engine.plan import Action, Plan
from reconcile.engine.provider import RunContext
from reconcile.engine.run import Run, open_accounts
from reconcile.outputs.text import render_plan
from reconcile.sandbox.app import load_emulator
from reconcile.sandbox.client import SandboxControl, SandboxControlError
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, accounts_file, key_field, per_provider
from .conftest import budget

FAST = HttpSettings(attempts=2, backoff_initial=0.001, backoff_max=0.002)
PRUNE = "old-*"
# Each provider's declared rooms (by kind where it has two), from its cases.py.
ROOMS: dict[str, str | dict[str, str]] = per_provider("DRIFT_ROOMS")
KINDS = {provider: tuple(kinds) if isinstance(kinds, dict) else ("rooms",)
         for provider, kinds in ROOMS.items()}
DECLARED = {(p, kind, key) for p in PROVIDERS for kind in KINDS[p] for key in ("a", "b")
            if not (p == "signalwire" and kind == "conferences" and key == "b")}
# Rooms with a name (not Kaleyra's) can be renamed behind the tool's back.
NAME_FIELD = {p: key_field(p) for p in PROVIDERS if load_emulator(p).name_field is not None}
# Values an out-of-band edit may set: valid ones, as a dashboard or another tool would.
PATCHES: dict[tuple[str, str], dict[str, list[Any]]] = {
    (provider, kind): fields for provider, kinds in per_provider("DRIFT_PATCHES").items()
    for kind, fields in kinds.items()}
NEW_NAMES = ("old-1", "old-2", "adhoc-1", "a", "b")


def _targets() -> st.SearchStrategy[tuple[str, str, str]]:
    return st.sampled_from(sorted(DECLARED) + [(p, k, n) for p in NAME_FIELD
                                               for k in KINDS[p] for n in NEW_NAMES[:3]])


def _patch() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.sampled_from(sorted(PATCHES)).flatmap(lambda where: st.tuples(
        st.just("patch"), st.just(where), st.sampled_from(("a", "b")),
        st.sampled_from(sorted(PATCHES[where])).flatmap(
            lambda name: st.tuples(st.just(name), st.sampled_from(PATCHES[where][name])))))


OPERATIONS = st.one_of(
    _patch(),
    st.tuples(st.just("rename"), _targets(), st.sampled_from(NEW_NAMES)),
    st.tuples(st.just("delete"), _targets()),
    st.tuples(st.just("seed"), st.sampled_from([(p, k) for p in NAME_FIELD for k in KINDS[p]]),
              st.sampled_from(NEW_NAMES)),
    st.tuples(st.just("end"), st.sampled_from(["a", "b", "old-1", "adhoc-1"])),
    st.tuples(st.just("archive"), st.sampled_from(["a", "b", "old-1"])),  # Metered's delete
    st.tuples(st.just("join"), _targets(), st.booleans()),  # someone joins, or leaves
    st.tuples(st.just("advance"), st.sampled_from([1, 6, 11, 60])),
    st.just(("reconcile",)),
)


class Drift:
    """The file, the emulators and the control API, for one test."""

    def __init__(self, server: SandboxServer, folder: Path) -> None:
        self.server = server
        self.control = SandboxControl(server.base_url)
        self.state_dir = folder / "state"
        self.state_dir.mkdir(exist_ok=True)
        self.context = RunContext(str(folder / "rooms.yaml"), state_dir=self.state_dir)
        self.config: Config = load(accounts_file(folder, server, ROOMS,
                                                 {p: f"    prune: {{match: '{PRUNE}'}}\n"
                                                  for p in PROVIDERS}), SANDBOX_ENVIRON)

    def fresh(self) -> None:
        self.server.sandbox.reset()
        for path in self.state_dir.iterdir():
            path.unlink()

    # -- what happens out of band

    def change(self, operation: tuple[Any, ...]) -> None:
        op, *args = operation
        try:
            if op == "patch":
                (provider, kind), key, (name, value) = args
                self._patch(provider, kind, key, {name: value})
            elif op == "rename":
                (provider, kind, key), new = args
                if provider in NAME_FIELD:
                    self._patch(provider, kind, key, {NAME_FIELD[provider]: new})
            elif op == "delete":
                provider, kind, key = args[0]
                self.control.delete_room(provider, SANDBOX_ACCOUNTS[provider], kind,
                                         self._stored_key(provider, kind, key))
            elif op == "seed":
                (provider, kind), name = args
                self.control.seed(provider, SANDBOX_ACCOUNTS[provider], kind,
                                  [{NAME_FIELD[provider]: name}])
            elif op == "end":  # Twilio: a room completed from the console
                self._patch("twilio", "rooms", args[0], {"status": "completed"})
            elif op == "archive":
                self._patch("metered", "rooms", args[0], {"archived": True})
            elif op == "join":
                (provider, kind, key), joins = args
                if provider != "metered":  # Metered shows no sessions
                    self.control.participants(
                        provider, SANDBOX_ACCOUNTS[provider], kind,
                        self._stored_key(provider, kind, key),
                        **{"add" if joins else "remove": ["someone"]})
            elif op == "advance":  # Twilio ends rooms nobody joined after their timeout
                self.control.advance(minutes=args[0])
        except SandboxControlError as exc:
            # Out of band has its own rules: no such room, or the name is taken (a seed's
            # validation says so with a 400).
            assert exc.status in (404, 409) or (op == "seed" and exc.status == 400), exc

    def _patch(self, provider: str, kind: str, key: str, fields: dict[str, Any]) -> None:
        self.control.patch_room(provider, SANDBOX_ACCOUNTS[provider], kind,
                                self._stored_key(provider, kind, key), fields)

    def _stored_key(self, provider: str, kind: str, key: str) -> str:
        """How the control API finds a room: by live name, or Kaleyra's by room_id."""
        if provider != "kaleyra":
            return key
        return self.kaleyra_state().get(key, {}).get("room_id", "unknown")

    def kaleyra_state(self) -> dict[str, Any]:
        path = self.state_dir / "kaleyra-kaleyra.json"
        rooms: dict[str, Any] = json.loads(path.read_text())["rooms"] if path.exists() else {}
        return rooms

    # -- what reconcile does

    def run(self, apply: bool) -> Plan:
        async def main() -> Plan:
            async with open_accounts(self.config.accounts.values(), self.context,
                                     hold_locks=apply, http=FAST) as run:
                return await self._plan_and_apply(run, apply)

        return asyncio.run(main())

    @staticmethod
    async def _plan_and_apply(run: Run, apply: bool) -> Plan:
        plan = await run.plan()
        render_plan(plan)  # every change renders
        if apply:
            outcomes = await run.apply(plan)
            assert all(o.status == "applied" for o in outcomes), \
                [(o.change.account, o.change.key, o.message) for o in outcomes]
        return plan

    def reconcile(self) -> None:
        plan = self.run(apply=True)
        for change in plan.changes():
            if change.action is Action.DELETE:
                # Only prune deletes: an undeclared room, matching it (Kaleyra: or the
                # leftover entry of one, `name@room_id`).
                assert fnmatch.fnmatchcase(change.key.partition("@")[0], PRUNE) or \
                    "@" in change.key, change
        again = self.run(apply=False)
        assert not again.has_changes, render_plan(again)
        self.check_one_room_each()

    def check_one_room_each(self) -> None:
        for provider in NAME_FIELD:
            for kind in KINDS[provider]:
                live = Counter(room["name"] for room in self.control.rooms(
                    provider, SANDBOX_ACCOUNTS[provider], kind, live=True))
                for key in ("a", "b"):
                    if (provider, kind, key) in DECLARED:
                        assert live[key] == 1, (provider, kind, key, live)
                assert not [name for name in live if name and fnmatch.fnmatchcase(name, PRUNE)]
        state = self.kaleyra_state()
        assert sorted(state) == ["a", "b"], state  # no retired or leftover entries
        ids = {entry["room_id"] for entry in state.values()}
        stored = {room["id"] for room in self.control.rooms(
            "kaleyra", SANDBOX_ACCOUNTS["kaleyra"], "rooms", live=True)}
        assert len(ids) == 2 and ids <= stored, (ids, stored)


@pytest.fixture(scope="module")
def drift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drift]:
    box = Sandbox(seed=66)
    with SandboxServer(box) as server:
        drift = Drift(server, tmp_path_factory.mktemp("drift"))
        yield drift
        drift.control.close()
    box.close()


@given(st.lists(OPERATIONS, min_size=1, max_size=5))
@settings(max_examples=budget(40))
def test_any_drift_converges_in_one_apply(drift: Drift, operations: list[tuple[Any, ...]]
                                          ) -> None:
    drift.fresh()
    drift.reconcile()
    for operation in operations:
        if operation == ("reconcile",):
            drift.reconcile()
        else:
            drift.change(operation)
    drift.reconcile()


def test_a_first_apply_makes_each_room_once(drift: Drift) -> None:
    drift.fresh()
    plan = drift.run(apply=True)
    assert Counter(c.action for c in plan.changes()) == {Action.CREATE: len(DECLARED)}
    drift.check_one_room_each()
