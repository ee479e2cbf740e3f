"""SignalWire emulator: one request as its handlers see it, and the live session a read
may include."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reconcile.providers.signalwire.fields import SIZE_MEMBERS, Invalid, Kind, error
from reconcile.providers.signalwire.model import UUID_PATTERN
from reconcile.sandbox.core import Sandbox, public
from reconcile.sandbox.emulation import iso_micros
from reconcile.sandbox.store import Record

PROVIDER = "signalwire"
_UUID = re.compile(UUID_PATTERN)
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True, slots=True)
class Call:
    request: Request
    sandbox: Sandbox
    kind: Kind
    space: str

    def lookup(self, key: str, *, by_name: bool = False) -> Record | None:
        """By id when `key` is UUID-shaped, else by name where allowed (U5)."""
        store = self.sandbox.store
        if _UUID.fullmatch(key):
            return store.get(PROVIDER, self.space, self.kind.kind, key.lower())
        return store.find_live(PROVIDER, self.space, self.kind.kind, key) if by_name else None

    def render(self, record_id: str, data: dict[str, Any], *, session: bool = False,
               now: float = 0.0) -> dict[str, Any]:
        room = public(data)
        live = active_session(self.request, record_id, data, now) if session else None
        if live is not None:  # no session: the key is left out, as the spec's example
            room["active_session"] = live
        return room


Handler = Callable[[Call], Awaitable[Response]]


def flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() not in _FLAGS:
        raise Invalid([error("invalid_parameter", f"{name} must be true or false", name)])
    return _FLAGS[value.lower()]


def active_session(request: Request, record_id: str, data: dict[str, Any], now: float
                    ) -> dict[str, Any] | None:
    """The live session, from the sandbox's participant bookkeeping; None when nobody is in."""
    session_id = data.get("_session_id")
    if not session_id or not data.get("_participants"):
        return None
    started = float(data.get("_session_started_at") or now)
    previews = bool(data.get("enable_room_previews"))
    path = request.url.path
    space_root = str(request.url.replace(path=path[:path.index("/api/video")], query=""))
    session = {
        "id": session_id, "room_id": record_id, "name": data.get("name"),
        "display_name": data.get("display_name"), "join_from": data.get("join_from"),
        "join_until": data.get("join_until"), "remove_at": data.get("remove_at"),
        "remove_after_seconds_elapsed": data.get("remove_after_seconds_elapsed"),
        "layout": data.get("layout"),
        "max_members": data.get("max_members") or SIZE_MEMBERS.get(data.get("size") or ""),
        "fps": data.get("fps", 20), "quality": data.get("quality"),
        "start_time": iso_micros(started), "duration": max(0, int(now - started)),
        "status": "in-progress", "record_on_start": data.get("record_on_start"),
        "enable_room_previews": previews,
        "preview_url": f"{space_root}/api/video/room_sessions/{session_id}/preview"
        if previews else None,
        "audio_video_sync": data.get("sync_audio_video"),
    }
    return {key: value for key, value in session.items() if value is not None}
