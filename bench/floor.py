"""Benchmark: `reconcile plan` and `validate` against their floors, side by side (issue 16).

One sandbox with latency serves every run. For each N it applies N rooms over the five
providers, then runs, interleaved over `--rounds` rounds (the order turning each round):

- `reconcile plan` (a no-op plan);
- a bare httpx script and a bare aiohttp script (bench/floor_client.py) that send the
  same requests at the same concurrency and parse the JSON, with nothing of reconcile.

Each is a process of its own, so start-up and imports count on both sides; reconcile's
bytecode is compiled first, as an install compiles it (`--no-bytecode` to leave it be).
It prints, per N, the median wall and CPU time (with their quartiles) and peak RSS of
each, the plan's ratios to both floors (the ratio of the medians, and the median of the
ratios of each round with their quartiles), the requests each made (from the sandbox's
counters) and the load average.
Then, for the largest N, `reconcile validate` against a script that only loads the same file with
libyaml's CSafeLoader. Targets (issue 16, as medians of one run): at 10,000 rooms the
plan's CPU at most 1.3x bare httpx and 2.5x bare aiohttp, requests = the minimum, peak RSS
no higher than about 115 MiB; at 50 rooms the plan's wall at most 1.5x bare httpx;
validate's CPU at most 2.5x the CSafeLoader load. Prints figures; asserts nothing.

Run: python bench/floor.py [--sizes 50 1000 10000] [--rounds 5] [--latency-ms 20]
(the aiohttp floor needs `pip install aiohttp`; without it that column is left out)
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from engine import ENVIRON, minimum_reads, rooms_file, split  # noqa: E402 - bench/engine.py
from sandbox import start_server  # noqa: E402 - bench/sandbox.py

from reconcile.sandbox.client import SandboxControl  # noqa: E402

CONCURRENCY = 64  # reads in flight per account, as the plan keeps them (PLAN_READS)
# The bare client, imported from its compiled bytecode (see compile_bytecode).
FLOOR_CLIENT = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(BENCH)!r});"
                " import floor_client; floor_client.main()"]
LOAD_ONLY = ("import sys, yaml\n"
             "with open(sys.argv[1], 'rb') as f: yaml.load(f, Loader=yaml.CSafeLoader)\n")


@dataclass
class Runs:
    """The figures of one contender over the rounds."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(getattr(self, name))


def measure(command: list[str], cwd: Path, runs: Runs, control: SandboxControl | None) -> None:
    """Run `command` once; add its wall, CPU, peak RSS and sandbox requests to `runs`."""
    if control is not None:
        control.clear_counters()
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log,
                                   env={**os.environ, **ENVIRON})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) not in (0, 2):
            log.seek(0)
            sys.exit(f"{' '.join(command)} failed: {log.read()[-2000:]}")
    runs.walls.append(wall)
    runs.cpus.append(usage.ru_utime + usage.ru_stime)
    runs.rss.append(usage.ru_maxrss / 1024)
    if control is not None:
        runs.requests.append(control.counters()["total"])


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"{user}:{password}".encode()).decode()}


def floor_spec(base: str, folder: Path) -> dict[str, Any]:
    """What the bare scripts read: the accounts of bench/engine.py's rooms file."""
    state = json.loads((folder / "kaleyra-state.json").read_text())
    env = ENVIRON
    return {"concurrency": CONCURRENCY, "accounts": [
        {"provider": "twilio", "base": f"{base}/twilio",
         "headers": basic(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])},
        {"provider": "telnyx", "base": f"{base}/telnyx",
         "headers": {"Authorization": f"Bearer {env['TELNYX_API_KEY']}"}},
        {"provider": "signalwire", "base": f"{base}/signalwire/bench",
         "headers": basic(env["SIGNALWIRE_PROJECT_ID"], env["SIGNALWIRE_TOKEN"])},
        {"provider": "metered", "base": f"{base}/metered/bench", "headers": {},
         "query": f"secretKey={env['METERED_SECRET_KEY']}"},
        {"provider": "kaleyra", "base": f"{base}/kaleyra/eu",
         "headers": {"apikey": env["KALEYRA_API_KEY"]},
         "room_ids": [entry["room_id"] for entry in state["rooms"].values()]},
    ]}


def interleave(contenders: dict[str, list[str]], cwd: Path, rounds: int,
               control: SandboxControl | None) -> dict[str, Runs]:
    runs = {name: Runs() for name in contenders}
    names = list(contenders)
    for round_no in range(rounds):
        turn = round_no % len(names)
        for name in names[turn:] + names[:turn]:
            measure(contenders[name], cwd, runs[name], control)
    return runs


