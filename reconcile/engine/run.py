"""A run over a whole rooms file: every account planned concurrently, then applied.

`open_accounts` connects each selected account through its adapter (and, for apply,
holds what the adapter says must be held, such as Kaleyra's state lock) so that plan and
apply share one provider per account: apply re-reads nothing the plan already knows.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from reconcile.config import AccountConfig, Config
from reconcile.engine.apply import Listener, Outcome, apply_changes
from reconcile.engine.http import HttpError, HttpSettings, Sleep, TransportError
from reconcile.engine.plan import AccountPlan, Plan
from reconcile.engine.provider import Provider, RunContext
from reconcile.errors import ReconcileError
from reconcile.providers import adapter_class


@dataclass
class Run:
    context: RunContext
    providers: dict[str, Provider]  # by account alias

    async def plan(self) -> Plan:
        """Every account's plan; one account failing to read fails the plan, after all
        accounts have been tried, with each account's reason."""
        results = await asyncio.gather(*(self._plan_one(p) for p in self.providers.values()),
                                       return_exceptions=True)
        failures = [str(r) for r in results if isinstance(r, BaseException)]
        if failures:
            raise ReconcileError("\n".join(failures))
        return Plan([r for r in results if isinstance(r, AccountPlan)])

    @staticmethod
    async def _plan_one(provider: Provider) -> AccountPlan:
        try:
            return await provider.plan()
        except (HttpError, TransportError) as exc:
            hint = ""
            if isinstance(exc, HttpError) and exc.status in (401, 403):
                hint = "; check the account's credentials"
            raise ReconcileError(f"{provider.account.alias}: reading the live rooms failed:"
                                 f" {provider.error_message(exc)}{hint}") from None

    async def apply(self, plan: Plan, on_outcome: Listener | None = None) -> list[Outcome]:
        async def one(account: AccountPlan) -> list[Outcome]:
            provider = self.providers[account.alias]
            return await apply_changes(provider, account.changes,
                                       concurrency=provider.account.settings.concurrency,
                                       on_outcome=on_outcome)

        results = await asyncio.gather(*(one(account) for account in plan.accounts))
        return [outcome for outcomes in results for outcome in outcomes]


def targeted(key: str, patterns: Iterable[str] = ()) -> bool:
    """Whether a room key is among `--target` patterns (every key when there is none)."""
    wanted = list(patterns)
    return not wanted or any(fnmatch.fnmatchcase(key, p) for p in wanted)


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
