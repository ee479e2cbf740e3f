"""Hypothesis settings for the fuzzers (issue 6).

The "ci" profile keeps the default run fast: each fuzzer asks `budget()` for its number
of examples, a few dozen to a couple of hundred. Set RECONCILE_FUZZ_EXAMPLES for a longer
local hunt, e.g. `RECONCILE_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz`: every fuzzer
then runs that many examples, and failures found are kept in `.hypothesis/` for replay.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES_VARIABLE = "RECONCILE_FUZZ_EXAMPLES"

settings.register_profile(
    "ci",
    deadline=None,  # loopback HTTP and SQLite make timings noisy; the budget bounds time
    # In CI the same examples run every time, so a red build means this commit broke
    # something; local runs explore new ground.
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
settings.load_profile("ci")


def budget(examples: int) -> int:
    """A fuzzer's number of examples: its default, or RECONCILE_FUZZ_EXAMPLES when set."""
    value = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    if not value:
        return examples
    try:
        wanted = int(value)
    except ValueError:
        raise ValueError(f"{EXAMPLES_VARIABLE} must be a whole number, not {value!r}"
                         ) from None
    if wanted < 1:
        raise ValueError(f"{EXAMPLES_VARIABLE} must be at least 1, not {wanted}")
    return wanted
