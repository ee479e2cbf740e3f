"""Two declarations that are one: room keys equal once `${…}` is resolved, and account
aliases that name the same provider account. Each pair would undo the other on every
apply, so both are refused at load, each naming both places."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reconcile import envref
from reconcile.located import LMap, Mark
from reconcile.providers import provider_models

if TYPE_CHECKING:
    from reconcile.declared import AccountConfig


@dataclass(frozen=True, slots=True)
class KeyPlace:
    """Where a room's key is declared: at its `<<` merge when it came through one."""

    mark: Mark
    index: int
    written: str
    anchor: Mark | None = None  # the anchor's line, for a key that came through `<<`

    @classmethod
    def of(cls, item: LMap, key_field: str, index: int) -> KeyPlace:
        mark = item.value_marks[key_field]
        written = str(item[key_field])
        merge = item.merged_at.get(key_field) if item.merged_at else None
        return cls(merge, index, written, mark) if merge else cls(mark, index, written)

    def note(self, key: str) -> str:
        notes = [f"written `{self.written}`"] if self.written != key else []
        if self.anchor is not None:
            notes.append(f"through `<<` from line {self.anchor.line + 1}")
        return f" ({', '.join(notes)})" if notes else ""


def duplicate(values: tuple[str, str], first: KeyPlace, again: KeyPlace, *, is_key: bool
              ) -> list[tuple[KeyPlace, str]]:
    """The messages at both places of a value declared twice, each naming the other. The
    two values (first, again) are equal, or differ only by case for a provider that may
    not tell them apart."""
    def where(place: KeyPlace, value: str) -> str:  # always in this file: no includes
        mark = place.mark
        return f"line {mark.line + 1}, column {mark.column + 1}{place.note(value)}"

    known_as, value = values
    if known_as != value:
        what = (f"rooms `{known_as}` and `{value}` differ only by case, which the provider"
                " may not tell apart") if is_key else (
            f"two rooms renamed from `{known_as}` and `{value}`, which differ only by case"
            " (a live room becomes one room)")
        return [(again, f"{what}: the other is at {where(first, known_as)}"),
                (first, f"{what}: the other is at {where(again, value)}")]
    what = f"duplicate room `{value}`" if is_key else (
        f"two rooms renamed from `{value}` (a live room becomes one room)")
    return [(again, f"{what}{again.note(value)}: already declared at {where(first, value)}"),
            (first, f"{what}{first.note(value)}: declared again at {where(again, value)}")]


class UniqueValues:
    """The values no two rooms of one list may share (the key, `renamed_from`), compared as
    resolved: `${A}` and `${B}` may be one. Compared regardless of case for a provider
    that may not tell keys apart by case."""

    def __init__(self, key_field: str, *, ignore_case: bool) -> None:
        self.key_field = key_field
        self.fold: Callable[[str], str] = str.casefold if ignore_case else str
        self.seen: dict[str, dict[str, tuple[str, KeyPlace]]] = {key_field: {},
                                                                 "renamed_from": {}}

    def add(self, item: LMap, merged: LMap, index: int) -> list[tuple[KeyPlace, str, str]]:
        """Note one room (as written, and merged and resolved); the messages of each value
        it shares with an earlier room, at both places: (place, message, field)."""
        found = []
        for name, places in self.seen.items():
            value = merged.get(name)  # resolved, when the environment is known
            if isinstance(value, str):
                place = KeyPlace.of(item if name in item else merged, name, index)
                known_as, first = places.setdefault(self.fold(value), (value, place))
                if first is not place:
                    found += [(at, message, name) for at, message in duplicate(
                        (known_as, value), first, place, is_key=name == self.key_field)]
        return found


def same_accounts(providers: LMap, accounts: dict[str, AccountConfig],
                  resolve: Callable[[str], str]) -> list[tuple[str, str]]:
    """(alias, message) for each account that is the same provider account as an earlier
    one. One hash per account, so 2,000 aliases cost 2,000 look-ups, not 2,000,000
    comparisons; the hash is of the credentials, never kept in clear or shown."""
    seen: dict[str, AccountConfig] = {}
    found = []
    for account in accounts.values():
        kinds = {kind.name for kind in provider_models(account.type).kinds}
        locators = _locators(account, kinds, resolve)
        first = seen.setdefault(_digest(account, locators), account)
        if first is account:
            continue
        shared = ", ".join(["type", *(name for name, _ in locators if name != "type")])
        found.append((account.alias, (
            f"account `{account.alias}` is the same {account.type} account as `{first.alias}`"
            f" (line {providers.key_marks[first.alias].line + 1}): the same {shared} and"
            " credentials. Each apply would undo the other's changes: declare these rooms"
            " under one account")))
    return found


def _locators(account: AccountConfig, kinds: set[str], resolve: Callable[[str], str]
              ) -> list[tuple[str, Any]]:
    settings = account.settings
    excluded = settings.NOT_LOCATORS | kinds
    locators: list[tuple[str, Any]] = []
    for name, value in settings.model_dump(exclude=set(excluded)).items():
        if isinstance(value, str) and "${" in value:
            # `app: ${APP}` is compared as it will be used; unset, as written.
            with contextlib.suppress(envref.MissingVariable):
                value = resolve(value)
        if name in settings.PER_ALIAS_DEFAULTS:  # a path: `./a.json` is `a.json`
            value = os.path.normpath(value) if value else {"default for": account.alias}
        elif name == "endpoint" and isinstance(value, str):
            parts = urlsplit(value.rstrip("/"))  # hosts and schemes ignore case; paths don't
            value = (parts.scheme.lower(), parts.netloc.lower(), parts.path)
        locators.append((name, value))
    return sorted(locators, key=lambda item: item[0])


def _digest(account: AccountConfig, locators: list[tuple[str, Any]]) -> str:
    # Resolved credentials when the environment was read, else the references as
    # written (equal references resolve alike).
    written = account.settings.model_dump(include={"credentials"}).get("credentials") or {}
    credentials = account.secrets or written
    canonical = json.dumps([locators, sorted(credentials.items())], default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
