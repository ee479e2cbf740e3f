"""SIGKILL a real `reconcile apply` after k requests, for every k, and check what is left.

The emulators sit behind a test-side ASGI middleware that counts every request the client
makes (every provider it serves) and, when the k-th arrives, kills the apply process: "before"
the emulator sees that request, or "after" it was handled (a write committed, its reply
never sent). The file changes rooms on four providers at once; on Kaleyra it creates,
replaces (create-first) and deletes (prune), so kills land in each.

After every kill: the Kaleyra state file loads; no room it recorded is lost; the only live
Kaleyra rooms it does not record were created by this apply and not yet reported done,
never more than the creates it may have in flight, and the state file keeps the create
of each as uncertain. Then an apply converges (a plan says "No changes.", and names each
uncertain create) with exactly one live room per declared name on every provider.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from click.testing import CliRunner
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconcile.cli import cli
from reconcile.providers.kaleyra.state import KaleyraState
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ..conftest import (
    KALEYRA_STATE,
    SANDBOX_ACCOUNTS,
    SANDBOX_ENVIRON,
    accounts_file,
    key_field,
)
from .wrapped import wrapped

Mode = Literal["before", "after"]
KALEYRA_CONCURRENCY = 3  # at most this many Kaleyra creates in flight at once
# Every account deletes what it no longer declares, so kills land in deletes too.
EXTRA = f"    prune: {{match: '*'}}\n    concurrency: {KALEYRA_CONCURRENCY}\n"
NAME_FIELD = {provider: key_field(provider) for provider in ("twilio", "telnyx", "metered",
                                                            "kaleyra")}


def _kaleyra_rooms(versions: dict[str, int]) -> str:
    # The description carries name and version: the emulator's rooms have no name, so it
    # is how the test tells which declared room a live one was made for.
    return "".join(f"      - {{name: {name}, description: '{name} v{version}', participants:"
                   f" [{{user_id: doc, is_admin: true}}, {{user_id: pat}}]}}\n"
                   for name, version in versions.items())


def _named(provider: str, names: list[str], extra: str = "") -> str:
    return "".join(f"      - {{{NAME_FIELD[provider]}: {name}{extra}}}\n" for name in names)


# Kaleyra after the change: c1, c2, c5 replaced (a new description), c3 deleted, c6 and
# c7 created.
KALEYRA_AFTER = {"c0": 1, "c1": 2, "c2": 2, "c4": 1, "c5": 2, "c6": 1, "c7": 1}
BEFORE = {
    "twilio": _named("twilio", ["keep", "gone", "grow"]),
    "telnyx": _named("telnyx", ["keep", "gone"]),
    "metered": _named("metered", ["desk"]),
    "kaleyra": _kaleyra_rooms({f"c{i}": 1 for i in range(6)}),
}
AFTER = {  # creates, in-place updates, replaces and deletes
    "twilio": _named("twilio", ["keep", "new"])
              + "      - {unique_name: grow, max_participants: 10}\n",  # a replace
    "telnyx": _named("telnyx", ["keep"], ", max_participants: 7") + _named("telnyx", ["new"]),
    "metered": _named("metered", ["desk", "new"]),
    "kaleyra": _kaleyra_rooms(KALEYRA_AFTER),
}
DECLARED = {provider: sorted(re.findall(rf"{NAME_FIELD[provider]}: ([\w-]+)", lines))
            for provider, lines in AFTER.items()}
# What the apply prints on stderr once a change is done (after the state file says so).
DONE = re.compile(r"^\S+ kaleyra\.rooms\[([\w-]+)\] (?:created|replaced)$", re.MULTILINE)


# ---------------------------------------------------------------- the kill switch

@dataclass
class Seen:
    provider: str
    method: str
    path: str
    body: bytes = b""


@dataclass
class KillSwitch:
    """Counts the emulators' requests; at the `at`-th, SIGKILLs the process `pid`."""

    at: int = 0  # 0: never
    mode: Mode = "before"
    pid: int | None = None
    seen: list[Seen] = field(default_factory=list)
    active: int = 0  # requests being handled now
    hold: threading.Event | None = None  # when set: the kill waits for it

    def arm(self, at: int, mode: Mode, hold: threading.Event | None = None) -> None:
        self.at, self.mode, self.pid, self.seen, self.hold = at, mode, None, [], hold

    def settle(self, quiet_s: float = 0.05) -> None:
        """Wait until no request has been handled for `quiet_s`: requests the killed
        client sent just before dying may still be served (and commit) after its death."""
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < quiet_s or self.active:
            if len(self.seen) != seen or self.active:
                seen, quiet_since = len(self.seen), time.monotonic()
            time.sleep(0.005)

    @property
    def victim(self) -> Seen:
        """The request the kill came at."""
        return self.seen[self.at - 1]


