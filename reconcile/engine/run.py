"""A run over a whole rooms file: every account planned concurrently, then applied.

`open_accounts` connects each selected account through its adapter (and, for apply,
holds what the adapter says must be held, such as Kaleyra's state lock) so that plan and
apply share one provider per account: apply re-reads nothing the plan already knows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from reconcile.config import AccountConfig, Config, DeclaredRoom
from reconcile.engine import planner
from reconcile.engine.adapters import adapter_class
from reconcile.engine.apply import Listener, Listening, Outcome, apply_changes
from reconcile.engine.http import HttpError, HttpSettings, Sleep, TransportError
from reconcile.engine.plan import (
    AccountPlan,
    Action,
    Change,
    LiveRoom,
    Plan,
    SavedChange,
    SavedPlan,
    canonical,
)
from reconcile.engine.provider import Provider, RunContext
from reconcile.errors import ReconcileError

T = TypeVar("T")


@dataclass
class Run:
    context: RunContext
    providers: dict[str, Provider]  # by account alias

    async def plan(self) -> Plan:
        """Every account's plan (see `each_account` for failures)."""
        plans = await self.each_account(planner.plan)
        return Plan(list(plans.values()))

    async def each_account(self, read: Callable[[Provider], Awaitable[T]]) -> dict[str, T]:
        """`read(provider)` for every account, concurrently, by account alias. One account
        failing to read fails the whole, after all have been tried, naming each one's
        reason; anything else is a bug, and propagates for main() to report."""
        providers = list(self.providers.values())
        results = await asyncio.gather(*(_read_one(p, read) for p in providers),
                                       return_exceptions=True)
        failures = [str(r) for r in results if isinstance(r, ReconcileError)]
        if failures:
            raise ReconcileError("\n".join(failures))
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return {p.account.alias: r for p, r in zip(providers, results, strict=True)
                if not isinstance(r, BaseException)}

    async def replan(self, saved: SavedPlan, config: Config) -> tuple[Plan, list[Outcome]]:
        """A saved plan made executable again: only the rooms it touches are re-read (one
        `find` each, concurrently); each whose live state changed since is skipped, the
        others planned afresh, as the planner would, from the same file and live room."""
        async def one(account: AccountConfig, changes: list[SavedChange]
                      ) -> list[Change | Outcome]:
            provider = self.providers[account.alias]
            gate = asyncio.Semaphore(provider.read_concurrency)
            declared = {(room.kind, room.key): room for room in account.all_rooms()}

            async def bounded(change: SavedChange) -> Change | Outcome:
                async with gate:
                    return await self._again(provider, change,
                                             declared.get((change.kind, change.key)))

            return await asyncio.gather(*(bounded(change) for change in changes))

        by_account = {a.alias: a for a in saved.accounts}
        results = await asyncio.gather(*(
            one(config.accounts[alias], [c for c in saved.changes if c.account == alias])
            for alias in self.providers))
        plan, skipped = Plan(), []
        for alias, items in zip(self.providers, results, strict=True):
            counts = by_account.get(alias)
            account = AccountPlan(alias, self.providers[alias].type,
                                  managed=counts.managed if counts else 0,
                                  unmanaged=counts.unmanaged if counts else 0)
            for item in items:
                if isinstance(item, Outcome):
                    skipped.append(item)
                else:
                    account.changes.append(item)
            plan.accounts.append(account)
        return plan, skipped

    @staticmethod
    async def _again(provider: Provider, saved: SavedChange, room: DeclaredRoom | None
                     ) -> Change | Outcome:
        live = await provider.find(saved.kind, saved.key)
        previous = room.model.renamed_from if room is not None else None
        if live is None and previous is not None and saved.action is not Action.CREATE:
            live = await provider.find(saved.kind, previous)
        now = live.fingerprint if live is not None else None
        if now != saved.live_fingerprint:
            return _skipped(saved, _what_changed(saved, live))
        # The planner's own steps, so reasons, marks and reads are exactly a plan's.
        if saved.action is Action.DELETE:
            assert live is not None
            if room is not None:  # a plan deletes only rooms the file leaves undeclared
                return _skipped(saved, "the rooms file declares it")
            if not await planner.deletes(provider, saved.kind, live):  # nor unmanaged ones
                return _skipped(saved, "a plan of the rooms file leaves it alone")
            change = await planner.deletion(provider, saved.kind, live, saved.reason)
        elif room is None:
            return _skipped(saved, "the rooms file no longer declares it")
        else:
            change = await planner.plan_room(provider, saved.kind, room, live)
        if change.action is not saved.action:
            return _skipped(saved, f"a plan now would {change.action.value} it")
        # The reason the plan gave, which a deletion's caller chose (pruned, leftover).
        return dataclasses.replace(change, reason=saved.reason)

    async def apply(self, plan: Plan, on_outcome: Listener | None = None) -> list[Outcome]:
        # One guard for every account: a listener that raises stops them all.
        listening = Listening(on_outcome)

        async def one(account: AccountPlan) -> list[Outcome]:
            provider = self.providers[account.alias]
            return await apply_changes(provider, account.changes,
                                       concurrency=provider.account.settings.concurrency,
                                       on_outcome=listening)

        results = await asyncio.gather(*(one(account) for account in plan.accounts))
        for account in plan.accounts:  # what the apply left in doubt, and what was before
            account.uncertain = self.providers[account.alias].uncertain()
        outcomes = [outcome for outcomes in results for outcome in outcomes]
        listening.settle(outcomes, len(list(plan.changes())))
        return outcomes


