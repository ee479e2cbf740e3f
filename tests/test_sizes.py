"""Sizes (issue 14): no module of the package over 400 lines, no function over 60, counted
from its `def` (decorators left out) to the end of its body, read with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

import reconcile

ROOT = Path(reconcile.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Today's offenders that other helpers of issue 14 are splitting: the lead empties this at
# merge. Module paths are relative to reconcile/; a function is "path:qualified.name".
ALLOWED: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """Every function (methods and nested ones too) by qualified name, with its length."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            found.append((prefix + node.name, node.end_lineno - node.lineno + 1))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
    return found


def test_no_module_is_over_400_lines() -> None:
    too_long = {}
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and name not in ALLOWED:
            too_long[name] = lines
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_function_is_over_60_lines() -> None:
    too_long = {}
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        for function, lines in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            if lines > MAX_FUNCTION_LINES and f"{name}:{function}" not in ALLOWED:
                too_long[f"{name}:{function}"] = lines
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"


def test_the_allow_list_names_only_what_exists_and_is_too_long() -> None:
    """An entry left behind once its module or function is split fails here."""
    sizes = {}
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        sizes[name] = len(path.read_text(encoding="utf-8").splitlines())
        for function, lines in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            sizes[f"{name}:{function}"] = lines
    stale = sorted(entry for entry in ALLOWED if sizes.get(entry, 0) <= (
        MAX_FUNCTION_LINES if ":" in entry else MAX_MODULE_LINES))
    assert not stale, f"allowed but no longer too long (remove them): {stale}"
