"""Export and show: live rooms as a starter rooms file, and their join URLs.

`Exporting` is the part of the `Provider` base that only `reconcile export` and
`reconcile show` use; the planner and apply never call it.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from reconcile.declared import AccountConfig
from reconcile.engine.plan import ABSENT, LiveRoom
from reconcile.models import Room
from reconcile.providers import provider_models


class Exporting:
    type: ClassVar[str]

    # Fields `export` leaves out even when set, and why (said in the exported file).
    export_omits: ClassVar[Mapping[str, str]] = {}

    if TYPE_CHECKING:  # the provider's own hooks (`engine/contract.py`), which these read
        async def list_rooms(self, kind: str) -> list[LiveRoom]: ...
        def normalize(self, field: str, value: Any) -> Any: ...
        def provider_default(self, kind: str, field: str) -> Any: ...

    @classmethod
    def relocated_settings(cls, account: AccountConfig, settings: dict[str, Any],
                           source: Path, target: Path) -> dict[str, Any]:
        """The account's settings (as the file writes them) for a rooms file written at
        `target` instead of `source`: paths relative to the file are rewritten."""
        return settings

    @classmethod
    def room_models(cls) -> dict[str, builtins.type[Room]]:  # `type` is the ClassVar
        """The room model of each kind this provider has (`rooms`, `conferences`)."""
        return {kind.name: kind.model for kind in provider_models(cls.type).kinds}

    async def export_rooms(self, kind: str) -> list[LiveRoom]:
        """The live rooms `export` writes, with every field it can write: `list_rooms`,
        plus what a plan reads only for the rooms that declare it."""
        return await self.list_rooms(kind)

    def exportable_fields(self, kind: str, live: LiveRoom) -> dict[str, Any]:
        """What `export` declares for a live room, by YAML name: the key, then each field
        the model knows that is set and differs from the provider's default. Values come
        from `list_rooms`, normalised, so declaring them plans no change; leaving a field
        out is always safe, as undeclared fields are never compared."""
        model = self.room_models()[kind]
        fields: dict[str, Any] = {model.KEY_FIELD: live.key}
        for name in model.yaml_names():
            if name in fields or name in model.MANAGEMENT_FIELDS or name in self.export_omits:
                continue
            value = live.fields.get(name, ABSENT)
            if value is ABSENT or value is None or value == "":  # unset, however it reads
                continue
            default = self.provider_default(kind, name)
            if default is not ABSENT and _same(value, self.normalize(name, default)):
                continue
            fields[name] = value
        return fields

    def join_links(self, kind: str, live: LiveRoom) -> list[tuple[str | None, str]]:
        """The room's join URLs, each with whom it is for (None: for anyone)."""
        return [(None, url) for url in live.join_urls]


def _same(value: Any, default: Any) -> bool:
    """Equal as values, where true is not 1 (a bool field is never a number's default)."""
    return isinstance(value, bool) == isinstance(default, bool) and value == default
