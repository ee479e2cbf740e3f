"""Two declarations that are one: room keys equal once resolved, aliases of one account."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconcile.config import check, load
from reconcile.errors import ConfigError

SECRET = "s3cret-sentinel-value"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ)
    return [str(d) for d in caught.value.diagnostics]


KEYS = """\
version: 1
providers:
  metered:
    app: acme
    credentials: {secret_key: "${KEY}"}
    rooms:
      - roomName: ${ROOM_A}
        maxParticipants: 3
      - roomName: ${ROOM_B}
        maxParticipants: 5
"""


def test_keys_that_collide_once_resolved_are_refused_naming_both_places(tmp_path: Path
                                                                        ) -> None:
    path = write(tmp_path, KEYS)
    assert check(path) == []  # offline, `${ROOM_A}` and `${ROOM_B}` may differ
    found = problems(path, {"KEY": SECRET, "ROOM_A": "same", "ROOM_B": "same"})
    assert found == [
        f"{path}:9:19: duplicate room `same` (written `${{ROOM_B}}`): already declared at"
        " line 7, column 19 (written `${ROOM_A}`) (at providers.metered.rooms[1].roomName)",
        f"{path}:7:19: duplicate room `same` (written `${{ROOM_A}}`): declared again at"
        " line 9, column 19 (written `${ROOM_B}`) (at providers.metered.rooms[0].roomName)"]
    assert len(load(path, {"KEY": SECRET, "ROOM_A": "a", "ROOM_B": "b"})
               .accounts["metered"].rooms["rooms"]) == 2


def test_a_key_resolved_to_one_written_plainly_is_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, KEYS.replace("${ROOM_B}", "same"))
    found = problems(path, {"KEY": SECRET, "ROOM_A": "same"})
    assert found[0].startswith(f"{path}:9:19: duplicate room `same`: already declared at"
                               " line 7, column 19 (written `${ROOM_A}`)")


def test_a_room_duplicated_through_a_merge_is_reported_at_each_merge(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
x-base: &base
  unique_name: standup
  type: group
providers:
  twilio:
    credentials: {account_sid: "${SID}", auth_token: "${TOKEN}"}
    rooms:
      - <<: *base
      - max_participants: 4
        <<: *base
""")
    assert sorted(str(d) for d in check(path)) == [
        f"{path}:11:13: duplicate room `standup` (through `<<` from line 3): already"
        " declared at line 9, column 13 (through `<<` from line 3)"
        " (at providers.twilio.rooms[1].unique_name)",
        f"{path}:9:13: duplicate room `standup` (through `<<` from line 3): declared again"
        " at line 11, column 13 (through `<<` from line 3)"
        " (at providers.twilio.rooms[0].unique_name)"]


ACCOUNT = """\
  {alias}:
    type: metered
    app: acme
    credentials: {{secret_key: "${{{variable}}}"}}
    rooms:
      - roomName: desk
        maxParticipants: {size}
"""


def accounts_file(tmp_path: Path, *accounts: tuple[str, str, int]) -> Path:
    body = "".join(ACCOUNT.format(alias=a, variable=v, size=s) for a, v, s in accounts)
    return write(tmp_path, "version: 1\nproviders:\n" + body)


def test_two_aliases_of_one_account_are_refused_naming_both(tmp_path: Path) -> None:
    path = accounts_file(tmp_path, ("eu", "KEY_EU", 3), ("eu-again", "KEY_AGAIN", 5))
    assert check(path) == []  # offline, two variables may hold two keys
    found = problems(path, {"KEY_EU": SECRET, "KEY_AGAIN": SECRET})
    assert found == [
        f"{path}:10:3: account `eu-again` is the same metered account as `eu` (line 3): the"
        " same type, app, endpoint and credentials. Each apply would undo the other's"
        " changes: declare these rooms under one account (at providers.eu-again)"]
    assert all(SECRET not in line for line in found)
    assert set(load(path, {"KEY_EU": SECRET, "KEY_AGAIN": "another"}).accounts) == \
        {"eu", "eu-again"}


def test_one_reference_under_two_aliases_is_refused_offline(tmp_path: Path) -> None:
    path = accounts_file(tmp_path, ("eu", "KEY", 3), ("eu-again", "KEY", 5))
    assert [d.message.split(":")[0] for d in check(path)] == [
        "account `eu-again` is the same metered account as `eu` (line 3)"]