class KillAt:
    """ASGI middleware around one emulator (inside the sandbox's fault layer)."""

    def __init__(self, app: ASGIApp, switch: KillSwitch, provider: str) -> None:
        self.app, self.switch, self.provider = app, switch, provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        switch = self.switch
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = Seen(self.provider, scope["method"], scope["path"])
        switch.seen.append(seen)  # one event loop: no lock needed

        async def tapped() -> Message:  # notes the body on its way to the emulator
            message = await receive()
            seen.body += message.get("body", b"")
            return message

        switch.active += 1
        try:
            if len(switch.seen) == switch.at:
                await self._kill(scope, tapped)
            else:
                await self.app(scope, tapped, send)
        finally:
            switch.active -= 1

    async def _kill(self, scope: Scope, receive: Receive) -> None:
        switch = self.switch

        async def lost(message: Message) -> None:
            pass  # the reply the killed client never reads

        # The pid is set just after the process starts.
        while (pid := switch.pid) is None or (switch.hold and not switch.hold.is_set()):
            await asyncio.sleep(0.001)
        if switch.mode == "after":
            await self.app(scope, receive, lost)  # committed here
        else:
            while (await receive()).get("more_body"):
                pass
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def switch() -> KillSwitch:
    return KillSwitch()


@pytest.fixture(scope="module")
def hooked_server(switch: KillSwitch) -> Iterator[SandboxServer]:
    box = Sandbox(seed=99)
    emulators = {p: wrapped(p, functools.partial(KillAt, switch=switch, provider=p))
               for p in NAME_FIELD}
    with SandboxServer(box, providers=tuple(NAME_FIELD), emulators=emulators) as server:
        yield server
    box.close()


# ---------------------------------------------------------------- one kill

def _live(sandbox: Sandbox, provider: str) -> list[dict[str, object]]:
    return [record.data for record in
            sandbox.store.list(provider, SANDBOX_ACCOUNTS[provider], "rooms")]


def _kaleyra_live(sandbox: Sandbox) -> dict[str, str]:
    """room_id -> description of every live Kaleyra room."""
    return {str(room["room_id"]): str(room.get("description")) for room in
            _live(sandbox, "kaleyra")}


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output + result.stderr


@dataclass
class Kill:
    """What one killed apply left behind."""

    victim: Seen
    orphans: set[str]  # live Kaleyra room_ids the state file does not record
    stale: set[str]  # room_ids the state file records that are gone
    retired: bool  # whether it recorded a replaced room not yet deleted


def _write(tmp_path: Path, server: SandboxServer, rooms: dict[str, str]) -> Path:
    return accounts_file(tmp_path, server, rooms, {p: EXTRA for p in rooms})


