"""The config layer: accounts, defaults, rooms, references resolved for provider commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config import check, load
from reconcile.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "rooms.yaml"

ENVIRON = {
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
    "TWILIO_AUTH_TOKEN": "s3cret-sentinel", "TELNYX_API_KEY": "key", "SIGNALWIRE_PROJECT_ID": "p",
    "SIGNALWIRE_TOKEN": "t", "METERED_SECRET_KEY": "m", "KALEYRA_API_KEY": "k",
    "DAILY_API_KEY": "d",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_is_clean_and_loads_every_account() -> None:
    assert check(EXAMPLE) == []
    config = load(EXAMPLE, ENVIRON)
    assert set(config.accounts) == {"twilio", "telnyx-eu", "signalwire", "metered", "kaleyra",
                                    "daily"}
    assert config.accounts["telnyx-eu"].type == "telnyx"
    signalwire = config.accounts["signalwire"]
    assert [r.key for r in signalwire.rooms["conferences"]] == ["all-hands", "board-meeting"]
    assert len(config.checksum) == 64


def test_defaults_merge_under_each_room(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  twilio:
    credentials: {account_sid: "${SID}", auth_token: "${TOKEN}"}
    defaults: {empty_room_timeout: 10, max_participants: 20}
    rooms:
      - unique_name: a
      - unique_name: b
        max_participants: 4
""")
    config = load(path, {"SID": "AC1", "TOKEN": "t"})
    a, b = config.accounts["twilio"].rooms["rooms"]
    assert a.model.declared() == {"unique_name": "a", "empty_room_timeout": 10,
                                  "max_participants": 20}
    assert b.model.declared()["max_participants"] == 4  # the room's own value wins
    assert b.path == "providers.twilio.rooms[1]"
    assert b.location.line == 8


def test_signalwire_defaults_go_only_where_the_field_exists(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  signalwire:
    space: acme
    credentials: {project_id: "${P}", token: "${T}"}
    defaults: {max_members: 30, size: large, quality: 1080p}
    rooms: [{name: r}]
    conferences: [{name: c}]
""")
    account = load(path, {"P": "p", "T": "t"}).accounts["signalwire"]
    assert account.rooms["rooms"][0].model.declared() == {
        "name": "r", "max_members": 30, "quality": "1080p"}
    assert account.rooms["conferences"][0].model.declared() == {
        "name": "c", "size": "large", "quality": "1080p"}


def test_credentials_resolve_into_secrets_not_the_model(tmp_path: Path) -> None:
    config = load(EXAMPLE, ENVIRON)
    twilio = config.accounts["twilio"]
    assert twilio.secrets == {"account_sid": ENVIRON["TWILIO_ACCOUNT_SID"],
                              "auth_token": "s3cret-sentinel"}
    assert twilio.settings.credentials.auth_token == "${TWILIO_AUTH_TOKEN}"  # type: ignore[attr-defined]
    assert "s3cret-sentinel" not in repr(twilio)


def test_missing_variable_names_it_and_its_place(tmp_path: Path) -> None:
    environ = dict(ENVIRON)
    del environ["TELNYX_API_KEY"]
    with pytest.raises(ConfigError) as caught:
        load(EXAMPLE, environ)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == "environment variable `TELNYX_API_KEY` is not set"
    lines = EXAMPLE.read_text().splitlines()
    assert lines[diagnostic.location.line - 1].strip() == "api_key: ${TELNYX_API_KEY}"
    assert diagnostic.path == "providers.telnyx-eu.credentials.api_key"


@pytest.mark.parametrize("variable", ["TELNYX_API_KEY", "TWILIO_AUTH_TOKEN"])
def test_an_empty_credential_variable_names_it_and_its_place(variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(EXAMPLE, {**ENVIRON, variable: ""})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == f"environment variable `{variable}` is set but empty"
    lines = EXAMPLE.read_text().splitlines()
    assert "${" + variable + "}" in lines[diagnostic.location.line - 1]


@pytest.mark.parametrize(("value", "problem"), [
    ("s3cret-sentinel\n", "holds a control character (a line break?)"),  # a secrets file's
    ("s3cret\r\nX-Other: s3cret-sentinel", "holds a control character"),
    ("s3cret-sentinel\u00e9", "holds a non-ASCII character"),
])
def test_a_credential_no_http_header_can_carry_is_a_located_error(value: str,
                                                                   problem: str) -> None:
    """httpx raised a bare ValueError or UnicodeEncodeError for these, mid-run."""
    with pytest.raises(ConfigError) as caught:
        load(EXAMPLE, {**ENVIRON, "DAILY_API_KEY": value})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message.startswith(f"the value of `DAILY_API_KEY` {problem}")
    assert "sentinel" not in str(caught.value)
    assert diagnostic.path.endswith(".credentials.api_key")


def test_references_in_room_fields_resolve_and_are_then_checked(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${KEY}"}
    rooms:
      - unique_name: ${PREFIX}-sync
        webhook_event_url: ${HOOK}
""")
    assert check(path) == []  # offline, references are not resolved
    config = load(path, {"KEY": "k", "PREFIX": "prod", "HOOK": "https://h.example/x"})
    room = config.accounts["telnyx"].rooms["rooms"][0]
    assert room.key == "prod-sync"
    assert room.model.declared()["webhook_event_url"] == "https://h.example/x"
    with pytest.raises(ConfigError) as caught:
        load(path, {"KEY": "k", "PREFIX": "prod", "HOOK": "not a url"})
    assert [d.message for d in caught.value.diagnostics] == [
        "must be an absolute URL with a scheme, such as https://…"]


