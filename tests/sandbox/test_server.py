"""The in-process server's logging: uvicorn's records reach the root handler, so the
CLI's formatter masks and escapes them like any other (issue 11, defect 1)."""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Callable

from reconcile import redact
from reconcile.sandbox.server import SandboxServer

SECRET = "sk-S3NT1NEL-7f3a"


def test_uvicorns_records_go_through_the_root_handler(log_stderr: io.StringIO) -> None:
    redact.register([SECRET])
    with SandboxServer() as server:
        for name in ("uvicorn", "uvicorn.error"):
            assert not logging.getLogger(name).handlers  # none of uvicorn's own
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"NOT HTTP \x00\r\n\r\n")  # uvicorn warns of an invalid request
            sock.recv(1024)
        logging.getLogger("uvicorn.error").warning("quoting %s\x1b[2J", SECRET)
    text = log_stderr.getvalue()
    assert "WARNING uvicorn.error: Invalid HTTP request received." in text
    assert "WARNING uvicorn.error: quoting ***\\x1b[2J" in text and SECRET not in text


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_serving_says_whether_a_connection_is_open() -> None:
    """A request a client sent just before it went away is still read and served: callers
    that reset the sandbox between runs wait for `serving()` to turn false first."""
    with SandboxServer() as server:
        assert not server.serving()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            assert _until(server.serving)
            sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _until(lambda: not server.serving())
