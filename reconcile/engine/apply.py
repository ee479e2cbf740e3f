"""Apply: execute a plan's changes, idempotently, carrying on past failures.

- Changes run concurrently up to the account's `concurrency`; changes to one key run in
  order, deletes before creates.
- A create whose reply was lost meets "name taken" on its retry: the existing room is
  adopted (and brought in line in place where the provider allows), never duplicated.
- Nothing known is re-read: updates and deletes use the live room the plan saw.
- A failed change carries the provider's own message; the others still run.
- A listener that raises stops apply safely: no change starts after it, those under way
  finish (so the provider's state records them), then its exception is raised.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from reconcile.engine import planner
from reconcile.engine.contract import NameTaken, ProviderContract
from reconcile.engine.http import HttpError, TransportError
from reconcile.engine.plan import Action, Change, LiveRoom
from reconcile.errors import ReconcileError
from reconcile.models import Room

Status = Literal["applied", "failed", "skipped"]
_STEP_ORDER = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3}


@dataclass(frozen=True, slots=True)
class Outcome:
    change: Change
    status: Status
    message: str = ""
    live: LiveRoom | None = None  # the room as it stands after the change


Listener = Callable[[Outcome], None]


class Listening:
    """The listener, guarded: its first exception is kept (it hears nothing more) and
    stops apply from starting changes; `settle` raises it once those under way are done.
    Raised at once, it would leave them to be cancelled mid-request by the loop's close,
    and a Kaleyra create without its state saved."""

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.error: Exception | None = None

    @property
    def stopped(self) -> bool:
        return self.error is not None

    def __call__(self, outcome: Outcome) -> None:
        if self.listener is None or self.error is not None:
            return
        try:
            self.listener(outcome)
        except Exception as exc:  # the caller's own: raised by settle, as it was
            self.error = exc

    def settle(self, outcomes: Sequence[Outcome], planned: int) -> None:
        """Raise the listener's exception, if any, noting how far apply got."""
        if self.error is None:
            return
        counts = Counter(outcome.status for outcome in outcomes)
        self.error.add_note(f"apply stopped because on_progress raised: {counts['applied']}"
                            f" applied, {counts['failed']} failed,"
                            f" {planned - len(outcomes)} not started; plan again")
        raise self.error


async def apply_changes(provider: ProviderContract, changes: Iterable[Change], *, concurrency: int,
                        on_outcome: Listener | None = None) -> list[Outcome]:
    """Run every change of one account; outcomes come back in the plan's order. A
    `Listening` passed as `on_outcome` is the caller's to settle (it may span accounts)."""
    todo = [c for c in changes if c.action is not Action.NOOP]
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, change in enumerate(todo):
        by_key[(change.kind, change.key)].append(index)
    outcomes: list[Outcome | None] = [None] * len(todo)
    gate = asyncio.Semaphore(concurrency)
    listening = on_outcome if isinstance(on_outcome, Listening) else Listening(on_outcome)

    async def run_key(indexes: list[int]) -> None:
        for index in sorted(indexes, key=lambda i: _STEP_ORDER[todo[i].action]):
            async with gate:
                if listening.stopped:
                    return
                outcome = await _run(provider, todo[index])
            outcomes[index] = outcome
            listening(outcome)

    await asyncio.gather(*(run_key(indexes) for indexes in by_key.values()))
    done = [o for o in outcomes if o is not None]
    if listening is not on_outcome:
        listening.settle(done, len(todo))
    return done


async def _run(provider: ProviderContract, change: Change) -> Outcome:
    try:
        live, note = await _execute(provider, change)
    except NameTaken:
        return Outcome(change, "failed", "the name is taken, and no live room of that name"
                                         " could be found to adopt")
    except (HttpError, TransportError) as exc:
        return Outcome(change, "failed", provider.error_message(exc))
    except ReconcileError as exc:
        return Outcome(change, "failed", str(exc))
    return Outcome(change, "applied", note, live)


async def _execute(provider: ProviderContract, change: Change) -> tuple[LiveRoom | None, str]:
    kind = change.kind
    if change.action is Action.CREATE:
        return await _create_or_adopt(provider, kind, change.desired)
    if change.action is Action.UPDATE:
        assert change.live is not None
        return await provider.update(kind, change.live, change.desired, change.fields), ""
    if change.action is Action.DELETE:
        assert change.live is not None
        await provider.delete(kind, change.live)
        return None, ""
    assert change.action is Action.REPLACE and change.live is not None
    if change.replace_order == "create-first":
        live, note = await _create_or_adopt(provider, kind, change.desired)
        await provider.delete(kind, change.live)
        return live, note
    await provider.delete(kind, change.live)
    return await _create_or_adopt(provider, kind, change.desired)


async def _create_or_adopt(provider: ProviderContract, kind: str, room: Room
                           ) -> tuple[LiveRoom, str]:
    try:
        return await provider.create(kind, room), ""
    except NameTaken:
        existing = await provider.find(kind, room.key)
        if existing is None:
            raise
    differences = planner.diff(provider, kind, existing, room)
    if not differences:
        return existing, "adopted the existing room of that name"
    if not any(d.forces_replacement for d in differences):
        updated = await provider.update(kind, existing, room, differences)
        return updated, "adopted the existing room of that name and updated it"
    names = ", ".join(d.name for d in differences)
    return existing, (f"adopted the existing room of that name; {names} still differ:"
                      " the next plan shows them")
