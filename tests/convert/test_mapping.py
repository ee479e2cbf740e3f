"""The shared codecs, one by one: units, ranges, inversions, named values, instants and
webhooks, read from a room and written back."""

from __future__ import annotations

from reconcile.convert.mapping import (
    Choice,
    Codec,
    Context,
    Flag,
    Hook,
    Inherent,
    Instant,
    KeyRule,
    Number,
    OneField,
    Outcome,
    Url,
    rfc3339,
    show,
)
from reconcile.providers.signalwire.model import parse_timestamp

CTX = Context("a", "b", 0)


def test_numbers_convert_units_round_up_and_clamp() -> None:
    minutes = Number("m", 1, 60, unit=60)
    assert minutes.read({"m": 10}, CTX) == (600, [])
    assert minutes.read({}, CTX) is None
    assert minutes.write(600, CTX) == ({"m": 10}, [])
    written, issues = minutes.write(90, CTX)
    assert written == {"m": 2} and [i.outcome for i in issues] == [Outcome.LOSSY]
    written, issues = minutes.write(7200, CTX)
    assert written == {"m": 60} and "outside b's range 1..60" in issues[0].message
    assert Number("n", 2).write(1, CTX)[0] == {"n": 2}
    assert Number("n").write(10**9, CTX) == ({"n": 10**9}, [])
    assert minutes.describe() == "`m` (min) 1..60"


def test_flags_may_say_the_opposite() -> None:
    on = Flag("joinVideoOn", invert=True)
    assert on.read({"joinVideoOn": False}, CTX) == (True, [])
    assert on.write(True, CTX) == ({"joinVideoOn": False}, [])


def test_choices_map_named_values_and_say_what_is_approximate() -> None:
    region = Choice("geo", {"eu-ireland": "eu-west-2", "us-east": "us-east-1"},
                    approximate={"eu-ireland": "Dublin becomes London"})
    assert region.read({"geo": "us-east-1"}, CTX) == ("us-east", [])
    assert region.read({"geo": "mars"}, CTX) == ("mars", [])
    assert region.write("us-east", CTX) == ({"geo": "us-east-1"}, [])
    written, issues = region.write("eu-ireland", CTX)
    assert written == {"geo": "eu-west-2"} and issues[0].outcome is Outcome.LOSSY
    assert "Dublin becomes London" in issues[0].message
    written, issues = region.write("japan", CTX)
    assert written == {} and issues[0].outcome is Outcome.DROPPED


def test_instants_between_unix_seconds_and_rfc_3339() -> None:
    text = Instant("join_until", parse_timestamp)
    unix = Instant("expireUnixSec")
    assert text.read({"join_until": "2027-02-01"}, CTX) == (1801440000, [])
    value, issues = text.read({"join_until": "2027-02-01T00:00:00.5Z"}, CTX)
    assert value == 1801440000 and issues[0].outcome is Outcome.LOSSY
    assert text.write(1801440000, CTX) == ({"join_until": "2027-02-01T00:00:00Z"}, [])
    assert unix.write(1801440000, CTX) == ({"expireUnixSec": 1801440000}, [])
    # A ${…} reference moves only to a field written the same way.
    assert text.read({"join_until": "${END}"}, CTX) == ("${END}", [])
    assert text.write("${END}", CTX) == ({"join_until": "${END}"}, [])
    written, issues = unix.write("${END}", CTX)
    assert written == {} and issues[0].outcome is Outcome.LOSSY
    assert rfc3339(0) == "1970-01-01T00:00:00Z" and show(0, "instant") == rfc3339(0)


def test_webhooks_keep_their_method_where_the_target_has_one() -> None:
    twilio = Url("status_callback", "status_callback_method")
    telnyx = Url("webhook_event_url")
    hook = twilio.read({"status_callback": "https://x.example/", "status_callback_method":
                        "GET"}, CTX)
    assert hook == (Hook("https://x.example/", "GET"), [])
    assert twilio.write(Hook("https://x.example/", "GET"), CTX)[0] == {
        "status_callback": "https://x.example/", "status_callback_method": "GET"}
    written, issues = telnyx.write(Hook("https://x.example/", "GET"), CTX)
    assert written == {"webhook_event_url": "https://x.example/"}
    assert issues[0].outcome is Outcome.LOSSY
    assert show(Hook("https://user:pw@x.example/")) == ""  # never quoted


def test_a_field_read_as_it_is_and_a_codec_that_cannot_write() -> None:
    assert OneField("lang").read({"lang": "en"}, CTX) == ("en", [])
    written, issues = Codec().write(True, CTX)
    assert written == {} and issues[0].outcome is Outcome.DROPPED


def test_inherent_behaviour_and_key_suggestions() -> None:
    token = Inherent("token", close=("private",))
    assert token.read({"privacy": "public"}, CTX) is None and token.default == "token"
    assert token.describe() == "— (always token)"
    rule = KeyRule("name", "a-z0-9_-", 10)
    assert rule.suggest("  hello, World!!  ") == "hello-orld"
    assert KeyRule("unique_name").suggest("Any key at all") == "Any key at all"
