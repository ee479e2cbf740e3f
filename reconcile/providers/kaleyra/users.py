"""Kaleyra's user step: every participant must exist as a user before a room names it.

Each user is created once per adapter (`POST /v2/users`), shared by concurrent creates.
Kaleyra answers a user that exists with 400 "user_id already exists" (U13). Any other 400
is a refused request, reported here, at the user step, in Kaleyra's words: taken for "the
user exists", it would surface only later, as a room create that names an unknown user.
If the duplicate answer is worded otherwise, the user list (read once) tells whether the
user exists, so either reading ends the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from reconcile.engine.http import HttpClient, HttpError, parse_json
from reconcile.errors import ReconcileError

USERS = "/v2/users"
PAGE = 100  # the page size the official Android demo reads users with (U13)
ALREADY_EXISTS = "already exist"  # U13: the duplicate answer's message says so


class UserStepError(ReconcileError):
    """Kaleyra refused to create a participant's user."""


class Users:
    def __init__(self, http: HttpClient, describe: Callable[[HttpError], str],
                 alias: str) -> None:
        self._http = http
        self._describe = describe  # the provider's words, credentials masked
        self._alias = alias
        self._made: dict[str, asyncio.Future[None]] = {}  # one POST per user
        self._listed: asyncio.Future[frozenset[str]] | None = None

    def ensure(self, user_id: str, role: str) -> asyncio.Future[None]:
        """The user exists once the future is done (created with `role` if it did not)."""
        if user_id not in self._made:
            self._made[user_id] = asyncio.ensure_future(self._create(user_id, role))
        return self._made[user_id]

    async def _create(self, user_id: str, role: str) -> None:
        try:
            await self._http.request("POST", USERS, json={"user_id": user_id, "role": role})
        except BaseException as exc:
            if isinstance(exc, HttpError) and exc.status == 400 and \
                    (_says_it_exists(exc.body) or await self._listed_user(user_id)):
                return
            self._made.pop(user_id, None)  # a later create tries again
            if isinstance(exc, HttpError) and exc.status == 400:
                raise UserStepError(
                    f"kaleyra account {self._alias!r}: creating user {user_id!r} failed:"
                    f" {self._describe(exc)}") from None
            raise

    async def _listed_user(self, user_id: str) -> bool:
        """Whether the user list names the user; a list that cannot be read names nobody,
        so the user step's own 400 is what gets reported."""
        try:
            return user_id in await self._existing()
        except HttpError:
            return False

    async def _existing(self) -> frozenset[str]:
        """Every user id of the company, read once, page by page to an empty page."""
        if self._listed is None:
            self._listed = asyncio.ensure_future(self._list())
        return await self._listed

    async def _list(self) -> frozenset[str]:
        ids: set[str] = set()
        offset = 0
        for _ in range(self._http.settings.max_pages):
            response = await self._http.request("GET", USERS,
                                                params={"offset": offset, "limit": PAGE})
            try:
                body = parse_json(response.content)
            except ValueError:
                break  # no list to read: the user is not known to exist
            users = body.get("users") if isinstance(body, dict) else None
            if not isinstance(users, list) or not users:
                break
            # Only text ids count: anything else in a broken answer is no user (and may not
            # even be hashable).
            ids.update(value for user in users if isinstance(user, dict)
                       for value in (user.get("id") or user.get("user_id"),)
                       if isinstance(value, str))
            offset += len(users)
        return frozenset(ids)


def _says_it_exists(body: Any) -> bool:
    message = body.get("message") if isinstance(body, dict) else None
    return isinstance(message, str) and ALREADY_EXISTS in message.lower()
