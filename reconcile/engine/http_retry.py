"""Which failures are retried, how often, and how long to wait between tries.

Retries on 429, 5xx and transport errors, with exponential backoff and jitter, waiting
`Retry-After` when the provider sends it; 429s are counted apart from other failures. A
client-side rate limit where a provider documents one. The loop is written out rather
than run through a retry library: a request that succeeds at once (nearly all of them)
then costs one try/except, where a library's machinery cost about a tenth of a GET's CPU.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from reconcile.engine.http_errors import HttpError, TransportError, UnusableAnswer
from reconcile.engine.http_limits import HttpSettings
from reconcile.engine.http_origin import READ_METHODS

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # the longest Retry-After waited (asked for longer, it retries at 60 s)
Sleep = Callable[[float], Awaitable[None]]


def transient(exc: BaseException) -> bool:
    """A failure the same request may not meet again: a retryable status, or no answer
    at all. An answer refused (`UnusableAnswer`: a redirect, a body too large...) is a
    TransportError too, but repeating the request brings the same answer."""
    if isinstance(exc, HttpError):
        return exc.status in RETRY_STATUSES
    return isinstance(exc, TransportError) and not isinstance(exc, UnusableAnswer)


def unprocessed(exc: BaseException) -> bool:
    """Failures that prove the server did nothing: a 429, or no connection made. The only
    ones worth retrying for a create that has no natural key (Kaleyra's room POST)."""
    if isinstance(exc, HttpError):
        return exc.status == 429
    return isinstance(exc, TransportError) and isinstance(
        exc.cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class Budget:
    """The tries of one request: given up after `attempts` failures, 429s aside, or
    `rate_limited_attempts` 429s; between tries, the wait `delay` says."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.tries = self.failed = self.limited = 0

    def spent(self, exc: BaseException) -> bool:
        """Count the failed try `exc`; True when no other try is left."""
        self.tries += 1
        if isinstance(exc, HttpError) and exc.status == 429:
            self.limited += 1
            return self.limited >= self.settings.rate_limited_attempts
        self.failed += 1
        return self.failed >= self.settings.attempts

    def delay(self, exc: BaseException) -> float:
        """The wait before the next try: the provider's Retry-After (at most
        MAX_RETRY_AFTER), else exponential backoff with up to a second of jitter."""
        if isinstance(exc, HttpError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        settings = self.settings
        try:
            backoff = settings.backoff_initial * 2.0 ** (self.tries - 1) + random.uniform(0, 1)
        except OverflowError:
            return settings.backoff_max
        return max(0.0, min(backoff, settings.backoff_max))


class RateLimiter:
    """At most `requests` per `period` seconds (a sliding window), shared by coroutines,
    counting the requests of `methods` (None: every write)."""

    def __init__(self, requests: int, period: float,
                 clock: Callable[[], float] = time.monotonic, *,
                 methods: frozenset[str] | None = None) -> None:
        self.requests = requests
        self.period = period
        self.methods = methods
        self._clock = clock
        self._sent: list[float] = []
        self._lock = asyncio.Lock()

    def counts(self, method: str) -> bool:
        return method in self.methods if self.methods is not None \
            else method not in READ_METHODS

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._sent = [t for t in self._sent if now - t < self.period]
                if len(self._sent) < self.requests:
                    self._sent.append(now)
                    return
                await sleep(self.period - (now - self._sent[0]))
