"""SignalWire's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`), so adding a provider
adds a file like this one instead of an entry in each table."""

from __future__ import annotations

from reconcile.providers.signalwire.sandbox import SANDBOX

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"max_members": (20, 8), "description": ("daily", "moved")},
    change=("max_members", 30),
    in_place=True,
    rename_in_place=False,
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
            {
                "name": "huddle",
                "display_name": "Huddle",
                "max_members": 40,
                "layout": "2x2",
                "meta": {"team": "platform", "cost": 4711},
                "record_on_start": True,
                # a provider's ${ is text, not a reference: written $${ in the file
                "description": "Costs ${5} a minute",
            },
            {
                "name": "window",
                "join_from": "2026-12-01",
                "join_until": "2026-12-02T10:00:00+02:00",
                "quality": "1080p",
            },
            {"name": "plain", "display_name": "plain", "max_members": 20},
            {"name": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"},  # unreachable by name
        ],
        "conferences": [
            {
                "name": "all-hands",
                "display_name": "All hands",
                "size": "large",
                "enable_chat": False,
                "dark_primary": "#112233",
            },
            {"name": "conf-plain", "display_name": "conf-plain"},
        ],
    },
    exported={
        "rooms": {
            "huddle": {
                "display_name": "Huddle",
                "description": "Costs ${5} a minute",
                "layout": "2x2",
                "record_on_start": True,
                "max_members": 40,
                "meta": {"team": "platform", "cost": 4711},
            },
            "window": {
                "quality": "1080p",
                "join_from": "2026-12-01T00:00:00Z",
                "join_until": "2026-12-02T08:00:00Z",
            },
            "plain": {},
        },
        "conferences": {
            "all-hands": {
                "display_name": "All hands",
                "size": "large",
                "enable_chat": False,
                "dark_primary": "#112233",
            },
            "conf-plain": {},
        },
    },
    skipped={"rooms": ["1b4e28ba-2fa1-11d2-883f-0016d3cca427"]},
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms (by kind where there are two)
DRIFT_ROOMS = {
    "rooms": "      - {name: a, max_members: 10, display_name: A}\n      - {name: b}\n",
    "conferences": "      - {name: a, display_name: Conf, enable_chat: true}\n",
}

# tests/fuzz/test_fuzz_responses.py: a file applied once, then one changing every kind
# of thing (a changes, b stays, c is new, old-1 is pruned)
RESPONSES_BEFORE = {
    "rooms": "      - {name: a, max_members: 10}\n      - {name: old-1}\n",
    "conferences": "      - {name: b, display_name: B}\n",
}

RESPONSES_AFTER = {
    "rooms": "      - {name: a, max_members: 12}\n      - {name: c}\n",
    "conferences": "      - {name: b, display_name: Bee}\n",
}

# tests/outputs/scenario.py: room lines as first applied, then as edited
SCENARIO_FIRST = ["{name: s-keep}", "{name: s-update, max_members: 10}", "{name: s-old}"]

SCENARIO_SECOND = [
    "{name: s-keep}",
    '{name: s-update, max_members: 20, description: "Team | weekly"}',
    "{name: s-renamed, renamed_from: s-old}",
    "{name: s-new}",
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"data\[0\]\.name is an integer, expected a string$",
    "missing_field": r"data\[0\]\.id \(of room 'hostile-a'\) is missing",
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set, by kind
DRIFT_PATCHES = {
    "rooms": {"max_members": [2, 10, 100], "display_name": ["A", "Other"]},
    "conferences": {"display_name": ["Conf", "Other"], "enable_chat": [True, False]},
}

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account="acme",
    kind="rooms",
    seed={"name": "seeded"},
    list_path="/acme/api/video/rooms",
    auth=("project", SANDBOX.credentials[1]),
)
OTHER_PROBE = dict(
    account="other",
    kind="rooms",
    seed={},
    list_path="/other/api/video/rooms",
    auth=("project", SANDBOX.credentials[1]),
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS = {"space": "acme"}

# tests/sandbox/test_update_mode.py: an update in place under both of the sandbox's update
# modes (its declared field changes, nothing else does), and the raw calls of its switch
# test (paths from the emulator's root; auth as PROBE's)
UPDATE_MODE = dict(
    cases=[
        dict(kind="rooms",
             seeded={"name": "huddle", "display_name": "Huddle", "max_members": 40,
                     "layout": "2x2", "record_on_start": True, "description": "Weekly",
                     "meta": {"team": "a"}, "enable_room_previews": True},
             declared="{name: huddle, quality: 1080p}", changed={"quality": "1080p"}),
        dict(kind="conferences",
             seeded={"name": "all-hands", "display_name": "All hands", "size": "large",
                     "enable_chat": False, "record_on_start": True,
                     "dark_primary": "#112233"},
             declared="{name: all-hands, quality: 1080p}", changed={"quality": "1080p"}),
    ],
    create=("/acme/api/video/rooms", {"name": "fresh"}),
    update=("PUT", "/acme/api/video/rooms/{id}", {}),
    unwrap=None,
)
