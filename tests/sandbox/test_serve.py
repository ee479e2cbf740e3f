"""`reconcile sandbox serve` as a real process: URLs, requests, --db, signals, loopback."""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.core import PROVIDERS

from ..conftest import SANDBOX_ENVIRON

ROOT = Path(__file__).resolve().parents[2]
FAKE = ("--emulator", "fake=tests.sandbox.fake_emulator")
URL_LINE = re.compile(r"^  (\w+)\s+(http://\S+)$")


@dataclass
class Served:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    base_url: str = ""

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=15)
        return self.process.returncode, err


def command(*args: str) -> list[str]:
    port = () if "--port" in args else ("--port", "0")
    return [sys.executable, "-m", "reconcile.sandbox.cli", "serve", *port, *args]


def environment() -> dict[str, str]:
    # The fake emulator is imported by name from the repository root.
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def start(*args: str) -> Served:
    """Start `serve` and wait until it has printed its endpoints."""
    process = subprocess.Popen(command(*args), cwd=ROOT, env=environment(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    served = Served(process)
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=20)
        except queue.Empty:
            process.kill()
            pytest.fail(f"serve printed no endpoints: {served.lines}")
        if line is None:
            _, err = process.communicate(timeout=5)
            pytest.fail(f"serve exited {process.returncode}: {err}")
        served.lines.append(line)
        if match := URL_LINE.match(line):
            served.urls[match[1]] = match[2]
        if line.startswith("reconcile sandbox listening on "):
            served.base_url = line.rsplit(" ", 1)[1]
        if line.startswith("Press Ctrl+C"):
            return served


@pytest.fixture
def servers() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.communicate(timeout=10)


def test_serve_prints_endpoints_serves_and_stops_cleanly_on_sigint(
        servers: list[Served]) -> None:
    served = start(*FAKE, "--seed", "5")
    servers.append(served)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", served.base_url)
    assert served.urls == {"fake": served.base_url + "/fake"}
    assert f"control API: {served.base_url}/_sandbox" in served.lines
    with SandboxControl(served.base_url) as control:
        assert control.health() == {"status": "ok", "providers": ["fake"], "seed": 5}
        control.register("fake", "KEYcli", "KEYcli")
        response = httpx.post(served.urls["fake"] + "/v1/rooms", json={"name": "a"},
                              headers={"Authorization": "Bearer KEYcli"})
        assert response.status_code == 201
        assert control.counters()["providers"] == {"fake": {"POST": 1}}
        # A deliberately dropped reply leaves no trace in the server's log.
        control.set_faults("fake", commit_then_fail={"rate": 1, "mode": "drop"})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(served.urls["fake"] + "/v1/rooms", json={"name": "b"},
                       headers={"Authorization": "Bearer KEYcli"})
    code, err = served.stop(signal.SIGINT)
    assert code == 0, err
    assert err.strip() == "sandbox stopped"


def test_serve_exits_zero_on_sigterm(servers: list[Served]) -> None:
    served = start(*FAKE)
    servers.append(served)
    code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err


def test_serve_db_keeps_rooms_and_clock_across_processes(
        servers: list[Served], tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = start(*FAKE, "--db", db)
    servers.append(first)
    with SandboxControl(first.base_url) as control:
        control.register("fake", "KEYdb", "KEYdb")
        response = httpx.post(first.urls["fake"] + "/v1/rooms", json={"name": "kept"},
                              headers={"Authorization": "Bearer KEYdb"})
        assert response.status_code == 201
        control.advance(hours=2)
    assert first.stop()[0] == 0

    second = start(*FAKE, "--db", db)
    servers.append(second)
    with SandboxControl(second.base_url) as control:
        control.register("fake", "KEYdb", "KEYdb")  # accounts are not kept, rooms are
        listed = httpx.get(second.urls["fake"] + "/v1/rooms",
                           headers={"Authorization": "Bearer KEYdb"}).json()["data"]
        assert [room["name"] for room in listed] == ["kept"]
        assert listed[0]["id"] == response.json()["id"]
        assert control.clock()["offset_seconds"] == 7200
    assert second.stop()[0] == 0


def test_serve_latency_option_sets_every_providers_faults(servers: list[Served]) -> None:
    served = start(*FAKE, "--latency-ms", "25")
    servers.append(served)
    with SandboxControl(served.base_url) as control:
        assert control.faults("fake")["latency_ms"] == 25
    assert served.stop()[0] == 0


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), cwd=ROOT, env=environment(), text=True,
                          capture_output=True, timeout=30)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_serve_refuses_a_non_loopback_host(host: str) -> None:
    result = run(*FAKE, "--host", host)
    assert result.returncode == 2
    assert "refusing to listen" in result.stderr and "--allow-remote" in result.stderr
    assert "listening on" not in result.stdout


