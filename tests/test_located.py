"""The loaded tree (reconcile/located.py): copying and merging keep every mark, a model's
error is located at the nearest place that exists, and `${…}` is resolved in a copy."""

from __future__ import annotations

from typing import Any

from reconcile.loader import load_text
from reconcile.located import (
    LList,
    LMap,
    Mark,
    copy_without,
    locate,
    merge_defaults,
    resolved,
    usable_defaults,
)

TEXT = """\
defaults:
  max: 4
  mode: group
rooms:
  - name: a
    max: 9
    tags: [x, "${TAG}"]
"""


def at(mark: Mark) -> tuple[int, int]:
    """Line and column from 0 (the loader keeps libyaml's own marks, as they come)."""
    return mark.line, mark.column


def tree() -> LMap:
    data = load_text(TEXT).data
    assert isinstance(data, LMap)
    return data


def test_copy_and_merge_keep_each_value_where_it_was_written() -> None:
    data = tree()
    defaults, room = data["defaults"], data["rooms"][0]
    assert list(copy_without(defaults, {"mode"})) == ["max"]
    merged, inherited = merge_defaults((defaults, "x.defaults"), room, {"max", "mode", "name"})
    assert dict(merged) == {"mode": "group", "name": "a", "max": 9, "tags": ["x", "${TAG}"]}
    assert inherited == {"mode": "x.defaults.mode"}  # max is the room's own
    assert at(merged.value_marks["mode"]) == (2, 8) and at(merged.value_marks["max"]) == (5, 9)
    assert merge_defaults((None, "x"), room, {"max"}) == (room, {})


def test_usable_defaults_leave_out_what_was_reported() -> None:
    data = tree()
    kept, path = usable_defaults(data, [("defaults", "max")], "p.defaults")
    assert kept is not None and list(kept) == ["mode"] and path == "p.defaults"
    assert usable_defaults(data, [("defaults",)], "p")[0] is None


def test_locate_finds_the_value_or_the_nearest_container() -> None:
    data = tree()
    assert at(locate(data, ("rooms", 0, "tags", 1))) == (6, 14)
    assert at(locate(data, ("rooms", 0, "max"), key=True)) == (5, 4)
    assert at(locate(data, ("rooms", 0, "nothing", 3))) == (4, 4)  # the room itself
    assert locate(data, ("rooms", 7)) == data.value_marks["rooms"]


def test_references_are_resolved_in_a_copy_and_missing_ones_reported() -> None:
    room = tree()["rooms"][0]
    copy = resolved(room, ("rooms", 0), {"TAG": "blue"}, _never)
    assert copy["tags"] == ["x", "blue"] and room["tags"][1] == "${TAG}"
    assert isinstance(copy["tags"], LList) and copy["tags"].item_marks == room["tags"].item_marks
    missing: list[tuple[Any, ...]] = []
    kept = resolved(room, ("rooms", 0), {}, lambda mark, message, parts: missing.append(
        (at(mark), parts)))
    assert kept["tags"][1] == "${TAG}" and missing == [((6, 14), ("rooms", 0, "tags", 1))]
    plain = tree()["defaults"]
    assert resolved(plain, (), {}, _never) is plain  # no `$`: used as it is, uncopied


def _never(mark: Mark, message: str, parts: tuple[Any, ...]) -> None:
    raise AssertionError(f"reported {message} at {parts}")
