"""Metered's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`), so adding a provider
adds a file like this one instead of an entry in each table."""

from __future__ import annotations

from reconcile.providers.metered.sandbox import SANDBOX

RTMP = "rtmp://live.example.com/app/STREAMKEY-4242"  # a sensitive value

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"maxParticipants": (20, 8), "enableChat": (True, False)},
    change=("maxParticipants", 30),
    in_place=True,
    rename_in_place=False,
    sessions=False,
)

# tests/commands/test_show.py: a live room's status, whether the API shows sessions
# and join URLs, what every room declares besides its key
SHOW = dict(
    status="live",
    sessions=False,
    urls=True,
    join_url="{root}/acme/{name}",  # the room's own page
)

# tests/commands/test_export.py: rooms seeded, and what their export declares
EXPORT = dict(
    seeded={
        "rooms": [
            {
                "roomName": "desk",
                "privacy": "private",
                "maxParticipants": 8,
                "enableChat": True,
                "enableWatermark": True,
            },  # not in the model: the provider keeps it, unexported
            {
                "roomName": "launch",
                "enableComposition": True,
                "enableRTMPOut": True,
                "rtmpOutURL": "rtmps://live.example.com/app/key",
                "expireUnixSec": 1900000000,
            },
            {"roomName": "plain", "privacy": "public", "joinVideoOn": True},
            {"roomName": "TeamSync"},  # mixed case (docs/providers/metered.md U12)
        ]
    },
    exported={
        "rooms": {
            "TeamSync": {},
            "desk": {"privacy": "private", "maxParticipants": 8, "enableChat": True},
            "launch": {
                "expireUnixSec": 1900000000,
                "enableComposition": True,
                "enableRTMPOut": True,
                "rtmpOutURL": "rtmps://live.example.com/app/key",
            },
            "plain": {},
        }
    },
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms (by kind where there are two)
DRIFT_ROOMS = (
    "      - {roomName: a, maxParticipants: 10, privacy: private}\n"
    "      - {roomName: b, enableChat: true}\n"
)

# tests/fuzz/test_fuzz_responses.py: a file applied once, then one changing every kind
# of thing (a changes, b stays, c is new, old-1 is pruned)
RESPONSES_BEFORE = (
    "      - {roomName: a, maxParticipants: 10}\n      - {roomName: b}\n      - {roomName: old-1}\n"
)

RESPONSES_AFTER = (
    "      - {roomName: a, maxParticipants: 12}\n      - {roomName: b}\n      - {roomName: c}\n"
)

# tests/outputs/scenario.py: room lines as first applied, then as edited
SCENARIO_FIRST = [
    "{roomName: m-keep}",
    "{roomName: m-update, maxParticipants: 10}",
    "{roomName: m-old}",
]

SCENARIO_SECOND = [
    "{roomName: m-keep}",
    f'{{roomName: m-update, maxParticipants: 20, enableRTMPOut: true, rtmpOutURL: "{RTMP}"}}',
    "{roomName: m-renamed, renamed_from: m-old}",
    "{roomName: m-new}",
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"\[0\]\.roomName is an integer, expected a string$",
    "missing_field": r"\[0\]\.roomName is missing",
    # one bare list: a repeat shows as a room listed twice, and there is no page to follow
    "loop": r"room \S+ comes twice in the list",
    "endless": None,
    "foreign_link": None,
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set, by kind
DRIFT_PATCHES = {
    "rooms": {
        "maxParticipants": [2, 10, 100],
        "enableChat": [True, False],
        "privacy": ["public", "private"],
    },
}

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account="acme",
    kind="rooms",
    seed={"roomName": "seeded"},
    list_path="/acme/api/v1/rooms?secretKey=" + SANDBOX.credentials[1],
)
OTHER_PROBE = dict(
    account="other",
    kind="rooms",
    seed={},
    list_path="/other/api/v1/rooms?secretKey=" + SANDBOX.credentials[1],
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS = {"app": "acme"}

# tests/sandbox/test_update_mode.py: an update in place under both of the sandbox's update
# modes (its declared field changes, nothing else does), and the raw calls of its switch
# test (paths from the emulator's root; auth as PROBE's)
UPDATE_MODE = dict(
    cases=[
        dict(kind="rooms",
             seeded={"roomName": "desk", "privacy": "private", "maxParticipants": 8,
                     "enableChat": True, "joinVideoOn": False, "lang": "de",
                     "endMeetingAfterNoActivityInSec": 300},
             declared="{roomName: desk, enableScreenSharing: false}",
             changed={"enableScreenSharing": False}),
    ],
    create=("/acme/api/v1/room?secretKey=" + SANDBOX.credentials[1], {"roomName": "fresh"}),
    update=("PUT", "/acme/api/v1/room/{key}?secretKey=" + SANDBOX.credentials[1],
            {"privacy": "public"}),
    unwrap=None,
)
