"""The fixture corpus: every invalid file yields exactly the diagnostics it states.

Each file under `tests/corpus/` opens with a block of comment lines that say what it must
produce. The block ends at the first line that is not a comment:

    # Defect: one line saying what is wrong (valid files: what they show)
    # expect: LINE:COL: exact message, without the ` (at …)` suffix
    # path: providers.telnyx.rooms[0].max_participants   (optional: the preceding expect's path)
    # schema: rejects | n/a        (whether the JSON Schema can express the defect)
    # schema-xfail: reason         (optional: it can, but the committed schema does not yet)
    # xfail: reason                (optional: the expectations are the proposed messages
    #                               and locations; the code does not produce them yet)
    # secret: literal              (optional: a literal secret no output may contain)

`expect` may repeat (a duplicate room is reported at both places). The header is read as
bytes, so a file whose body is not UTF-8 still states its expectations the same way.
An `xfail` is strict: once the code is fixed, the test fails until the line is removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import check

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))
VALID = sorted((CORPUS / "valid").glob("*.yaml"))
EXAMPLES = [ROOT / "examples" / "rooms.yaml"]

_EXPECT = re.compile(r"^(\d+):(\d+): (.+)$")
_KEYS = ("defect", "expect", "path", "schema", "schema-xfail", "xfail", "secret")


@dataclass
class Expected:
    line: int
    col: int
    message: str
    path: str | None = None  # None: not checked


@dataclass
class Header:
    description: str = ""
    expected: list[Expected] = field(default_factory=list)
    schema: str | None = None
    schema_xfail: str | None = None
    xfail: str | None = None
    secrets: list[str] = field(default_factory=list)


def read_header(path: Path) -> Header:
    """The leading comment block of a corpus file (see the module docstring)."""
    header = Header()
    for raw in path.read_bytes().split(b"\n"):
        if not raw.startswith(b"#"):
            break
        text = raw.decode("utf-8").rstrip("\r")
        name, colon, value = text[1:].strip().partition(":")
        key = name.strip().lower()
        if not colon or key not in _KEYS:
            continue  # free commentary, `yaml-language-server` lines
        value = value.strip()
        if key == "defect":
            header.description = value
        elif key == "expect":
            match = _EXPECT.match(value)
            if not match:
                raise ValueError(f"{path.name}: bad `# expect:` line: {text}")
            header.expected.append(Expected(int(match[1]), int(match[2]), match[3]))
        elif key == "path":
            if not header.expected or header.expected[-1].path is not None:
                raise ValueError(f"{path.name}: `# path:` must follow its `# expect:`")
            header.expected[-1].path = value
        elif key == "schema":
            header.schema = value
        elif key == "schema-xfail":
            header.schema_xfail = value
        elif key == "xfail":
            header.xfail = value
        elif key == "secret":
            header.secrets.append(value)
    return header


def _params(paths: list[Path]) -> list[object]:
    params = []
    for path in paths:
        reason = read_header(path).xfail
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


def _key(d: Expected) -> tuple[int, int, str]:
    return d.line, d.col, d.message


@pytest.mark.parametrize("path", _params(INVALID))
def test_invalid_file_yields_exactly_its_diagnostics(path: Path) -> None:
    header = read_header(path)
    found = check(path)
    got = sorted(f"{d.location.line}:{d.location.col}: {d.message}" for d in found)
    want = sorted(f"{e.line}:{e.col}: {e.message}" for e in header.expected)
    assert got == want
    paths = {(d.location.line, d.location.col, d.message): d.path for d in found}
    for expected in header.expected:
        if expected.path is not None:
            assert paths[_key(expected)] == expected.path, expected
    assert all(d.location.file == str(path) for d in found)


@pytest.mark.parametrize("path", _params(VALID + EXAMPLES))
def test_valid_file_is_clean(path: Path) -> None:
    assert [str(d) for d in check(path)] == []


def test_the_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 40
    assert len(VALID) >= 8


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_file_header_is_complete(path: Path) -> None:
    header = read_header(path)
    assert header.description, "a `# Defect:` line says what is wrong"
    assert header.expected, "at least one `# expect:` line"
    assert header.schema in ("rejects", "n/a")
    assert header.schema_xfail is None or header.schema == "rejects"


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_file_header_is_complete(path: Path) -> None:
    header = read_header(path)
    assert not header.expected and header.schema is None


SECRET_FILES = [p for p in INVALID if read_header(p).secrets]


def test_there_are_literal_secret_files() -> None:
    assert len(SECRET_FILES) >= 2


@pytest.mark.parametrize("path", SECRET_FILES, ids=[p.name for p in SECRET_FILES])
def test_literal_secrets_never_appear_in_diagnostics(path: Path) -> None:
    secrets = read_header(path).secrets
    found = check(path)
    assert found, "the literal secret is reported"
    for diagnostic in found:
        for secret in secrets:
            assert secret not in diagnostic.message
            assert secret not in diagnostic.path
            assert secret not in str(diagnostic)


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_literal_secrets_never_appear_in_validate_output(output_format: str) -> None:
    result = CliRunner().invoke(
        cli, ["validate", "--format", output_format, *map(str, SECRET_FILES)])
    assert result.exit_code == 1, result.output
    assert "literal value" in result.output
    for path in SECRET_FILES:
        for secret in read_header(path).secrets:
            assert secret not in result.output


def test_a_zero_byte_file_is_reported_like_a_comment_only_one(tmp_path: Path) -> None:
    empty = tmp_path / "rooms.yaml"
    empty.write_bytes(b"")
    expected = read_header(CORPUS / "invalid" / "empty-file.yaml").expected
    assert [(d.location.line, d.location.col, d.message) for d in check(empty)] == \
        [(e.line, e.col, e.message) for e in expected]