def test_another_endpoint_or_locator_is_another_account(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
x-key: &key {secret_key: "${K}"}
x-kaleyra-key: &kaleyra-key {api_key: "${K}"}
providers:
  a: {type: metered, app: acme, credentials: *key}
  b: {type: metered, app: other, credentials: *key}
  d: {type: metered, app: acme, endpoint: "http://LocalHost:9/m/", credentials: *key}
  e: {type: metered, app: acme, endpoint: "http://localhost:9/m", credentials: *key}
  f: {type: metered, app: acme, endpoint: "http://localhost:9/M", credentials: *key}
  k1: {type: kaleyra, region: eu, credentials: *kaleyra-key}
  k2: {type: kaleyra, region: eu, credentials: *kaleyra-key}
  k3: {type: kaleyra, region: eu, state: shared.json, credentials: *kaleyra-key}
  k4: {type: kaleyra, region: eu, state: ./shared.json, credentials: *kaleyra-key}
""")
    # Kaleyra's state file is per alias unless set: k1 and k2 keep apart, k3 and k4 do not.
    assert [d.message.split(" (")[0] for d in check(path)] == [
        "account `e` is the same metered account as `d`",
        "account `k4` is the same kaleyra account as `k3`"]


def test_two_thousand_aliases_are_checked_in_linear_time(tmp_path: Path) -> None:
    count = 2000
    path = accounts_file(tmp_path, *((f"a{i}", "KEY", 3) for i in range(count)))
    started = time.perf_counter()
    found = check(path)
    elapsed = time.perf_counter() - started
    assert len(found) == count - 1
    assert all("the same metered account as `a0`" in d.message for d in found)
    assert elapsed < 15, elapsed  # about 1 s; pairwise comparison took minutes


def test_two_rooms_renamed_from_one_live_room_are_refused(tmp_path: Path) -> None:
    # Only the first would take the live room; the other would be created beside it.
    path = write(tmp_path, KEYS.replace("maxParticipants: 3", "renamed_from: ${OLD}")
                 .replace("maxParticipants: 5", "renamed_from: old"))
    found = problems(path, {"KEY": SECRET, "OLD": "old", "ROOM_A": "a", "ROOM_B": "b"})
    assert found[0] == (
        f"{path}:10:23: two rooms renamed from `old` (a live room becomes one room): already"
        " declared at line 8, column 23 (written `${OLD}`)"
        " (at providers.metered.rooms[1].renamed_from)")
    assert len(found) == 2


def test_locators_are_compared_once_resolved(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
providers:
  a: {type: metered, app: "${APP_A}", credentials: {secret_key: "${KEY}"}}
  b: {type: metered, app: "${APP_B}", credentials: {secret_key: "${KEY}"}}
""")
    assert check(path) == []
    found = problems(path, {"KEY": SECRET, "APP_A": "acme", "APP_B": "acme"})
    assert [line.split(": ", 1)[1].split(" (")[0] for line in found] == [
        "account `b` is the same metered account as `a`"]
    assert set(load(path, {"KEY": SECRET, "APP_A": "acme", "APP_B": "other"}).accounts) == \
        {"a", "b"}


def test_keys_differing_only_by_case_collide_where_the_provider_may_ignore_case(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A room model that says its provider may not tell keys apart by case
    (`KEY_IGNORES_CASE`) has `Desk` and `desk` refused, at both places; others keep them
    apart. Metered stands in for such a provider here."""
    from reconcile.providers.metered.model import MeteredRoom

    path = write(tmp_path, KEYS.replace("${ROOM_A}", "Desk").replace("${ROOM_B}", "desk"))
    assert len(load(path, {"KEY": SECRET}).accounts["metered"].rooms["rooms"]) == 2
    monkeypatch.setattr(MeteredRoom, "KEY_IGNORES_CASE", True)
    assert problems(path, {"KEY": SECRET}) == [
        f"{path}:9:19: rooms `Desk` and `desk` differ only by case, which the provider may"
        " not tell apart: the other is at line 7, column 19"
        " (at providers.metered.rooms[1].roomName)",
        f"{path}:7:19: rooms `Desk` and `desk` differ only by case, which the provider may"
        " not tell apart: the other is at line 9, column 19"
        " (at providers.metered.rooms[0].roomName)"]
