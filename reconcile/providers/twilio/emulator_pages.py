"""Twilio's page envelope for the emulator: page sizes, page tokens, `meta` links.

U8: a `PageToken` names the item a page starts after (`PT` + base64url of its sid, for
next pages) or the item it ends before (`PB` + base64url, for previous pages). The
adapter never builds or reads them: it follows `next_page_url` as given.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from reconcile.providers.twilio.emulator_rooms import TwilioError, bad_query

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
AFTER, BEFORE = "PT", "PB"


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: after `sid`, or (backwards) ending before it."""

    sid: str | None = None
    backwards: bool = False

    @classmethod
    def of(cls, token: str | None) -> Cursor:
        if token is None:
            return cls()
        mark, body = token[:2], token[2:]
        if mark not in (AFTER, BEFORE) or not body:
            raise bad_token()
        try:
            sid = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise bad_token() from None
        return cls(sid, mark == BEFORE)

    def window(self, sids: list[str], size: int) -> tuple[int, int]:
        """The page's [start, end) in an in-memory list of item sids."""
        if self.sid is None:
            return 0, min(size, len(sids))
        if self.sid not in sids:
            raise bad_token()
        at = sids.index(self.sid)
        return (max(0, at - size), at) if self.backwards else (at + 1,
                                                               min(at + 1 + size, len(sids)))


def token(sid: str, mark: str = AFTER) -> str:
    return mark + base64.urlsafe_b64encode(sid.encode()).decode().rstrip("=")


def bad_token() -> TwilioError:
    return TwilioError(400, 21481, "Invalid PageToken")


def base_url(request: Request) -> str:
    """Scheme, host and mount prefix: what stands in for https://video.twilio.com."""
    return str(request.url.replace(path=request.scope.get("root_path", ""), query="",
                                   fragment="")).rstrip("/")


def paging(q: Any) -> tuple[int, int]:
    size = _int_param(q, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_query(f"PageSize must be from 1 to {MAX_PAGE_SIZE}")
    page = _int_param(q, "Page", 0)
    if page < 0:
        raise bad_query("Page must not be negative")
    return size, page


def _int_param(q: Any, name: str, default: int) -> int:
    try:
        return int(q.get(name, default))
    except ValueError:
        raise bad_query(f"{name} must be an integer") from None


def meta(request: Request, path: str, key: str, filters: tuple[str, ...], size: int,
         page: int, sids: list[str], more: bool) -> dict[str, Any]:
    """The envelope of a page holding `sids`; `more`: items follow it. The links carry
    the filters and a PageToken; a previous page exists from page 1 on."""
    given = [(name, request.query_params[name]) for name in filters
             if name in request.query_params]
    base = base_url(request) + path

    def link(page_no: int, page_token: str | None) -> str:
        params = [*given, ("PageSize", str(size)), ("Page", str(page_no))]
        return f"{base}?{urlencode(params + ([('PageToken', page_token)] if page_token else []))}"

    previous = link(page - 1, token(sids[0], BEFORE)) if page > 0 and sids else None
    return {"page": page, "page_size": size, "first_page_url": link(0, None),
            "previous_page_url": previous,
            "url": link(page, request.query_params.get("PageToken")),
            "next_page_url": link(page + 1, token(sids[-1])) if more and sids else None,
            "key": key}
