"""Safe YAML loading that remembers where every value came from.

The document is built from libyaml's event stream rather than PyYAML's constructor, so
that we control what PyYAML does not: duplicate keys are errors, aliases are shared
instead of copied (and their expansion is bounded), nesting depth is bounded, and every
key and value keeps its line and column.

Mapping keys are kept as the text written. Values are read as YAML 1.2's core schema
says (see `reconcile.scalars`); timestamps stay strings: the models parse them.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from typing import Any

import yaml

from reconcile import scalars
from reconcile.errors import Diagnostic, Location
from reconcile.files import FileRefused, read_regular
from reconcile.located import Document, LList, LMap, Mark
from reconcile.messages import printable
from reconcile.yaml_text import (
    MAX_DEPTH,
    TOO_DEEP,
    EditorLines,
    mark_at_offset,
    syntax_error,
)

MAX_FILE_BYTES = 64 * 1024 * 1024
# The nodes a document may hold: as written (keys and values, counted before anything is
# built, so memory stays small), and with every alias copied (counted as it is built:
# aliases are shared, not copied, so they cost no memory, but every consumer walks them).
MAX_NODES = 2_000_000
MAX_EXPANDED_NODES = 2_000_000
# Every node but the root is introduced by one of these (a value by `:`, an item by `-`,
# `[` or `,`...), so a text with fewer of them holds fewer nodes and is not counted.
_NODE_INDICATORS = "-:[{,?"

_SWALLOW = "\0complex-key"



class LoadError(Exception):
    """Loading stopped; the document cannot be used at all."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def load_file(path: str | os.PathLike[str]) -> Document:
    """Load one rooms file. Problems are returned as diagnostics, never raised."""
    name = os.fspath(path)
    try:
        raw = read_regular(name, MAX_FILE_BYTES, "rooms file").data
    except FileRefused as refused:
        return _failed(name, Mark(0, 0), refused.problem)
    return load_bytes(raw, name)


def load_bytes(raw: bytes, path: str = "<string>") -> Document:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        mark = mark_at_offset(raw, exc.start)
        return _failed(path, mark, "the file is not valid UTF-8 text "
                                   f"(byte 0x{raw[exc.start]:02x}): save it as UTF-8")
    document = load_text(text, path)
    document.checksum = hashlib.sha256(raw).hexdigest()
    return document


def load_text(text: str, path: str = "<string>") -> Document:
    builder = _Builder(path)
    try:
        data = builder.build(text)
    except LoadError as exc:
        return _failed(path, exc.mark, exc.message, builder.diagnostics)
    except yaml.MarkedYAMLError as exc:
        where, message = syntax_error(text, exc)
        return _failed(path, builder.lines.editor(where) if builder.lines else where, message)
    except yaml.YAMLError as exc:  # reader errors: control characters and the like
        position = getattr(exc, "position", 0)
        return _failed(path, mark_at_offset(text.encode(), position),
                       f"YAML error: {getattr(exc, 'reason', exc)}")
    return Document(path, data, builder.diagnostics)


def _failed(path: str, mark: Mark, message: str,
            earlier: list[Diagnostic] | None = None) -> Document:
    diagnostic = Diagnostic(Location(path, mark.line + 1, mark.column + 1), printable(message))
    return Document(path, None, [*(earlier or []), diagnostic])


class _Frame:
    __slots__ = ("container", "key", "key_mark", "merge_key", "merges", "size")

    def __init__(self, container: LMap | LList) -> None:
        self.container = container
        self.key: str | None = None  # mappings: the key waiting for its value
        self.key_mark: Mark | None = None
        self.merge_key = False  # the waiting key is a plain `<<`, not a quoted "<<"
        self.merges: list[tuple[Mark, Any]] = []
        self.size = 1


