"""Benchmark: the engine (`reconcile plan` / `apply`) against the sandbox at 20 ms latency.

For N rooms spread over the five providers it measures an apply of all creates, a no-op
plan, a no-op apply and a plan with 1 % drift: HTTP requests by method beside the minimum
possible, wall time, CPU time and peak RSS of the `reconcile` process. Targets at
N = 10,000: the no-op plan makes only the minimum list requests, in under 2 s, and peak RSS
stays under 250 MB. Prints figures; asserts nothing.

Run: python bench/engine.py [--sizes 100 1000 10000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from sandbox import start_server  # noqa: E402 - bench/sandbox.py

from reconcile.sandbox.client import SandboxControl  # noqa: E402
from reconcile.sandbox.core import DEFAULT_CREDENTIALS  # noqa: E402

PROVIDERS = ("twilio", "telnyx", "signalwire", "metered", "kaleyra")
MAX_PAGE = {"twilio": 1000, "telnyx": 250, "signalwire": 1000, "metered": None}
ENVIRON = {
    "TWILIO_ACCOUNT_SID": DEFAULT_CREDENTIALS["twilio"][0],
    "TWILIO_AUTH_TOKEN": DEFAULT_CREDENTIALS["twilio"][1],
    "TELNYX_API_KEY": DEFAULT_CREDENTIALS["telnyx"][1],
    "SIGNALWIRE_PROJECT_ID": "bench", "SIGNALWIRE_TOKEN": DEFAULT_CREDENTIALS["signalwire"][1],
    "METERED_SECRET_KEY": DEFAULT_CREDENTIALS["metered"][1],
    "KALEYRA_API_KEY": DEFAULT_CREDENTIALS["kaleyra"][1],
}


def split(total: int) -> dict[str, int]:
    share, extra = divmod(total, len(PROVIDERS))
    return {p: share + (i < extra) for i, p in enumerate(PROVIDERS)}


def rooms_file(folder: Path, base: str, counts: dict[str, int]) -> Path:
    lines = ["version: 1", "providers:",
             "  twilio:", f"    endpoint: {base}/twilio",
             '    credentials: {account_sid: "${TWILIO_ACCOUNT_SID}",'
             ' auth_token: "${TWILIO_AUTH_TOKEN}"}',
             "    defaults: {unused_room_timeout: 60, empty_room_timeout: 60}",
             "    rooms:"]
    lines += [f"      - {{unique_name: standup-{i}, max_participants: 10}}"
              for i in range(counts["twilio"])]
    lines += ["  telnyx:", f"    endpoint: {base}/telnyx",
              '    credentials: {api_key: "${TELNYX_API_KEY}"}', "    rooms:"]
    lines += [f"      - {{unique_name: sync-{i}, max_participants: 20}}"
              for i in range(counts["telnyx"])]
    lines += ["  signalwire:", "    space: bench", f"    endpoint: {base}/signalwire/bench",
              '    credentials: {project_id: "${SIGNALWIRE_PROJECT_ID}",'
              ' token: "${SIGNALWIRE_TOKEN}"}', "    rooms:"]
    lines += [f"      - {{name: huddle-{i}, max_members: 25}}"
              for i in range(counts["signalwire"])]
    lines += ["  metered:", "    app: bench", f"    endpoint: {base}/metered/bench",
              '    credentials: {secret_key: "${METERED_SECRET_KEY}"}', "    rooms:"]
    lines += [f"      - {{roomName: desk-{i}, privacy: private}}"
              for i in range(counts["metered"])]
    lines += ["  kaleyra:", "    region: eu", f"    endpoint: {base}/kaleyra/eu",
              "    state: kaleyra-state.json",
              '    credentials: {api_key: "${KALEYRA_API_KEY}"}', "    rooms:"]
    lines += [f"      - {{name: consult-{i}, participants: [{{user_id: doc, is_admin: true}},"
              " {user_id: pat}]}" for i in range(counts["kaleyra"])]
    path = folder / "rooms.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Step:
    name: str
    wall: float
    cpu: float
    rss_mib: float
    requests: dict[str, int]
    minimum: str
    code: int


def run_step(name: str, args: list[str], control: SandboxControl, minimum: str) -> Step:
    control.clear_counters()
    # Logs go to a file: a pipe nobody reads until the end would fill and block the run.
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "reconcile", *args],
                                   stdout=subprocess.DEVNULL, stderr=log,
                                   env={**os.environ, **ENVIRON})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 2):
            log.seek(0)
            sys.exit(f"{name} failed ({code}): {log.read()[-2000:]}")
    counters = control.counters()
    return Step(name, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                dict(sorted(counters["methods"].items())), minimum, code)


def minimum_reads(counts: dict[str, int]) -> int:
    lists = sum(1 if page is None else max(1, math.ceil(counts[p] / page))
                for p, page in MAX_PAGE.items())
    # SignalWire lists conferences apart (none here: one request); Kaleyra has no list,
    # so one GET per recorded room.
    return lists + 1 + counts["kaleyra"]


def drift(control: SandboxControl, counts: dict[str, int]) -> int:
    """Change 1 % of the listable rooms out of band."""
    changed = 0
    targets = {"twilio": ("AC00000000000000000000000000000001", "standup-{}",
                          {"max_participants": 11}),
               "telnyx": ("KEYsandbox", "sync-{}", {"max_participants": 21}),
               "signalwire": ("bench", "huddle-{}", {"max_members": 26}),
               "metered": ("bench", "desk-{}", {"privacy": "public"})}
    for provider, (account, name, fields) in targets.items():
        for i in range(max(1, counts[provider] // 100)):
            control.patch_room(provider, account, "rooms", name.format(i), fields)
            changed += 1
    return changed


def bench(total: int, latency_ms: float) -> list[Step]:
    server, base = start_server(0, "--latency-ms", str(latency_ms))
    try:
        with tempfile.TemporaryDirectory() as folder, SandboxControl(base) as control:
            counts = split(total)
            path = str(rooms_file(Path(folder), base, counts))
            reads = minimum_reads(counts)
            steps = [run_step("apply, all creates", ["apply", "--auto-approve", path], control,
                              f"{reads - counts['kaleyra']} GET + {total} POST + 2 users"),
                     run_step("no-op plan", ["plan", path], control, f"{reads} GET"),
                     run_step("no-op apply", ["apply", "--auto-approve", path], control,
                              f"{reads} GET")]
            changed = drift(control, counts)
            steps.append(run_step(f"plan, 1% drift ({changed})", ["plan", path], control,
                                  f"{reads} GET"))
            return steps
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--latency-ms", type=float, default=20)
    options = parser.parse_args()
    print(f"{'N':>6}  {'step':<24} {'wall s':>7} {'cpu s':>6} {'RSS MiB':>8}"
          f"  requests (minimum)")
    for total in options.sizes:
        for step in bench(total, options.latency_ms):
            requests = ", ".join(f"{n} {m}" for m, n in step.requests.items()) or "none"
            print(f"{total:>6}  {step.name:<24} {step.wall:7.2f} {step.cpu:6.2f}"
                  f" {step.rss_mib:8.0f}  {requests} ({step.minimum})")


if __name__ == "__main__":
    main()
