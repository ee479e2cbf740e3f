"""Serve the sandbox over real HTTP: in a background thread (tests, `--sandbox`) or
in the foreground (`reconcile sandbox serve`)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from reconcile.sandbox.app import create_app, provider_prefix
from reconcile.sandbox.core import PROVIDERS, Sandbox

LOOPBACK = "127.0.0.1"


def _config(sandbox: Sandbox, host: str, port: int, providers: tuple[str, ...]
            ) -> uvicorn.Config:
    return uvicorn.Config(create_app(sandbox, providers), host=host, port=port,
                          log_level="warning", access_log=False, lifespan="off")


class SandboxServer:
    """Runs the sandbox on a loopback port in a daemon thread.

    >>> with SandboxServer(Sandbox()) as server:
    ...     server.url("twilio")   # 'http://127.0.0.1:PORT/twilio'
    """

    def __init__(self, sandbox: Sandbox | None = None, *, host: str = LOOPBACK, port: int = 0,
                 providers: tuple[str, ...] = PROVIDERS) -> None:
        self.sandbox = sandbox or Sandbox()
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self.providers = providers
        self._server = uvicorn.Server(_config(self.sandbox, host, self.port, providers))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, provider: str) -> str:
        """The root of one emulator: what replaces the provider's scheme and host."""
        return self.base_url + provider_prefix(provider)

    def endpoints(self) -> dict[str, str]:
        return {p: self.url(p) for p in self.providers}

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

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
