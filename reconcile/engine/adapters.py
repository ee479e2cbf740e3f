"""The engine adapter of each registered provider (imports httpx: keep out of start-up).

Kept apart from the registry (`reconcile.providers`), which the engine's own modules read:
the registry knows provider packages by name, this module knows they hold a `Provider`.
"""

from __future__ import annotations

import importlib

from reconcile.engine.provider import Provider
from reconcile.providers import PROVIDER_PACKAGES


def adapter_class(provider_type: str) -> type[Provider]:
    """The adapter class of one provider."""
    module = importlib.import_module(f"{PROVIDER_PACKAGES[provider_type]}.adapter")
    adapter: type[Provider] = module.ADAPTER
    return adapter
