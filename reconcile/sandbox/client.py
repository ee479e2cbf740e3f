"""A typed client of the sandbox's control API, for tests and benchmarks.

>>> control = SandboxControl("http://127.0.0.1:8080")     # the server's root URL
>>> control.set_faults("twilio", error_rate=0.2, burst_429={"rate": 0.05})
>>> control.seed("telnyx", "KEYsandbox", "room", [{"unique_name": "a"}])
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, TypedDict
from urllib.parse import quote

import httpx

CONTROL_PREFIX = "/_sandbox"


class SandboxControlError(Exception):
    """The control API answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"{status}: {message}")
        self.status = status
        self.body = body


class ClockView(TypedDict):
    now: float
    iso: str
    offset_seconds: float


class CountersView(TypedDict):
    providers: dict[str, dict[str, int]]   # provider -> method -> count
    totals: dict[str, int]                 # provider -> count
    methods: dict[str, int]                # method -> count, all providers
    total: int


class RoomView(TypedDict):
    seq: int
    provider: str
    account: str
    kind: str
    id: str
    name: str | None
    live: bool
    data: dict[str, Any]                   # stored shape, internal `_` keys included


def _segment(value: str) -> str:
    return quote(value, safe="")


class SandboxControl:
    """Calls `/_sandbox/...` on a running sandbox; `base_url` is the server's root URL."""

    def __init__(self, base_url: str, *, timeout: float = 30.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None,
              params: dict[str, str] | None = None) -> Any:
        response = self._client.request(method, f"{self.base_url}{CONTROL_PREFIX}{path}",
                                        json=body, params=params)
        payload: Any = response.json() if response.content else None
        if response.is_error:
            raise SandboxControlError(response.status_code, payload)
        return payload

    @staticmethod
    def _room_path(provider: str, account: str, kind: str, key: str | None = None) -> str:
        parts = ["rooms", provider, account, kind] + ([key] if key is not None else [])
        return "/" + "/".join(map(_segment, parts))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- state --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self) -> None:
        """Rooms, virtual clock, counters and faults back to a fresh start."""
        self._call("POST", "/reset")

    def clock(self) -> ClockView:
        return self._call("GET", "/clock")

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0
                ) -> ClockView:
        return self._call("POST", "/clock/advance",
                          {"seconds": seconds, "minutes": minutes, "hours": hours})

    def counters(self) -> CountersView:
        return self._call("GET", "/counters")

    def clear_counters(self) -> CountersView:
        return self._call("DELETE", "/counters")

    # -- faults -------------------------------------------------------------------------

    def faults(self, provider: str) -> dict[str, Any]:
        return self._call("GET", f"/faults/{_segment(provider)}")

    def set_faults(self, provider: str, config: dict[str, Any] | None = None, **fields: Any
                   ) -> dict[str, Any]:
        """Replace the provider's fault configuration (a dict and/or keyword fields)."""
        return self._call("PUT", f"/faults/{_segment(provider)}", {**(config or {}), **fields})

    def clear_faults(self, provider: str) -> dict[str, Any]:
        return self._call("DELETE", f"/faults/{_segment(provider)}")

    def set_update_mode(self, provider: str, mode: str) -> str:
        """`replace`: the emulator's updates reset the fields they leave out; `merge`."""
        return self._call("PUT", f"/update-mode/{_segment(provider)}", {"mode": mode})["mode"]

    # -- accounts and rooms ---------------------------------------------------------------

    def register(self, provider: str, principal: str, secret: str) -> None:
        self._call("POST", "/accounts",
                   {"provider": provider, "principal": principal, "secret": secret})

    def seed(self, provider: str, account: str, kind: str, rooms: Iterable[dict[str, Any]]
             ) -> list[dict[str, Any]]:
        """Bulk-create rooms through the emulator's `seed()`; returns them as rendered."""
        body = {"provider": provider, "account": account, "kind": kind, "rooms": list(rooms)}
        return self._call("POST", "/seed", body)["rooms"]

    def rooms(self, provider: str, account: str, kind: str, *, live: bool | None = None
              ) -> list[RoomView]:
        params = None if live is None else {"live": str(live).lower()}
        return self._call("GET", self._room_path(provider, account, kind), params=params
                          )["rooms"]

    def room(self, provider: str, account: str, kind: str, key: str) -> RoomView:
        """One stored room, by id or live name."""
        return self._call("GET", self._room_path(provider, account, kind, key))

    def patch_room(self, provider: str, account: str, kind: str, key: str,
                   fields: dict[str, Any], *, live: bool | None = None) -> RoomView:
        """Merge provider-native fields into the stored room (drift, out of band)."""
        params = None if live is None else {"live": str(live).lower()}
        return self._call("PATCH", self._room_path(provider, account, kind, key), fields,
                          params=params)

    def delete_room(self, provider: str, account: str, kind: str, key: str) -> None:
        self._call("DELETE", self._room_path(provider, account, kind, key))

    def participants(self, provider: str, account: str, kind: str, key: str, *,
                     add: Iterable[str] = (), remove: Iterable[str] = ()) -> RoomView:
        return self._call("POST", self._room_path(provider, account, kind, key)
                          + "/participants", {"add": list(add), "remove": list(remove)})
