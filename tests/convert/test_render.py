"""The new account goes at the end of `providers:`, the rest of the file as written."""

from __future__ import annotations

import pytest
import yaml

from reconcile.convert.account import Conversion
from reconcile.convert.render import CannotInsert, account_lines, with_account


def lines(indent: int) -> list[str]:
    conversion = Conversion({"credentials": {"api_key": "${TELNYX_API_KEY}"}},
                            [{"unique_name": "a\nb"}], [["dropped: `x` (f:1:1)\u202e"]])
    return account_lines("new", "rooms", conversion, indent, "converted")


def test_the_account_goes_after_the_last_one_before_what_follows() -> None:
    text = ("version: 1\nproviders:\n    old:  # four spaces\n      rooms: []\n"
            "# about x-tools\nx-tools: {a: 1}\n")
    out = with_account(text, lines)
    assert out.startswith("version: 1\nproviders:\n    old:  # four spaces\n      rooms: []\n"
                          "    new:\n      # converted\n")
    assert out.endswith("# about x-tools\nx-tools: {a: 1}\n")
    document = yaml.safe_load(out)
    assert document["providers"]["new"]["rooms"] == [{"unique_name": "a\nb"}]
    # A comment cannot be broken or disguised by what a message quotes.
    assert "# dropped: `x` (f:1:1)\\u202e\n" in out


def test_a_file_without_a_final_newline_or_with_crlf() -> None:
    out = with_account("version: 1\nproviders:\n  old: {rooms: []}", lines)
    assert "  old: {rooms: []}\n  new:\n" in out
    crlf = with_account("version: 1\r\nproviders:\r\n  old:\r\n    rooms: []\r\n", lines)
    assert "\r\n  new:\r\n" in crlf and "\n" not in crlf.replace("\r\n", "")
    assert yaml.safe_load(crlf)["providers"]["new"]["credentials"] == {
        "api_key": "${TELNYX_API_KEY}"}


def test_a_flow_mapping_of_accounts_is_refused() -> None:
    with pytest.raises(CannotInsert):
        with_account("version: 1\nproviders: {old: {rooms: []}}\n", lines)


def test_an_alias_as_the_last_account_does_not_move_the_new_one() -> None:
    """The last account is `*acct`, anchored above `providers:`: the new account still goes
    at the end of `providers:` (it went under the anchor, out of `providers:`)."""
    text = ("version: 1\nx-shared:\n  acct: &acct\n    type: telnyx\n    rooms: []\n"
            "providers:\n  old:\n    rooms: []\n  tel: *acct\n")
    out = with_account(text, lines)
    assert out.startswith(text)
    document = yaml.safe_load(out)
    assert list(document["providers"]) == ["old", "tel", "new"]
    assert list(document["x-shared"]) == ["acct"]
