"""The committed JSON Schema: well formed, fresh, and in agreement with the corpus.

Valid fixtures must be accepted. Invalid fixtures marked `# schema: rejects` must be
rejected; `# schema-xfail:` marks a defect the schema could express but does not yet
(see tests/test_corpus.py for the header format).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import check
from reconcile.loader import load_file, load_text
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.schema import SCHEMA_ID, SHIPPED, render_schema, shipped_schema

from .test_corpus import EXAMPLES, INVALID, VALID, read_header

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schemas" / "rooms.schema.json"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def plain(value: Any) -> Any:
    """Loader data (LMap/LList, dict and list subclasses) as plain JSON-compatible data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load(path: Path) -> Any:
    document = load_file(path)
    assert document.data is not None, [str(d) for d in document.diagnostics]
    data = plain(document.data)
    json.dumps(data)  # JSON-compatible: no marks, dates or other objects left
    return data


def errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(data)]


# -- the schema itself ---------------------------------------------------------------


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_declares_its_draft_and_a_stable_id(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == DRAFT_2020_12
    assert schema["$id"] == "https://reconcile-rooms.dev/schemas/rooms.schema.json"
    plan = json.loads(shipped_schema("plan"))
    assert plan["$id"] == "https://reconcile-rooms.dev/schemas/plan.schema.json"


def test_the_plan_schema_names_every_registered_provider() -> None:
    """The plan document's provider enum is written by hand: a provider added to the
    registry and not here makes every plan of its accounts invalid against the schema."""
    plan = json.loads(shipped_schema("plan"))
    assert plan["$defs"]["provider"]["enum"] == list(PROVIDER_PACKAGES)


def test_committed_schema_is_fresh() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "schemas/rooms.schema.json is stale: run `reconcile schema`")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_schemas_are_the_committed_ones(name: str) -> None:
    """schemas/ is what editors and readers of the repository see; the package ships the
    same bytes (reconcile/schemas/, read through importlib.resources)."""
    committed = (ROOT / "schemas" / SHIPPED[name]).read_text(encoding="utf-8")
    assert shipped_schema(name) == committed, (
        f"reconcile/schemas/{SHIPPED[name]} differs from schemas/{SHIPPED[name]}: after"
        " `reconcile schema`, copy schemas/*.schema.json to reconcile/schemas/")


def _patterns(node: Any, parent: dict[str, Any] | None = None) -> Iterator[
        tuple[dict[str, Any], dict[str, Any] | None]]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node, parent
        for value in node.values():
            yield from _patterns(value, node)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value, parent)


def test_every_pattern_has_a_human_message(schema: dict[str, Any]) -> None:
    """yaml-language-server shows patternErrorMessage (or, for `not`, the parent's
    errorMessage) instead of 'String does not match the pattern of "^…$"'."""
    found = list(_patterns(schema))
    assert len(found) > 20
    for node, parent in found:
        if parent is not None and parent.get("not") is node:
            assert parent.get("errorMessage"), parent
        else:
            assert node.get("patternErrorMessage"), node
            assert "^" not in node["patternErrorMessage"], node


def test_literal_secret_message_names_the_variable(schema: dict[str, Any]) -> None:
    secret = schema["$defs"]["TelnyxCredentials"]["properties"]["api_key"]
    assert secret["patternErrorMessage"] == secret["errorMessage"] == (
        "`api_key` must be a ${VARIABLE} reference such as ${TELNYX_API_KEY}, set in the"
        " environment: a literal secret is refused")
    assert jsonschema.Draft202012Validator(schema).is_valid(
        {"version": 1, "providers": {"telnyx": {"credentials": {"api_key": "${K}"}}}})


# -- the corpus ------------------------------------------------------------------------


def _params(paths: list[Path]) -> list[object]:
    params = []
    for path in paths:
        reason = read_header(path).schema_xfail
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


REJECTED = [p for p in INVALID if read_header(p).schema == "rejects"]