def test_escaped_reference_is_literal_after_resolution(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  signalwire:
    space: acme
    credentials: {project_id: "${P}", token: "${T}"}
    rooms:
      - name: r
        description: costs $${PRICE} per hour
""")
    room = load(path, {"P": "p", "T": "t"}).accounts["signalwire"].rooms["rooms"][0]
    assert room.model.declared()["description"] == "costs ${PRICE} per hour"


def test_all_errors_of_a_file_are_collected(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${KEY}"}
    rooms:
      - {unique_name: a, max_participants: 1}
      - {unique_name: b, max_participants: 51}
      - {unique_name: c, webhook_timeout_secs: 31}
""")
    found = [(d.location.line, d.message) for d in check(path)]
    assert found == [(6, "must be at least 2, got 1"), (7, "must be at most 50, got 51"),
                     (8, "must be at most 30, got 31")]


def test_defaults_error_is_reported_once_at_the_defaults(tmp_path: Path) -> None:
    rooms = "\n".join(f"      - unique_name: r{i}" for i in range(20))
    path = write(tmp_path, f"""\
version: 1
providers:
  telnyx:
    credentials: {{api_key: "${{KEY}}"}}
    defaults: {{max_participants: 99}}
    rooms:
{rooms}
""")
    found = check(path)
    assert [(d.location.line, d.message, d.path) for d in found] == [
        (5, "must be at most 50, got 99", "providers.telnyx.defaults.max_participants")]


def test_rule_broken_through_defaults_names_them(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  metered:
    app: acme
    credentials: {secret_key: "${KEY}"}
    defaults: {enableRTMPOut: true}
    rooms: [{roomName: a}]
""")
    (diagnostic,) = check(path)
    assert diagnostic.location.line == 6
    assert diagnostic.message == ("rtmpOutURL is required when enableRTMPOut is true"
                                  " (enableRTMPOut is set in"
                                  " providers.metered.defaults.enableRTMPOut)")


def test_same_name_in_two_accounts_or_two_kinds_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  telnyx: {credentials: {api_key: "${A}"}, rooms: [{unique_name: x}]}
  telnyx-us: {type: telnyx, credentials: {api_key: "${B}"}, rooms: [{unique_name: x}]}
  signalwire:
    space: acme
    credentials: {project_id: "${P}", token: "${T}"}
    rooms: [{name: x}]
    conferences: [{name: x}]
""")
    assert check(path) == []


