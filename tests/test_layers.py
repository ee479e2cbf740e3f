"""The package's layers, checked on its import graph (issue 14).

The graph is read from the source with `ast`, so it counts every import: those at module
level, those inside functions (lazy imports) and those under `if TYPE_CHECKING:`. An edge
goes from a module to the module it names: `import a.b` and `from a import b` (when `a.b` is
a module) both reach `a.b`; `from a.b import name` reaches `a.b`. A module that imports by name with
`importlib.import_module` imports the modules it names: a string constant naming one of the
package's modules (`"reconcile.commands.plan:plan"`, the CLI's lazy commands), and an
f-string `f"{PROVIDER_PACKAGES[...]}.adapter"` names that module of every provider (the
registry's loaders, the sandbox's emulator loader).

The rules:
- No import cycle at all, lazy and typing-only imports included.
- Production code does not import the sandbox (`reconcile.sandbox.*`). Production is every
  module outside `reconcile/sandbox/` and outside the providers' emulator modules
  (`reconcile/providers/<p>/emulator*.py`) and their sandbox declarations
  (`reconcile/providers/<p>/sandbox.py`), which are the sandbox's plug-ins. Two doors are
  allowed, both lazy (the sandbox loads starlette and uvicorn):
  - the global `--sandbox` option (and the API's `sandbox=`): `reconcile.api` (where every
    command that talks to providers opens its accounts) imports `reconcile.sandbox.attach`
    inside the function that points them at the sandbox, only when one is asked for. No
    other production module may reach the sandbox for `--sandbox`;
  - the `reconcile sandbox ...` command group: `reconcile.cli` names
    `reconcile.sandbox.cli` in its table of commands, loaded by name when it is invoked.
- The engine (`reconcile.engine.*`) imports no output module (`reconcile.outputs.*`).
- Outputs import no provider adapter (`reconcile.providers.<p>.adapter`) nor the adapter base
  (`reconcile.engine.provider`), which would load httpx and every adapter to print a plan.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import reconcile
from reconcile.providers import PROVIDER_PACKAGES

ROOT = Path(reconcile.__file__).parent
ATTACH_DOOR = ("reconcile.api", "reconcile.sandbox.attach")
SANDBOX_DOORS = {ATTACH_DOOR, ("reconcile.cli", "reconcile.sandbox.cli")}



def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if MODULES[module].name != "__init__.py":
        package.pop()
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        source = _absolute(module, node)
        for alias in node.names:
            child = f"{source}.{alias.name}"
            yield child if child in MODULES else source


def _named(node: ast.AST) -> Iterator[str]:
    """The modules a string or f-string names (for `importlib.import_module`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value.partition(":")[0]
    elif (isinstance(node, ast.JoinedStr) and len(node.values) == 2
          and isinstance(node.values[1], ast.Constant)
          and "PROVIDER_PACKAGES" in ast.unparse(node.values[0])):
        yield from (f"{package}{node.values[1].value}" for package in PROVIDER_PACKAGES.values())


def imports_of(module: str) -> set[str]:
    """The package's modules `module` imports, anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = {target for node in ast.walk(tree) for target in _targets(module, node)}
    if "import_module" in ast.unparse(tree):  # imports by name
        found |= {name for node in ast.walk(tree) for name in _named(node)}
    return {target for target in found if target in MODULES and target != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _sandbox_side(module: str) -> bool:
    if module == "reconcile.sandbox" or module.startswith("reconcile.sandbox."):
        return True
    parts = module.split(".")
    return (len(parts) == 4 and parts[:2] == ["reconcile", "providers"]
            and (parts[3].startswith("emulator") or parts[3] == "sandbox"))


def _violations(source: str, forbidden: str) -> list[tuple[str, str]]:
    return sorted((module, target) for module, targets in GRAPH.items()
                  if module.startswith(source) for target in targets
                  if target.startswith(forbidden))


def test_the_graph_is_read_from_every_kind_of_import() -> None:
    # Lazy, typing-only and relative imports all count (guards the reader itself).
    assert "reconcile.sandbox.attach" in GRAPH["reconcile.api"]  # in a function
    assert "reconcile.convert.mapping" in GRAPH["reconcile.providers"]  # TYPE_CHECKING
    assert "reconcile.commands.plan" in GRAPH["reconcile.cli"]  # by name, as a string
    assert {f"{p}.model" for p in PROVIDER_PACKAGES.values()} <= GRAPH["reconcile.providers"]
    relative = ast.parse("from .plan import Change").body[0]
    assert list(_targets("reconcile.engine.run", relative)) == ["reconcile.engine.plan"]


def test_find_cycle_reports_the_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_production_code_does_not_import_the_sandbox() -> None:
    found = sorted((module, target) for module, targets in GRAPH.items()
                   if not _sandbox_side(module) for target in targets
                   if _sandbox_side(target) and (module, target) not in SANDBOX_DOORS)
    assert found == []


@pytest.mark.parametrize("door", sorted(SANDBOX_DOORS))
def test_the_sandbox_doors_are_lazy(door: tuple[str, str]) -> None:
    # Neither module reaches the sandbox when it is imported, only when the door is used.
    module, target = door
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top_level = {name for node in tree.body for name in _targets(module, node)}
    assert not any(_sandbox_side(name) for name in top_level)
    assert target in GRAPH[module]


def test_the_engine_imports_no_output_module() -> None:
    assert _violations("reconcile.engine", "reconcile.outputs") == []


@pytest.mark.parametrize("package", sorted(PROVIDER_PACKAGES.values()))
def test_outputs_import_no_adapter(package: str) -> None:
    assert _violations("reconcile.outputs", f"{package}.adapter") == []
    assert _violations("reconcile.outputs", "reconcile.engine.provider") == []


def test_the_docs_name_the_sandbox_doors() -> None:
    # development.md's layers paragraph said the door was reconcile.commands.engine.
    text = (ROOT.parent / "docs" / "development.md").read_text(encoding="utf-8")
    layers = text.split("Layers, from the bottom:", 1)[1].split("\n\n", 1)[0]
    assert [door for door, _ in sorted(SANDBOX_DOORS) if f"`{door}`" not in layers] == []
    assert "reconcile.commands.engine" not in layers
