"""Every per-provider table is derived from the registry (issue 14: a provider is its
folder plus one line of `PROVIDER_PACKAGES`, and its tests are its own folder
tests/providers/<name>/).

The sandbox's tables are built from each folder's declaration; the tests' shared tables
from the registry and each provider's tests/providers/<name>/cases.py. What is not derived
(a literal naming providers, in the code or the tests) is found by reading the source: a
dict, set, list or tuple literal whose items name two registered providers or more (as
keys, elements, or the first element or argument of each item, as in `Facts("twilio", …)`
or `("twilio", "x")`) is a per-provider table. A complete one is a failure too, as a sixth
provider would have to extend it by hand; only the deliberate subsets below may stay.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

import reconcile
from reconcile.providers import PROVIDER_PACKAGES
from reconcile.sandbox import registry
from reconcile.sandbox.core import DEFAULT_CREDENTIALS
from reconcile.sandbox.declaration import SandboxDeclaration
from reconcile.sandbox.hostile_bodies import SHAPES
from reconcile.starter import credential_variables

from .commands.test_engine_matrix import BY_NAME
from .conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, cases

ROOT = Path(reconcile.__file__).resolve().parent.parent
REGISTERED = frozenset(PROVIDER_PACKAGES)

# Literals that name some providers on purpose, by file and the top-level name (function,
# class or assigned variable) that holds them, each with why: the cases of one behaviour
# some providers have, or a test's chosen sample. A new one needs an entry, which makes it
# a decision instead of an omission.
PAIRS = "conversions between chosen pairs of providers"
NAMED = "the providers whose rooms have a name or that update in place"
LOCATED = "the providers with a locator (a space, an app, a region)"
SAMPLE = "a sample of providers, enough for what the test shows"
SUBSETS: dict[tuple[str, str], str] = {
    ("tests/commands/test_convert.py", "TARGETS"): PAIRS,
    ("tests/commands/test_convert.py", "HOSTILE"): PAIRS,
    ("tests/commands/test_convert.py", "OTHERS"): PAIRS,
    ("tests/commands/test_convert.py",
     "test_a_refused_key_is_suggested_never_renamed_silently"): PAIRS,
    ("tests/convert/test_keys.py", "test_a_refused_key_is_reported_with_a_suggestion"): PAIRS,
    ("tests/commands/test_crash_safety.py", "NAME_FIELD"): NAMED,
    ("tests/commands/test_crash_safety.py", "BEFORE"): NAMED,
    ("tests/commands/test_crash_safety.py", "AFTER"): NAMED,
    ("tests/commands/test_secrets.py", "test_refused_credentials_do_not_show_either"): NAMED,
    ("tests/engine/test_run.py", "NAMED"): NAMED,
    ("tests/fuzz/test_fuzz_rooms_file.py", "accounts"): LOCATED,
    ("tests/test_schema.py", "ACCOUNTS"): LOCATED,
    ("tests/sandbox/test_serve.py",
     "test_serve_prints_credentials_and_a_rooms_file_that_work_as_pasted"): LOCATED,
    ("tests/commands/test_init.py", "test_only_the_providers_asked_for"): SAMPLE,
    ("tests/engine/test_apply.py", "SANDBOX_PROVIDERS"): SAMPLE,
    ("tests/commands/test_providers.py", "test_the_table_tells_the_providers_apart"): SAMPLE,
    ("tests/commands/test_secrets_sweep.py", "test_a_provider_quoting_the_key_it_refused"):
        SAMPLE,
    ("tests/gitops/test_workflow.py",
     "test_the_matrix_plan_step_saves_and_comments_per_account"): SAMPLE,
    ("tests/outputs/scenario.py", "_file"): SAMPLE,
    ("tests/outputs/scenario.py", "OCCUPIED"): SAMPLE,
    ("tests/outputs/test_markdown.py",
     "test_5000_changes_stay_under_the_limit_with_a_clear_note"): SAMPLE,
    ("tests/sandbox/test_store.py", "test_counters"): SAMPLE,
    ("tests/sandbox/test_switches.py", "SANDBOX_PROVIDERS"): SAMPLE,
    ("tests/test_config.py", "test_example_is_clean_and_loads_every_account"): SAMPLE,
    ("tests/test_api.py", "test_notices_go_to_the_callback_once_per_run"): SAMPLE,
    ("tests/test_envref.py", "test_variable_for_names_a_shell_variable"): SAMPLE,
    ("tests/test_escape.py", "PROVIDERS"): SAMPLE,
    ("tests/test_files.py", "test_a_named_pipe_as_the_rooms_file_or_saved_plan_never_blocks"):
        SAMPLE,
}


def _owner(node: ast.stmt) -> str:
    """The top-level name a module-level statement defines."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
    return next((ast.unparse(t) for t in targets), f"line {node.lineno}")


def _head(item: ast.expr | None) -> object:
    """What names an item's provider: a constant, or a tuple's first element, or a call's
    first argument (recursively)."""
    if isinstance(item, ast.Tuple) and item.elts:
        return _head(item.elts[0])
    if isinstance(item, ast.Call) and item.args:
        return _head(item.args[0])
    return item.value if isinstance(item, ast.Constant) else None


