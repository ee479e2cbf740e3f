"""Transport security: TLS verification is always on, with no switch to turn it off;
credentials go over plain HTTP only to loopback, anything else is refused before any
lookup or connection; requests never leave the endpoint. Only loopback is ever contacted."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from reconcile import cli as cli_module
from reconcile.cli import COMMANDS, cli
from reconcile.engine import http as http_module
from reconcile.engine.http import (
    HttpClient,
    HttpSettings,
    TransportError,
    TransportRefused,
    is_loopback,
)
from reconcile.exitcodes import ERROR
from reconcile.sandbox.core import PROVIDERS
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ENVIRON, one_room, rooms_file

SANDBOX_PROVIDERS = ("telnyx",)
ROOMS = {provider: one_room(provider, "a") for provider in PROVIDERS}
# Spellings of a remote host over plain HTTP, some dressed up as loopback.
REMOTE = ["http://example.com", "http://10.0.0.5:8080", "http://localhost.evil.example",
          "http://127.0.0.1.nip.io", "http://127.0.0.1@example.com"]
SWITCH = re.compile(r"verif|insecure|ssl|tls|cert|no.?check", re.IGNORECASE)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A lookup of, or a connection to, anything but loopback fails the test."""
    attempts: list[str] = []
    lookup, connect = socket.getaddrinfo, socket.socket.connect

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not is_loopback(name):
            attempts.append(name)
            raise OSError(f"test: no lookups of {name}")
        return lookup(host, *args, **kwargs)

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not is_loopback(str(address[0])):
            attempts.append(str(address[0]))
            raise OSError(f"test: no connections to {address[0]}")
        return connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield attempts
    assert attempts == [], f"something tried to reach {attempts}"


# -- plain HTTP only to loopback, through the CLI ------------------------------------------

@pytest.mark.parametrize("endpoint", REMOTE)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_http_off_loopback_is_refused_before_any_connection(
        provider: str, endpoint: str, tmp_path: Path) -> None:
    path = rooms_file(tmp_path, endpoint, provider, ROOMS[provider])
    result = CliRunner().invoke(cli, ["plan", str(path)], env=SANDBOX_ENVIRON)
    assert result.exit_code == ERROR, result.output
    host = re.sub(r"^http://([^@]*@)?", "", endpoint)  # the userinfo is never shown
    assert result.stderr.strip() == (
        f"reconcile: refusing to send the {provider} credentials to http://{host}: only"
        " https://, or http:// on a loopback address (the sandbox), is allowed, so that no"
        " credential travels in clear")
    assert not [v for v in SANDBOX_ENVIRON.values() if v in result.output]


@pytest.mark.parametrize("command", [["apply", "--auto-approve"], ["show"], ["export"]])
def test_every_command_that_connects_refuses_it_too(command: list[str], tmp_path: Path
                                                    ) -> None:
    path = rooms_file(tmp_path, "http://example.com", "telnyx", ROOMS["telnyx"])
    result = CliRunner().invoke(cli, [*command, str(path)], env=SANDBOX_ENVIRON)
    assert result.exit_code == ERROR, result.output
    assert "refusing to send the telnyx credentials to http://example.com" in result.stderr


def test_loopback_over_plain_http_is_what_the_sandbox_uses(
        tmp_path: Path, server: SandboxServer) -> None:
    path = rooms_file(tmp_path, server, "telnyx", ROOMS["telnyx"])
    result = CliRunner().invoke(cli, ["plan", str(path)], env=SANDBOX_ENVIRON)
    assert result.exit_code == 0, result.output
    assert "1 to create" in result.stdout


# -- requests stay on the endpoint ---------------------------------------------------------

def test_a_request_for_another_host_is_refused_before_it_is_sent(server: SandboxServer
                                                                ) -> None:
    async def run() -> None:
        async with HttpClient(server.url("telnyx"), provider="telnyx") as http:
            await http.request("GET", "http://evil.example/telnyx/v2/rooms")

    with pytest.raises(TransportRefused, match=r"refusing to send http://evil\.example/"
                                               r"telnyx/v2/rooms: it leaves http://127"):
        asyncio.run(run())


