"""The sandbox's shared state: storage, virtual clock, seeded randomness, accounts.

Every emulator receives one `Sandbox`. Rooms are stored in the provider's own response
shape (what a GET returns), plus internal keys that start with ``_`` and are never
rendered:

- ``_participants``: ids of the participants connected now (driven by the control API)
- ``_ever_joined``: whether anyone ever connected (Twilio's unused vs empty timeout)
- ``_last_left_at``: virtual time at which the last participant left
- ``_session_id`` / ``_session_started_at``: the live session while anyone is connected
"""

from __future__ import annotations

import random
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.sandbox.store import Record, Store

PROVIDERS = tuple(PROVIDER_PACKAGES)

# Credentials the sandbox accepts out of the box (each provider's folder declares its
# own, in its `sandbox.py`); `sandbox serve` prints them.
DEFAULT_CREDENTIALS: dict[str, tuple[str, str]] = {
    provider: declared.credentials for provider, declared in DECLARATIONS.items()}


@dataclass(frozen=True, slots=True)
class SandboxConnection:
    """How `--sandbox` points one account of a rooms file at the emulators."""

    path: str  # after the emulator's mount, e.g. "/acme" for a SignalWire space
    secrets: dict[str, str]  # the account's credentials, by their rooms-file names
    principal: str  # what to register with the sandbox (see Sandbox.register)
    secret: str


class Clock:
    """Wall time plus an offset that the control API advances.

    The offset lives in the store, so processes sharing a database share the clock.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def offset(self) -> float:
        return float(self._store.get_meta("clock_offset", "0") or 0)

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        with self._store.transaction():
            self._store.set_meta("clock_offset", repr(self.offset + seconds))
        return self.now()


class Sandbox:
    def __init__(self, db: str | None = None, *, seed: int = 0) -> None:
        self.store = Store(db)
        self.clock = Clock(self.store)
        self.seed = seed
        self._rng_lock = threading.Lock()
        self._rng = random.Random(self._next_stream())
        self._counter_lock = threading.Lock()
        self.counters: Counter[tuple[str, str]] = Counter()
        self._credentials: dict[str, dict[str, str]] = {
            provider: {principal: secret}
            for provider, (principal, secret) in DEFAULT_CREDENTIALS.items()
        }
        # Set by the fault layer (reconcile.sandbox.faults); kept here so every
        # emulator and the control API see one configuration.
        self.faults: dict[str, Any] = {}

    # -- randomness: seeded, so ids repeat from run to run --------------------------

    def _next_stream(self) -> str | int:
        """The seed of this process's random stream.

        Each Sandbox opened on a database continues with a stream of its own, so a file
        reused across processes (`--sandbox`) never hands out an id twice; a fresh
        database starts from the plain seed, so runs repeat.
        """
        with self.store.transaction():
            epoch = int(self.store.get_meta("rng_epoch", "0") or 0)
            self.store.set_meta("rng_epoch", str(epoch + 1))
        return self.seed if epoch == 0 else f"{self.seed}:{epoch}"

    def random_hex(self, length: int) -> str:
        with self._rng_lock:
            return f"{self._rng.getrandbits(4 * length):0{length}x}"

    def random_chars(self, length: int, alphabet: str = string.ascii_letters + string.digits
                     ) -> str:
        with self._rng_lock:
            return "".join(self._rng.choice(alphabet) for _ in range(length))

    def random_uuid(self) -> str:
        with self._rng_lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    # -- accounts --------------------------------------------------------------------

    def register(self, provider: str, principal: str, secret: str) -> None:
        self._credentials.setdefault(provider, {})[principal] = secret

    def authenticate(self, provider: str, principal: str | None, secret: str | None) -> bool:
        if principal is None or secret is None:
            return False
        known = self._credentials.get(provider, {})
        expected = known.get(principal, known.get("*"))
        return expected is not None and secret == expected

    # -- request counters ------------------------------------------------------------

    def count_request(self, provider: str, method: str) -> None:
        with self._counter_lock:
            self.counters[(provider, method)] += 1

    def counter_table(self) -> dict[str, dict[str, int]]:
        with self._counter_lock:
            table: dict[str, dict[str, int]] = {}
            for (provider, method), count in sorted(self.counters.items()):
                table.setdefault(provider, {})[method] = count
            return table

    # -- rooms, as the control API sees them ------------------------------------------

    def find(self, provider: str, account: str, kind: str, key: str) -> Record | None:
        """A room by id, else by live name."""
        return (self.store.get(provider, account, kind, key)
                or self.store.find_live(provider, account, kind, key))

    def set_participants(self, record: Record, *, add: Sequence[str] = (),
                         remove: Sequence[str] = ()) -> Record:
        """Connect or disconnect participants, keeping the session bookkeeping."""
        data = dict(record.data)
        before = list(data.get("_participants", []))
        removed = set(remove)
        after = [p for p in before if p not in removed]
        if left := [p for p in before if p in removed]:
            data["_disconnected"] = [*data.get("_disconnected", []), *left]
        for participant in add:  # one entry each, even if `add` repeats an id
            if participant not in after:
                after.append(participant)
        now = self.clock.now()
        if after and not before:
            data["_session_id"] = self.random_uuid()
            data["_session_started_at"] = now
        if before and not after:
            data["_last_left_at"] = now
            data.pop("_session_id", None)
            data.pop("_session_started_at", None)
        if after:
            data["_ever_joined"] = True
        data["_participants"] = after
        return self.store.update(record, data)

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear()
        with self._counter_lock:
            self.counters.clear()
        with self._rng_lock:
            self._rng = random.Random(self._next_stream())

    def close(self) -> None:
        self.store.close()


def public(data: dict[str, Any]) -> dict[str, Any]:
    """The stored room without the sandbox's internal keys."""
    return {k: v for k, v in data.items() if not k.startswith("_")}
