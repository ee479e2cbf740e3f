"""Telnyx's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`), so adding a provider
adds a file like this one instead of an entry in each table."""

from __future__ import annotations

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"max_participants": (20, 8), "enable_recording": (True, False)},
    change=("max_participants", 30),
    in_place=True,
    rename_in_place=True,
    sessions=True,
)

# tests/commands/test_show.py: a live room's status, whether the API shows sessions
# and join URLs, what every room declares besides its key
SHOW = dict(
    status="live",
    sessions=True,
    urls=False,
)

# tests/commands/test_export.py: rooms seeded, and what their export declares
EXPORT = dict(
    seeded={
        "rooms": [
            {"unique_name": "big", "max_participants": 40, "enable_recording": True},
            {
                "unique_name": "hooks",
                "webhook_event_url": "https://hooks.example.com/a",
                "webhook_event_failover_url": "https://hooks.example.com/b",
                "webhook_timeout_secs": 20,
            },
            {"unique_name": "plain", "max_participants": 10, "enable_recording": False},
        ]
    },
    exported={
        "rooms": {
            "big": {"max_participants": 40, "enable_recording": True},
            "hooks": {
                "webhook_event_url": "https://hooks.example.com/a",
                "webhook_event_failover_url": "https://hooks.example.com/b",
                "webhook_timeout_secs": 20,
            },
            "plain": {},
        }
    },
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms (by kind where there are two)
DRIFT_ROOMS = (
    "      - {unique_name: a, max_participants: 10, enable_recording: false}\n"
    "      - {unique_name: b, max_participants: 20}\n"
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
    "{unique_name: n-keep}",
    "{unique_name: n-update, max_participants: 10}",
    "{unique_name: x-gone}",
]

SCENARIO_SECOND = [
    "{unique_name: n-keep}",
    "{unique_name: n-update, max_participants: 20}",
    "{unique_name: n-new, enable_recording: true}",
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"data\[0\]\.unique_name is an integer, expected a string or null",
    "missing_field": r"data\[0\]\.id \(of room 'hostile-a'\) is missing",
    # numbered pages have no links: a repeat shows as a room listed twice
    "loop": r"room \S+ comes twice in the list: its pages repeat",
    "endless": r"meta\.total_pages says 1,000,000,000 pages, past the 20-page cap",
    "foreign_link": None,
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set, by kind
DRIFT_PATCHES = {"rooms": {"max_participants": [2, 10, 50], "enable_recording": [True, False]}}

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account="KEYsandbox",
    kind="rooms",
    seed={"unique_name": "seeded"},
    list_path="/v2/rooms",
    headers={"Authorization": "Bearer KEYsandbox"},
)
OTHER_PROBE = dict(
    account="KEY2",
    kind="rooms",
    seed={},
    list_path="/v2/rooms",
    headers={"Authorization": "Bearer KEY2"},
    register=("KEY2", "KEY2"),
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS = {}

# tests/sandbox/test_update_mode.py: an update in place under both of the sandbox's update
# modes (its declared field changes, nothing else does), and the raw calls of its switch
# test (paths from the emulator's root; auth as PROBE's)
UPDATE_MODE = dict(
    cases=[
        dict(kind="rooms",
             seeded={"unique_name": "standup", "max_participants": 20,
                     "enable_recording": True,
                     "webhook_event_url": "https://hooks.example.com/a",
                     "webhook_event_failover_url": "https://hooks.example.com/b",
                     "webhook_timeout_secs": 7},
             declared="{unique_name: standup, max_participants: 30}",
             changed={"max_participants": 30}),
    ],
    create=("/v2/rooms", {}),
    update=("PATCH", "/v2/rooms/{id}", {}),
    unwrap="data",
)