_ScalarEvent = yaml.ScalarEvent
_MappingStart, _MappingEnd = yaml.MappingStartEvent, yaml.MappingEndEvent
_SequenceStart, _SequenceEnd = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_AliasEvent = yaml.AliasEvent
_DocumentStart, _StreamEnd = yaml.DocumentStartEvent, yaml.StreamEndEvent


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: EditorLines | None = None
        self.diagnostics: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, expanded size)
        self.open_anchors: dict[int, str] = {}  # id of a container still being built
        self.expanded = 0  # values, with every alias counted as a copy of its anchor
        self.copied = 0  # of which aliases made
        self.documents = 0

    def error(self, mark: Mark, message: str) -> None:
        location = Location(self.path, mark.line + 1, mark.column + 1)
        self.diagnostics.append(Diagnostic(location, printable(message)))

    def build(self, text: str) -> Any:
        self.lines = EditorLines.of(text)
        _count_nodes(text, self.lines)
        loader = yaml.CSafeLoader(text)
        try:
            root = self._build(self.lines.events(loader.get_event) if self.lines
                               else loader.get_event)
        finally:
            loader.dispose()
        if self.documents == 0 or root is None:
            raise LoadError(Mark(0, 0), "the file is empty: it needs `version: 1` and"
                                        " `providers:`")
        return root

    def _build(self, next_event: Any) -> Any:
        # The hot loop of `validate`: branches are ordered by frequency, and marks are
        # stored as libyaml made them.
        stack: list[_Frame] = []
        root: Any = None
        frame: _Frame | None = None
        while True:
            event = next_event()
            cls = event.__class__
            if cls is _ScalarEvent:
                mark = event.start_mark
                if frame is not None and frame.key is None and frame.container.__class__ is LMap:
                    frame.key = event.value
                    frame.merge_key = (event.value == "<<" and not event.style
                                       and event.tag in (None, "!"))
                    frame.key_mark = mark
                    continue
                value: Any = event.value
                if not event.style and event.tag is None:
                    if not value or value[0] in scalars.FIRST_CHARS:
                        value = self._scalar(event, mark)
                elif event.tag not in (None, "!"):
                    value = self._scalar(event, mark)
                size = counted = 1
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
            elif cls is _MappingStart or cls is _SequenceStart:
                frame = self._open(event, cls is _MappingStart, len(stack))
                stack.append(frame)
                continue
            elif cls is _MappingEnd or cls is _SequenceEnd:
                done = stack.pop()
                frame = stack[-1] if stack else None
                self._close(done)
                value, size, mark = done.container, done.size, done.container.mark
                counted = 1  # its children were counted as they came
            elif cls is _AliasEvent:
                value, size, mark = self._alias(event)
                counted = size  # an alias stands for a copy of everything under its anchor
                self.copied += size - 1
            elif cls is _DocumentStart:
                self._document(event)
                continue
            elif cls is _StreamEnd:
                break
            else:  # stream start, document end
                continue
            self.expanded += counted
            if self.expanded > MAX_EXPANDED_NODES:
                raise LoadError(mark, self._too_large())
            if frame is None:
                root = value
            else:
                self._add(frame, value, size, mark)
        return root

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise LoadError(event.start_mark, "the file holds more than one YAML document;"
                                              " keep every account in one document")

    def _open(self, event: Any, mapping: bool, depth: int) -> _Frame:
        """The frame of a mapping or sequence that starts."""
        if event.tag not in (None, "!"):
            self._check_tag(event, "map" if mapping else "seq")
        if depth >= MAX_DEPTH:
            raise LoadError(event.start_mark, TOO_DEEP)
        container: LMap | LList = LMap(event.start_mark) if mapping else \
            LList(event.start_mark)
        if event.anchor:
            self.open_anchors[id(container)] = event.anchor
            self.anchors[event.anchor] = (container, 0)
        return _Frame(container)

    def _close(self, done: _Frame) -> None:
        """A mapping or sequence ended: its merges applied, its anchor's size known."""
        if done.merges:
            self._apply_merges(done)
        anchor = self.open_anchors.pop(id(done.container), None)
        if anchor is not None and self.anchors[anchor][0] is done.container:
            self.anchors[anchor] = (done.container, done.size)

    def _too_large(self) -> str:
        written = self.expanded - self.copied
        if not self.copied:  # the count as written stops larger files first: a safeguard
            return (f"the document holds more than {MAX_EXPANDED_NODES:,} values"
                    " (as written); refusing to load it")
        return (f"aliases expand the document beyond {MAX_EXPANDED_NODES:,} values"
                f" ({written:,} written, {self.copied:,} copied by aliases so far): an"
                " alias bomb? Refusing to load it")

    def _add(self, frame: _Frame, value: Any, size: int, mark: Mark) -> None:
        frame.size += size
        container = frame.container
        if isinstance(container, LList):
            container.append(value)
            container.item_marks.append(mark)
            return
        key, key_mark = frame.key, frame.key_mark
        frame.key = None
        if key is None:  # a mapping or sequence used as a key
            self.error(mark, "mapping keys must be plain scalars")
            frame.key = _SWALLOW  # drop the value that follows
            return
        if key == _SWALLOW or key_mark is None:
            return
        if key == "<<" and frame.merge_key:
            frame.merges.append((mark, value))
            return
        if key in container:
            first = container.key_marks[key]
            self.error(key_mark, f"duplicate key `{key}` (first defined at line"
                                 f" {first.line + 1}); YAML would silently keep only the"
                                 " last one")
            return
        container[key] = value
        container.key_marks[key] = key_mark
        container.value_marks[key] = mark

    def _apply_merges(self, frame: _Frame) -> None:
        container = frame.container
        assert isinstance(container, LMap)
        for mark, merged in frame.merges:
            sources = merged if isinstance(merged, LList) else [merged]
            for source in sources:
                if not isinstance(source, LMap):
                    self.error(mark, "`<<` merges only mappings (or a list of mappings)")
                    continue
                for key, value in source.items():
                    if key not in container:  # explicit keys win over merged ones
                        container[key] = value
                        container.key_marks[key] = source.key_marks[key]
                        container.value_marks[key] = source.value_marks[key]
                        if container.merged_at is None:
                            container.merged_at = {}
                        container.merged_at[key] = mark

    def _alias(self, event: Any) -> tuple[Any, int, Mark]:
        mark = event.start_mark
        if event.anchor not in self.anchors:
            close = difflib.get_close_matches(event.anchor, list(self.anchors), n=1)
            hint = f" (did you mean `*{close[0]}`?)" if close else ""
            raise LoadError(mark, f"unknown alias `*{event.anchor}`: no anchor"
                                  f" `&{event.anchor}` comes before it{hint}")
        value, size = self.anchors[event.anchor]
        if id(value) in self.open_anchors:
            raise LoadError(mark, f"alias `*{event.anchor}` refers to a node that contains it;"
                                  " recursive documents are not supported")
        return value, size, mark

    def _check_tag(self, event: Any, expected: str) -> None:
        if event.tag in (f"!!{expected}", f"tag:yaml.org,2002:{expected}"):
            return
        raise LoadError(event.start_mark,
                        f"unsupported YAML tag `{scalars.as_written(event.tag)}`")

    def _scalar(self, event: Any, mark: Mark) -> Any:
        """A plain scalar that may not be a string, or one with an explicit tag (the caller
        keeps quoted and `!` scalars as strings), read as YAML 1.2's core schema says."""
        try:
            if event.tag is None:
                return scalars.plain(event.value)
            return scalars.tagged(event.tag, event.value)
        except scalars.Disputed as exc:
            self.error(mark, str(exc))  # reported, and loading goes on: kept as written
            return event.value
        except ValueError as exc:
            raise LoadError(mark, str(exc)) from exc


_COUNTED = frozenset({yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent,
                      yaml.AliasEvent})


def _count_nodes(text: str, lines: EditorLines | None) -> None:
    """Refuse a text of more than MAX_NODES nodes before building any of it: a large
    plain file fails in a pass that keeps nothing, instead of near a gigabyte later."""
    if len(text) <= MAX_NODES or 1 + sum(map(text.count, _NODE_INDICATORS)) <= MAX_NODES:
        return  # the usual file: fewer indicators than the cap, so fewer nodes
    loader = yaml.CSafeLoader(text)
    next_event, end, count = loader.get_event, yaml.StreamEndEvent, 0
    try:
        while True:
            event = next_event()
            cls = event.__class__
            if cls in _COUNTED:
                count += 1
                if count > MAX_NODES:
                    mark = event.start_mark if event is not None else None
                    assert mark is not None  # the _COUNTED events all carry one
                    raise LoadError(lines.editor(mark) if lines
                                    else Mark(mark.line, mark.column),
                                    f"the file holds more than {MAX_NODES:,} YAML nodes (keys"
                                    " and values as written, no alias expanded); refusing"
                                    " to load it")
            elif cls is end:
                return
    finally:
        loader.dispose()
