"""Kaleyra's data for the shared tests: each shared per-provider table is built from every
registered provider's `cases.py` (tests/conftest.py `per_provider`), so adding a provider
adds a file like this one instead of an entry in each table."""

from __future__ import annotations

PARTICIPANTS = "participants: [{user_id: dr-lee, is_admin: true}, {user_id: patient-42}]"
PAIR = "participants: [{user_id: doc, is_admin: true}, {user_id: pat}]"
DESCRIPTION = "Dr Lee sees patient 42 about their results"  # a sensitive value
# rooms applied before the export (only the state file knows Kaleyra's rooms)
EXPORT_APPLIED = """\
      - name: consult
        recording: automatic
        duration: 3600
        call_type: audio_upgradable
        no_ringing: true
        offline_transcription: true
        summarization: true
        description: "Follow-up, patient 42"
        participants:
          - {user_id: dr-lee, is_admin: true}
          - {user_id: patient-42, tools: {chat: true, whiteboard: false}}
      - name: plain
        participants: [{user_id: nurse-kim, is_admin: true}, {user_id: patient-7}]
"""

# tests/commands/test_engine_matrix.py: what its tests need to know (see its Facts)
ENGINE = dict(
    fields={"duration": (3600, 600), "no_ringing": (True, False)},
    change=("duration", 7200),
    in_place=False,
    rename_in_place=False,
    sessions=False,
    drift_visible=False,
    new_join_urls=True,
    first_reason="not found (no state file)",
    gone_reason="missing: room_id {id} not found",
    extra=(
        "    defaults: {participants: [{user_id: dr-lee, is_admin: true}, {user_id: patient-42}]}\n"
    ),
)

# tests/commands/test_show.py: a live room's status, whether the API shows sessions
# and join URLs, what every room declares besides its key
SHOW = dict(
    status="live",
    sessions=False,
    urls=True,
    more=PARTICIPANTS,
)

# tests/commands/test_export.py: rooms seeded, and what their export declares
EXPORT = dict(
    seeded={},
    exported={
        "rooms": {
            "consult": {
                "recording": "automatic",
                "duration": 3600,
                "call_type": "audio_upgradable",
                "no_ringing": True,
                "participants": [
                    {"user_id": "dr-lee", "is_admin": True},
                    {"user_id": "patient-42", "tools": {"chat": True}},
                ],
                "offline_transcription": True,
                "summarization": True,
            },
            "plain": {
                "participants": [
                    {"user_id": "nurse-kim", "is_admin": True},
                    {"user_id": "patient-7"},
                ]
            },
        }
    },
    notes=(
        "description: not exported",
        "description is never exported: the state file keeps only its digest",
    ),
    declared=EXPORT_APPLIED,
)

# tests/fuzz/test_fuzz_drift.py: the declared rooms (by kind where there are two)
DRIFT_ROOMS = f"      - {{name: a, {PAIR}}}\n      - {{name: b, recording: manual, {PAIR}}}\n"

# tests/fuzz/test_fuzz_responses.py: a file applied once, then one changing every kind
# of thing (a changes, b stays, c is new, old-1 is pruned)
RESPONSES_BEFORE = (
    f"      - {{name: a, {PAIR}}}\n      - {{name: b, {PAIR}}}\n"
    f"      - {{name: old-1, {PAIR}}}\n"
)

RESPONSES_AFTER = (
    f"      - {{name: a, recording: manual, {PAIR}}}\n"
    f"      - {{name: b, {PAIR}}}\n      - {{name: c, {PAIR}}}\n"
)

# tests/outputs/scenario.py: room lines as first applied, then as edited
SCENARIO_FIRST = ["{name: k-keep}", "{name: k-change, duration: 3600}"]

SCENARIO_SECOND = [
    "{name: k-keep}",
    "{name: k-change, duration: 7200}",
    f'{{name: k-new, recording: automatic, description: "{DESCRIPTION}"}}',
]

# tests/engine/test_hostile.py: what a hostile mode's answer ends in, where this provider's
# differs (None: it plans normally, its API having no such thing)
HOSTILE = {
    "wrong_type": r"participants is a string, expected an array or null",
    "missing_field": r"room_id is missing",
    # no list call: nothing pages
    "loop": None,
    "endless": None,
    "foreign_link": None,
}

# tests/fuzz/test_fuzz_drift.py: values an out-of-band edit may set, by kind
DRIFT_PATCHES = {}  # its rooms are immutable: nothing to patch behind the tool's back

# tests/sandbox/conftest.py: how to reach the emulator (a Probe), and a second account
PROBE = dict(
    account="ak_live_sandbox",
    kind="users",
    seed={"user_id": "seeded", "role": "basic"},
    list_path="/eu/v2/users",
    headers={"apikey": "ak_live_sandbox"},
)
OTHER_PROBE = dict(
    account="ak_2",
    kind="users",
    seed={},
    list_path="/eu/v2/users",
    headers={"apikey": "ak_2"},
    register=("ak_2", "ak_2"),
)

# tests/test_starter.py: the account's locators, from the models' examples
LOCATORS = {"region": "eu"}

# tests/sandbox/test_update_mode.py: Kaleyra updates nothing in place
UPDATE_MODE = dict(cases=[])
