"""What `show` and `export` share: read every selected account at once, and fail (after
trying them all) with each failed account's reason, as a plan does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from reconcile.engine.http import HttpError, TransportError
from reconcile.engine.provider import Provider
from reconcile.engine.run import Run
from reconcile.errors import ReconcileError

T = TypeVar("T")


async def each_account(run: Run, read: Callable[[Provider], Awaitable[T]]) -> dict[str, T]:
    """`read(provider)` for every account, concurrently, by account alias."""
    providers = list(run.providers.values())
    results = await asyncio.gather(*(_one(p, read) for p in providers),
                                   return_exceptions=True)
    failures = [str(r) for r in results if isinstance(r, ReconcileError)]
    if failures:
        raise ReconcileError("\n".join(failures))
    for result in results:
        if isinstance(result, BaseException):
            raise result  # a bug, not a provider's answer: main() reports it
    return {p.account.alias: r for p, r in zip(providers, results, strict=True)}  # type: ignore[misc]


async def _one(provider: Provider, read: Callable[[Provider], Awaitable[T]]) -> T:
    try:
        return await read(provider)
    except (HttpError, TransportError) as exc:
        hint = ""
        if isinstance(exc, HttpError) and exc.status in (401, 403):
            hint = "; check the account's credentials"
        raise ReconcileError(f"{provider.account.alias}: reading the live rooms failed:"
                             f" {provider.error_message(exc)}{hint}") from None
