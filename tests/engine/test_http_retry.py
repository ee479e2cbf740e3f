"""The retry budget of one request (engine/http_retry.py): how many tries, and the waits
between them. The loop that uses it runs against the sandbox in test_http.py."""

from __future__ import annotations

import httpx
import pytest

from reconcile.engine.http_errors import HttpError, NotJson, TransportError
from reconcile.engine.http_limits import HttpSettings
from reconcile.engine.http_retry import MAX_RETRY_AFTER, Budget, transient, unprocessed


def answer(status: int, retry_after: str | None = None) -> HttpError:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    request = httpx.Request("GET", "http://127.0.0.1/v2/rooms")
    return HttpError("GET", str(request.url),
                     httpx.Response(status, headers=headers, request=request))


def dropped() -> TransportError:
    return TransportError("GET", "http://127.0.0.1/v2/rooms",
                          httpx.ConnectError("refused"))


def test_other_failures_use_up_attempts_and_429s_are_counted_apart() -> None:
    budget = Budget(HttpSettings(attempts=3, rate_limited_attempts=4))
    spent = [budget.spent(failure) for failure in
             (answer(429), dropped(), answer(429), answer(503), answer(429))]
    assert spent == [False, False, False, False, False]
    assert budget.spent(dropped())  # the third failure that is not a 429
    assert Budget(HttpSettings(rate_limited_attempts=2)).spent(answer(429)) is False
    limited = Budget(HttpSettings(rate_limited_attempts=2))
    assert [limited.spent(answer(429)) for _ in range(2)] == [False, True]


def test_backoff_doubles_from_the_initial_wait_with_up_to_a_second_of_jitter() -> None:
    settings = HttpSettings(backoff_initial=0.5, backoff_max=8.0)
    budget = Budget(settings)
    for tries, base in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0)):
        budget.spent(dropped())
        assert budget.tries == tries
        waits = [budget.delay(dropped()) for _ in range(50)]
        assert all(base <= wait <= min(base + 1, 8.0) for wait in waits), (tries, waits)


def test_a_very_late_try_waits_the_longest_backoff_without_overflow() -> None:
    budget = Budget(HttpSettings(backoff_max=8.0))
    budget.tries = 5000  # 2.0 ** 4999 overflows a float
    assert budget.delay(dropped()) == 8.0


@pytest.mark.parametrize(("retry_after", "wait"), [
    ("3", 3.0), ("0", 0.0), ("-5", 0.0), ("3600", MAX_RETRY_AFTER)])
def test_retry_after_is_waited_as_given_up_to_the_longest(retry_after: str,
                                                          wait: float) -> None:
    budget = Budget(HttpSettings())
    failure = answer(429, retry_after)
    budget.spent(failure)
    assert budget.delay(failure) == wait


def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    budget = Budget(HttpSettings(backoff_initial=0.5))
    failure = answer(503, "tomorrow")
    budget.spent(failure)
    assert 0.5 <= budget.delay(failure) <= 1.5


def test_what_is_retried() -> None:
    assert transient(answer(503)) and transient(answer(429)) and transient(dropped())
    assert not transient(answer(404))
    assert not transient(NotJson("garbage"))  # the same request gets the same answer
    assert not transient(ValueError("a bug"))
    assert unprocessed(answer(429)) and unprocessed(dropped())
    assert not unprocessed(answer(503))  # the create may have been made
