"""Starter YAML for one account of each provider, derived from its models: the accounts
`reconcile init` writes and `reconcile sandbox serve` prints.

Locators (a SignalWire space, a Metered app, a Kaleyra region) and the fields a room
needs besides its key take their first example (or allowed value) from the model;
credentials are `${VARIABLE}` references named as validate suggests.
"""

from __future__ import annotations

import typing
from typing import Any

import yaml
from pydantic.fields import FieldInfo

from reconcile import envref
from reconcile.models import ProviderModels
from reconcile.providers import provider_models

STARTER_KEY = "team-standup"  # the key of the one room a starter account declares


def example(info: FieldInfo) -> Any:
    """The model's first example of a field, or else the first value it allows."""
    if info.examples:
        return info.examples[0]
    if typing.get_origin(info.annotation) is typing.Literal:
        return typing.get_args(info.annotation)[0]
    raise LookupError(f"no example for a field of type {info.annotation}")


def locators(provider: str) -> dict[str, str]:
    """Example locator values, such as {"space": "acme"} for SignalWire."""
    models = provider_models(provider)
    return {name: example(models.account.model_fields[name]) for name in models.locators()}


def credential_variables(provider: str, alias: str) -> dict[str, str]:
    """Each credential field of the provider, with the variable it is read from."""
    credentials = provider_models(provider).account.model_fields["credentials"].annotation
    fields = typing.cast(type[Any], credentials).model_fields
    return {name: envref.variable_for(alias, name) for name in fields}


def _flow(value: Any) -> str:
    return str(yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                              width=1_000_000)).strip().removesuffix("...").strip()


def starter_room(models: ProviderModels) -> dict[str, Any]:
    """A valid room of the provider's first kind: the key, and every required field."""
    room = models.kinds[0].model
    key = room.key_attribute()
    fields: dict[str, Any] = {}
    for name, info in room.model_fields.items():
        if name == key:
            fields[info.alias or name] = STARTER_KEY
        elif info.is_required():
            fields[info.alias or name] = example(info)
    return fields


def account_yaml(provider: str, *, alias: str | None = None, endpoint: str | None = None,
                 values: dict[str, str] | None = None, room: bool = True) -> str:
    """The account's lines under `providers:` (indented two spaces), with `values` for its
    locators (the models' examples by default) and, with `room`, one starter room."""
    alias = alias or provider
    models = provider_models(provider)
    lines = [f"  {alias}:"]
    if alias != provider:
        lines.append(f"    type: {provider}")
    for name, value in (values or locators(provider)).items():
        description = models.account.model_fields[name].description
        lines.append(f"    {name}: {_flow(value)}" + (f"  # {description}" if description
                                                     else ""))
    if endpoint:
        lines.append(f"    endpoint: {endpoint}")
    lines.append("    credentials:")
    lines += [f"      {name}: ${{{variable}}}"
              for name, variable in credential_variables(provider, alias).items()]
    if room:
        lines += [f"    {models.kinds[0].name}:", f"      - {_flow(starter_room(models))}"]
    else:
        lines.append(f"    {models.kinds[0].name}: []")
    return "\n".join(lines) + "\n"


# What `init` writes besides the rooms file: where the project's hooks live (the
# repository this package is released from) and what a rooms repository ignores.
HOOKS_REPOSITORY = "https://github.com/your-org/reconcile"
GITIGNORE_LINES = (
    "# reconcile: the sandbox's rooms and state, and the state files' locks",
    "# (the Kaleyra state files themselves are kept: see docs/plan-and-apply.md)",
    ".reconcile/sandbox.db*",
    ".reconcile/sandbox-state/",
    ".reconcile/*.lock",
)


def rooms_file(providers: list[str], schema: str) -> str:
    """A starter rooms file: the editor's schema modeline (`schema`, a path relative to
    the file or a URL), then one account with one room per provider."""
    accounts = "".join(account_yaml(provider) for provider in providers)
    return (f"# yaml-language-server: $schema={schema}\n"
            "# Rooms as code: `reconcile validate` this file, `reconcile plan`, then"
            " `reconcile apply`.\n"
            f"version: 1\nproviders:\n{accounts}")


def precommit_config(version: str) -> str:
    """A .pre-commit-config.yaml running this version's hooks (their own `files:` find
    the rooms files)."""
    return ("# `pre-commit install` once; then every commit validates the rooms files.\n"
            "repos:\n"
            f"  - repo: {HOOKS_REPOSITORY}\n"
            f"    rev: v{version}\n"
            "    hooks:\n"
            "      - id: reconcile-validate\n"
            "      - id: reconcile-schema-fresh  # schemas/rooms.schema.json, for editors\n")
