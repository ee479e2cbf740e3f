"""The planner: the one place declared rooms meet live ones and become changes.

The engine owns the plan, as octoDNS's manager does; a provider only reads, writes and
answers the planning hooks of its contract (`engine/contract.py`). `plan` plans a whole
account; `plan_room` and `deletion` plan one room, and a saved plan's apply (`Run.replan`)
uses them too, so its reasons, marks and reads are exactly a plan's. `diff` compares only
the fields a room declares; apply uses it to adopt a room after a lost create reply.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Collection
from typing import Any

from reconcile.declared import DeclaredRoom
from reconcile.engine.contract import ProviderContract
from reconcile.engine.plan import ABSENT, AccountPlan, Action, Change, FieldChange, LiveRoom
from reconcile.models import Room


async def plan(provider: ProviderContract, kinds: Collection[str] | None = None
               ) -> AccountPlan:
    """The account's plan: each declared kind (or only `kinds`) read once, every
    declared room planned, pruned and leftover rooms deleted."""
    account = AccountPlan(provider.account.alias, provider.type)
    # Some changes need a read of their own (why a room is missing, whether people are in
    # it): run those side by side, a bounded number at a time.
    gate = asyncio.Semaphore(provider.read_concurrency)

    async def bounded(step: Awaitable[Change]) -> Change:
        async with gate:
            return await step

    for kind, declared in provider.account.rooms.items():
        if kinds is None or kind in kinds:
            live = {room.key: room for room in await provider.list_rooms(kind)
                    if room.key is not None}
            account.changes += await asyncio.gather(
                *(bounded(step) for step in _kind_steps(provider, account, kind, declared,
                                                        live)))
    extra = await provider.extra_deletions(kinds)
    account.changes += await asyncio.gather(
        *(bounded(deletion(provider, item.live.kind, item.live, item.reason))
          for item in extra))
    account.uncertain = provider.uncertain()
    return account


def _kind_steps(provider: ProviderContract, account: AccountPlan, kind: str,
                declared: list[DeclaredRoom], live: dict[str, LiveRoom]
                ) -> list[Awaitable[Change]]:
    """One kind's changes, to await: every declared room, then the pruned leftovers.
    Counts the kind's managed and unmanaged rooms into `account`; takes from `live`."""
    # Every room's own key first, then renames into what is left: a room renamed from a
    # key that is itself declared must not take that room, wherever it is in the file.
    found = {room.key: live.pop(room.key, None) for room in declared}
    steps: list[Awaitable[Change]] = []
    for room in declared:
        current, previous = found[room.key], room.model.renamed_from
        if current is None and previous is not None:
            current = live.pop(previous, None)
        account.managed += current is not None
        steps.append(plan_room(provider, kind, room, current))
    prune = provider.account.settings.prune
    pruned = [leftover for key, leftover in sorted(live.items()) if _pruned(provider, key)]
    account.unmanaged += len(live) - len(pruned)
    if prune is not None:
        reason = f"pruned: matches {prune.match}"
        steps += [deletion(provider, kind, leftover, reason) for leftover in pruned]
    return steps


def _pruned(provider: ProviderContract, key: str) -> bool:
    prune = provider.account.settings.prune
    return prune is not None and fnmatch.fnmatchcase(key, prune.match)


async def deletes(provider: ProviderContract, kind: str, live: LiveRoom) -> bool:
    """Whether a plan deletes this live room, given that nothing declares it: its key
    matches the prune pattern, or the provider lists it among its extra deletions. A
    saved plan's apply asks it of each deletion: any other was not planned, but written."""
    if live.key is not None and _pruned(provider, live.key):
        return True
    address = live.key or live.id
    return any((item.live.key or item.live.id) == address
               for item in await provider.extra_deletions([kind]))


async def plan_room(provider: ProviderContract, kind: str, declared: DeclaredRoom,
                    live: LiveRoom | None) -> Change:
    """One declared room's change against its live room (None: there is none), as the
    provider annotates it."""
    return provider.annotate(await _room_change(provider, kind, declared, live))


async def _room_change(provider: ProviderContract, kind: str, declared: DeclaredRoom,
                       live: LiveRoom | None) -> Change:
    room, key = declared.model, declared.key
    if live is None:
        reason = await provider.missing_reason(kind, key)
        fields = tuple(FieldChange(name, ABSENT, value)
                       for name, value in provider.desired_fields(room).items())
        return _change(provider, kind, key, Action.CREATE, reason, desired=room,
                       fields=fields)
    fields = diff(provider, kind, live, room)
    if not fields:
        return _change(provider, kind, key, Action.NOOP, "up to date", desired=room,
                       live=live)
    renamed = f"renamed from {live.key}; " if live.key != key else ""
    forced = [f.name for f in fields if f.forces_replacement]
    if forced:
        reason = f"field {forced[0]} cannot change in place" if len(forced) == 1 else \
            f"fields {', '.join(forced)} cannot change in place"
        return _change(provider, kind, key, Action.REPLACE, renamed + reason, fields=fields,
                       desired=room, live=live,
                       live_session=bool(await provider.session_active(kind, live)))
    changed = ", ".join(f.name for f in fields)
    return _change(provider, kind, key, Action.UPDATE, f"{renamed}changed: {changed}",
                   fields=fields, desired=room, live=live)


async def deletion(provider: ProviderContract, kind: str, live: LiveRoom, reason: str
                   ) -> Change:
    """The deletion of a live room nothing declares, with every field it loses."""
    fields = tuple(FieldChange(name, value, ABSENT) for name, value in live.fields.items())
    return _change(provider, kind, live.key or live.id, Action.DELETE, reason, fields=fields,
                   live=live, live_session=bool(await provider.session_active(kind, live)))


def diff(provider: ProviderContract, kind: str, live: LiveRoom, room: Room
         ) -> tuple[FieldChange, ...]:
    """The declared fields whose live value differs (deepdiff, after normalising), less
    those the provider says are no drift."""
    desired = provider.desired_fields(room)
    current = {name: _live_value(live, name, provider.provider_default(kind, name))
               for name in desired}
    if current == desired:  # the common case, and far cheaper than a deep diff
        return ()
    from deepdiff import DeepDiff  # only for a room that differs: ~15 ms to import

    differences = DeepDiff(current, desired, ignore_numeric_type_changes=True,
                           verbose_level=0)
    changed = sorted(str(key) for key in differences.affected_root_keys)
    changes = (FieldChange(name, current[name], desired[name],
                           provider.capabilities.forces_replacement(name))
               for name in changed)
    return tuple(change for change in changes if provider.is_drift(kind, live, change))


def _change(provider: ProviderContract, kind: str, key: str, action: Action, reason: str,
            **extra: Any) -> Change:
    return Change(provider.account.alias, provider.type, kind, key, action, reason,
                  replace_order=provider.capabilities.replace_order, **extra)


def _live_value(live: LiveRoom, name: str, default: Any) -> Any:
    value = live.fields.get(name, ABSENT)
    return default if value is ABSENT else value
