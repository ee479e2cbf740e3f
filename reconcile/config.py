"""The rooms file: from YAML to validated accounts and rooms, with every problem located.

`check()` is offline validation (what `validate` runs). `load()` also resolves `${…}`
references from the environment, as the commands that talk to providers need.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from reconcile import envref, redact
from reconcile.collisions import UniqueValues, same_accounts

# The validated file's types live a layer down (the engine reads them without the
# validator); they are re-exported here, where the commands have always found them.
from reconcile.declared import AccountConfig as AccountConfig
from reconcile.declared import Config as Config
from reconcile.declared import DeclaredRoom as DeclaredRoom
from reconcile.errors import ConfigError, Diagnostic, Location
from reconcile.loader import load_file
from reconcile.located import (
    Document,
    LList,
    LMap,
    Mark,
    copy_without,
    locate,
    merge_defaults,
    resolved,
    usable_defaults,
)
from reconcile.messages import (
    closest,
    describe,
    field_names,
    message_for,
    model_at,
    printable,
    suggest,
)
from reconcile.models import Account, ProviderModels, Room, Violation
from reconcile.providers import PROVIDER_PACKAGES, provider_models
from reconcile.shapes import where_of

FILE_VERSION = 1
TOP_LEVEL_KEYS = ("version", "providers")
EXTENSION_PREFIX = "x-"  # top-level keys for anchors and tooling, ignored (as in Compose)
ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Every error in one rooms file, offline: no network, no environment."""
    return [d for d in diagnose(path) if not d.warning]