@pytest.mark.parametrize("path", _params(VALID + EXAMPLES))
def test_schema_accepts_valid_fixture(
        validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert errors(validator, load(path)) == []


@pytest.mark.parametrize("path", _params(REJECTED))
def test_schema_rejects_invalid_fixture(
        validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert errors(validator, load(path)), "the schema accepts this invalid file"


def test_enough_fixtures_are_schema_checked() -> None:
    assert len(REJECTED) >= 30


# -- accounts are discriminated by provider ------------------------------------------


TWILIO = {
    "credentials": {"account_sid": "${TWILIO_ACCOUNT_SID}", "auth_token": "${TWILIO_AUTH_TOKEN}"},
    "rooms": [{"unique_name": "daily-standup", "max_participants": 10}],
}
METERED = {
    "type": "metered",
    "app": "acme-eu",
    "credentials": {"secret_key": "${METERED_EU_SECRET_KEY}"},
    "rooms": [{"roomName": "support-desk", "privacy": "private", "enableChat": True}],
}


def rooms_file(**accounts: Any) -> dict[str, Any]:
    return {"version": 1, "providers": copy.deepcopy(accounts)}


def test_a_telnyx_field_in_a_twilio_account_is_rejected(
        validator: jsonschema.Draft202012Validator) -> None:
    data = rooms_file(twilio=TWILIO)
    assert errors(validator, data) == []
    data["providers"]["twilio"]["rooms"][0]["webhook_event_url"] = "https://hooks.example.com/x"
    assert errors(validator, data)
    data = rooms_file(twilio=TWILIO)
    data["providers"]["twilio"]["rooms"][0]["webhook_timeout_secs"] = 10
    assert errors(validator, data)


def test_an_alias_with_a_type_gets_that_providers_fields(
        validator: jsonschema.Draft202012Validator) -> None:
    data = rooms_file(eu=METERED)
    assert errors(validator, data) == []
    data["providers"]["eu"]["rooms"][0]["max_participants"] = 10  # Twilio's spelling
    assert errors(validator, data)
    data = rooms_file(eu=METERED)
    data["providers"]["eu"]["rooms"].append({"unique_name": "daily-standup"})
    assert errors(validator, data)


def test_a_provider_named_account_with_another_type_gets_that_types_fields(
        validator: jsonschema.Draft202012Validator) -> None:
    data = rooms_file(twilio=METERED)  # named twilio, typed metered
    assert errors(validator, data) == []
    data = rooms_file(twilio={**TWILIO, "type": "metered"})
    assert errors(validator, data)


def test_an_alias_without_a_type_is_rejected(
        validator: jsonschema.Draft202012Validator) -> None:
    untyped = {k: v for k, v in METERED.items() if k != "type"}
    assert errors(validator, rooms_file(eu=untyped))
    assert errors(validator, rooms_file(eu={**METERED, "type": "zoom"}))


def test_room_fields_are_checked_per_provider(
        validator: jsonschema.Draft202012Validator) -> None:
    data = rooms_file(eu=METERED)
    data["providers"]["eu"]["rooms"][0]["privacy"] = "secret"
    assert errors(validator, data)
    data = rooms_file(twilio=TWILIO)
    data["providers"]["twilio"]["rooms"][0]["max_participants"] = 51
    assert errors(validator, data)


# -- the documented catalog entry agrees with the hook ---------------------------------

DOCS = ROOT / "docs" / "editors-and-hooks.md"
NAMES = ["rooms.yaml", "rooms.yml", "ops/rooms.yaml", "rooms.prod.yaml", "rooms-eu.yml",
         "rooms/a.yaml", "rooms/eu/b.yml", "infra/rooms/x.yaml", ".pre-commit-config.yaml",
         "classrooms.yaml", "docker-compose.yml", ".github/workflows/reconcile.yml",
         "rooms.yaml.bak", "myrooms/x.yaml", "rooms/notes.txt", "schemas/rooms.schema.json"]


def _glob(pattern: str) -> re.Pattern[str]:
    """A catalog's fileMatch glob: `**/` any folders, `*` within a name; a pattern with no
    folder matches the file's name wherever it is."""
    body = "".join("(.*/)?" if part == "**/" else "[^/]*" if part == "*" else re.escape(part)
                   for part in re.split(r"(\*\*/|\*)", pattern))
    return re.compile(("(.*/)?" if "/" not in pattern else "") + body + "$")


def test_the_documented_catalog_entry_matches_what_the_hook_matches() -> None:
    block = re.search(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert block is not None
    entry = json.loads(textwrap.dedent(block[1]))
    assert entry["url"] == SCHEMA_ID
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    files = re.compile(hooks[0]["files"])
    globs = [_glob(pattern) for pattern in entry["fileMatch"]]
    for name in NAMES:
        assert bool(files.search(name)) == any(g.match(name) for g in globs), name
    assert hooks[0]["files"] in DOCS.read_text(encoding="utf-8")  # the page quotes it


# -- validate and the schema judge every scalar alike (issue 11) ---------------------------

# A field of each type, in a room that is otherwise valid.
FIELDS = {
    "bool": ("telnyx", "enable_recording"),
    "int": ("telnyx", "max_participants"),  # 2 to 50
    "big int": ("metered", "maxParticipants"),  # 1 to int32
    "text": ("signalwire", "display_name"),
}
ACCOUNTS = {
    "telnyx": "  telnyx:\n    credentials: {api_key: '${K}'}\n    rooms:\n"
              "      - unique_name: r\n        FIELD: VALUE\n",
    "metered": "  metered:\n    app: acme\n    credentials: {secret_key: '${K}'}\n    rooms:\n"
               "      - roomName: r\n        FIELD: VALUE\n",
    "signalwire": "  signalwire:\n    space: acme\n    credentials: {project_id: '${P}',"
                  " token: '${K}'}\n    rooms:\n      - name: r\n        FIELD: VALUE\n",
}
# Scalars that YAML 1.1 and 1.2 (or two YAML tools) may read apart.
AMBIGUOUS = ["010", "08", "0o10", "0x1F", "+12", "-0", "12", "1.5", "1:20", "5:00", "yes",
             "Yes", "YES", "no", "on", "On", "OFF", "Off", "y", "Y", "n", "N", "true", "True",
             "TRUE", "tRUE", "false", "FALSE", "~", "null", "Null", "NULL", ".inf", "-.inf",
             ".nan", "2024-01-01", "0o8", "1e", "'010'", '"yes"', "'true'", "!!str 10",
             "!!int '12'", "0x", "12e", "99999999999", "1_000", "0b101", "+0x10", "1_0.5",
             "10.0", "1e1", "1.0e+1"]
# Written as neither editors nor check-jsonschema agree: refused by validate on purpose.
DISPUTED = {"1_000", "0b101", "+0x10", "1_0.5"}
# Whole numbers written as floats: JSON has one number type, so JSON Schema calls 10.0 an
# integer, while validate keeps to the integer written (as it must refuse `version: 1.0`).
INTEGRAL_FLOATS = {"10.0", "1e1", "1.0e+1"}


def _scalar_files(folder: Path) -> dict[Path, tuple[str, str]]:
    files = {}
    for kind, (provider, field) in FIELDS.items():
        for n, value in enumerate(AMBIGUOUS):
            path = folder / f"{kind.replace(' ', '-')}-{n}.yaml"
            account = ACCOUNTS[provider].replace("FIELD", field).replace("VALUE", value)
            path.write_text(f"version: 1\nproviders:\n{account}", encoding="utf-8")
            files[path] = (kind, value)
    return files


def _check_jsonschema(paths: list[Path]) -> set[str]:
    """The files check-jsonschema (YAML 1.2, via ruamel.yaml) rejects with the committed
    schema, as a pre-commit hook or CI step runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA_PATH),
         "-o", "json", *map(str, paths)], capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    return {e["filename"] for e in report.get("errors", []) + report.get("parse_errors", [])}


def _validate(paths: list[Path]) -> set[str]:
    result = CliRunner().invoke(cli, ["validate", "--format", "json", *map(str, paths)])
    return {f["file"] for f in json.loads(result.output)["files"] if not f["valid"]}


def test_validate_and_check_jsonschema_judge_every_scalar_alike(tmp_path: Path) -> None:
    files = _scalar_files(tmp_path)
    by_schema = _check_jsonschema(list(files))
    by_validate = _validate(list(files))
    disagree = []
    for path, (kind, value) in files.items():
        if value in DISPUTED or ("int" in kind and value in INTEGRAL_FLOATS):
            continue  # checked below
        if (str(path) in by_schema) != (str(path) in by_validate):
            disagree.append(f"{kind} field `{value}`: schema "
                            f"{'rejects' if str(path) in by_schema else 'accepts'}")
    assert disagree == []
    # Both sides of the exceptions are as stated: disputed forms are refused by validate,
    # whole floats accepted by JSON Schema in integer fields and refused by validate.
    for path, (kind, value) in files.items():
        if value in DISPUTED:
            assert str(path) in by_validate, (kind, value)
        if "int" in kind and value in INTEGRAL_FLOATS:
            assert (str(path) in by_validate, str(path) in by_schema) == (True, False)


def test_disputed_numbers_are_read_apart_by_yaml_tools() -> None:
    # Why `1_000` is refused rather than read: check-jsonschema's reader takes it as a
    # number, the YAML 1.2 core schema (and so yaml-language-server) as text.
    from check_jsonschema.parsers.yaml import construct_yaml_implementation

    reader = construct_yaml_implementation()
    for value in DISPUTED:
        assert not isinstance(reader.load(f"a: {value}\n")["a"], str), value
        assert load_text(f"a: '{value}'\n").data == {"a": value}  # quoted: text, for all


@pytest.mark.parametrize("key", ["t\x1b]0;owned\x07", "csi\x9b31m", "rtl\u202egnp", "a\nb",
                                 "zero\u200bwidth", "nbsp\u00a0x", "café 💥 ok"])
def test_room_keys_are_refused_by_the_schema_as_by_validate(
        validator: jsonschema.Draft202012Validator, tmp_path: Path, key: str) -> None:
    """Issue 11: validate refuses keys holding what `printable` escapes; the schema
    refuses the same ones (in the key and in renamed_from), so editors flag them too."""
    data = rooms_file(twilio=TWILIO)
    data["providers"]["twilio"]["rooms"][0]["unique_name"] = key
    path = tmp_path / "rooms.json"  # JSON is YAML: validate reads the very same data
    path.write_text(json.dumps(data))
    refused_by_validate = any("printable" in d.message for d in check(path))
    assert bool(errors(validator, data)) == refused_by_validate == (not key.isprintable())
    data["providers"]["twilio"]["rooms"][0].update(unique_name="ok", renamed_from=key)
    assert bool(errors(validator, data)) == (not key.isprintable())
