"""The log formatter every record passes: credentials masked in every form, from any
logger, in the message, its arguments and its traceback; the text escaped."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from reconcile import redact
from reconcile.redact import SECRET_MASK, basic_auth

SECRET = "sk-S3NT1NEL-7f3a"


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    """The root handler as the CLI installs it, writing to a buffer; restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    redact.install(logging.DEBUG, stream, "%(levelname)s %(name)s: %(message)s")
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    redact.forget_all()


def test_any_loggers_records_are_masked_in_every_form(stderr: io.StringIO) -> None:
    redact.register([SECRET, "acme"])
    logging.getLogger("httpcore.http11").debug(
        "receive_response_headers.complete return_value=%r",
        [(b"location", f"http://h/rooms?secretKey={SECRET}".encode())])
    logging.getLogger("h11").warning("auth %s", f"Basic {basic_auth('acme', SECRET)}")
    logging.getLogger("reconcile.x").info("quoted %s", SECRET.replace("-", "%2D"))
    text = stderr.getvalue()
    assert SECRET not in text and basic_auth("acme", SECRET) not in text
    assert "secretKey=***" in text and f"auth Basic {SECRET_MASK}" in text
    assert f"quoted {SECRET_MASK}" in text


def test_a_traceback_is_masked_and_escaped_line_by_line(stderr: io.StringIO) -> None:
    redact.register([SECRET])
    try:
        raise RuntimeError(f"refused {SECRET}\x1b]0;owned\x07")
    except RuntimeError:
        logging.getLogger("httpx").exception("failed \x1b[2J\nINFO forged: line")
    text = stderr.getvalue()
    assert SECRET not in text and "\x1b" not in text and "\x07" not in text
    assert "failed \\x1b[2J\\nINFO forged: line" in text  # the message stays one line
    assert "RuntimeError: refused ***\\x1b]0;owned\\x07" in text
    assert text.count("\n") > 3  # the traceback keeps its lines


def test_each_run_starts_with_no_credentials(stderr: io.StringIO) -> None:
    redact.register([SECRET])
    assert SECRET in redact.registered_forms()
    redact.install(logging.DEBUG, stderr, "%(message)s")
    assert redact.registered_forms() == ()


def test_short_values_alone_are_no_secrets() -> None:
    forms = redact.secret_forms(["*", "acme"])
    assert forms == ()
    assert redact.scrub("acme *", forms) == "acme *"
