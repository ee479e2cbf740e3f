"""Small helpers every emulator uses: auth headers, time formats, JSON bodies."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# The providers' time formats, shared with the adapters (which must not load starlette).
from reconcile.timestamps import iso_micros, iso_millis, iso_seconds

__all__ = ["basic_auth", "bearer_token", "iso_micros", "iso_millis", "iso_seconds",
           "json_body", "json_response", "parse_body"]


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


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None
                  ) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def parse_body(raw: bytes) -> Any:
    """A request body as a real API's JSON parser takes it, else ValueError: UTF-8 only,
    no NaN or Infinity (Python's extension), no lone surrogate (`"\\ud800"`), nesting
    within the parser's recursion limit. Each of these once reached the store or the
    parser as a 500 with a traceback in the server log."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate fails here
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


async def json_body(request: Request) -> Any:
    """The parsed JSON body (see parse_body), or None when it is absent or not JSON."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return parse_body(raw)
    except ValueError:
        return None
