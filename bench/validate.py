"""Benchmark: `reconcile validate` on 10,000 rooms, and `reconcile --help`.

Targets on the reference machine (2 cores): validate under 1.0 s, --help under 0.3 s.
Prints figures; asserts nothing. Run: python bench/validate.py [--rooms N] [--runs K]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROVIDERS = ("twilio", "telnyx", "signalwire", "metered", "kaleyra")


def room_lines(provider: str, index: int) -> list[str]:
    """One room, in the provider's own field names."""
    if provider == "twilio":
        return [f"      - unique_name: standup-{index}", "        max_participants: 10",
                "        empty_room_timeout: 10", "        video_codecs: [VP8, H264]"]
    if provider == "telnyx":
        return [f"      - unique_name: sync-{index}", "        max_participants: 20",
                "        enable_recording: true", "        webhook_timeout_secs: 10"]
    if provider == "signalwire":
        return [f"      - name: huddle-{index}", f"        display_name: Huddle {index}",
                "        max_members: 25", "        quality: 1080p", "        layout: 2x2"]
    if provider == "metered":
        return [f"      - roomName: desk-{index}", "        privacy: private",
                "        enableChat: true", "        maxParticipants: 8"]
    return [f"      - name: consult-{index}", "        recording: automatic",
            "        participants:", "          - {user_id: dr-lee, is_admin: true}",
            f"          - {{user_id: patient-{index}}}"]


def account_lines(provider: str) -> list[str]:
    head = {"twilio": ["    credentials:", "      account_sid: ${TWILIO_ACCOUNT_SID}",
                       "      auth_token: ${TWILIO_AUTH_TOKEN}"],
            "telnyx": ["    credentials:", "      api_key: ${TELNYX_API_KEY}"],
            "signalwire": ["    space: acme", "    credentials:",
                           "      project_id: ${SIGNALWIRE_PROJECT_ID}",
                           "      token: ${SIGNALWIRE_TOKEN}"],
            "metered": ["    app: acme", "    credentials:",
                        "      secret_key: ${METERED_SECRET_KEY}"],
            "kaleyra": ["    region: eu", "    credentials:",
                        "      api_key: ${KALEYRA_API_KEY}"]}
    return [f"  {provider}:", *head[provider], "    rooms:"]


def generate(rooms: int) -> str:
    lines = ["version: 1", "providers:"]
    for offset, provider in enumerate(PROVIDERS):
        lines += account_lines(provider)
        for index in range(offset, rooms, len(PROVIDERS)):
            lines += room_lines(provider, index)
    return "\n".join(lines) + "\n"


def run(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, child CPU seconds and child peak RSS (KiB) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0,):
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    reconcile = [sys.executable, "-m", "reconcile"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rooms.yaml"
        path.write_text(generate(options.rooms), encoding="utf-8")
        size = os.path.getsize(path)
        run([*reconcile, "validate", str(path)])  # warm the file cache and bytecode
        walls, cpus = [], []
        peak = 0
        for _ in range(options.runs):
            wall, cpu, peak = run([*reconcile, "validate", str(path)])
            walls.append(wall)
            cpus.append(cpu)
        helps = [run([*reconcile, "--help"])[0] for _ in range(options.runs)]
    print(f"validate: {options.rooms:,} rooms, {size / 1e6:.1f} MB, {options.runs} runs")
    print(f"  wall   median {statistics.median(walls):.3f} s   min {min(walls):.3f} s"
          "   (target < 1.0 s)")
    print(f"  cpu    median {statistics.median(cpus):.3f} s")
    print(f"  peak RSS of the slowest child: {peak / 1024:.0f} MiB")
    print(f"--help:  median {statistics.median(helps):.3f} s   min {min(helps):.3f} s"
          "   (target < 0.3 s)")


if __name__ == "__main__":
    main()
