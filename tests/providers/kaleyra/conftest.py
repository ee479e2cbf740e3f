"""Shared by the Kaleyra state file's tests: participants with secret join URLs, a
saved two-room file, the state path, and a child Python process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconcile.providers.kaleyra.state import (
    KaleyraState,
    ParticipantUrl,
    locked,
)

ROOT = Path(__file__).resolve().parents[3]
URL_A = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/SECRETaaaaaaaaaaaaaaa"
URL_B = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/SECRETbbbbbbbbbbbbbbb"
CREATED = "2024-05-01T12:00:00Z"


def participants() -> list[ParticipantUrl]:
    return [ParticipantUrl("dr-lee", URL_A), ParticipantUrl("patient-42", URL_B)]


def saved_state(path: Path, account: str = "kaleyra") -> KaleyraState:
    """A file with two rooms, written the way apply writes it."""
    with locked(path, 0):
        state = KaleyraState.load(path, account)
        state.put("consult-42", room_id="room_0123456789ab", participants=participants(),
                  settings={"recording": "automatic", "duration": 3600},
                  created_at=CREATED)
        state.put("b-room", room_id="room_ba9876543210", participants=participants(),
                  settings={"call_type": "audio_only"}, created_at=CREATED)
        state.save()
    return state


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".reconcile" / "kaleyra-kaleyra.json"


def run_child(script: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