async def _read_one(provider: Provider, read: Callable[[Provider], Awaitable[T]]) -> T:
    try:
        return await read(provider)
    except (HttpError, TransportError) as exc:
        raise ReconcileError(f"{provider.account.alias}: reading the live rooms failed:"
                             f" {provider.error_message(exc)}") from None


def targeted(key: str, patterns: Iterable[str] = ()) -> bool:
    """Whether a room key is among `--target` patterns (every key when there is none)."""
    wanted = list(patterns)
    return not wanted or any(fnmatch.fnmatchcase(key, p) for p in wanted)


def narrow(plan: Plan, patterns: Iterable[str] = ()) -> Plan:
    """The plan's changes to rooms whose key matches `--target` (deletions too); each
    account keeps its counts, so the safety threshold stays a share of all its rooms."""
    wanted = list(patterns)
    if not wanted:
        return plan
    return Plan([dataclasses.replace(account, changes=[c for c in account.changes
                                                       if targeted(c.key, wanted)])
                 for account in plan.accounts])


def _skipped(saved: SavedChange, why: str) -> Outcome:
    change = Change(saved.account, saved.provider, saved.kind, saved.key, saved.action,
                    saved.reason)
    return Outcome(change, "skipped", f"changed since the plan ({why}); the planned"
                                      f" {saved.action.value} was not applied: plan again")


def _what_changed(saved: SavedChange, live: LiveRoom | None) -> str:
    if live is None:
        return "the room is gone"
    if saved.live_fingerprint is None:
        return "a room of that key now exists"
    seen = saved.before or {}
    moved = sorted(name for name, value in seen.items()
                   if canonical(live.fields.get(name)) != canonical(value))
    if moved:
        return f"live {', '.join(moved)} differ{'s' if len(moved) == 1 else ''} from what" \
               " the plan saw"
    return "its live state differs from what the plan saw"


def select(config: Config, patterns: Iterable[str] = ()) -> list[AccountConfig]:
    """The accounts whose alias matches any pattern (all when there is none)."""
    wanted = list(patterns)
    return [account for alias, account in config.accounts.items()
            if not wanted or any(fnmatch.fnmatchcase(alias, p) for p in wanted)]


@asynccontextmanager
async def open_accounts(accounts: Iterable[AccountConfig], context: RunContext, *,
                        hold_locks: bool, http: HttpSettings | None = None,
                        sleep: Sleep | None = None) -> AsyncIterator[Run]:
    async with AsyncExitStack() as stack:
        providers: dict[str, Provider] = {}
        for account in accounts:
            adapter = adapter_class(account.type)
            if hold_locks:
                stack.enter_context(adapter.lock(account, context))
            options = {"sleep": sleep} if sleep is not None else {}
            client = await stack.enter_async_context(
                adapter.connect(account, settings=http, **options))
            providers[account.alias] = adapter.open(account, client, context)
        yield Run(context, providers)