def _apply_process(path: Path) -> subprocess.Popen[str]:
    """`reconcile apply --auto-approve --force` of `path` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", "apply", "--auto-approve", "--force", str(path)],
        cwd=path.parent, env={**os.environ, **SANDBOX_ENVIRON}, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_apply(tmp_path: Path, server: SandboxServer, switch: KillSwitch, at: int,
               mode: Mode) -> Kill:
    """Apply BEFORE, then apply AFTER in a process killed at request `at`; check the
    state it leaves, then that an apply converges with no duplicate room."""
    sandbox = server.sandbox
    sandbox.reset()
    switch.arm(0, mode)
    path = _write(tmp_path, server, BEFORE)
    state = tmp_path / KALEYRA_STATE
    code, output = _invoke("apply", "--auto-approve", str(path))
    assert code == 0, output
    before = {entry.room_id for _, entry in KaleyraState.load(state, "kaleyra").items()}
    assert before == set(_kaleyra_live(sandbox))

    _write(tmp_path, server, AFTER)
    switch.arm(at, mode)
    process = _apply_process(path)
    switch.pid = process.pid
    _, stderr = process.communicate(timeout=60)
    switch.settle()
    where = f"kill {mode} request {at} ({switch.victim if len(switch.seen) >= at else '-'})"
    assert process.returncode == -signal.SIGKILL, f"{where}: not killed\n{stderr}"
    victim = switch.victim
    switch.arm(0, mode)

    left = KaleyraState.load(state, "kaleyra")  # valid, in the strict format, always
    after = {entry.room_id: name for name, entry in left.items()}
    live = _kaleyra_live(sandbox)
    # No room recorded is lost: each one recorded before is still recorded, or gone.
    assert all(room_id in after for room_id in before if room_id in live), where
    done = set(DONE.findall(stderr))
    made = {room_id: desc for room_id, desc in live.items() if room_id not in before}
    for name in done:  # what it reported done is recorded, under its name
        entry = left.get(name)
        assert entry is not None and entry.room_id in made, f"{where}: {name} lost"
    orphans = set(live) - set(after)
    # None of them silently: the create of each is on record as uncertain, by its name.
    doubted = {intent.name for intent in left.uncertain()}
    assert {live[room_id].split()[0] for room_id in orphans} <= doubted, where
    # Rooms made and not reported done: no more than the changes it runs at once.
    in_flight = {room_id for room_id, desc in made.items() if desc.split()[0] not in done}
    assert orphans <= in_flight, f"{where}: unrecorded rooms it had reported done"
    assert len(in_flight) <= KALEYRA_CONCURRENCY, where
    stale = set(after) - set(live)
    if mode == "after" and _is_room_post(victim):  # no reply: it cannot know the room
        lost = {room_id for room_id, desc in made.items()
                if desc == _description(victim)}
        assert len(lost) == 1 and lost <= orphans, f"{where}: the create whose reply was lost"
    if mode == "after" and _is_room_delete(victim):  # nor that the room is gone
        assert victim.path.rsplit("/", 1)[1] in stale, where

    # A rerun converges: everything declared exists once, nothing else, no new orphan.
    code, output = _invoke("apply", "--auto-approve", "--force", str(path))
    assert code == 0, f"{where}: {output}"
    if "Apply:" in output and doubted:  # its summary counts them
        assert f" {len(left.uncertain())} uncertain." in output, f"{where}: {output}"
    assert converged(tmp_path, sandbox, where) == orphans, f"{where}: the rerun left rooms"
    return Kill(victim, orphans, stale, any("@" in name for name in after.values()))


def converged(tmp_path: Path, sandbox: Sandbox, where: str) -> set[str]:
    """Check that the file in `tmp_path` is applied: a plan says "No changes.", each
    provider has one live room per declared name and no other, the Kaleyra state records
    each declared room (its declared version) and nothing gone. Returns the live Kaleyra
    rooms it does not record: the orphans."""
    code, output = _invoke("plan", str(tmp_path / "rooms.yaml"))
    assert code == 0 and output.startswith("No changes."), f"{where}: {output}"
    for provider, names in DECLARED.items():
        if provider != "kaleyra":
            live_names = Counter(str(room[NAME_FIELD[provider]])
                                 for room in _live(sandbox, provider))
            assert live_names == Counter(names), f"{where}: {provider} {live_names}"
    final = KaleyraState.load(tmp_path / KALEYRA_STATE, "kaleyra")
    assert final.names() == DECLARED["kaleyra"], f"{where}: {final.names()}"
    live = _kaleyra_live(sandbox)
    recorded = {entry.room_id for _, entry in final.items()}
    assert recorded <= set(live), f"{where}: the state records rooms that are gone"
    for name, entry in final.items():
        assert live[entry.room_id] == f"{name} v{KALEYRA_AFTER[name]}", where
    assert not list(tmp_path.glob(".*.tmp")), where  # the kill's temp files were swept
    orphans = set(live) - recorded
    for room_id in orphans:  # the plan names the create of each, with what to check
        name = live[room_id].split()[0]
        assert re.search(rf"^  \? kaleyra\.rooms\[{name}\] \(requested [0-9T:-]+Z\):"
                         r" .*Kaleyra console", output, re.MULTILINE), f"{where}: {output}"
    return orphans


def _is_room_post(seen: Seen) -> bool:
    return seen.provider == "kaleyra" and seen.method == "POST" and \
        seen.path.endswith("/v2/rooms")


def _is_room_delete(seen: Seen) -> bool:
    return seen.provider == "kaleyra" and seen.method == "DELETE"


def _description(seen: Seen) -> str:
    return str(json.loads(seen.body)["description"])


@pytest.fixture(scope="module")
def requests(hooked_server: SandboxServer, switch: KillSwitch,
             tmp_path_factory: pytest.TempPathFactory) -> list[Seen]:
    """The requests of the AFTER apply when nothing kills it (in process: same client)."""
    tmp_path = tmp_path_factory.mktemp("calibrate")
    hooked_server.sandbox.reset()
    switch.arm(0, "before")
    path = _write(tmp_path, hooked_server, BEFORE)
    assert _invoke("apply", "--auto-approve", str(path))[0] == 0
    _write(tmp_path, hooked_server, AFTER)
    switch.arm(0, "before")
    code, output = _invoke("apply", "--auto-approve", "--force", str(path))
    assert code == 0, output
    return list(switch.seen)


@pytest.mark.parametrize("mode", ["after", "before"])
def test_sigkill_after_k_requests_loses_nothing_and_a_rerun_converges(
        tmp_path_factory: pytest.TempPathFactory, hooked_server: SandboxServer,
        switch: KillSwitch, requests: list[Seen], mode: Mode) -> None:
    # The reads (the plan) all come first and change nothing: the first and the last
    # stand for them. Then every write "after" (committed, its reply lost), and every
    # other write "before" (not sent), to keep the run short: ~1 s a kill.
    writes = [k for k, seen in enumerate(requests, 1) if seen.method != "GET"]
    ks = [1, writes[0] - 1, *writes] if mode == "after" else writes[::2]
    kills = [kill_apply(tmp_path_factory.mktemp(f"{mode}-{k}"), hooked_server, switch, k,
                        mode) for k in ks]
    hit = Counter((kill.victim.provider, kill.victim.method) for kill in kills)
    # The kills landed in Kaleyra's creates and deletes ...
    assert hit["kaleyra", "POST"] and hit["kaleyra", "DELETE"], hit
    if mode == "after":
        # ... in the writes of every provider ...
        assert {provider for provider, _ in hit} == set(NAME_FIELD), hit
        # ... in replaces, between the new room's create and the old one's delete ...
        replaces = [k for k in kills if _is_room_post(k.victim)
                    and _description(k.victim).endswith("v2")]
        assert replaces and all(k.orphans for k in replaces)
        assert any(k.retired for k in kills)
        # ... and after deletes, leaving entries of rooms gone (the rerun forgets them).
        assert any(k.stale for k in kills)


WAITING = "another apply holds the lock on Kaleyra state file"


def test_an_apply_waiting_for_the_lock_of_one_killed_midway_takes_over_and_converges(
        tmp_path: Path, hooked_server: SandboxServer, switch: KillSwitch,
        requests: list[Seen]) -> None:
    sandbox = hooked_server.sandbox
    sandbox.reset()
    switch.arm(0, "after")
    path = _write(tmp_path, hooked_server, BEFORE)
    assert _invoke("apply", "--auto-approve", str(path))[0] == 0
    _write(tmp_path, hooked_server, AFTER)
    # The first is killed as it creates a replacement room, once the second waits for it.
    at = next(k for k, seen in enumerate(requests, 1)
              if _is_room_post(seen) and _description(seen).endswith("v2"))
    waiting = threading.Event()
    switch.arm(at, "after", hold=waiting)
    first = _apply_process(path)
    switch.pid = first.pid
    while not switch.seen:  # its first request: it holds the lock (taken before reading)
        assert first.poll() is None
        time.sleep(0.005)
    second = _apply_process(path)
    lines: list[str] = []

    def read() -> None:  # the second's stderr, as it comes
        assert second.stderr is not None
        for line in second.stderr:
            lines.append(line)
            if WAITING in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first.communicate(timeout=60)
    assert second.wait(timeout=60) == 0, "".join(lines)
    reader.join(timeout=10)
    switch.settle()
    assert first.returncode == -signal.SIGKILL
    where = f"kill after request {at} ({switch.victim})"
    assert any("waiting for it to finish" in line for line in lines), where
    orphans = converged(tmp_path, sandbox, where)
    assert len(orphans) <= KALEYRA_CONCURRENCY, where
    if _is_room_post(switch.victim):  # the create whose reply was lost is among them
        assert any(_kaleyra_live(sandbox)[room_id] == _description(switch.victim)
                   for room_id in orphans), where
