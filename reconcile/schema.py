"""The JSON Schema of the rooms file, generated from the models.

Accounts are discriminated by provider type: an account named after a provider uses
that provider's schema unless it sets `type:`, and any other account must set `type:`.
Editors (yaml-language-server) then complete the right fields for each account.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from reconcile import envref
from reconcile.providers import PROVIDER_PACKAGES

if TYPE_CHECKING:
    from reconcile.models import ProviderModels

# The schemas' home: stable https identifiers (docs/editors-and-hooks.md), one per document.
SCHEMA_BASE = "https://reconcile-rooms.dev/schemas/"
SCHEMA_ID = SCHEMA_BASE + "rooms.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_PATH = "schemas/rooms.schema.json"
# The schemas shipped in the package (reconcile/schemas/), by the name `schema --print` takes.
SHIPPED = {"rooms": "rooms.schema.json", "plan": "plan.schema.json"}


def shipped_schema(name: str) -> str:
    """The text of a schema shipped with the package (package data, so wheels have it)."""
    return resources.files("reconcile").joinpath("schemas", SHIPPED[name]).read_text("utf-8")


def _credential_messages(defs: dict[str, Any], models: dict[str, ProviderModels]) -> None:
    """Each credential field's editor message names the variable to use, as validate does."""
    for name, models_of in models.items():
        credentials = models_of.account.model_fields["credentials"].annotation
        properties = defs[credentials.__name__]["properties"]  # type: ignore[union-attr]
        for field, prop in properties.items():
            variable = envref.variable_for(name, field)
            message = (f"`{field}` must be a ${{VARIABLE}} reference such as ${{{variable}}},"
                       " set in the environment: a literal secret is refused")
            prop.update(patternErrorMessage=message, errorMessage=message)


def build_schema() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema  # pydantic: only when generating

    from reconcile.config import ALIAS_PATTERN, FILE_VERSION
    from reconcile.models import REFERENCE_PATTERN
    from reconcile.providers import provider_models

    models = {name: provider_models(name) for name in PROVIDER_PACKAGES}
    refs, schema = models_json_schema(
        [(m.account, "validation") for m in models.values()],
        ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema["$defs"]
    _credential_messages(defs, models)
    account_ref = {name: refs[(m.account, "validation")]["$ref"]
                   for name, m in models.items()}
    defs["AccountWithType"] = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(PROVIDER_PACKAGES)}},
        "allOf": [{"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                   "then": {"$ref": ref}} for name, ref in account_ref.items()],
    }
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "reconcile rooms file",
        "description": "Video-conferencing rooms as code. Secrets are ${ENV} references"
                       " (pattern " + REFERENCE_PATTERN + ").",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "providers"],
        "patternProperties": {"^x-": {"description": "Free for anchors and tooling."}},
        "properties": {
            "version": {"const": FILE_VERSION,
                        "errorMessage": f"the format's version: write `version: {FILE_VERSION}`"},
            "providers": {
                "type": "object",
                "description": "Accounts by name; the name is the provider type unless"
                               " `type:` says otherwise.",
                "propertyNames": {"pattern": ALIAS_PATTERN.pattern, "patternErrorMessage":
                                  "an account name may contain only letters, digits, `_` and"
                                  " `-`, and starts with a letter or digit"},
                "patternProperties": {
                    f"^{name}$": {"if": {"required": ["type"]},
                                  "then": {"$ref": "#/$defs/AccountWithType"},
                                  "else": {"$ref": ref}}
                    for name, ref in account_ref.items()
                },
                "additionalProperties": {"$ref": "#/$defs/AccountWithType"},
            },
        },
        "$defs": dict(sorted(defs.items())),
    }


def render_schema() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
