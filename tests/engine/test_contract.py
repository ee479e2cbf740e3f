"""The provider contract (`engine/contract.py`): documented, implemented by the base, and
the boundary it draws kept: no adapter plans, overrides a private member of the base or a
planner function, and no module reaches into a provider's private members."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import reconcile
from reconcile.engine import contract, planner
from reconcile.engine.adapters import adapter_class
from reconcile.engine.provider import Provider
from reconcile.providers import PROVIDER_PACKAGES

ROOT = Path(reconcile.__file__).parent
DOCS = ROOT.parent / "docs" / "development.md"
README = ROOT.parent / "README.md"
PLANNER_WORK = {"plan", "plan_room", "deletion", "diff", "deletes"}


PROTOCOLS = (contract.Rooms, contract.PlanningHooks, contract.ProviderContract)
HOOKS = {name: value for protocol in PROTOCOLS for name, value in vars(protocol).items()
         if inspect.isfunction(value) and not name.startswith("_")}


def test_every_hook_is_documented_and_implemented_by_the_base() -> None:
    assert {"annotate", "extra_deletions", "is_drift", "list_rooms", "error_message"} \
        <= set(HOOKS)
    for name, hook in HOOKS.items():
        assert inspect.getdoc(hook), f"{name} has no contract"
        assert callable(getattr(Provider, name, None)), f"Provider lacks {name}"


def test_the_docs_table_names_every_hook() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## The provider contract", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in HOOKS if f"`{name}" not in section]
    assert missing == []


def test_the_docs_name_the_planner_s_work_and_the_readme_every_hook() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## The provider contract", 1)[1]
    assert [name for name in sorted(PLANNER_WORK) if f"`{name}`" not in section] == []
    built = README.read_text(encoding="utf-8").split("## How it is built", 1)[1]
    contract_text = built.split("\n## ", 1)[0].split("Its adapter implements", 1)[1]
    named = set(re.findall(r"`(\w+)`", contract_text))
    rooms_and_hooks = {name for name in HOOKS if name != "error_message"}
    assert (rooms_and_hooks - named, named - rooms_and_hooks) == (set(), set())


def test_the_planning_is_the_engines() -> None:
    assert not PLANNER_WORK & set(dir(Provider)) - {"__init__"}
    assert all(callable(getattr(planner, name)) for name in PLANNER_WORK)


def private_members(cls: type) -> set[str]:
    return {name for base in cls.__mro__ if base is not object for name in vars(base)
            if name.startswith("_") and not name.startswith(("__", "_abc_"))}


@pytest.mark.parametrize("provider", sorted(PROVIDER_PACKAGES))
def test_no_adapter_overrides_planner_work_or_a_private_member_of_the_base(
        provider: str) -> None:
    adapter = adapter_class(provider)
    own = {name for cls in adapter.__mro__ if not issubclass(Provider, cls)
           for name in vars(cls)}
    assert own & PLANNER_WORK == set()
    assert own & private_members(Provider) == set()


def private_reaches(source: str) -> list[str]:
    """`x._name` where `x` is not `self`, `cls` or `super()`, and `_name` is a private
    member of an adapter or of the base: reaching into a provider from outside it."""
    names = set().union(*(private_members(adapter_class(p)) for p in PROVIDER_PACKAGES))
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and node.attr in names):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
            continue
        found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_a_reach_into_a_provider() -> None:
    assert private_reaches("async def f(provider):\n"
                           "    await provider._fetch('a')\n") == ["2: provider._fetch"]
    assert private_reaches("class A:\n    def f(self):\n        self._fetch('a')\n") == []


def test_no_module_reaches_into_a_providers_private_members() -> None:
    # A provider's own folder is its own business (its state file's class, its helpers).
    outside = [path for path in sorted(ROOT.rglob("*.py"))
               if path.relative_to(ROOT).parts[0] != "providers"]
    found = {str(path.relative_to(ROOT)): reaches for path in outside
             if (reaches := private_reaches(path.read_text(encoding="utf-8")))}
    assert found == {}
