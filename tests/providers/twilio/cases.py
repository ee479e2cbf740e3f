"""Twilio's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`), so adding a provider
adds a file like this one instead of an entry in each table."""

from __future__ import annotations

from reconcile.providers.twilio.sandbox import SANDBOX

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"max_participants": (20, 8), "empty_room_timeout": (10, 3)},
    change=("max_participants", 30),
    in_place=False,
    rename_in_place=False,
    sessions=True,
)

# tests/commands/test_show.py: a live room's status, whether the API shows sessions
# and join URLs, what every room declares besides its key
SHOW = dict(
    status="in-progress",
    sessions=True,
    urls=False,
)

# tests/commands/test_export.py: rooms seeded, and what their export declares
EXPORT = dict(
    seeded={
        "rooms": [
            {
                "unique_name": "standup",
                "max_participants": 12,
                "empty_room_timeout": 10,
                "status_callback": "https://hooks.example.com/video",
                "status_callback_method": "GET",
                "video_codecs": ["VP8", "H264"],
                "record_participants_on_connect": True,
                "recording_rules": [{"type": "include", "all": True}],
            },
            {"unique_name": "audio", "audio_only": True, "media_region": "de1"},
            {"unique_name": "small", "type": "group-small"},  # max_participants 4: its default
            {
                "unique_name": "defaults",
                "max_participants": 50,
                "media_region": "us1",
                "status_callback_method": "POST",
                "video_codecs": ["VP8"],
            },
            # No codecs outside an audio-only room: a file cannot say so (an empty list
            # asks for the default), so the field is left out, with a note.
            {"unique_name": "no-codecs", "video_codecs": [], "large_room": True},
            {},  # no name: Twilio names it after its sid, and nothing can declare it
            {"unique_name": "ended", "status": "completed"},
        ]
    },
    exported={
        "rooms": {
            "standup": {
                "max_participants": 12,
                "empty_room_timeout": 10,
                "status_callback": "https://hooks.example.com/video",
                "status_callback_method": "GET",
                "record_participants_on_connect": True,
                "recording_rules": [{"type": "include", "all": True}],
                "video_codecs": ["H264", "VP8"],
            },
            "audio": {"media_region": "de1", "audio_only": True},
            "small": {"type": "group-small"},
            "defaults": {},
            "no-codecs": {"large_room": True},
        }
    },
    notes=(
        "video_codecs: not exported: the provider's value does not read back as written",
        "unnamed rooms left out: 1 (only a room with a key can be declared)",
        "transcriptions_configuration is never exported: no Twilio read shows it",
    ),
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms (by kind where there are two)
DRIFT_ROOMS = (
    "      - {unique_name: a, max_participants: 10}\n"
    "      - {unique_name: b, max_participants: 20, unused_room_timeout: 10}\n"
)

# tests/fuzz/test_fuzz_responses.py: a file applied once, then one changing every kind
# of thing (a changes, b stays, c is new, old-1 is pruned)
RESPONSES_BEFORE = (
    "      - {unique_name: a, max_participants: 10}\n      - {unique_name: b}\n"
    "      - {unique_name: old-1}\n"
)

RESPONSES_AFTER = (
    "      - {unique_name: a, max_participants: 12}\n      - {unique_name: b}\n"
    "      - {unique_name: c}\n"
)

# tests/outputs/scenario.py: room lines as first applied, then as edited
SCENARIO_FIRST = [
    "{unique_name: t-keep}",
    "{unique_name: t-change, max_participants: 10}",
    "{unique_name: t-busy, max_participants: 10}",
    "{unique_name: x-old}",
    "{unique_name: other}",
]

SCENARIO_SECOND = [
    "{unique_name: t-keep}",
    "{unique_name: t-change, max_participants: 12, prevent_destroy: GUARD}",
    "{unique_name: t-busy, max_participants: 12}",
    "{unique_name: t-new}",
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"rooms\[0\]\.unique_name is an integer, expected a string or null",
    "missing_field": r"rooms\[0\]\.sid \(of room 'hostile-a'\) is missing",
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set, by kind
DRIFT_PATCHES = {"rooms": {"max_participants": [2, 10, 50], "unused_room_timeout": [5, 10]}}

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account=SANDBOX.credentials[0],
    kind="rooms",
    seed={"unique_name": "seeded"},
    list_path="/v1/Rooms",
    auth=SANDBOX.credentials,
)
OTHER_PROBE = dict(
    account="AC2",
    kind="rooms",
    seed={},
    list_path="/v1/Rooms",
    auth=("AC2", "t2"),
    register=("AC2", "t2"),
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS = {}

# tests/sandbox/test_update_mode.py: Twilio updates nothing in place
UPDATE_MODE = dict(cases=[])
