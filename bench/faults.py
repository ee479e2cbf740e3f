"""Benchmark: how many applies converge under injected faults, and what they leave behind.

For each seed it starts a fresh sandbox (seeded with it), writes a rooms file of `--rooms`
rooms over the five providers (as bench/engine.py does), seeds a few rooms the file does
not declare, and turns on faults at every provider at `--rate`: 5xx errors, 429 bursts
with Retry-After, and commit-then-fail with the reply dropped or held past the client's
timeout. Then it runs `reconcile apply --auto-approve` until a plan, made with the faults
off, shows no change (at most `--max-applies` times) and prints, per seed:

- applies: how many applies until the plan showed no change (per provider, the first apply
  after which that provider had none);
- dups: live rooms beyond one per declared name at Twilio, Telnyx, SignalWire and Metered;
- lost: declared rooms with no live room (Kaleyra: none recorded, or the recorded one gone);
- unrec: live Kaleyra rooms its state file does not record (duplicates nothing can find);
- uncert: Kaleyra creates the state file keeps as uncertain (every plan names each, with
  its time); "silent": unrecorded Kaleyra rooms beyond those, orphaned with no word;
- touched: undeclared rooms changed or deleted.

Prints figures; asserts nothing.

Run: python bench/faults.py [--rooms 500] [--rate 0.1] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from engine import ENVIRON, PROVIDERS, rooms_file, split  # noqa: E402 - bench/engine.py
from sandbox import start_server  # noqa: E402 - bench/sandbox.py

from reconcile.sandbox.client import SandboxControl  # noqa: E402

# The store's account of each provider, the name field, and the names bench/engine.py's
# rooms file declares.
ACCOUNTS = {"twilio": "AC00000000000000000000000000000001", "telnyx": "KEYsandbox",
            "signalwire": "bench", "metered": "bench", "kaleyra": "ak_live_sandbox"}
NAME_FIELD = {"twilio": "unique_name", "telnyx": "unique_name", "signalwire": "name",
              "metered": "roomName"}
PREFIX = {"twilio": "standup", "telnyx": "sync", "signalwire": "huddle", "metered": "desk",
          "kaleyra": "consult"}
NAMED = tuple(NAME_FIELD)
STATE = "kaleyra-state.json"  # the rooms file's `state:` for Kaleyra
CLIENT_TIMEOUT_S = 30  # reconcile's read timeout: a reply held longer is lost to it


@dataclass
class Result:
    seed: int
    applies: int | None = None  # None: not converged within --max-applies
    per_provider: dict[str, int | None] = field(default_factory=dict)
    duplicates: int = 0
    lost: int = 0
    kaleyra_unrecorded: int = 0
    uncertain: int = 0
    touched: int = 0
    wall_s: float = 0.0
    exits: list[int] = field(default_factory=list)


def faults(rate: float, delay_s: float, seed: int) -> dict[str, Any]:
    """Each kind of fault at `rate`; a commit-then-fail drops or holds its reply, evenly.
    Each apply needs a seed of its own: setting faults restarts their sequence, and the
    same draws would strike the same few requests left to a later apply every time."""
    return {"error_rate": rate, "burst_429": {"rate": rate, "length": 3, "retry_after": 1},
            "commit_then_fail": {"rate": rate, "mode": "mixed", "delay_s": delay_s},
            "seed": seed}


def seed_undeclared(control: SandboxControl, count: int) -> None:
    """Rooms the file does not declare: no apply may touch them."""
    for provider in NAMED:
        control.seed(provider, ACCOUNTS[provider], "rooms",
                     [{NAME_FIELD[provider]: f"other-{i}"} for i in range(count)])
    users = [{"user_id": "other-a", "role": "plus"}, {"user_id": "other-b", "role": "basic"}]
    control.seed("kaleyra", ACCOUNTS["kaleyra"], "users", users)
    people = [{"user_id": user["user_id"]} for user in users]
    control.seed("kaleyra", ACCOUNTS["kaleyra"], "rooms",
                 [{"description": f"other-{i}", "participants": people} for i in range(count)])


def snapshot(control: SandboxControl) -> dict[tuple[str, str], Any]:
    """Every live room, by provider and id."""
    return {(provider, room["id"]): room["data"] for provider in PROVIDERS
            for room in control.rooms(provider, ACCOUNTS[provider], "rooms", live=True)}


def reconcile(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconcile", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **ENVIRON})


def unconverged(path: Path) -> set[str] | None:
    """The providers a plan (faults off) still has changes for; None if it failed."""
    done = reconcile("plan", "--format", "json", str(path), cwd=path.parent)
    if done.returncode != 0:
        print(f"  plan failed ({done.returncode}): {done.stderr[-500:]}", file=sys.stderr)
        return None
    return {change["provider"] for change in json.loads(done.stdout)["changes"]}


def count(result: Result, control: SandboxControl, counts: dict[str, int],
          before: dict[tuple[str, str], Any], folder: Path) -> None:
    """Duplicates, lost rooms, unrecorded Kaleyra rooms and undeclared rooms touched."""
    now = snapshot(control)
    result.touched = sum(1 for key, data in before.items() if now.get(key) != data)
    for provider in NAMED:
        names = Counter(data.get(NAME_FIELD[provider]) for (p, _), data in now.items()
                        if p == provider)
        declared = [f"{PREFIX[provider]}-{i}" for i in range(counts[provider])]
        result.duplicates += sum(names[name] - 1 for name in declared if names[name] > 1)
        result.lost += sum(1 for name in declared if not names[name])
    state = json.loads((folder / STATE).read_text()) if (folder / STATE).exists() else {}
    rooms = state.get("rooms", {})
    recorded = {entry["room_id"] for entry in rooms.values()}
    live = {key[1] for key in now if key[0] == "kaleyra"}
    seeded = {key[1] for key in before if key[0] == "kaleyra"}
    result.lost += sum(1 for i in range(counts["kaleyra"])
                       if rooms.get(f"consult-{i}", {}).get("room_id") not in live)
    result.kaleyra_unrecorded = len(live - recorded - seeded)
    result.uncertain = len(state.get("uncertain_creates", []))


def run_seed(seed: int, total: int, rate: float, *, max_applies: int, delay_s: float,
             undeclared: int) -> Result:
    result = Result(seed)
    started = time.perf_counter()
    server, base = start_server(seed)
    try:
        with tempfile.TemporaryDirectory() as name, SandboxControl(base) as control:
            folder = Path(name)
            counts = split(total)
            path = rooms_file(folder, base, counts)
            seed_undeclared(control, undeclared)
            before = snapshot(control)
            pending: set[str] = set(PROVIDERS)
            for number in range(1, max_applies + 1):
                for provider in PROVIDERS:
                    control.set_faults(provider, faults(rate, delay_s, seed * 1000 + number))
                done = reconcile("apply", "--auto-approve", str(path), cwd=folder)
                result.exits.append(done.returncode)
                for provider in PROVIDERS:
                    control.clear_faults(provider)
                left = unconverged(path)
                if left is None:
                    continue
                for provider in pending - left:
                    result.per_provider[provider] = number
                pending &= left
                if not pending:
                    result.applies = number
                    break
            for provider in pending:
                result.per_provider[provider] = None
            count(result, control, counts, before, folder)
    finally:
        server.terminate()
        server.wait(timeout=15)
    result.wall_s = time.perf_counter() - started
    return result


def show(applies: int | None) -> str:
    return "-" if applies is None else str(applies)


def print_table(results: list[Result]) -> None:
    providers = " ".join(f"{p[:6]:>6}" for p in PROVIDERS)
    print(f"\n{'seed':>5} {'applies':>7}  {providers}  {'dups':>4} {'lost':>4}"
          f" {'unrec':>5} {'uncert':>6} {'silent':>6} {'touched':>7} {'wall s':>7}  exits")
    for r in results:
        each = " ".join(f"{show(r.per_provider.get(p)):>6}" for p in PROVIDERS)
        silent = max(0, r.kaleyra_unrecorded - r.uncertain)
        print(f"{r.seed:>5} {show(r.applies):>7}  {each}  {r.duplicates:>4} {r.lost:>4}"
              f" {r.kaleyra_unrecorded:>5} {r.uncertain:>6} {silent:>6} {r.touched:>7}"
              f" {r.wall_s:>7.0f}  {' '.join(map(str, r.exits))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.1, help="of each kind of fault")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--max-applies", type=int, default=6)
    parser.add_argument("--delay-s", type=float, default=CLIENT_TIMEOUT_S + 2,
                        help="how long a held reply is held (past the client's timeout)")
    parser.add_argument("--undeclared", type=int, default=5, help="rooms per provider")
    options = parser.parse_args()
    results = []
    for seed in options.seeds:
        results.append(run_seed(seed, options.rooms, options.rate,
                                max_applies=options.max_applies, delay_s=options.delay_s,
                                undeclared=options.undeclared))
        print_table(results[-1:])
    print(f"\nSummary: {options.rooms} rooms, faults at {options.rate:.0%} of each kind")
    print_table(results)


if __name__ == "__main__":
    main()
