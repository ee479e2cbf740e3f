"""docs/sandbox.md's table of default credentials and base URLs is generated and current
(`python -m reconcile.sandbox.docs`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconcile.about import about, render
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox
from reconcile.sandbox.docs import BLOCKS, FILES
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.starter import locators

from ..conftest import SANDBOX_ACCOUNTS

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("name", FILES)
def test_the_sandbox_page_is_current(name: str) -> None:
    path = ROOT / name
    text = path.read_text(encoding="utf-8")
    assert "<!-- generated:sandbox-defaults" in text
    assert render(text, path, BLOCKS) == text, "run `python -m reconcile.sandbox.docs`"


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_each_row_shows_credentials_the_sandbox_accepts(provider: str) -> None:
    table = BLOCKS["sandbox-defaults"](ROOT / "docs" / "sandbox.md")
    (row,) = [line for line in table.splitlines() if line.startswith(f"| {about(provider).name} |")]
    principal, secret = DEFAULT_CREDENTIALS[provider]
    assert f"`{secret}`" in row and f"`/{provider}" in row
    box = Sandbox()
    try:  # what the row shows is what a fresh sandbox accepts
        assert box.authenticate(provider, "anything" if principal == "*" else principal, secret)
    finally:
        box.close()


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_the_account_named_is_what_the_emulator_stores_rooms_under(provider: str) -> None:
    said = BLOCKS["sandbox-accounts"](ROOT / "docs" / "sandbox.md")
    (name,) = re.findall(rf"{about(provider).name} `(\w+)`", said)
    values = {**DECLARATIONS[provider].secrets, **locators(provider)}
    assert values[name] == SANDBOX_ACCOUNTS[provider]  # as the tests find the rooms
