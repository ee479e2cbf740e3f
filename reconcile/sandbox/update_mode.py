"""Whether an emulator's in-place update merges its body into the room or replaces it.

No provider documents which it does (docs/providers/telnyx.md U10,
docs/providers/signalwire.md U4, docs/providers/metered.md U7), and the two
readings differ for every field a request leaves out: `merge` keeps it, `replace` resets it
to the value a new room gets. The emulators merge unless the control API switches an
emulator to `replace`, so a test can check that an adapter ends with the same room under
both. The mode lives in the store, so processes sharing a database share it; a reset ends it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from reconcile.sandbox.core import Sandbox

UpdateMode = Literal["merge", "replace"]
MODES: tuple[UpdateMode, ...] = ("merge", "replace")


def _key(provider: str) -> str:
    return f"update_mode:{provider}"


def update_mode(sandbox: Sandbox, provider: str) -> UpdateMode:
    mode = sandbox.store.get_meta(_key(provider), "merge")
    return "replace" if mode == "replace" else "merge"


def set_update_mode(sandbox: Sandbox, provider: str, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"an update mode is one of {', '.join(MODES)}, not {mode!r}")
    with sandbox.store.transaction():
        sandbox.store.set_meta(_key(provider), mode)


def update_base(sandbox: Sandbox, provider: str, room: Mapping[str, Any],
                fresh: Mapping[str, Any], is_setting: Callable[[str], bool]
                ) -> dict[str, Any]:
    """What an update merges its body into: the stored room as it is (`merge`), or
    (`replace`) the room with every setting taken back to what a new room has (`fresh`),
    a setting a new room lacks dropped. Other keys (id, timestamps, sessions) stay."""
    if update_mode(sandbox, provider) == "merge":
        return dict(room)
    return {**{k: v for k, v in room.items() if not is_setting(k)}, **fresh}