def test_a_default_that_resolves_to_a_bad_value_is_reported_once_at_the_default(
        tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  twilio:
    credentials: {account_sid: "${SID}", auth_token: "${TOKEN}"}
    defaults: {status_callback: "${HOOK}"}
    rooms:
      - unique_name: a
      - unique_name: b
""")
    assert check(path) == []
    with pytest.raises(ConfigError) as caught:
        load(path, {"SID": "AC1", "TOKEN": "t", "HOOK": "not a url"})
    (diagnostic,) = caught.value.diagnostics  # both rooms inherit it: one message
    assert diagnostic.message == ("must be an absolute URL with a scheme, such as https://…"
                                  " (set in providers.twilio.defaults.status_callback)")
    assert (diagnostic.location.line, diagnostic.location.col) == (5, 33)


def test_a_missing_variable_in_a_room_field_is_named_at_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${KEY}"}
    rooms:
      - unique_name: sync
        webhook_event_url: ${HOOK}
""")
    with pytest.raises(ConfigError) as caught:
        load(path, {"KEY": "k"})
    assert [(str(d.location), d.message, d.path) for d in caught.value.diagnostics] == [
        (f"{path}:7:28", "environment variable `HOOK` is not set",
         "providers.telnyx.rooms[0].webhook_event_url")]


@pytest.mark.parametrize(("text", "message", "path"), [
    ("version: 1\nproviders: 5\n",
     "`providers` must be a mapping of account names to accounts, not 5", "providers"),
    # No variable is looked up for credentials that are not a mapping.
    ('version: 1\nproviders:\n  telnyx:\n    credentials: "${KEY}"\n    rooms: []\n',
     "expected a mapping", "providers.telnyx.credentials"),
])
def test_a_misshapen_file_gives_the_same_message_offline_and_on_load(
        tmp_path: Path, text: str, message: str, path: str) -> None:
    rooms = write(tmp_path, text)
    assert [(d.message, d.path) for d in check(rooms)] == [(message, path)]
    with pytest.raises(ConfigError) as caught:
        load(rooms, {})
    assert [(d.message, d.path) for d in caught.value.diagnostics] == [(message, path)]


def test_keys_with_control_or_invisible_characters_are_refused(tmp_path: Path) -> None:
    """Decided for issue 11: a key holds only printable characters, so that it shows on
    every terminal, log and pull request exactly as written (ESC/OSC/BEL, C1, U+202E and
    line breaks would act or hide there). Checked offline and again once resolved."""
    path = write(tmp_path, """\
version: 1
providers:
  telnyx:
    credentials: {api_key: "${TELNYX_API_KEY}"}
    rooms:
      - {unique_name: "t\\e]0;owned\\a"}
      - {unique_name: "csi\\x9B31m\\nPlan: 0", renamed_from: "rtl\\u202Egnp"}
      - {unique_name: "${ROOM}"}
      - {unique_name: "café 💥 ok"}
""")
    found = [(d.location.line, d.location.col, d.path, d.message) for d in check(path)]
    assert [where[:3] for where in found] == [
        (6, 23, "providers.telnyx.rooms[0].unique_name"),
        (7, 23, "providers.telnyx.rooms[1].unique_name"),
        (7, 60, "providers.telnyx.rooms[1].renamed_from")]
    assert found[0][3] == (
        "holds characters that would be invisible or act on a terminal (\\x1b, \\x07): a room"
        " key may hold only printable characters, since it shows on terminals, in logs and"
        " in pull requests")
    assert "(\\x9b, \\n)" in found[1][3] and "(\\u202e)" in found[2][3]
    with pytest.raises(ConfigError) as caught:
        load(path, {**ENVIRON, "ROOM": "evil\x1b[2J"})
    assert [(d.location.line, d.path) for d in caught.value.diagnostics][-1] == \
        (8, "providers.telnyx.rooms[2].unique_name")