def test_proxy_variables_are_ignored(server: SandboxServer, monkeypatch: pytest.MonkeyPatch
                                     ) -> None:
    """A proxy would see plain-HTTP credentials: the environment cannot add one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://evil.example:3128")

    async def run() -> int:
        async with HttpClient(server.url("telnyx"), provider="telnyx",
                              headers={"Authorization": "Bearer KEYsandbox"}) as http:
            return (await http.request("GET", "/v2/rooms")).status_code

    assert asyncio.run(run()) == 200


# -- TLS: verified, always ------------------------------------------------------------------

def test_there_is_no_switch_to_turn_verification_off() -> None:
    parameters = inspect.signature(HttpClient.__init__).parameters
    assert not [name for name in parameters if SWITCH.search(name)]
    assert not [f.name for f in dataclasses.fields(HttpSettings) if SWITCH.search(f.name)]
    assert "environ" not in inspect.getsource(http_module)  # no variable changes it either
    assert cli.context_settings.get("auto_envvar_prefix") is None
    switches = []
    for name in ["", *COMMANDS]:
        command = cli if not name else cli.get_command(click.Context(cli), name)
        assert command is not None
        for sub in [command, *getattr(command, "commands", {}).values()]:
            for param in sub.params:
                names = [*param.opts, *param.secondary_opts]
                envvar = param.envvar if isinstance(param, click.Option) else None
                names += [envvar] if isinstance(envvar, str) else list(envvar or [])
                switches += [n for n in names if SWITCH.search(n)]
    assert switches == []
    assert "verify" not in inspect.getsource(cli_module)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no trusted authority signed."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[int]:
    """A TLS server on loopback presenting the self-signed certificate; its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, self_signed))
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if stop.is_set():  # the teardown's wake-up call
                conn.close()
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1024)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield port
    stop.set()
    # Closing the listener does not wake an accept() blocked in another thread: a
    # connection does (else every teardown waited out the join's timeout).
    socket.create_connection(("127.0.0.1", port)).close()
    thread.join(timeout=5)
    listener.close()
    assert not thread.is_alive()


def test_the_test_server_is_sound(tls_server: int, self_signed: tuple[Path, Path]) -> None:
    """Trusting its certificate explicitly, a handshake succeeds: so a failure below is
    the verification, not the server."""
    trusting = ssl.create_default_context(cafile=str(self_signed[0]))
    with socket.create_connection(("127.0.0.1", tls_server)) as raw, \
            trusting.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() is not None


@pytest.mark.parametrize("environment", [
    {}, {"PYTHONHTTPSVERIFY": "0", "CURL_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": "",
         "HTTPX_VERIFY": "0", "RECONCILE_INSECURE": "1", "NODE_TLS_REJECT_UNAUTHORIZED": "0"}])
def test_an_unverifiable_certificate_is_refused(
        tls_server: int, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    http_module._tls_context.cache_clear()  # as a fresh process would build it
    settings = HttpSettings(attempts=1, timeout=5.0, total_timeout=5.0)

    async def run() -> None:
        async with HttpClient(f"https://127.0.0.1:{tls_server}", settings=settings,
                              headers={"Authorization": "Bearer S3CR3T"}) as http:
            await http.request("GET", "/v2/rooms")

    with pytest.raises(TransportError) as caught:
        asyncio.run(run())
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.cause)
    context = http_module._tls_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_plain_http_to_loopback_loads_no_ca_bundle_and_its_context_trusts_nothing() -> None:
    """The sandbox needs no certificates: its context trusts none, so it could never
    complete a TLS handshake; https keeps the one verifying context."""
    from reconcile.engine.http import _context_for, _tls_context

    bare = _context_for("http")
    assert bare.verify_mode == ssl.CERT_REQUIRED and bare.check_hostname
    assert bare.cert_store_stats()["x509_ca"] == 0
    assert _context_for("https") is _tls_context()
    assert _tls_context().cert_store_stats()["x509_ca"] > 0


_AIOHTTP_DEFAULTS = (
    "import ssl, sys\n"
    "import reconcile.process\n"
    "reconcile.process.OWNED_BY_THE_COMMAND = sys.argv[1] == 'command'\n"
    "import reconcile.engine.transport\n"
    "import aiohttp.connector as c\n"
    "verified, unverified = c._SSL_CONTEXT_VERIFIED, c._SSL_CONTEXT_UNVERIFIED\n"
    "print(verified.cert_store_stats()['x509_ca'] > 0,"
    " unverified.cert_store_stats()['x509_ca'] > 0,"
    " verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname,"
    " 'set_default_verify_paths' in vars(ssl.SSLContext),"
    " ssl.create_default_context().cert_store_stats()['x509_ca'] > 0)\n")


def _aiohttp_defaults(process: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", _AIOHTTP_DEFAULTS, process],
                            capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_aiohttp_is_imported_without_loading_a_ca_store_and_its_defaults_trust_nothing(
        ) -> None:
    """In the command's process aiohttp builds its two default TLS contexts at import
    without the CA store (the transport never uses them: it hands aiohttp its own), so
    the verifying one refuses every certificate. `ssl` is left as it was found."""
    assert _aiohttp_defaults("command") == ["False", "False", "True", "False", "True"]


def test_a_program_using_reconcile_as_a_library_keeps_aiohttps_defaults() -> None:
    """Imported as a library, reconcile leaves aiohttp's defaults as aiohttp builds them:
    the program may use aiohttp itself."""
    assert _aiohttp_defaults("library")[0] == "True"
    assert _aiohttp_defaults("library")[2:] == ["True", "False", "True"]


def test_an_https_client_still_verifies_with_its_own_context_after_aiohttp_is_imported(
        ) -> None:
    from reconcile.engine.transport import Transport

    transport = Transport(http_module._context_for("https"), 4)
    connector_ssl = transport._inner.ssl_context
    assert connector_ssl is http_module._tls_context()
    assert connector_ssl.verify_mode == ssl.CERT_REQUIRED
    assert connector_ssl.cert_store_stats()["x509_ca"] > 0
