"""A fake GitHub API on 127.0.0.1, one per test module, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_github import BOT, OTHER_BOT, Account, FakeGitHub, serve

REPO = "acme/rooms"
PR = 7
# Sentinels: none may ever show in output, logs or errors.
BOT_TOKEN = "ghs_BOTSENTINEL0123456789abcdef"
OTHER_BOT_TOKEN = "ghs_OTHERBOTSENTINEL0123456789"
ALICE = Account("alice")
ALICE_TOKEN = "ghp_ALICESENTINEL0123456789abcd"
READ_ONLY_TOKEN = "ghs_READONLYSENTINEL012345678"


@pytest.fixture(scope="module")
def _served() -> Iterator[FakeGitHub]:
    yield from serve()


@pytest.fixture
def github(_served: FakeGitHub) -> FakeGitHub:
    """The fake, reset: PR acme/rooms#7 with no comments, and four known tokens."""
    _served.reset()
    _served.tokens.update({BOT_TOKEN: BOT, OTHER_BOT_TOKEN: OTHER_BOT, ALICE_TOKEN: ALICE,
                           READ_ONLY_TOKEN: Account(BOT.login, "Bot", installation=True,
                                                    can_write=False)})
    _served.add_pull(REPO, PR)
    return _served