def quartiles(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles (both the value itself for a single round)."""
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def paired(first: list[float], floor: list[float]) -> str:
    """The median of the per-round ratios, with their quartiles. The two runs of a round
    ran one after the other, under the same load: a ratio of the same round cancels a
    load that drifts over the run, which the ratio of the medians does not."""
    ratios = [a / b for a, b in zip(first, floor, strict=True)]
    q1, q3 = quartiles(ratios)
    return f"{statistics.median(ratios):.2f}x (quartiles {q1:.2f}-{q3:.2f})"


def report(title: str, runs: dict[str, Runs], minimum: int | None) -> None:
    print(f"\n{title}  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"  {'run':<22} {'wall s':>7} {'(quartiles)':>12} {'cpu s':>6} {'(quartiles)':>12}"
          f" {'RSS MiB':>8} {'requests':>9}")
    for name, r in runs.items():
        requests = f"{statistics.median(r.requests):9.0f}" if r.requests else f"{'':>9}"
        spread = {kind: "{:.2f}-{:.2f}".format(*quartiles(getattr(r, kind)))
                  for kind in ("walls", "cpus")}
        print(f"  {name:<22} {r.median('walls'):7.2f} {spread['walls']:>12}"
              f" {r.median('cpus'):6.2f} {spread['cpus']:>12}"
              f" {r.median('rss'):8.0f} {requests}")
    if minimum is not None:
        print(f"  minimum requests: {minimum}")
    first, *floors = runs
    for floor in floors:
        wall = runs[first].median("walls") / runs[floor].median("walls")
        cpu = runs[first].median("cpus") / runs[floor].median("cpus")
        print(f"  {first} / {floor}: wall {wall:.2f}x, cpu {cpu:.2f}x (ratios of the medians)")
        print(f"    per round: wall {paired(runs[first].walls, runs[floor].walls)},"
              f" cpu {paired(runs[first].cpus, runs[floor].cpus)}")


def bench_plan(total: int, base: str, control: SandboxControl, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        counts = split(total)
        path = rooms_file(folder, base, counts)
        measure([sys.executable, "-m", "reconcile", "apply", "--auto-approve", str(path)],
                folder, Runs(), None)
        spec = folder / "floor.json"
        spec.write_text(json.dumps(floor_spec(base, folder)))
        contenders = {"reconcile plan": [sys.executable, "-m", "reconcile", "plan", str(path)],
                      "bare httpx": [*FLOOR_CLIENT, "httpx", str(spec)]}
        if importlib.util.find_spec("aiohttp"):
            contenders["bare aiohttp"] = [*FLOOR_CLIENT, "aiohttp", str(spec)]
        runs = interleave(contenders, folder, rounds, control)
        report(f"N = {total:,}: no-op plan, median of {rounds} rounds", runs,
               minimum_reads(counts))


def bench_validate(total: int, base: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = rooms_file(folder, base, split(total))
        script = folder / "load_only.py"
        script.write_text(LOAD_ONLY)
        runs = interleave({"reconcile validate": [sys.executable, "-m", "reconcile",
                                                  "validate", str(path)],
                           "CSafeLoader load": [sys.executable, str(script), str(path)]},
                          folder, rounds, None)
        report(f"N = {total:,}: validate, median of {rounds} rounds", runs, None)


def compile_bytecode() -> None:
    """Compile reconcile's modules as installing it does, and the floors' client. The
    floors import httpx and aiohttp with the bytecode pip wrote at install; an editable
    checkout run with PYTHONDONTWRITEBYTECODE (as these machines set it) compiled some 50
    modules from source in every run instead, about a tenth of a second no installed
    reconcile pays. py_compile writes the files whatever that variable says."""
    compileall.compile_dir(BENCH.parent / "reconcile", quiet=1)
    compileall.compile_file(BENCH / "floor_client.py", quiet=1)  # the floors' own code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="leave reconcile's bytecode as it is (see compile_bytecode)")
    options = parser.parse_args()
    if not options.no_bytecode:
        compile_bytecode()
    server, base = start_server(0, "--latency-ms", str(options.latency_ms))
    try:
        with SandboxControl(base) as control:
            for total in options.sizes:
                control.reset()
                bench_plan(total, base, control, options.rounds)
        bench_validate(max(options.sizes), base, options.rounds)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
