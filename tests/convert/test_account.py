"""A whole account converted: defaults factored out, prune and portable settings carried
where they mean the same, credentials named for the target, every finding located."""

from __future__ import annotations

from reconcile.convert.account import Conversion, Target, convert_account, credential_references
from reconcile.convert.mapping import Outcome
from reconcile.loader import load_text

NOW = 1_800_000_000


def converted(accounts: str, alias: str, target: Target) -> Conversion:
    document = load_text(f"version: 1\nproviders:\n{accounts}", "rooms.yaml")
    assert not document.diagnostics
    return convert_account(document, alias, target, NOW)


TWILIO = """\
  old:
    type: twilio
    endpoint: http://127.0.0.1:9/twilio
    concurrency: 4
    safety: {max_destroy_percent: 10}
    prune: {match: "team-*"}
    credentials: {account_sid: "${A}", auth_token: "${B}"}
    defaults:
      max_participants: 10
      status_callback: https://hooks.example.com/v
      video_codecs: [VP8]
    rooms:
      - unique_name: team-a
      - unique_name: team-b
        max_participants: 20
        media_region: de1
"""


def test_defaults_become_the_targets_and_rooms_keep_what_differs() -> None:
    result = converted(TWILIO, "old", Target("telnyx", "rooms", "new", {}))
    assert result.settings == {
        "type": "telnyx", "credentials": {"api_key": "${TELNYX_API_KEY}"},
        "concurrency": 4, "safety": {"max_destroy_percent": 10},
        "prune": {"match": "team-*"},
        "defaults": {"max_participants": 10,
                     "webhook_event_url": "https://hooks.example.com/v"}}
    assert result.rooms == [{"unique_name": "team-a"},
                            {"unique_name": "team-b", "max_participants": 20}]
    # What comes from the defaults is said once, above them; the rest beside its room.
    assert any("`video_codecs` has no equivalent" in n and "rooms.yaml:13:7" in n
               for n in result.notes)
    assert any("`endpoint` is not carried" in n for n in result.notes)
    assert result.comments[0] == []
    assert result.comments[1] == ["dropped: `media_region: de1`: no equivalent on telnyx"
                                  " (rooms.yaml:18:9)"]
    assert [(str(f.location), f.outcome) for f in result.losing] == [
        ("rooms.yaml:13:7", Outcome.DROPPED), ("rooms.yaml:18:9", Outcome.DROPPED)]


def test_a_prune_pattern_the_target_cannot_match_is_not_carried() -> None:
    accounts = TWILIO.replace('"team-*"', '"team.*"').replace("team-", "team.")
    result = converted(accounts, "old", Target("metered", "rooms", "new", {"app": "x"}))
    assert "prune" not in result.settings
    assert any(f.outcome is Outcome.DROPPED and "prune pattern `team.*`" in f.message
               and str(f.location) == "rooms.yaml:8:13" for f in result.findings)
    assert [room["roomName"] for room in result.rooms] == ["team-a", "team-b"]  # suggested
    assert result.settings["app"] == "x"


def test_defaults_of_two_kinds_keep_only_what_both_agree_on() -> None:
    accounts = """\
  sw:
    type: signalwire
    space: acme
    credentials: {project_id: "${P}", token: "${T}"}
    defaults: {max_members: 30, record_on_start: true}
    rooms: [{name: a}]
    conferences: [{name: b}]
"""
    result = converted(accounts, "sw", Target("metered", "rooms", "m", {"app": "x"}))
    defaults = result.settings["defaults"]
    assert defaults["recordRoom"] is True and "maxParticipants" not in defaults
    room, conference = result.rooms
    assert (room["maxParticipants"], room["enableChat"]) == (30, False)
    # A conference is medium (50) and has chat unless told otherwise.
    assert (conference["maxParticipants"], conference["enableChat"]) == (50, True)


def test_credentials_are_named_for_the_target() -> None:
    assert credential_references("signalwire") == {"project_id": "${SIGNALWIRE_PROJECT_ID}",
                                                   "token": "${SIGNALWIRE_TOKEN}"}
    assert credential_references("twilio") == {"account_sid": "${TWILIO_ACCOUNT_SID}",
                                               "auth_token": "${TWILIO_AUTH_TOKEN}"}


def test_the_new_account_reads_references_no_other_account_reads() -> None:
    """Two accounts reading the same variables would be one provider account declared
    twice (refused at load): the new account gets variables of its own, and a note names
    the account that reads the usual ones."""
    accounts = """\
  old:
    type: twilio
    credentials: {account_sid: "${A}", auth_token: "${B}"}
    prune: {match: "*"}
    rooms: [{unique_name: team-new}, {unique_name: lobby}]
  telnyx:
    credentials: {api_key: "${TELNYX_API_KEY}"}
    prune: {match: "team-*"}
    rooms: [{unique_name: team-old}]
  elsewhere:
    type: telnyx
    credentials: {api_key: "${NEW_API_KEY}"}
    prune: {match: "*"}
"""
    result = converted(accounts, "old", Target("telnyx", "rooms", "new", {}))
    assert result.losing == []
    # TELNYX_API_KEY is telnyx's, NEW_API_KEY elsewhere's: the next free name.
    assert result.settings["credentials"] == {"api_key": "${NEW_2_API_KEY}"}
    assert result.settings["prune"] == {"match": "*"}
    assert any("account `telnyx` already reads ${TELNYX_API_KEY}; the new account reads"
               " ${NEW_2_API_KEY}" in note for note in result.notes)
    alone = converted(accounts.replace("TELNYX_API_KEY", "OTHER"), "old",
                      Target("telnyx", "rooms", "telnyx-video", {}))
    assert alone.settings["credentials"] == {"api_key": "${TELNYX_API_KEY}"}
    assert not any("already reads" in note for note in alone.notes)


def test_a_new_account_named_as_its_type_is_told_apart_by_its_source() -> None:
    accounts = """\
  old:
    type: twilio
    credentials: {account_sid: "${A}", auth_token: "${B}"}
    rooms: [{unique_name: lobby}]
  eu:
    type: telnyx
    credentials: {api_key: "${TELNYX_API_KEY}"}
"""
    result = converted(accounts, "old", Target("telnyx", "rooms", "telnyx", {}))
    assert result.settings["credentials"] == {"api_key": "${TELNYX_OLD_API_KEY}"}
