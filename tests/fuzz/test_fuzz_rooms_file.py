"""Fuzzing the rooms file: arbitrary YAML and mutated copies of examples/rooms.yaml go
through the loader, `check()` (what `validate` runs), `load()` and `reconcile validate`.

Properties: nothing raises; every problem is one located diagnostic on one line,
`file:line:col: message`, inside the file; `validate` exits 1 with exactly those lines,
or 0 with no output for a clean file.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconcile.cli import cli
from reconcile.config import check, load
from reconcile.errors import ConfigError, Diagnostic
from reconcile.exitcodes import ERROR, OK
from reconcile.providers import PROVIDER_PACKAGES, provider_models

from .conftest import budget
from .strategies import ODD_STRINGS, json_values, nested, scalars, strings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "rooms.yaml").read_bytes()
EXAMPLE_LINES = EXAMPLE.split(b"\n")
# What a diagnostic's text must be: a place and a message, on one line.
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): (?P<message>\S.*)$")
# Line breaks as str.splitlines() sees them: any of them splits a diagnostic in an editor.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
ENVIRON = {"X": "x", "K": "k", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
           "TELNYX_API_KEY": "k", "SIGNALWIRE_PROJECT_ID": "p", "SIGNALWIRE_TOKEN": "t",
           "METERED_SECRET_KEY": "s", "KALEYRA_API_KEY": "k"}


# -- what every run must show ------------------------------------------------------------

def assert_located(diagnostics: list[Diagnostic], path: Path, text: bytes) -> None:
    """Each diagnostic names this file, a real line and column, and fits on one line."""
    lines = text.splitlines()
    for diagnostic in diagnostics:
        rendered = str(diagnostic)
        assert not LINE_BREAKS.search(rendered), f"a diagnostic spans lines: {rendered!r}"
        match = LOCATED.match(rendered)
        assert match, f"not `file:line:col: message`: {rendered!r}"
        assert match["file"] == str(path)
        where = diagnostic.location
        # The end of the file is a place too (an unclosed bracket is reported there).
        assert where.line <= len(lines) + 1, rendered
        assert where.col >= 1, rendered


def check_file(tmp_path: Path, text: bytes) -> None:
    """The file through check(), load() and `reconcile validate` (text, json, github)."""
    path = tmp_path / "rooms.yaml"
    path.write_bytes(text)
    lines = text.splitlines()
    diagnostics = check(path)
    assert_located(diagnostics, path, text)
    try:
        load(path, ENVIRON)
        failures: list[Diagnostic] = []
    except ConfigError as exc:
        assert exc.diagnostics, "a ConfigError without a diagnostic"
        failures = exc.diagnostics
    assert_located(failures, path, text)
    if not diagnostics:
        # An offline-clean file fails to load only where resolving references matters.
        assert all(_after_resolving(d, lines) for d in failures), failures

    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    expected = sorted(diagnostics, key=lambda d: (d.location.line, d.location.col))
    if diagnostics:
        assert result.exit_code == ERROR
        assert result.stdout.splitlines() == [str(d) for d in expected]
    else:
        assert (result.exit_code, result.stdout) == (OK, "")

    as_json = CliRunner().invoke(cli, ["validate", "--format", "json", str(path)])
    assert as_json.exit_code == result.exit_code
    document = json.loads(as_json.stdout)
    assert document["error_count"] == len(diagnostics)
    github = CliRunner().invoke(cli, ["validate", "--format", "github", str(path)])
    assert github.exit_code == result.exit_code
    assert len(github.stdout.splitlines()) == len(diagnostics)


def _after_resolving(diagnostic: Diagnostic, lines: list[bytes]) -> bool:
    """Problems only a resolved ${…} can have: a missing variable, or a value that the
    variable's text makes invalid (templated values are checked again once resolved)."""
    line = diagnostic.location.line - 1
    return diagnostic.message.startswith("environment variable `") or (
        0 <= line < len(lines) and b"${" in lines[line])


# -- arbitrary documents shaped like a rooms file ------------------------------------------

def _field_names() -> list[str]:
    names: set[str] = {"participants", "tools", "user_id", "is_admin", "role", "match",
                       "max_destroy_percent", "min_managed_rooms", "all", "publisher"}
    for provider in PROVIDER_PACKAGES:
        models = provider_models(provider)
        names |= {info.alias or name for name, info in models.account.model_fields.items()}
        for kind in models.kinds:
            names |= {kind.name, *kind.model.yaml_names()}
    return sorted(names)


def _example_values() -> dict[str, list[Any]]:
    """Every value examples/rooms.yaml gives each field name: realistic values to mix."""
    values: dict[str, list[Any]] = {}

    def walk(node: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key), value
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for key, value in walk(yaml.safe_load(EXAMPLE)):
        values.setdefault(key, []).append(value)
    return values


FIELD_NAMES = _field_names()
EXAMPLE_VALUES = _example_values()
keys = st.one_of(st.sampled_from(FIELD_NAMES), strings)


