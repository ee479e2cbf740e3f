"""How the core reaches a provider's account: its URL, credentials and limits.

`Connection` is the part of the `Provider` base that works before any provider exists:
class methods, read by `engine/run.py` to build each account's `HttpClient`. An adapter
overrides `origin` and whichever of the rest its API needs (credentials in a header, a
documented write limit). `Provider.open` and `Provider.lock` take the run's context.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import date
from typing import Any, ClassVar

import httpx

from reconcile.declared import AccountConfig
from reconcile.engine.contract import PLAN_READS
from reconcile.engine.http import HttpClient, RateLimiter


class Connection:
    type: ClassVar[str]
    read_concurrency: ClassVar[int] = PLAN_READS  # reads a plan keeps in flight at once

    @classmethod
    @abstractmethod
    def origin(cls, account: AccountConfig) -> str:
        """The provider's own scheme and host for this account (`endpoint` replaces it)."""

    @classmethod
    def base_url(cls, account: AccountConfig) -> str:
        endpoint = account.settings.endpoint
        return endpoint.rstrip("/") if endpoint else cls.origin(account)

    @classmethod
    def auth(cls, account: AccountConfig) -> httpx.Auth | tuple[str, str] | None:
        return None

    @classmethod
    def auth_headers(cls, account: AccountConfig) -> dict[str, str]:
        return {}

    @classmethod
    def rate_limits(cls) -> tuple[RateLimiter, ...]:
        """Client-side limits on requests (on writes, or on some methods), where the
        provider documents them; the client waits within every one that counts a request."""
        return ()

    @classmethod
    def notices(cls, today: date) -> list[str]:
        """What a plan or apply on an account of this provider should tell once, on
        `today` (Twilio: its end of service)."""
        return []

    @classmethod
    def connect(cls, account: AccountConfig, **options: Any) -> HttpClient:
        """The account's HttpClient: base URL, credentials, rate limits, and connections
        for the reads or writes (`concurrency`) in flight at once, whichever is more."""
        connections = max(cls.read_concurrency, account.settings.concurrency)
        return HttpClient(cls.base_url(account), auth=cls.auth(account),
                          headers=cls.auth_headers(account), rate_limits=cls.rate_limits(),
                          connections=connections, provider=cls.type, **options)
