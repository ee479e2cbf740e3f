"""The log formatter every record passes: credentials masked in every form, from any
logger, in the message, its arguments and its traceback; the text escaped."""

from __future__ import annotations

import io
import logging

from reconcile import redact
from reconcile.redact import SECRET_MASK, basic_auth

SECRET = "sk-S3NT1NEL-7f3a"


def test_any_loggers_records_are_masked_in_every_form(log_stderr: io.StringIO) -> None:
    redact.register([SECRET, "acme"])
    logging.getLogger("httpcore.http11").debug(
        "receive_response_headers.complete return_value=%r",
        [(b"location", f"http://h/rooms?secretKey={SECRET}".encode())])
    logging.getLogger("h11").warning("auth %s", f"Basic {basic_auth('acme', SECRET)}")
    logging.getLogger("reconcile.x").info("quoted %s", SECRET.replace("-", "%2D"))
    text = log_stderr.getvalue()
    assert SECRET not in text and basic_auth("acme", SECRET) not in text
    assert "secretKey=***" in text and f"auth Basic {SECRET_MASK}" in text
    assert f"quoted {SECRET_MASK}" in text


def test_a_traceback_is_masked_and_escaped_line_by_line(log_stderr: io.StringIO) -> None:
    redact.register([SECRET])
    try:
        raise RuntimeError(f"refused {SECRET}\x1b]0;owned\x07")
    except RuntimeError:
        logging.getLogger("httpx").exception("failed \x1b[2J\nINFO forged: line")
    text = log_stderr.getvalue()
    assert SECRET not in text and "\x1b" not in text and "\x07" not in text
    assert "failed \\x1b[2J\\nINFO forged: line" in text  # the message stays one line
    assert "RuntimeError: refused ***\\x1b]0;owned\\x07" in text
    assert text.count("\n") > 3  # the traceback keeps its lines


def test_each_run_starts_with_no_credentials(log_stderr: io.StringIO) -> None:
    redact.register([SECRET])
    assert SECRET in redact.registered_forms()
    redact.install(logging.DEBUG, log_stderr, "%(message)s")
    assert redact.registered_forms() == ()


def test_short_values_alone_are_no_secrets() -> None:
    forms = redact.secret_forms(["*", "acme"])
    assert forms == ()
    assert redact.scrub("acme *", forms) == "acme *"


def test_a_decoded_token_is_encoded_again_so_no_syntax_breaks() -> None:
    """%22 and %0A inside a token that hides a credential must not come back as a quote
    that ends a JSON string or a line break that starts a forged line."""
    forms = redact.secret_forms([SECRET])
    token = "https://h/x?k=" + SECRET.replace("-", "%2D") + "%22%0AINFO%20forged"
    scrubbed = redact.scrub(f'{{"url": "{token}"}}', forms)
    assert scrubbed == '{"url": "https://h/x?k=***%22%0AINFO%20forged"}'
