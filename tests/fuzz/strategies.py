"""Values the fuzzers share: the strings and numbers that break parsers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Strings that have broken parsers somewhere: empty, whitespace, control and format
# characters (NUL, bidi overrides, line separators, BOM), astral characters, YAML and
# reference syntax, path and URL tricks, numbers and keywords written as text.
ODD_STRINGS = (
    "", " ", "\t", "\n", "\r\n", "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u00a0",
    "\u2028", "\u2029", "\u200b", "\u202e", "\u2066", "\ufeff", "\U0001f4a5", "e\u0301",
    "${X}", "${", "$${X}", "${A-b}", "*alias", "&anchor", "<<", "- item", "key: value",
    "#comment", "'quote", '"quote', "{", "[", "../../etc/passwd", "a/b", "%2F", "?x=1",
    "http://", "https://example.com/x?secretKey=1", "null", "~", "true", "no", "1e999",
    "NaN", "-0", "0x1F", "2026-02-30T25:61:00Z", "room@1", "a" * 300,
)
HUGE_NUMBERS = (2**63, -(2**63) - 1, 2**128, 10**30, 1e308, -1e308, 5e-324)

odd_strings = st.sampled_from(ODD_STRINGS)
strings = st.one_of(st.text(max_size=30), odd_strings)
numbers = st.one_of(st.integers(), st.integers(min_value=-(2**130), max_value=2**130),
                    st.floats(), st.sampled_from(HUGE_NUMBERS))
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)


def nested(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[str] = strings,
           max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Lists and mappings of `leaves`, a few levels deep."""
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=max_leaves)


json_values = nested(scalars)
