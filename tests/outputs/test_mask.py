"""The Masker's scrubbing of credentials (rendering with it: test_formats, test_markdown)."""

from __future__ import annotations

import base64

from reconcile.outputs.mask import SECRET_MASK, Masker, basic_auth


def test_credentials_are_scrubbed_and_short_ones_kept_out() -> None:
    mask = Masker.of(secrets=["tok-S3CRET-99", "*", "short"])
    assert "tok-S3CRET-99" in mask.secrets
    assert "*" not in mask.secrets and "short" not in mask.secrets
    assert mask.scrub("a=tok-S3CRET-99 b=short") == f"a={SECRET_MASK} b=short"


def test_a_longer_secret_holding_another_is_masked_whole() -> None:
    mask = Masker.of(secrets=["S3CRET-TOKEN", "S3CRET-TOKEN-AND-MORE"])
    assert mask.scrub("x S3CRET-TOKEN-AND-MORE y") == f"x {SECRET_MASK} y"


def test_an_echoed_basic_auth_header_is_scrubbed() -> None:
    """A provider that quotes the request's Authorization header back in an error."""
    sid, token = "AC0123456789abcdef0123456789abcdef", "twilio-auth-S3CRET"
    header = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    assert basic_auth(sid, token) == header.removeprefix("Basic ")
    scrubbed = Masker.of(secrets=[sid, token]).scrub(f"401: bad credentials in {header}")
    assert scrubbed == f"401: bad credentials in Basic {SECRET_MASK}"
    # A short user name (a SignalWire project id may be one) still masks the pair.
    short = Masker.of(secrets=["p1", token]).scrub(basic_auth("p1", token))
    assert short == SECRET_MASK
