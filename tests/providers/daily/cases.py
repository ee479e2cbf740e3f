"""Daily's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`)."""

from __future__ import annotations

from reconcile.providers.daily.emulator import domain_of
from reconcile.providers.daily.sandbox import API_KEY

STREAM = "rtmps://live.example.com/app/STREAMKEY-4242"  # a sensitive value

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"max_participants": (20, 8), "enable_chat": (True, False)},
    change=("max_participants", 30),
    in_place=True,
    rename_in_place=False,
    sessions=False,
    first_reason="not found or expired",  # U9: no read tells the two apart
    gone_reason="not found or expired",
    new_reason="not found or expired",
)

# tests/commands/test_show.py: a live room's status, whether the API shows sessions
# and join URLs, what every room declares besides its key
SHOW = dict(
    status="live",
    sessions=False,
    urls=True,
    join_url=f"https://{domain_of(API_KEY)}.daily.co/{{name}}",  # the room's `url`
)

# tests/commands/test_export.py: rooms seeded (create bodies), and what their export declares
EXPORT = dict(
    seeded={
        "rooms": [
            {"name": "desk", "privacy": "private",
             "properties": {"max_participants": 8, "enable_chat": True,
                            "autojoin": True}},  # a legacy key: kept by Daily, unexported
            {"name": "plain", "privacy": "public",
             "properties": {"max_participants": 200, "enable_screenshare": True}},
            {"name": "Town_Hall", "properties": {"lang": "de", "permissions": {
                "canSend": ["audio"]}}},
        ]
    },
    exported={
        "rooms": {
            "Town_Hall": {"lang": "de", "permissions": {"canSend": ["audio"]}},
            "desk": {"privacy": "private", "max_participants": 8, "enable_chat": True},
            "plain": {},
        }
    },
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms
DRIFT_ROOMS = (
    "      - {name: a, max_participants: 10, privacy: private}\n"
    "      - {name: b, enable_chat: true}\n"
)

# tests/fuzz/test_fuzz_responses.py: a file applied once, then one changing every kind
# of thing (a changes, b stays, c is new, old-1 is pruned)
RESPONSES_BEFORE = (
    "      - {name: a, max_participants: 10}\n      - {name: b}\n      - {name: old-1}\n"
)

RESPONSES_AFTER = (
    "      - {name: a, max_participants: 12}\n      - {name: b}\n      - {name: c}\n"
)

# tests/outputs/scenario.py: room lines as first applied, then as edited
SCENARIO_FIRST = [
    "{name: d-keep}",
    "{name: d-update, max_participants: 10}",
    "{name: d-old}",
]

SCENARIO_SECOND = [
    "{name: d-keep}",
    "{name: d-update, max_participants: 20, streaming_endpoints: [{name: live, type: rtmp,"
    f' rtmp_config: {{url: "{STREAM}"}}}}]}}',
    "{name: d-renamed, renamed_from: d-old}",
    "{name: d-new}",
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"data\[0\]\.name is an integer, expected a string$",
    "missing_field": r"data\[0\]\.id \(of room 'hostile-a'\) is missing",
    # cursor pages: a full page that repeats, or full pages of new rooms forever
    "loop": r"the pages loop: a second page ends at room hostile-loop-\d+",
    "endless": r"the list goes on past 20 pages; refusing to follow",
    "foreign_link": None,
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set
DRIFT_PATCHES = {
    "rooms": {
        "max_participants": [2, 10, 200],
        "enable_chat": [True, False],
        "privacy": ["public", "private"],
    },
}

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account=API_KEY,
    kind="rooms",
    seed={"name": "seeded"},
    list_path="/v1/rooms",
    headers={"Authorization": f"Bearer {API_KEY}"},
)
OTHER_PROBE = dict(
    account="KEY2",
    kind="rooms",
    seed={},
    list_path="/v1/rooms",
    headers={"Authorization": "Bearer KEY2"},
    register=("KEY2", "KEY2"),
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS: dict[str, str] = {}

# tests/sandbox/test_update_mode.py: an update in place under both of the sandbox's update
# modes (its declared field changes, nothing else does), and the raw calls of its switch
# test (paths from the emulator's root; auth as PROBE's). `privacy` is the changed field:
# the one setting outside `properties`, so the raw update can name it at the top level;
# the seeded properties sit beside it (seed takes them as stored), and the switch test
# reads them from the answer's `config`.
UPDATE_MODE = dict(
    cases=[
        dict(kind="rooms",
             seeded={"name": "desk", "privacy": "public", "max_participants": 8,
                     "enable_chat": True, "lang": "de", "start_video_off": True},
             declared="{name: desk, privacy: private}",
             changed={"privacy": "private"}),
    ],
    create=("/v1/rooms", {}),
    update=("POST", "/v1/rooms/{key}", {}),
    unwrap="config",
)