@st.composite
def field_values(draw: st.DrawFn, name: str) -> Any:
    """A value for the field `name`: one the example gives it, or anything."""
    realistic = EXAMPLE_VALUES.get(name)
    if realistic and draw(st.booleans()):
        return copy.deepcopy(draw(st.sampled_from(realistic)))  # documents get aliased in
    return draw(json_values)


@st.composite
def mapping_of(draw: st.DrawFn, names: list[str], required: dict[str, Any] | None = None,
               max_size: int = 6) -> dict[str, Any]:
    chosen = draw(st.lists(st.one_of(st.sampled_from(names), keys), max_size=max_size,
                           unique=True))
    result = dict(required or {})
    for name in chosen:
        result[name] = draw(field_values(name))
    return result


@st.composite
def accounts(draw: st.DrawFn, provider: str) -> dict[str, Any]:
    models = provider_models(provider)
    locators = {"signalwire": {"space": "acme"}, "metered": {"app": "acme"},
                "kaleyra": {"region": "eu"}}.get(provider, {})
    account = {**locators, **draw(mapping_of(
        [*models.account.model_fields, "defaults", "credentials"], max_size=3))}
    for kind in models.kinds:
        if draw(st.booleans()):
            room = mapping_of(kind.model.yaml_names(),
                              {kind.model.KEY_FIELD: draw(st.sampled_from(["a", "b"]))})
            account[kind.name] = draw(st.lists(room, max_size=3))
    return account


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A rooms-file-like document, sometimes with shared (aliased) or recursive nodes."""
    providers = draw(st.dictionaries(
        st.one_of(st.sampled_from(list(PROVIDER_PACKAGES)), keys),
        st.sampled_from(list(PROVIDER_PACKAGES)).flatmap(accounts), max_size=3))
    document: Any = {"version": draw(st.one_of(st.just(1), scalars)), "providers": providers}
    if draw(st.booleans()):
        document[draw(keys)] = draw(json_values)
    containers = list(_containers(document))
    if len(containers) > 1 and draw(st.booleans()):
        # The same object twice: safe_dump writes an anchor and an alias, or a recursive
        # one when the target is inside the source.
        source, target = draw(st.permutations(containers))[:2]
        if isinstance(target, dict):
            target[draw(keys)] = source
        else:
            target.append(source)
    if draw(st.integers(0, 9)) == 0:
        document = draw(json_values)  # not a mapping at all
    return document


def _containers(node: Any) -> Iterator[dict[str, Any] | list[Any]]:
    if isinstance(node, dict | list):
        yield node
        for child in node.values() if isinstance(node, dict) else node:
            yield from _containers(child)


@given(documents(), st.sampled_from([None, True, False]), st.booleans())
@settings(max_examples=budget(150))
def test_arbitrary_documents(tmp_path: Path, document: Any, flow: bool | None,
                             unicode: bool) -> None:
    try:
        text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=unicode,
                              sort_keys=False)
    except (yaml.YAMLError, RecursionError):
        return  # a document PyYAML cannot write is not a file anyone has
    check_file(tmp_path, text.encode())


# -- YAML's own features: anchors, merges, tags, nesting, text --------------------------------

FRAGMENTS = (
    "version: 1\n", "providers:\n", "  telnyx:\n", "    credentials: {api_key: '${K}'}\n",
    "    rooms:\n", "      - unique_name: a\n", "        max_participants: 5\n",
    "x-a: &a {max_participants: 5}\n", "      - <<: *a\n", "        <<: [*a, *a]\n",
    "      - &r {unique_name: b}\n", "      - *r\n", "  other: *a\n", "  <<: *missing\n",
    "  ? [complex, key]\n  : value\n", "  !!str tagged: 1\n", "  t: !!binary aGk=\n",
    "  t: !custom x\n", "  t: !!python/object:os.system x\n", "%TAG !e! tag:e.com:\n",
    "---\n", "...\n", "  flow: {a: [b, {c: d}]}\n", "  seq: [a, b,\n", "  s: 'open\n",
    "  b: |\n    block\n", "  f: >-\n    folded\n", "\t  tab: 1\n", "  \ufeffbom: 1\n",
    "  dup: 1\n  dup: 2\n", "  num: 1:20\n", "  big: 1e400\n", "  n: !!int x\n",
    "  '<<': {a: 1}\n", "  \"quoted\\u202ekey\": 1\n", "  \"new\\nline\": 1\n",
    "  \"nul\\0\": 1\n", "  deep: " + "[" * 70 + "]" * 70 + "\n",
    "  deeper: " + "{a: " * 30 + "x" + "}" * 30 + "\n",
)


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12),
       st.lists(st.sampled_from(ODD_STRINGS), max_size=2))
@settings(max_examples=budget(150))
@example(["version: 1\n", "providers:\n", '  "new\\nline": 1\n'], [])
@example(["version: 1\n", "providers:\n", '  "quoted\\u202ekey": 1\n'], [])
@example(["version: 1\n"], ["\x85", "\u200b"])  # the end, a line past NEL
def test_yaml_feature_soup(tmp_path: Path, fragments: list[str], junk: list[str]) -> None:
    check_file(tmp_path, ("".join(fragments) + "".join(junk)).encode("utf-8", "surrogatepass"))


# -- mutations of examples/rooms.yaml ----------------------------------------------------------

YAML_VALUES = (
    "", "null", "~", "[]", "{}", "*webhook", "*nope", "&dup x", "!!str 1", "!!int x",
    "!!binary aGk=", "!!set {a}", "!!python/name:os.system", "1:20", "0o17", "0x_1",
    ".inf", "-.nan", "1e400", "9" * 40, "'${X}'", "${X}", "${", "{a: ${X}}", "[${X}]",
    "'unterminated", "[a, b", "{a: 1", "|", ">-", "? a", "- x", "<<: *webhook", "yes",
    "on", "2026-12-01", '"\\ud800"', '"\\x00"', '"\\u202e"', "\t1", "a: b: c",
)
TOKENS = (
    ":", ": ", "- ", "  ", "\t", "&x ", "*x", "*webhook", "<<: ", "{", "}", "[", "]",
    "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "!", "!!", "? ", "|", ">", ",",
    "\\", "\x00", "\x1b", "\ufeff", "\u2028", "\u202e", "\r", "\n", "\U0001f4a5",
)
lines_at = st.integers(0, len(EXAMPLE_LINES) * 2)
MUTATIONS = st.one_of(
    st.tuples(st.just("delete"), lines_at),
    st.tuples(st.just("duplicate"), lines_at, lines_at),  # duplicated keys and rooms
    st.tuples(st.just("indent"), lines_at, st.integers(-4, 4)),
    st.tuples(st.just("value"), lines_at, st.one_of(st.sampled_from(YAML_VALUES), strings)),
    st.tuples(st.just("insert"), lines_at, st.integers(0, 200),
              st.one_of(st.sampled_from(TOKENS), strings)),
    st.tuples(st.just("byte"), lines_at, st.integers(0, 200), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, len(EXAMPLE))),
    st.tuples(st.just("nest"), lines_at, st.integers(1, 200)),
)


def mutate(lines: list[bytes], mutation: tuple[Any, ...]) -> list[bytes]:
    """One mutation; line and column numbers wrap around what the file has."""
    op, *args = mutation
    lines = list(lines) or [b""]
    at = args[0] % len(lines) if op != "truncate" else 0
    line = lines[at]
    if op == "delete":
        del lines[at]
    elif op == "duplicate":
        lines.insert(at, lines[args[1] % len(lines)])
    elif op == "indent":
        lines[at] = b" " * args[1] + line if args[1] >= 0 else line[-args[1]:]
    elif op == "value":
        key, colon, _ = line.partition(b": ")
        if colon:
            lines[at] = key + colon + args[1].encode("utf-8", "surrogatepass")
    elif op == "insert":
        column = args[1] % (len(line) + 1)
        lines[at] = line[:column] + args[2].encode("utf-8", "surrogatepass") + line[column:]
    elif op == "byte":
        if line:
            column = args[1] % len(line)
            lines[at] = line[:column] + bytes([args[2]]) + line[column + 1:]
    elif op == "truncate":
        return b"\n".join(lines)[:args[0]].split(b"\n")
    elif op == "nest":
        lines[at] = line + b" " + b"[" * args[1] + b"1" + b"]" * args[1]
    return lines


@given(st.lists(MUTATIONS, min_size=1, max_size=4))
@settings(max_examples=budget(200))
def test_mutated_example(tmp_path: Path, mutations: list[tuple[Any, ...]]) -> None:
    lines = EXAMPLE_LINES
    for mutation in mutations:
        lines = mutate(lines, mutation)
    check_file(tmp_path, b"\n".join(lines))


def test_the_example_itself_is_clean(tmp_path: Path) -> None:
    check_file(tmp_path, EXAMPLE)
    assert check(ROOT / "examples" / "rooms.yaml") == []


@pytest.mark.parametrize("depth", [62, 63, 1_000, 100_000])
def test_deep_nesting_is_one_located_diagnostic(tmp_path: Path, depth: int) -> None:
    # The root and `providers` are two levels: 62 lists under them are the most allowed.
    text = b"version: 1\nproviders:\n  x: " + b"[" * depth + b"]" * depth + b"\n"
    check_file(tmp_path, text)
    messages = [d.message for d in check(tmp_path / "rooms.yaml")]
    too_deep = [m for m in messages if "nests deeper than 64 levels" in m]
    assert len(too_deep) == (depth > 62), messages


@given(nested(scalars, max_leaves=30))
@settings(max_examples=budget(50))
def test_arbitrary_values_anywhere_in_an_account(tmp_path: Path, value: Any) -> None:
    for where in ("defaults", "credentials", "prune", "safety", "rooms", "endpoint"):
        document = {"version": 1, "providers": {"telnyx": {
            "credentials": {"api_key": "${K}"}, "rooms": [{"unique_name": "a"}],
            where: value}}}
        check_file(tmp_path, yaml.safe_dump(document, allow_unicode=True).encode())
