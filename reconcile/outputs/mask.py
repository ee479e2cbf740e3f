"""What every output hides: sensitive values unless asked, and secrets always.

Which fields are sensitive is each provider's to say (`ProviderModels.sensitive_fields`: Kaleyra
descriptions and participants, Metered's RTMP URL); join URLs are sensitive everywhere.
Every format masks through one `Masker`, so they cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconcile import redact
from reconcile.engine.plan import Action, Change

MASK = "(sensitive)"


@functools.cache
def sensitive_fields(provider: str) -> frozenset[str]:
    from reconcile.providers import provider_models

    return provider_models(provider).sensitive_fields


@dataclass(frozen=True)
class Masker:
    show_sensitive: bool = False
    secrets: tuple[str, ...] = ()  # every form of the credentials, scrubbed from any text

    @classmethod
    def of(cls, *, show_sensitive: bool = False, secrets: Iterable[str] = ()) -> Masker:
        return cls(show_sensitive, redact.secret_forms(secrets))

    def sensitive_paths(self, change: Change) -> list[str]:
        """The change's fields whose values are sensitive (masked or not)."""
        names = change.live.fields if change.action is Action.DELETE and change.live \
            else [f.name for f in change.fields]
        sensitive = sensitive_fields(change.provider)
        return [name for name in names if name in sensitive]

    def value(self, provider: str, field: str, value: Any) -> Any:
        if not self.show_sensitive and field in sensitive_fields(provider):
            return MASK
        return value

    def values(self, provider: str, fields: dict[str, Any] | None) -> dict[str, Any] | None:
        if fields is None:
            return None
        return {name: self.value(provider, name, value) for name, value in fields.items()}

    def url(self, url: str) -> str:
        return url if self.show_sensitive else MASK

    def scrub(self, text: str) -> str:
        """The text with every credential value replaced (they reach fields only through
        a `${VAR}` in a value, but must never reach an output)."""
        return redact.scrub(text, self.secrets)