def _names(node: ast.AST) -> set[str]:
    """The registered providers a literal names, as keys or elements."""
    if isinstance(node, ast.Dict):
        items: list[ast.expr | None] = list(node.keys)
    elif isinstance(node, ast.Set | ast.List | ast.Tuple):
        items = list(node.elts)
    else:
        return set()
    return {name for item in items if (name := _head(item)) in REGISTERED}


def tables(source: str) -> Iterator[tuple[str, int, set[str]]]:
    """(owner, line, providers named) of each literal naming two providers or more."""
    for statement in ast.parse(source).body:
        for node in ast.walk(statement):
            named = _names(node)
            if len(named) >= 2:
                yield _owner(statement), getattr(node, "lineno", 0), named


def _sources() -> Iterator[Path]:
    yield from sorted((ROOT / "reconcile").rglob("*.py"))
    yield from sorted((ROOT / "tests").rglob("*.py"))


@functools.cache
def _found() -> tuple[tuple[str, str, int, frozenset[str]], ...]:
    """(file, owner, line, providers named) of every table outside the registry."""
    return tuple((relative, owner, line, frozenset(named)) for path in _sources()
                 if (relative := path.relative_to(ROOT).as_posix())
                 != "reconcile/providers/__init__.py"  # the registry itself
                 for owner, line, named in tables(path.read_text(encoding="utf-8")))


def hand_written_tables() -> list[str]:
    """Every literal table outside the registry that is not a listed subset, as
    `file:line: owner ...`: a complete one names every provider by hand, a partial one
    misses some."""
    found = []
    for relative, owner, line, named in _found():
        if (relative, owner) not in SUBSETS:
            found.append(f"{relative}:{line}: {owner} " + (
                "names every provider by hand: derive it from the registry (facts in the"
                " provider's folder, test data in tests/providers/<name>/cases.py)"
                if named == REGISTERED else f"misses {', '.join(sorted(REGISTERED - named))}"))
    return found


def test_no_per_provider_table_is_written_by_hand() -> None:
    assert hand_written_tables() == []


def test_every_listed_subset_still_exists() -> None:
    # An entry whose table is gone would excuse the next one silently.
    seen = {(relative, owner) for relative, owner, _, _ in _found()}
    assert set(SUBSETS) - seen == set()


def test_the_scan_finds_partial_and_complete_tables() -> None:
    every, some = sorted(REGISTERED), sorted(REGISTERED)[:-1]
    source = (f"TABLE = {{{', '.join(f'{p!r}: 1' for p in some)}}}\n"
              f"def f():\n    return {tuple(every)!r}\n"
              f"FACTS = [{', '.join(f'Facts({p!r}, x=1)' for p in every)}]\n"
              f"PAIRS = [{', '.join(f'({p!r}, 1)' for p in some)}]\n"
              "ONE = ['twilio', 'x']\n")
    assert list(tables(source)) == [("TABLE", 1, set(some)), ("f", 3, set(every)),
                                    ("FACTS", 4, set(every)), ("PAIRS", 5, set(some))]


@functools.cache
def _asked_for() -> frozenset[str]:
    """The names the tests ask each provider's cases.py for (`per_provider("NAME")`)."""
    names = set()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "per_provider" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
    return frozenset(names)


def test_the_scan_of_the_names_asked_for_finds_them() -> None:
    assert {"ENGINE", "EXPORT", "HOSTILE", "PROBE"} <= _asked_for()


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_each_provider_has_the_test_data_the_shared_tests_ask_for(provider: str) -> None:
    module = cases(provider)
    assert _asked_for() - set(vars(module)) == set(), module.__file__


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_each_folder_declares_its_sandbox(provider: str) -> None:
    declared = registry.declaration(provider)
    assert DEFAULT_CREDENTIALS[provider] == declared.credentials
    assert SHAPES[provider] == declared.hostile
    # the secrets are the rooms file's credential fields, and hold the accepted secret
    assert set(declared.secrets) == set(credential_variables(provider, provider))
    assert declared.credentials[1] in declared.secrets.values()


def test_a_folder_without_a_declaration_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # `reconcile.sandbox` stands in for a provider package whose `sandbox` module
    # (here, the sandbox package itself) declares no SANDBOX.
    monkeypatch.setitem(PROVIDER_PACKAGES, "undeclared", "reconcile")
    with pytest.raises(TypeError, match="must define SANDBOX"):
        registry.declaration("undeclared")
    # and a folder without a `sandbox.py` at all
    monkeypatch.setitem(PROVIDER_PACKAGES, "missing", "reconcile.providers")
    with pytest.raises(TypeError, match=r"reconcile\.providers\.sandbox must define SANDBOX"):
        registry.declaration("missing")
    assert isinstance(registry.declaration("twilio"), SandboxDeclaration)


def test_the_tests_shared_tables_cover_every_provider() -> None:
    assert set(BY_NAME) == REGISTERED  # the engine matrix's facts
    assert set(SANDBOX_ACCOUNTS) == REGISTERED
    assert set(SANDBOX_ENVIRON) == {variable for provider in PROVIDER_PACKAGES for variable
                                    in credential_variables(provider, provider).values()}
