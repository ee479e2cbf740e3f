"""The Masker's scrubbing of credentials (rendering with it: test_formats, test_markdown)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from reconcile.outputs.mask import Masker
from reconcile.redact import SECRET_MASK, basic_auth


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


def test_a_pair_whose_user_is_its_password_is_scrubbed_too() -> None:
    """Some APIs take the key as both user and password: the header of that pair is one
    more form of the key (it used to be skipped)."""
    key = "KEY-S3CRET-0123"
    mask = Masker.of(secrets=[key])
    assert mask.scrub(f"echo: Basic {basic_auth(key, key)}") == f"echo: Basic {SECRET_MASK}"
    # And a long user with a short password.
    assert Masker.of(secrets=[key, "pw"]).scrub(basic_auth(key, "pw")) == SECRET_MASK


@pytest.mark.parametrize("form", [
    "sk%2FS3CRET%2B%3D%20x", "sk%2fS3CRET%2b%3d%20x", "sk/S3CRET%2B%3D+x", "sk%2FS3CRET%2B%3D+x",
    "sk/S3CRET%2B%3D%20x"])
def test_every_url_encoding_of_a_credential_is_scrubbed(form: str) -> None:
    mask = Masker.of(secrets=["sk/S3CRET+= x"])
    assert mask.scrub(f"GET /rooms?secretKey={form}&a=1") == \
        f"GET /rooms?secretKey={SECRET_MASK}&a=1"


def test_an_encoded_basic_header_and_a_json_escaped_credential_are_scrubbed() -> None:
    user, token = "AC0123456789", 'tok"S3CRET\\x'
    mask = Masker.of(secrets=[user, token])
    header = quote(basic_auth(user, token), safe="")
    assert "%3D" in header or "%2B" in header or "%2F" in header
    assert mask.scrub(f"auth={header}") == f"auth={SECRET_MASK}"
    assert mask.scrub(json.dumps({"token": token})) == f'{{"token": "{SECRET_MASK}"}}'
