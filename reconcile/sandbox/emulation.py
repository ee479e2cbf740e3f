"""Small helpers every emulator uses: auth headers, time formats, JSON bodies."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def basic_auth(request: Request) -> tuple[str | None, str | None]:
    """(username, password) from an HTTP Basic header, or (None, None)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def iso_seconds(ts: float) -> str:
    """2015-07-30T20:00:00Z (Twilio)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(ts: float) -> str:
    """2021-08-11T15:58:08.559Z (Metered)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_micros(ts: float) -> str:
    """2021-04-16T09:46:20.954863Z (Telnyx, SignalWire)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


async def json_body(request: Request) -> Any:
    """The parsed JSON body, or None when it is absent or not JSON."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