@pytest.mark.parametrize("spec", ["nonsense", "=tests.sandbox.fake_emulator", "fake="])
def test_serve_refuses_an_emulator_option_that_is_not_name_equals_module(spec: str) -> None:
    result = run("--emulator", spec)
    assert result.returncode == 2  # click's usage error, before anything listens
    assert f"expected NAME=MODULE, got {spec!r}" in result.stderr
    assert "listening on" not in result.stdout


def test_allow_remote_warns_before_listening() -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails, after the warning.
    result = run(*FAKE, "--host", "192.0.2.1", "--allow-remote")
    assert "warning: listening on 192.0.2.1" in result.stderr
    assert result.returncode == 1
    assert "cannot listen on 192.0.2.1" in result.stderr


def test_serve_reports_a_database_it_cannot_open(tmp_path: Path) -> None:
    result = run(*FAKE, "--db", str(tmp_path / "missing" / "sandbox.db"))
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr and "Traceback" not in result.stderr


def test_serve_reports_a_port_in_use(servers: list[Served]) -> None:
    served = start(*FAKE)
    servers.append(served)
    port = served.base_url.rsplit(":", 1)[1]
    result = run(*FAKE, "--port", port)
    assert result.returncode == 1 and "cannot listen on" in result.stderr
    assert served.stop()[0] == 0


def _real_emulators_present() -> bool:
    return all(importlib.util.find_spec(f"{package}.emulator") is not None
               for package in PROVIDER_PACKAGES.values())


@pytest.mark.skipif(not _real_emulators_present(), reason="an emulator is missing")
def test_serve_prints_credentials_and_a_rooms_file_that_work_as_pasted(
        servers: list[Served], tmp_path: Path) -> None:
    served = start()
    servers.append(served)
    assert served.urls == {p: f"{served.base_url}/{p}" for p in PROVIDERS}
    lines = served.lines
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines
                   if line.startswith("export "))
    assert sorted(exports) == sorted(SANDBOX_ENVIRON)  # one variable per credential
    begin = lines.index("version: 1")
    pasted = "\n".join(lines[begin:lines.index("", begin)]) + "\n"
    for provider, segment in [("signalwire", "/acme"), ("metered", "/acme"), ("kaleyra", "/eu"),
                              ("twilio", "")]:
        assert f"    endpoint: {served.base_url}/{provider}{segment}\n" in pasted
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(pasted)
    runner = CliRunner(env=exports)
    applied = runner.invoke(cli, ["apply", "--auto-approve", str(rooms)])
    assert applied.exit_code == 0, applied.output
    assert f"Apply: {len(PROVIDERS)} applied, 0 failed" in applied.stdout
    again = runner.invoke(cli, ["plan", "--detailed-exitcode", str(rooms)])
    assert again.exit_code == 0, again.output
    with SandboxControl(served.base_url) as control:
        assert control.health()["providers"] == list(PROVIDERS)
    assert served.stop()[0] == 0
