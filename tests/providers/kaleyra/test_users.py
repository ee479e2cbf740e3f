"""Kaleyra's user step (users.py) through the adapter, against the emulator: "already
exists" is recognised, any other 400 is reported at the user step (issue 12, defect 7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconcile.engine.http import HttpError
from reconcile.providers.kaleyra.adapter import KaleyraProvider, load_state
from reconcile.providers.kaleyra.emulator import seed
from reconcile.providers.kaleyra.state import locked
from reconcile.providers.kaleyra.users import UserStepError
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.server import SandboxServer

from ...conftest import connected
from .test_adapter import (
    FAST,
    KEY,
    PAIR,
    account_of,
    apply,
    kaleyra_file,
    room_ids,
    state,
    state_file,
)

SANDBOX_PROVIDERS = ("kaleyra",)


def test_an_existing_user_is_recognised_by_kaleyras_answer(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    seed(sandbox, KEY, "users", [{"user_id": "doctor", "role": "plus"},
                                 {"user_id": "patient", "role": "basic"}])
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n")
    apply(path)
    assert sandbox.counter_table() == {"kaleyra": {"POST": 2 + 1}}  # no user list read
    assert state(path).names() == ["a"]


Rewrite = Callable[[str, str, dict[str, Any]], Awaitable[Any]]


def _create_with(path: Path, rewrite: Callable[[Rewrite], Rewrite]) -> KaleyraProvider:
    """Create the file's first room with the user step's requests passed through
    `rewrite(original)`; the provider, for what it learnt."""
    account = account_of(path)

    async def create(provider: KaleyraProvider) -> KaleyraProvider:
        users = provider._users
        users._http.request = rewrite(users._http.request)  # type: ignore[method-assign]
        await provider.create("rooms", account.rooms["rooms"][0].model)
        return provider

    with locked(state_file(path), 0):
        return connected(KaleyraProvider, account, create,
                         http=partial(KaleyraProvider.connect, settings=FAST),
                         state=load_state(account, path))


def test_another_400_on_a_user_fails_at_the_user_step_in_kaleyras_words(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """A wrong user body (here: no role) is refused with 400; that is reported at the
    user step, with Kaleyra's message, and no room is created."""
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n")

    def without_role(original: Rewrite) -> Rewrite:
        async def request(method: str, where: str, **kwargs: Any) -> Any:
            if "json" in kwargs:
                kwargs["json"] = {"user_id": kwargs["json"]["user_id"]}
            return await original(method, where, **kwargs)
        return request

    with pytest.raises(UserStepError) as caught:
        _create_with(path, without_role)
    assert str(caught.value) in {
        f"kaleyra account 'kaleyra': creating user '{user}' failed: 400: role must be one"
        " of basic, plus" for user in ("doctor", "patient")}
    assert room_ids(sandbox) == set()  # the room POST was never made
    assert state(path).names() == []


def test_a_duplicate_worded_otherwise_is_confirmed_by_the_user_list(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """Where Kaleyra words its duplicate answer otherwise, the user list decides."""
    seed(sandbox, KEY, "users", [{"user_id": "doctor", "role": "plus"}])
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n")

    def reworded(original: Rewrite) -> Rewrite:
        async def request(method: str, where: str, **kwargs: Any) -> Any:
            try:
                return await original(method, where, **kwargs)
            except HttpError as exc:
                response = httpx.Response(400, json={"error": "bad_request",
                                                     "message": "duplicate"},
                                          request=exc.response.request)
                raise HttpError(method, exc.url, response) from None
        return request

    provider = _create_with(path, reworded)
    assert provider._users._listed is not None
    assert "doctor" in provider._users._listed.result()  # patient: made meanwhile, or not
    assert len(room_ids(sandbox)) == 1


def test_a_user_list_of_odd_shapes_counts_only_text_ids() -> None:
    """Found by the answer fuzzer: an id that is a list (unhashable) raised TypeError out
    of apply. Anything but a text id in the list is no user."""
    from reconcile.engine.http import HttpClient
    from reconcile.providers.kaleyra.users import Users

    pages = [{"users": [{"id": ["x"]}, {"user_id": "doctor"}, "junk", {"id": {"a": 1}},
                        {"id": 7}]}, {"users": []}]

    class Listing(HttpClient):
        async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
            return httpx.Response(200, json=pages.pop(0),
                                  request=httpx.Request(method, "http://127.0.0.1/u"))

    import asyncio

    users = Users(Listing("http://127.0.0.1:9"), str, "kaleyra")
    assert asyncio.run(users._existing()) == frozenset({"doctor"})


def test_a_user_list_that_cannot_be_read_leaves_the_user_steps_own_400(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox) -> None:
    """The list is only a second opinion: when it fails too, the 400 of the user step is
    reported in Kaleyra's words, not the list's error."""
    path = kaleyra_file(tmp_path, server, f"      - {{name: a, {PAIR}}}\n")

    def refused_list(original: Rewrite) -> Rewrite:
        async def request(method: str, where: str, **kwargs: Any) -> Any:
            if method == "GET":  # the list: a real 404, raised as HttpError
                return await original("GET", "/v2/rooms/nope", **kwargs)
            kwargs["json"] = {"user_id": kwargs["json"]["user_id"]}  # no role: 400
            return await original(method, where, **kwargs)
        return request

    with pytest.raises(UserStepError) as caught:
        _create_with(path, refused_list)
    assert "failed: 400: role must be one of basic, plus" in str(caught.value)
    assert room_ids(sandbox) == set()
