"""Accounts of the file that may be the new account's real one: the same type, the same
credential references and the same locators (the source itself, when the target is another
kind of the same provider). A prune pattern on either side may delete the other's rooms."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconcile.loader import Document, LMap
from reconcile.providers import provider_models


@dataclass(frozen=True)
class Neighbour:
    name: str
    prune: str | None
    keys: frozenset[tuple[str, str]]  # (kind, key) of every room it declares

    def deletes(self, kind: str, key: str) -> bool:
        """Whether its prune pattern deletes the new account's room: the pattern matches
        and it does not declare that room itself."""
        return self.prune is not None and fnmatch.fnmatchcase(key, self.prune) \
            and (kind, key) not in self.keys

    def hit_by(self, pattern: str, kind: str, declared: set[str]) -> list[str]:
        """Its rooms the new account's `pattern` deletes: every match but the rooms the
        new account declares as well."""
        return sorted(key for their_kind, key in self.keys if fnmatch.fnmatchcase(key, pattern)
                      and not (their_kind == kind and key in declared))


def neighbours(document: Document, provider_type: str, credentials: Mapping[str, str],
               locators: Mapping[str, Any]) -> list[Neighbour]:
    found: list[Neighbour] = []
    for name, other in document.data["providers"].items():
        if str(other.get("type", name)) != provider_type:
            continue
        if dict(other.get("credentials") or {}) == credentials and all(
                other.get(setting) == value for setting, value in locators.items()
                if setting != "endpoint"):
            found.append(Neighbour(name, _prune_of(other), frozenset(
                (kind.name, str(room.get(kind.model.KEY_FIELD)))
                for kind in provider_models(provider_type).kinds
                for room in other.get(kind.name) or [])))
    return found


def _prune_of(account: LMap) -> str | None:
    prune = account.get("prune")
    match = prune.get("match") if isinstance(prune, LMap) else None
    return match if isinstance(match, str) else None
