"""The rooms file as loaded: values that remember where they were written (Mark), and
what the validator does with them before the models see them: copy, merge an account's
defaults under a room, find the place of a model's error, resolve `${…}` references.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reconcile import envref
from reconcile.errors import Diagnostic, Location


class Mark(NamedTuple):
    """A position counted from 0, like the libyaml marks stored as they come (converting
    every mark up front would cost more than the rest of the loading)."""

    line: int
    column: int


class LMap(dict[str, Any]):
    """A mapping that knows where it, its keys and its values are."""

    __slots__ = ("key_marks", "mark", "merged_at", "value_marks")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}
        # Keys that came through a `<<` merge: where the merge is (their own marks are
        # the anchor's, shared by every merge of it).
        self.merged_at: dict[str, Mark] | None = None


class LList(list[Any]):
    """A sequence that knows where it and its items are."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


@dataclass
class Document:
    path: str
    data: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)
    checksum: str = ""  # sha256 of the bytes read; saved plans are tied to it

    def location(self, mark: Mark) -> Location:
        return Location(self.path, mark.line + 1, mark.column + 1)


def copy_without(source: LMap, drop: set[str]) -> LMap:
    copy = LMap(source.mark)
    for key, value in source.items():
        if key not in drop:
            copy[key] = value
            copy.key_marks[key] = source.key_marks[key]
            copy.value_marks[key] = source.value_marks[key]
    return copy


def usable_defaults(settings: LMap, failed: list[tuple[Any, ...]], path: str
                     ) -> tuple[LMap | None, str]:
    """The defaults minus the fields already reported as invalid (reported once, there)."""
    defaults = settings.get("defaults")
    if not isinstance(defaults, LMap) or ("defaults",) in failed:
        return None, path
    broken = {str(loc[1]) for loc in failed if len(loc) > 1 and loc[0] == "defaults"}
    return copy_without(defaults, broken), path


def _mentions_dollar(value: Any) -> bool:
    if isinstance(value, str):
        return "$" in value
    if isinstance(value, dict):
        return any(_mentions_dollar(item) for item in value.values())
    if isinstance(value, list):
        return any(_mentions_dollar(item) for item in value)
    return False


def merge_defaults(defaults: tuple[LMap | None, str], room: LMap, known: set[str]
           ) -> tuple[LMap, dict[str, str]]:
    """The room with the account's defaults under it; returns which keys came from them."""
    source, source_path = defaults
    if not source:
        return room, {}
    merged = LMap(room.mark)
    inherited: dict[str, str] = {}
    for key, value in source.items():
        if key in known and key not in room:
            merged[key] = value
            merged.key_marks[key] = source.key_marks[key]
            merged.value_marks[key] = source.value_marks[key]
            inherited[key] = f"{source_path}.{key}"
    for key, value in room.items():
        merged[key] = value
        merged.key_marks[key] = room.key_marks[key]
        merged.value_marks[key] = room.value_marks[key]
    return merged, inherited


def resolved(data: LMap, where: tuple[Any, ...], environ: Mapping[str, str],
             missing: Callable[[Mark, str, tuple[Any, ...]], None]) -> LMap:
    """A copy of a room with ${…} resolved from `environ`; a value whose variable is
    missing is left as written and passed to `missing` (its mark, the message, its path).
    A room that references no variable is returned as it is, uncopied."""

    def resolve(value: Any, mark: Mark, parts: tuple[Any, ...]) -> Any:
        if isinstance(value, str):
            try:
                return envref.resolve(value, environ)
            except envref.MissingVariable as exc:
                missing(mark, exc.message, parts)
                return value
        if isinstance(value, LMap):
            copy = LMap(value.mark)
            copy.key_marks.update(value.key_marks)
            copy.value_marks.update(value.value_marks)
            for key, item in value.items():
                copy[key] = resolve(item, value.value_marks[key], (*parts, key))
            return copy
        if isinstance(value, LList):
            items = LList(value.mark)
            items.item_marks.extend(value.item_marks)
            items.extend(resolve(item, value.item_marks[i], (*parts, i))
                         for i, item in enumerate(value))
            return items
        return value

    return resolve(data, data.mark, where) if _mentions_dollar(data) else data


def locate(data: Any, loc: tuple[Any, ...], *, key: bool = False) -> Mark:
    """The mark of the value at `loc`, or of the nearest container that exists."""
    current = data
    mark: Mark = data.mark
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, LMap) and part in current:
            mark = current.key_marks[part] if key and last else current.value_marks[part]
            current = current[part]
        elif isinstance(current, LList) and isinstance(part, int) and 0 <= part < len(current):
            mark = current.item_marks[part]
            current = current[part]
        else:
            break
    return mark
