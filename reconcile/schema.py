"""The JSON Schema of the rooms file, generated from the models.

Accounts are discriminated by provider type: an account named after a provider uses
that provider's schema unless it sets `type:`, and any other account must set `type:`.
Editors (yaml-language-server) then complete the right fields for each account.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from reconcile.config import ALIAS_PATTERN, FILE_VERSION
from reconcile.models import REFERENCE_PATTERN
from reconcile.providers import PROVIDER_PACKAGES, provider_models

SCHEMA_ID = "urn:reconcile:schema:rooms-file:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_PATH = "schemas/rooms.schema.json"


def build_schema() -> dict[str, Any]:
    models = {name: provider_models(name) for name in PROVIDER_PACKAGES}
    refs, schema = models_json_schema(
        [(m.account, "validation") for m in models.values()],
        ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema["$defs"]
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
            "version": {"const": FILE_VERSION},
            "providers": {
                "type": "object",
                "description": "Accounts by name; the name is the provider type unless"
                               " `type:` says otherwise.",
                "propertyNames": {"pattern": ALIAS_PATTERN.pattern},
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