def diagnose(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Every error and warning in one rooms file, offline (what `validate` shows)."""
    return check_document(load_file(path))


def check_document(document: Document) -> list[Diagnostic]:
    """Every error and warning of a file already loaded (or of the text `convert` is about
    to write)."""
    return _Validator(document, environ=None).run()[1]


def load(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None, *,
         credentials: bool = True) -> Config:
    """The validated file with references resolved. Raises ConfigError.

    `credentials=False` leaves the secrets unresolved: the sandbox supplies its own.
    """
    document = load_file(path)
    validator = _Validator(document, environ=os.environ if environ is None else environ)
    validator.resolve_credentials = credentials
    config, diagnostics = validator.run()
    if config is None:
        raise ConfigError([d for d in diagnostics if not d.warning])
    return config


class _Validator:
    def __init__(self, document: Document, environ: Mapping[str, str] | None) -> None:
        self.document = document
        self.environ = environ
        self.diagnostics: list[Diagnostic] = list(document.diagnostics)
        self._seen: set[tuple[Location, str]] = set()
        # Places the loader already reported (a disputed scalar, say): one message there.
        self._loader_places = {d.location for d in document.diagnostics}
        # Values left as written because a variable they use is missing (already reported).
        self._unresolved: set[tuple[Any, ...]] = set()
        self.resolve_credentials = environ is not None

    # -- reporting -----------------------------------------------------------------

    def report(self, mark: Mark, message: str, parts: tuple[Any, ...] = (), *,
               warning: bool = False) -> None:
        location = self.document.location(mark)
        if (location, message) in self._seen or location in self._loader_places:
            return  # a shared default or alias is reported once, and the loader's first
        self._seen.add((location, message))
        self.diagnostics.append(Diagnostic(location, printable(message),
                                           printable(where_of(parts)), warning))

    def report_pydantic(self, exc: ValidationError, model: type[BaseModel], data: LMap,
                        parts: tuple[Any, ...], inherited: Mapping[str, str] | None = None
                        ) -> list[tuple[Any, ...]]:
        """Report each error at its place; returns where the errors are."""
        failed: list[tuple[Any, ...]] = []
        errors = exc.errors()
        typos = _typo_targets(errors, model)
        for error in errors:
            loc = tuple(error["loc"])
            failed.append(loc)
            if parts + loc in self._unresolved:
                continue  # `${VAR}` itself is no bad value: the missing variable is the error
            if error["type"] == "missing" and loc in typos:
                continue  # the unknown-key message already says "did you mean" this field
            mark = locate(data, loc, key=error["type"] == "extra_forbidden")
            secret = "credentials" in parts or (loc and loc[0] == "credentials")
            if error["type"] == "literal_secret":
                message = self._secret_message(parts, loc)
            else:
                shown = not secret or isinstance(error.get("input"), (dict, list))
                message = message_for(error, model, show_input=shown)
            if inherited and loc and isinstance(loc[0], str) and loc[0] in inherited:
                message += f" (set in {inherited[loc[0]]})"
            self.report(mark, message, parts + loc)
        return failed

    def _secret_message(self, parts: tuple[Any, ...], loc: tuple[Any, ...]) -> str:
        alias = str(parts[1]) if len(parts) > 1 else "account"
        name = str(loc[-1])
        variable = envref.variable_for(alias, name)
        return (f"`{name}` holds a literal value; secrets must come from the environment:"
                f" write `{name}: ${{{variable}}}` and export {variable}")

    # -- the file --------------------------------------------------------------------

    def run(self) -> tuple[Config | None, list[Diagnostic]]:
        data = self.document.data
        if data is None:
            return None, self.diagnostics
        if not isinstance(data, LMap):
            where = data.mark if isinstance(data, LList) else Mark(0, 0)
            self.report(where, "the file must be a mapping with `version: 1` and"
                               f" `providers:`, not {describe(data)}")
            return None, self.diagnostics
        self._check_references(data, ())
        self._top_level(data)
        accounts: dict[str, AccountConfig] = {}
        providers = data.get("providers")
        if isinstance(providers, LMap):
            for alias, account in providers.items():
                parsed = self._account(providers, alias, account)
                if parsed is not None:
                    accounts[alias] = parsed
            self._refuse_same_accounts(providers, accounts)
        config = Config(self.document.path, self.document.checksum, accounts)
        failed = any(not d.warning for d in self.diagnostics)
        return (None if failed else config), self.diagnostics

    def _top_level(self, data: LMap) -> None:
        for key in data:
            if key not in TOP_LEVEL_KEYS and not key.startswith(EXTENSION_PREFIX):
                self.report(data.key_marks[key],
                            f"unknown top-level key `{key}`{suggest(key, TOP_LEVEL_KEYS)}"
                            " (keys starting with `x-` are free for anchors)",
                            (key,))
        if "version" not in data:
            self.report(data.mark, "missing `version: 1` at the top of the file")
        elif type(data["version"]) is not int or data["version"] != FILE_VERSION:
            # 1.0 == 1 and True == 1 in Python, but neither is the version written right.
            self.report(data.value_marks["version"],
                        f"unsupported version {describe(data['version'])}: this tool reads"
                        f" version {FILE_VERSION}", ("version",))
        providers = data.get("providers")
        if "providers" not in data:
            self.report(data.mark, "missing `providers:`: a mapping of account names to"
                                   " accounts")
        elif not isinstance(providers, LMap) and providers is not None:
            self.report(data.value_marks["providers"],
                        f"`providers` must be a mapping of account names to accounts,"
                        f" not {describe(providers)}", ("providers",))

    def _check_references(self, node: Any, parts: tuple[Any, ...]) -> None:
        """Syntax of ${…} in every string value (iterative: documents can be large)."""
        stack: list[tuple[Any, tuple[Any, ...]]] = [(node, parts)]
        visited: set[int] = set()
        while stack:
            current, where = stack.pop()
            if id(current) in visited:
                continue
            visited.add(id(current))
            items: list[tuple[str | int, Any, Mark]]
            if isinstance(current, LMap):
                items = [(k, v, current.value_marks[k]) for k, v in current.items()]
            else:
                items = [(i, v, current.item_marks[i]) for i, v in enumerate(current)]
            for key, value, mark in items:
                if isinstance(value, str):
                    if "${" in value:
                        problem = envref.syntax_error(value)
                        if problem:
                            self.report(mark, problem, (*where, key))
                elif isinstance(value, (LMap, LList)):
                    stack.append((value, (*where, key)))

    # -- accounts --------------------------------------------------------------------

    def _account(self, providers: LMap, alias: str, account: Any) -> AccountConfig | None:
        parts = ("providers", alias)
        key_mark = providers.key_marks[alias]
        if not ALIAS_PATTERN.match(alias):
            self.report(key_mark, f"account name `{alias}` may contain only letters, digits,"
                                  " `_` and `-`", parts)
            return None
        if not isinstance(account, LMap):
            self.report(providers.value_marks[alias],
                        f"account `{alias}` must be a mapping, not {describe(account)}", parts)
            return None
        provider_type = self._account_type(alias, account, key_mark, parts)
        if provider_type is None:
            return None
        models = provider_models(provider_type)
        settings_input = copy_without(account, {kind.name for kind in models.kinds})
        settings_input.setdefault("type", provider_type)
        settings_input.value_marks.setdefault("type", account.mark)
        self._drop_keys_from_defaults(settings_input, models, parts)
        try:
            settings: Account | None = models.account.model_validate(settings_input)
            failed: list[tuple[Any, ...]] = []
        except ValidationError as exc:
            settings = None
            failed = self.report_pydantic(exc, models.account, settings_input, parts)
        defaults = usable_defaults(settings_input, failed, where_of((*parts, "defaults")))
        # An invalid account keeps settings None only until the file is refused.
        result = AccountConfig(alias, provider_type, settings,  # type: ignore[arg-type]
                               self.document.location(account.mark))
        if settings is not None and self.resolve_credentials:
            result.secrets = self._resolve_credentials(account, parts)
            redact.register(result.secrets.values())  # masked in every log record
        for kind in models.kinds:
            result.rooms[kind.name] = self._rooms(account, kind.name, kind.model, defaults,
                                                  (*parts, kind.name), models, alias)
        return result if settings is not None else None

    def _refuse_same_accounts(self, providers: LMap, accounts: dict[str, AccountConfig]
                              ) -> None:
        def resolve(value: str) -> str:
            return envref.resolve(value, self.environ) if self.environ is not None else value

        for alias, message in same_accounts(providers, accounts, resolve):
            self.report(providers.key_marks[alias], message, ("providers", alias))

    def _account_type(self, alias: str, account: LMap, key_mark: Mark,
                      parts: tuple[Any, ...]) -> str | None:
        names = list(PROVIDER_PACKAGES)
        if "type" in account:
            declared = account["type"]
            if isinstance(declared, str) and declared in PROVIDER_PACKAGES:
                return declared
            hint = suggest(declared, names) if isinstance(declared, str) else ""
            self.report(account.value_marks["type"],
                        f"unknown provider type {describe(declared)}: use one of"
                        f" {', '.join(names)}{hint}", (*parts, "type"))
            return None
        if alias in PROVIDER_PACKAGES:
            return alias
        guess = closest(alias, names)
        fix = f": add `type: {guess}`" if guess else f" (one of {', '.join(names)})"
        self.report(key_mark, f"account `{alias}` needs `type:`{fix}, since its name is not"
                              " a provider name", parts)
        return None

    def _drop_keys_from_defaults(self, settings: LMap, models: ProviderModels,
                                 parts: tuple[Any, ...]) -> None:
        defaults = settings.get("defaults")
        if not isinstance(defaults, LMap):
            return
        keys = {kind.model.KEY_FIELD for kind in models.kinds}
        if not keys & set(defaults):
            return
        kept = copy_without(defaults, keys)
        for key in keys & set(defaults):
            self.report(defaults.key_marks[key], f"`defaults` cannot set the room key `{key}`:"
                                                 " each room names itself",
                        (*parts, "defaults", key))
        settings["defaults"] = kept

    def _resolve_credentials(self, account: LMap, parts: tuple[Any, ...]) -> dict[str, str]:
        credentials = account.get("credentials")
        secrets: dict[str, str] = {}
        if not isinstance(credentials, LMap):
            return secrets
        for name, reference in credentials.items():
            try:
                secrets[name] = envref.resolve(reference, self.environ or {})
            except envref.MissingVariable as missing:
                self.report(credentials.value_marks[name], missing.message,
                            (*parts, "credentials", name))
            if (problem := envref.unsendable(secrets.get(name, ""))) is not None:
                where = ", ".join(f"`{v}`" for v in envref.names(reference))
                self.report(credentials.value_marks[name], f"the value of {where} {problem}",
                            (*parts, "credentials", name))
        return secrets

    # -- rooms -----------------------------------------------------------------------

    def _rooms(self, account: LMap, kind: str, model: type[Room],
               defaults: tuple[LMap | None, str], parts: tuple[Any, ...],
               models: ProviderModels, alias: str) -> list[DeclaredRoom]:
        if kind not in account or account[kind] is None:
            return []
        items = account[kind]
        if not isinstance(items, LList):
            self.report(account.value_marks[kind],
                        f"`{kind}` must be a list of rooms, not {describe(items)}", parts)
            return []
        rooms: list[DeclaredRoom] = []
        unique = UniqueValues(model.KEY_FIELD, ignore_case=model.KEY_IGNORES_CASE)
        known = set(model.yaml_names())
        for index, item in enumerate(items):
            where = (*parts, index)
            if not isinstance(item, LMap):
                self.report(items.item_marks[index],
                            f"each room must be a mapping, not {describe(item)}", where)
                continue
            merged, inherited = merge_defaults(defaults, item, known)
            if self.environ is not None:
                merged = self._resolved(merged, where)
            room = self._room(model, merged, where, inherited)
            for place, message, name in unique.add(item, merged, index):
                self.report(place.mark, message, (*parts, place.index, name))
            if room is not None:
                rooms.append(DeclaredRoom(alias, kind, room,
                                          self.document.location(item.mark), where_of(where)))
        return rooms

    def _room(self, model: type[Room], merged: LMap, where: tuple[Any, ...],
              inherited: dict[str, str]) -> Room | None:
        context = {"resolved": self.environ is not None}
        try:
            room = model.model_validate(merged, context=context)
        except ValidationError as exc:
            self.report_pydantic(exc, model, merged, where, inherited)
            return None
        broken = False
        for violation in (*room.key_violations(), *room.rule_violations()):
            self._report_violation(violation, merged, where, inherited)
            broken = broken or not violation.warning
        return None if broken else room

    def _report_violation(self, violation: Violation, room: LMap, where: tuple[Any, ...],
                          inherited: dict[str, str]) -> None:
        path = violation.path
        message = violation.message
        if violation.first_at is not None:
            first = locate(room, violation.first_at)
            message += f" (first at line {first.line + 1})"
        for name in (str(path[0]), *violation.related):
            if name in inherited:
                message += f" ({name} is set in {inherited[name]})"
        self.report(locate(room, path), message, (*where, *path), warning=violation.warning)

    def _resolved(self, data: LMap, where: tuple[Any, ...]) -> LMap:
        """A copy of a room with ${…} resolved; missing variables are reported."""
        def missing(mark: Mark, message: str, parts: tuple[Any, ...]) -> None:
            self.report(mark, message, parts)
            self._unresolved.add(parts)

        return resolved(data, where, self.environ or {}, missing)


def _typo_targets(errors: list[Any], model: type[BaseModel]) -> set[tuple[Any, ...]]:
    """Locations of missing fields that an unknown key in the same mapping resembles."""
    targets: set[tuple[Any, ...]] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            parent = model_at(model, loc[:-1])
            match = closest(str(loc[-1]), field_names(parent)) if parent else None
            if match:
                targets.add((*loc[:-1], match))
    return targets
