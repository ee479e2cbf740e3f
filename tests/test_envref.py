"""`${NAME}` references: syntax, escapes, resolution."""

from __future__ import annotations

import pytest

from reconcile import envref


@pytest.mark.parametrize("value", ["${A}", "x-${A_1}-${_b}", "$${A}", "$A", "a $ b", "$$",
                                   "${A}$${B}"])
def test_valid_syntax(value: str) -> None:
    assert envref.syntax_error(value) is None


@pytest.mark.parametrize(("value", "message"), [
    ("${A", "unterminated reference `${A`: write `${NAME}`"),
    ("${}", "empty reference `${}`: write `${NAME}`"),
    ("${A:-x}", "reference `${A:-x}` is not supported: only plain `${NAME}` works, without"
                " defaults or modifiers"),
    ("${1A}", "`${1A}` is not a valid variable name: use letters, digits and `_`, not"
              " starting with a digit (write `$${` for a literal `${`)"),
])
def test_invalid_syntax(value: str, message: str) -> None:
    assert envref.syntax_error(value) == message


def test_resolution_and_escapes() -> None:
    environ = {"HOST": "example.com", "PORT": "8080"}
    assert envref.resolve("https://${HOST}:${PORT}/x", environ) == "https://example.com:8080/x"
    assert envref.resolve("literal $${HOST} and ${HOST}", environ) == \
        "literal ${HOST} and example.com"
    assert envref.resolve("no refs", environ) == "no refs"


def test_missing_variable_names_it() -> None:
    with pytest.raises(envref.MissingVariable) as caught:
        envref.resolve("${PRESENT}${ABSENT}", {"PRESENT": "1"})
    assert caught.value.name == "ABSENT"
    assert caught.value.message == "environment variable `ABSENT` is not set"


def test_an_empty_variable_is_refused_like_a_missing_one() -> None:
    with pytest.raises(envref.MissingVariable) as caught:
        envref.resolve("Bearer ${KEY}", {"KEY": ""})
    assert caught.value.name == "KEY" and caught.value.empty
    assert caught.value.message == "environment variable `KEY` is set but empty"


def test_has_reference_ignores_escapes() -> None:
    assert envref.has_reference("a${B}")
    assert not envref.has_reference("a$${B}")
    assert not envref.has_reference("plain")


def test_resolution_keeps_a_malformed_reference_verbatim() -> None:
    # load() validates first; resolve() on its own never guesses what was meant.
    assert envref.resolve("${1A} ${B", {"B": "x"}) == "${1A} ${B"
    assert envref.resolve("${A}${A}$${A}${A}", {"A": "v"}) == "vv${A}v"


@pytest.mark.parametrize(("account", "field", "variable"), [
    ("telnyx", "api_key", "TELNYX_API_KEY"),
    ("telnyx-eu", "api_key", "TELNYX_EU_API_KEY"),
    ("signalwire", "project_id", "SIGNALWIRE_PROJECT_ID"),
])
def test_variable_for_names_a_shell_variable(account: str, field: str, variable: str) -> None:
    assert envref.variable_for(account, field) == variable


def test_names_lists_references_not_escapes() -> None:
    assert envref.names("${A}-$${B}-${C_1}") == ["A", "C_1"]
    assert envref.names("plain") == []


def test_a_suggested_variable_is_a_valid_name_whatever_the_account() -> None:
    """An account named `1st` (a digit first) would have suggested 1ST_API_KEY, which no
    shell or `${…}` reference accepts."""
    from reconcile.envref import variable_for

    assert variable_for("telnyx-eu", "api_key") == "TELNYX_EU_API_KEY"
    assert variable_for("1st", "api_key") == "_1ST_API_KEY"
    assert variable_for("-a", "token") == "_A_TOKEN"


def test_unsendable_names_why_a_credential_cannot_go_in_a_header() -> None:
    assert envref.unsendable("AC0123-abc_DEF.~+/=") is None
    assert envref.unsendable("key with spaces") is None  # odd, but a header carries it
    for value in ("key\n", "k\rey", "k\x00", "k\x7f", "\tkey"):
        assert "control character" in (envref.unsendable(value) or "")
    assert "non-ASCII" in (envref.unsendable("kéy") or "")
