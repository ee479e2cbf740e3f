"""Serve the sandbox over real HTTP: in a background thread (tests, `--sandbox`) or
in the foreground (`reconcile sandbox serve`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import uvicorn

from reconcile.sandbox.app import CONTROL_PREFIX, create_app, provider_prefix
from reconcile.sandbox.core import PROVIDERS, Sandbox
from reconcile.sandbox.emulator import Emulator

LOOPBACK = "127.0.0.1"


# uvicorn's loggers with no handler of their own (any earlier one removed): their records
# go to the root handler, whose formatter masks and escapes every record (reconcile.redact).
LOG_CONFIG: dict[str, Any] = {
    "version": 1, "disable_existing_loggers": False,
    "loggers": {name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}}

# A reply held back by a commit-then-fail fault must not hold up a shutdown for long.
GRACEFUL_SHUTDOWN_S = 3


def _config(sandbox: Sandbox, host: str, port: int, providers: tuple[str, ...],
            emulators: Mapping[str, Emulator] | None) -> uvicorn.Config:
    # "auto" picks uvloop and httptools when installed (the `fast` extra): several
    # times the throughput of asyncio + h11.
    return uvicorn.Config(create_app(sandbox, providers, emulators), host=host, port=port,
                          loop="auto", http="auto", log_level="warning", access_log=False,
                          log_config=LOG_CONFIG,
                          lifespan="off", proxy_headers=False, server_header=False,
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


class SandboxServer:
    """Runs the sandbox on a loopback port in a daemon thread.

    >>> with SandboxServer(Sandbox()) as server:
    ...     server.url("twilio")   # 'http://127.0.0.1:PORT/twilio'
    """

    def __init__(self, sandbox: Sandbox | None = None, *, host: str = LOOPBACK, port: int = 0,
                 providers: tuple[str, ...] = PROVIDERS,
                 emulators: Mapping[str, Emulator] | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
            # Listen at once: a client that connects before uvicorn has started waits in
            # the backlog instead of being refused (`serve` prints its URLs first).
            self._sock.listen(2048)
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]
        self.providers = providers
        self._server = uvicorn.Server(_config(self.sandbox, host, self.port, providers,
                                              emulators))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, provider: str) -> str:
        """The root of one emulator: what replaces the provider's scheme and host."""
        return self.base_url + provider_prefix(provider)

    @property
    def control_url(self) -> str:
        """The root of the control API (`/_sandbox`)."""
        return self.base_url + CONTROL_PREFIX

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (call from the main thread)."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
            name="reconcile-sandbox")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        return self

    def serving(self) -> bool:
        """Whether a connection is open or a request is being handled: a request a client
        sent before it went away may still be read and served after the client is gone."""
        state = self._server.server_state
        return bool(state.connections or state.tasks)

    def request_exit(self) -> None:
        """Ask the server to stop (safe from a signal handler)."""
        self._server.should_exit = True

    def stop(self) -> None:
        self.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
