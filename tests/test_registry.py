"""Every per-provider table covers every registered provider (issue 14: a provider is its
folder plus one line of `PROVIDER_PACKAGES`).

The sandbox's tables are built from each folder's declaration; the tests' shared tables
from the registry. What cannot be derived (a literal naming providers, in the code or the
tests) is found by reading the source: a dict, set, list or tuple literal that names two
registered providers or more is a per-provider table, and must name them all, unless it
is one of the deliberate subsets listed below.
"""

from __future__ import annotations

import ast
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
from .conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON

ROOT = Path(reconcile.__file__).resolve().parent.parent
REGISTERED = frozenset(PROVIDER_PACKAGES)

# Literals that name some providers on purpose, by file and the top-level name (function,
# class or assigned variable) that holds them: the cases of one behaviour some providers
# have (in-place updates, a name field, pages, a conversion pair, an SDK), or a test's
# chosen sample. A new full table needs no entry; a new subset does, which makes it a
# decision instead of an omission.
SUBSETS: frozenset[tuple[str, str]] = frozenset({
    # conversions between chosen pairs of providers
    ("tests/commands/test_convert.py", "HOSTILE"),
    ("tests/commands/test_convert.py", "OTHERS"),
    ("tests/commands/test_convert.py", "test_a_refused_key_is_suggested_never_renamed_silently"),
    # the providers whose rooms have a name (Kaleyra's have none) or that update in place
    ("tests/commands/test_crash_safety.py", "NAME_FIELD"),
    ("tests/commands/test_crash_safety.py", "BEFORE"),
    ("tests/commands/test_crash_safety.py", "AFTER"),
    ("tests/commands/test_secrets.py", "test_refused_credentials_do_not_show_either"),
    ("tests/engine/test_run.py", "NAMED"),
    ("tests/sandbox/test_update_mode.py", "test_replace_resets_what_an_update_leaves_out"),
    ("tests/sandbox/test_update_mode.py", "_create_path"),
    ("tests/sandbox/test_update_mode.py", "_bare"),
    ("tests/sandbox/test_update_mode.py", "_call"),
    # the providers with a locator (a space, an app, a region)
    ("tests/fuzz/test_fuzz_rooms_file.py", "accounts"),
    ("tests/test_schema.py", "ACCOUNTS"),
    # a sample of providers, enough for what the test shows
    ("tests/commands/test_init.py", "test_only_the_providers_asked_for"),
    ("tests/engine/test_apply.py", "SANDBOX_PROVIDERS"),
    ("tests/commands/test_providers.py", "test_the_table_tells_the_providers_apart"),
    ("tests/commands/test_secrets_sweep.py", "test_a_provider_quoting_the_key_it_refused"),
    ("tests/gitops/test_workflow.py", "test_the_matrix_plan_step_saves_and_comments_per_account"),
    ("tests/outputs/scenario.py", "_file"),
    ("tests/sandbox/test_store.py", "test_counters"),
    ("tests/sandbox/test_switches.py", "SANDBOX_PROVIDERS"),
    ("tests/test_config.py", "test_example_is_clean_and_loads_every_account"),
    ("tests/test_escape.py", "PROVIDERS"),
    ("tests/test_files.py", "test_a_named_pipe_as_the_rooms_file_or_saved_plan_never_blocks"),
})


def _owner(node: ast.stmt) -> str:
    """The top-level name a module-level statement defines."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
    return next((ast.unparse(t) for t in targets), f"line {node.lineno}")


def _names(node: ast.AST) -> set[str]:
    """The registered providers a literal names, as keys or elements."""
    if isinstance(node, ast.Dict):
        items: list[ast.expr | None] = list(node.keys)
    elif isinstance(node, ast.Set | ast.List | ast.Tuple):
        items = list(node.elts)
    else:
        return set()
    return {item.value for item in items
            if isinstance(item, ast.Constant) and item.value in REGISTERED}


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


def partial_tables() -> list[str]:
    """Every literal table outside the registry that misses a registered provider and is
    not a listed subset, as `file:line: owner misses ...`."""
    found = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative == "reconcile/providers/__init__.py":  # the registry itself
            continue
        for owner, line, named in tables(path.read_text(encoding="utf-8")):
            if named != REGISTERED and (relative, owner) not in SUBSETS:
                found.append(f"{relative}:{line}: {owner} misses "
                             f"{', '.join(sorted(REGISTERED - named))}")
    return found


def test_every_literal_per_provider_table_names_every_provider() -> None:
    assert partial_tables() == []


def test_every_listed_subset_still_exists() -> None:
    # An entry whose table is gone (or now complete) would excuse the next one silently.
    seen = {(path.relative_to(ROOT).as_posix(), owner) for path in _sources()
            for owner, _, named in tables(path.read_text(encoding="utf-8"))
            if named != REGISTERED}
    assert SUBSETS - seen == set()


def test_the_scan_finds_a_table_that_misses_a_provider() -> None:
    some = sorted(REGISTERED)[:-1]
    source = f"TABLE = {{{', '.join(f'{p!r}: 1' for p in some)}}}\n" \
             f"def f():\n    return {tuple(sorted(REGISTERED))!r}\n"
    assert list(tables(source)) == [("TABLE", 1, set(some)), ("f", 3, set(REGISTERED))]


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
