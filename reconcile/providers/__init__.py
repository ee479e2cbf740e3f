"""The provider registry: adding a provider touches its folder and one line here.

It sits below the engine: the adapters load through `reconcile.engine.adapters`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconcile.convert.mapping import KindMapping
    from reconcile.models import ProviderModels

# provider type -> the package that holds its model, adapter, emulator and crosswalk
PROVIDER_PACKAGES: dict[str, str] = {
    "twilio": "reconcile.providers.twilio",
    "telnyx": "reconcile.providers.telnyx",
    "signalwire": "reconcile.providers.signalwire",
    "metered": "reconcile.providers.metered",
    "kaleyra": "reconcile.providers.kaleyra",
    "daily": "reconcile.providers.daily",
}


def provider_models(provider_type: str) -> ProviderModels:
    """The file-format models of one provider (imports pydantic: keep out of start-up)."""
    module = importlib.import_module(f"{PROVIDER_PACKAGES[provider_type]}.model")
    models: ProviderModels = module.MODELS
    return models


def crosswalk(provider_type: str) -> dict[str, KindMapping]:
    """Each room kind's mapping to the shared concepts, for `convert`."""
    module = importlib.import_module(f"{PROVIDER_PACKAGES[provider_type]}.crosswalk")
    mappings: dict[str, KindMapping] = module.CROSSWALK
    return mappings
