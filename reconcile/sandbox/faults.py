"""Request counting and fault injection: an ASGI middleware around each emulator.

Faults are a per-provider `FaultConfig` kept in ``sandbox.faults[provider]``; the control
API (or a test, in process) replaces it at run time. Every random decision comes from a
`random.Random` seeded with ``"<seed>:<provider>"`` (the config's `seed`, else the
sandbox's), restarted whenever the configuration changes, so a run repeats exactly.

Order of the checks for one request: latency (+ jitter), then the per-account rate limit,
then a 429 burst, then a 5xx error; a request that passes them all runs the real handler,
and a write may then suffer commit-then-fail (its reply dropped or held back), a GET a
hostile answer (`hostile.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconcile.sandbox import hostile
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.emulator import Emulator
from reconcile.sandbox.hostile import Hostile

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ErrorStatus = Literal[500, 502, 503]
ERROR_STATUSES: tuple[ErrorStatus, ...] = (500, 502, 503)
# Statuses whose responses carry no body: a dropped reply must promise one to be noticed.
_BODYLESS = frozenset({204, 304})
_DROP_LOG_MESSAGE = "ASGI callable returned without completing response."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Burst429(_Strict):
    """With probability `rate` a burst starts: that request and the next `length - 1` get 429."""

    rate: float = Field(ge=0, le=1)
    length: int = Field(default=3, ge=1, le=10_000)
    retry_after: int = Field(default=1, ge=0, le=3600, description="Retry-After seconds")


class RateLimit(_Strict):
    """At most `requests` per `per_seconds` (virtual clock, sliding window) per account."""

    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class CommitThenFail(_Strict):
    """With probability `rate` a write is stored, then its reply is lost.

    ``drop``: the client gets the head of the reply and the connection closes mid-body.
    ``delay``: the real reply is held `delay_s` seconds (meant to exceed the client's timeout).
    ``mixed``: each one drops or delays, evenly at random.
    """

    rate: float = Field(ge=0, le=1)
    mode: Literal["drop", "delay", "mixed"] = "drop"
    delay_s: float = Field(default=5.0, ge=0, le=600)


class FaultConfig(_Strict):
    latency_ms: float = Field(default=0, ge=0, le=60_000)
    jitter_ms: float = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0, ge=0, le=1)
    error_statuses: tuple[ErrorStatus, ...] = ERROR_STATUSES
    burst_429: Burst429 | None = None
    rate_limit: RateLimit | None = None
    commit_then_fail: CommitThenFail | None = None
    hostile: Hostile | None = None
    seed: int | None = None

    @field_validator("error_statuses")
    @classmethod
    def _not_empty(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("error_statuses needs at least one of 500, 502, 503")
        return value

    @property
    def is_noop(self) -> bool:
        return not (self.latency_ms or self.jitter_ms or self.error_rate or self.burst_429
                    or self.rate_limit or self.commit_then_fail or self.hostile)


def set_faults(sandbox: Sandbox, provider: str, config: FaultConfig | dict[str, Any] | None
               ) -> FaultConfig | None:
    """Install (or with None, clear) a provider's faults; validates dicts."""
    if config is None:
        sandbox.faults.pop(provider, None)
        return None
    if not isinstance(config, FaultConfig):
        config = FaultConfig.model_validate(config)
    sandbox.faults[provider] = config
    return config


def get_faults(sandbox: Sandbox, provider: str) -> FaultConfig:
    """The provider's configuration (the all-off default when none is set)."""
    config = sandbox.faults.get(provider)
    if config is None:
        return FaultConfig()
    if not isinstance(config, FaultConfig):  # a dict put there directly by a test
        config = set_faults(sandbox, provider, config)
    assert config is not None
    return config


@dataclass
class _Decision:
    """What happens to one request, drawn when it arrives (so the draw order is fixed)."""

    delay_s: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    commit_then_fail: CommitThenFail | None = None
    hostile: Hostile | None = None


@dataclass
class _State:
    """The fault layer's run-time state for one provider, restarted on each new config."""

    config: FaultConfig | None
    rng: random.Random
    burst_left: int = 0
    windows: dict[str | None, deque[float]] = field(default_factory=dict)


class FaultMiddleware:
    """Counts every request, then injects the provider's configured faults."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, provider: str,
                 emulator: Emulator) -> None:
        self.app = app
        self.sandbox = sandbox
        self.provider = provider
        self.emulator = emulator
        self._state = self._new_state(None)

    def _new_state(self, config: FaultConfig | None) -> _State:
        seed = config.seed if config is not None and config.seed is not None else \
            self.sandbox.seed
        return _State(config, random.Random(f"{seed}:{self.provider}"))

    def _current(self) -> _State:
        config = self.sandbox.faults.get(self.provider)
        if config is not None and not isinstance(config, FaultConfig):
            config = get_faults(self.sandbox, self.provider)
        if config is not self._state.config:
            self._state = self._new_state(config)
        return self._state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        self.sandbox.count_request(self.provider, method)
        moved = hostile.unmarked(scope)
        if moved is not None:  # the second hop of a hostile `moved` redirect: the real answer
            await self.app(moved, receive, send)
            return
        state = self._current()
        if state.config is None or state.config.is_noop:
            await self.app(scope, receive, send)
            return
        decision = self._decide(state, state.config, scope, method)
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.status is not None:
            await self._reject(decision.status, decision.retry_after, scope, receive, send)
        elif decision.commit_then_fail is not None:
            await self._commit_then_fail(decision.commit_then_fail, scope, receive, send)
        elif decision.hostile is not None:
            await hostile.answer(decision.hostile, self.provider, self.app, scope, receive,
                                 send, _drop)
        else:
            await self.app(scope, receive, send)

    def _decide(self, state: _State, config: FaultConfig, scope: Scope, method: str
                ) -> _Decision:
        rng = state.rng
        decision = _Decision(delay_s=(config.latency_ms + (
            rng.uniform(0, config.jitter_ms) if config.jitter_ms else 0)) / 1000)
        if config.rate_limit is not None:
            wait = self._rate_limited(state, config.rate_limit, scope)
            if wait is not None:
                decision.status, decision.retry_after = 429, wait
                return decision
        burst = config.burst_429
        if burst is not None:
            if state.burst_left == 0 and burst.rate and rng.random() < burst.rate:
                state.burst_left = burst.length
            if state.burst_left:
                state.burst_left -= 1
                decision.status, decision.retry_after = 429, burst.retry_after
                return decision
        if config.error_rate and rng.random() < config.error_rate:
            decision.status = rng.choice(config.error_statuses)
            return decision
        ctf = config.commit_then_fail
        if ctf is not None and method in WRITE_METHODS and ctf.rate and rng.random() < ctf.rate:
            decision.commit_then_fail = ctf if ctf.mode != "mixed" else ctf.model_copy(
                update={"mode": rng.choice(("drop", "delay"))})
        bad = config.hostile
        if bad is not None and method == "GET" and bad.rate and rng.random() < bad.rate:
            decision.hostile = bad
        return decision

    def _rate_limited(self, state: _State, limit: RateLimit, scope: Scope) -> int | None:
        """Seconds until a slot frees for this request's account, or None if it may pass."""
        account = self.emulator.account_of(Request(scope))
        window = state.windows.setdefault(account, deque())
        now = self.sandbox.clock.now()
        while window and window[0] <= now - limit.per_seconds:
            window.popleft()
        if len(window) >= limit.requests:
            return max(1, math.ceil(window[0] + limit.per_seconds - now))
        window.append(now)
        return None

    async def _reject(self, status: int, retry_after: int | None, scope: Scope,
                      receive: Receive, send: Send) -> None:
        """The emulator's own error body; the handler never runs."""
        response = self.emulator.fault_response(status, retry_after)
        if status == 429 and "retry-after" not in response.headers:
            response.headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
        await response(scope, receive, send)

    async def _commit_then_fail(self, fault: CommitThenFail, scope: Scope, receive: Receive,
                                send: Send) -> None:
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)  # the write is stored here
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        if fault.mode == "delay":
            await _wait_for_disconnect(receive, fault.delay_s)
            for message in messages:
                await send(message)  # a no-op once the client has gone
            return
        await _drop(start, body, send)


async def _wait_for_disconnect(receive: Receive, seconds: float) -> None:
    """Sleep `seconds`, or less if the client gives up first (nobody is left to answer)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(disconnected(), timeout=seconds)


async def _drop(start: Message, body: bytes, send: Send) -> None:
    """Send the reply's head promising the whole body, half of it, then close."""
    status = 200 if start["status"] in _BODYLESS else start["status"]
    promised = max(len(body), 2)
    headers = [(k, v) for k, v in start.get("headers", [])
               if k.lower() not in (b"content-length", b"transfer-encoding")]
    headers.append((b"content-length", str(promised).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    # Returning with the body unfinished makes the server close the connection.
    await send({"type": "http.response.body", "body": body[: promised // 2], "more_body": True})


class _QuietDrops(logging.Filter):
    """Our dropped replies are deliberate: keep the server's log free of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG_MESSAGE


def quiet_server_log() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())
