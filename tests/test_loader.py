"""The YAML loader: located values, duplicate keys, aliases, bombs, depth, encodings."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from reconcile import loader
from reconcile.loader import MAX_DEPTH, load_bytes, load_file, load_text
from reconcile.located import LList, LMap


def messages(text: str) -> list[str]:
    return [f"{d.location.line}:{d.location.col}: {d.message}"
            for d in load_text(text, "f.yaml").diagnostics]


def test_values_keep_their_lines_and_columns() -> None:
    document = load_text("a:\n  b: [1, two]\n  c: {d: x}\n", "f.yaml")
    data = document.data
    assert isinstance(data, LMap) and isinstance(data["a"], LMap)
    inner = data["a"]
    assert document.location(inner.key_marks["b"]).line == 2
    assert (document.location(inner.value_marks["b"]).line,
            document.location(inner.value_marks["b"]).col) == (2, 6)
    assert isinstance(inner["b"], LList)
    assert document.location(inner["b"].item_marks[1]).col == 10
    assert inner["c"] == {"d": "x"}


def test_scalars_resolve_like_yaml_1_2_core_and_keys_stay_text() -> None:
    data = load_text("on: yes\nn: 0x10\nf: 1.5\nz: ~\ne:\nq: '5'\nd: 2026-01-31\n"
                     "s: !!str 12\ni: !!int '7'\no: 010\nt: True\nx: 1e3\n").data
    assert data == {"on": "yes", "n": 16, "f": 1.5, "z": None, "e": None, "q": "5",
                    "d": "2026-01-31", "s": "12", "i": 7, "o": 10, "t": True, "x": 1000.0}


def test_duplicate_keys_are_errors_pointing_at_the_second() -> None:
    assert messages("a: 1\nb: 2\na: 3\n") == [
        "3:1: duplicate key `a` (first defined at line 1); YAML would silently keep only the"
        " last one"]


def test_duplicate_keys_are_found_at_any_depth() -> None:
    found = messages("top:\n  - x: 1\n    x: 2\n")
    assert len(found) == 1 and found[0].startswith("3:5: duplicate key `x`")


def test_aliases_are_shared_not_copied() -> None:
    data = load_text("a: &r {x: [1, 2]}\nb: *r\nc: *r\n").data
    assert data["b"] is data["a"] and data["c"] is data["a"]


def test_merge_keys_fill_in_without_overriding() -> None:
    document = load_text("base: &b {x: 1, y: 2}\nroom:\n  <<: *b\n  y: 3\n")
    assert document.diagnostics == []
    assert document.data["room"] == {"x": 1, "y": 3}


def test_merge_of_a_list_of_mappings() -> None:
    data = load_text("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n").data
    assert data["c"] == {"x": 1, "y": 2}


def test_merging_a_scalar_is_an_error() -> None:
    assert messages("a: &a 1\nb:\n  <<: *a\n") == [
        "3:7: `<<` merges only mappings (or a list of mappings)"]


def test_billion_laughs_is_refused() -> None:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    found = messages("\n".join(lines) + "\n")
    assert found == ["7:10: aliases expand the document beyond 2,000,000 values (67 written,"
                     " 2,345,610 copied by aliases so far): an alias bomb? Refusing to load it"]


def _plain_rooms(count: int) -> str:
    return "rooms:\n" + "".join(f"  - name: room-{n}\n    size: {n}\n" for n in range(count))


def test_a_large_plain_file_is_refused_by_its_size_not_called_an_alias_bomb(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_NODES", 1000)
    found = messages(_plain_rooms(400))  # 1 + 400 * 5 nodes: over 1,000 at room 200
    assert found == ["400:11: the file holds more than 1,000 YAML nodes (keys and values as"
                     " written, no alias expanded); refusing to load it"]
    assert messages(_plain_rooms(150)) == []  # 751 nodes


def test_the_size_is_refused_before_the_document_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 637,000 plain rooms took 909 MB before the refusal came; now nothing is built.
    text = _plain_rooms(10_000)  # 50,001 nodes
    tracemalloc.start()
    try:
        load_text(text)
        _, built = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        monkeypatch.setattr(loader, "MAX_NODES", 25_000)
        refused = load_text(text)
        _, counted = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "more than 25,000 YAML nodes" in refused.diagnostics[0].message
    assert counted < built / 20, (counted, built)


def test_aliases_count_as_copies_only_when_they_expand(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr(loader, "MAX_EXPANDED_NODES", 100)
    text = "a: &a [" + ", ".join(["x"] * 30) + "]\nb: [*a, *a, *a]\n"
    assert messages(text) == ["2:13: aliases expand the document beyond 100 values (34"
                              " written, 90 copied by aliases so far): an alias bomb?"
                              " Refusing to load it"]


def test_deep_nesting_is_refused_before_it_hurts() -> None:
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    found = messages(text)
    # Our limit strikes at the 64th bracket, unless libyaml (PyYAML >= 6.0.3 bundles one
    # that stops at 1,000) scans that far ahead first: the same message either way.
    assert found in ([f"1:{column}: the document nests deeper than {MAX_DEPTH} levels;"
                      " refusing to load it"] for column in (4 + MAX_DEPTH - 1, 4 + 1000 - 1))


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1
    document = load_text("[" * depth + "]" * depth)
    assert document.diagnostics == []


def test_recursive_alias_is_refused() -> None:
    assert messages("a: &a [*a]\n") == [
        "1:8: alias `*a` refers to a node that contains it; recursive documents are not"
        " supported"]


def test_unknown_alias_suggests_an_anchor() -> None:
    assert messages("x: &webhook 1\na: *webhok\n") == [
        "2:4: unknown alias `*webhok`: no anchor `&webhok` comes before it (did you mean"
        " `*webhook`?)"]


def test_document_without_aliases_is_never_a_bomb() -> None:
    rooms = "".join(f"  - {{name: r{i}, a: 1, b: [1, 2, 3]}}\n" for i in range(120_000))
    document = load_text("rooms:\n" + rooms)
    assert document.diagnostics == []
    assert len(document.data["rooms"]) == 120_000


def test_python_tags_are_refused() -> None:
    assert messages("a: !!python/object:os.system {}\n") == [
        "1:4: unsupported YAML tag `!!python/object:os.system`"]


def test_custom_scalar_tag_is_refused() -> None:
    assert messages("a: !secret x\n") == ["1:4: unsupported YAML tag `!secret`"]


def test_several_documents_are_refused() -> None:
    assert messages("a: 1\n---\nb: 2\n") == [
        "2:1: the file holds more than one YAML document; keep every account in one document"]


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "~\n"])
def test_empty_documents(text: str) -> None:
    assert messages(text) == ["1:1: the file is empty: it needs `version: 1` and `providers:`"]


def test_syntax_errors_are_located() -> None:
    found = messages("a: [1, 2\nb: 3\n")
    assert found == ["1:4: YAML syntax error: this `[` is never closed: add `]` after its"
                     " last entry"]


def test_unquoted_reference_in_flow_mapping_gets_a_hint() -> None:
    found = messages("credentials: {api_key: ${KEY}}\n")
    assert len(found) == 1
    assert found[0].endswith('a `${NAME}` reference must be quoted: write "${NAME}"')


def test_complex_keys_are_refused() -> None:
    assert messages("? [a, b]\n: 1\nc: 2\n") == ["1:3: mapping keys must be plain scalars"]


def test_invalid_utf8_is_located() -> None:
    document = load_bytes(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert [str(d) for d in document.diagnostics] == [
        "f.yaml:2:7: the file is not valid UTF-8 text (byte 0xe9): save it as UTF-8"]


def test_byte_order_mark_is_accepted() -> None:
    assert load_bytes("\ufeffa: 1\n".encode(), "f.yaml").data == {"a": 1}


def test_control_characters_are_reported() -> None:
    document = load_text("a: b\x07c\n", "f.yaml")
    assert len(document.diagnostics) == 1
    assert document.diagnostics[0].message.startswith("YAML error:")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert load_file(tmp_path / "nope.yaml").diagnostics[0].message == "no such file"
    assert load_file(tmp_path).diagnostics[0].message == "is a directory, not a rooms file"


def test_an_unreadable_path_says_why(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    (diagnostic,) = load_file(tmp_path / "plain-file" / "rooms.yaml").diagnostics
    assert diagnostic.message == "cannot be read (Not a directory)"


def test_standard_collection_tags_and_the_non_specific_tag_are_accepted() -> None:
    document = load_text("m: !!map {a: 1}\nl: !!seq [1]\nx: ! 10\n", "f.yaml")
    assert document.diagnostics == []
    assert document.data == {"m": {"a": 1}, "l": [1], "x": "10"}  # `!` keeps it a string


def test_too_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconcile import loader

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("a: 12345678901234567890\n")
    assert load_file(path).diagnostics[0].message == \
        "is larger than 10 bytes, the most a rooms file may hold"
