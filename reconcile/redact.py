"""Credentials kept out of everything printed, in every form a provider or proxy may echo
them, and the log formatter that puts every record through that masking and through the
one escaping function.

The forms of a credential: the value itself; the base64 of `user:password` that an HTTP
Basic Authorization header carries, for every pair of the run's credentials (a user equal
to its password included: some APIs take the key as both); and each of those
JSON-escaped, terminal-escaped, and percent-encoded in any way (any character escaped,
upper- or lower-case hex, `+` for a space).

The CLI installs `SafeFormatter` on the root handler, so the records of every logger that
reaches stderr (httpx's and httpcore's raw URLs and headers, uvicorn's, ours) are masked;
the rooms-file loader `register`s each credential it resolves. Nothing here imports
beyond the standard library and `reconcile.escape`: the CLI uses it at start-up.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote, unquote, unquote_plus

from reconcile.escape import printable, printable_lines

SECRET_MASK = "***"
MIN_SECRET = 8  # shorter credentials (a sandbox's "*") would mask ordinary words
# What ends a URL-like token in any text: whitespace, quotes, angle brackets, backslash.
_DELIMITERS = re.compile(r"""([\s"'<>\\`]+)""")
_URL_SAFE = "/:?#[]@!$&()*+,;=~"  # kept as they are when a decoded token is encoded again


def basic_auth(user: str, password: str) -> str:
    """The credentials as an HTTP Basic Authorization header carries them."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _encodings(text: str) -> set[str]:
    """`text` as a JSON string and a terminal may carry it (URL encodings, which may
    encode any character, are decoded instead: `scrub`)."""
    quoted = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    return {text, printable(text), *quoted}


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every form of the credentials worth masking, longest first (so that a secret
    holding another is masked whole)."""
    given = {secret for secret in secrets if secret}
    bases = {secret for secret in given if len(secret) >= MIN_SECRET}
    bases |= {basic_auth(user, password) for user in given for password in given
              if max(len(user), len(password)) >= MIN_SECRET}
    forms: set[str] = set()
    for base in bases:
        forms |= _encodings(base)
    return tuple(sorted(forms, key=len, reverse=True))


def scrub(text: str, forms: tuple[str, ...]) -> str:
    """The text with every form replaced by the mask, percent-encoded ones included: a
    URL-like token holding a `%` is decoded (with `+` as a space, and without) and, when
    it hides a credential, replaced by its decoded text, masked and encoded again."""
    for form in forms:
        if form in text:
            text = text.replace(form, SECRET_MASK)
    if forms and "%" in text:
        text = _decoded(text, forms, _any_of(forms))
    return text


def _decoded(text: str, forms: tuple[str, ...], anyof: re.Pattern[str]) -> str:
    def one(token: str) -> str:
        plus = (unquote_plus(token),) if "+" in token else ()  # `+` for a space
        for decoded in (unquote(token), *plus):
            if anyof.search(decoded):
                # Encoded again, so that what decoding revealed (a quote, a line break)
                # cannot break the JSON, YAML or line the token stood in.
                return quote(scrub(decoded, forms), safe=_URL_SAFE)
            if "%" in decoded and decoded != token:  # encoded twice
                masked = _decoded(decoded, forms, anyof)
                if masked != decoded:
                    return masked
        return token

    # Split, not searched for: a search for runs restarts at every character (0.5 s for
    # 10,000 escaped URLs in a plan; the split takes a tenth of that).
    parts = _DELIMITERS.split(text)
    changed = False
    for index in range(0, len(parts), 2):  # the tokens; odd indexes hold the delimiters
        if "%" in parts[index] and (masked := one(parts[index])) != parts[index]:
            parts[index], changed = masked, True
    return "".join(parts) if changed else text


@functools.lru_cache(maxsize=8)
def _any_of(forms: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for all the forms: one search of a short text instead of one each."""
    return re.compile("|".join(map(re.escape, forms)))


# -- the process's credentials, for the log formatter --------------------------------------

_lock = threading.Lock()
_registered: set[str] = set()
_forms: tuple[str, ...] = ()


def register(secrets: Iterable[str]) -> None:
    """Mask these credentials in every log record from now on."""
    global _forms
    with _lock:
        before = len(_registered)
        _registered.update(secret for secret in secrets if secret)
        if len(_registered) != before:
            _forms = secret_forms(_registered)


def registered_forms() -> tuple[str, ...]:
    return _forms


def forget_all() -> None:
    """A new run (each CLI invocation) starts with no credentials registered."""
    global _forms
    with _lock:
        _registered.clear()
        _forms = ()


class SafeFormatter(logging.Formatter):
    """Masks the registered credentials in the whole record (message, arguments,
    exception and stack text) and escapes it: the message to one line, the traceback
    line by line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return printable_lines(scrub(super().format(record), _forms))


def install(level: int, stream: TextIO, fmt: str) -> logging.Handler:
    """The root logger's one handler, to `stream`, through `SafeFormatter`; a fresh run
    of credentials."""
    forget_all()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)  # a library's warnings too, through the same handler
    return handler
