"""The contract between the sandbox host and one provider's emulator.

The host (the app, the fault layer, the control API, `--sandbox`, `sandbox serve`) sees an
emulator only through `Emulator`. Each provider's `emulator.py` exports `EMULATOR`, an
object satisfying it (usually an `EmulatorParts` of the module's functions, which mypy
checks against the protocol there); `reconcile.sandbox.app.load_emulator` finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from reconcile.sandbox.core import Sandbox, SandboxConnection

NameField = str | dict[str, str] | None


@runtime_checkable
class Emulator(Protocol):
    """What the sandbox host calls on a provider's emulator."""

    @property
    def name_field(self) -> NameField:
        """The field that holds a room's name (one for every kind, or kind -> field), so
        the control API's PATCH can rename a room; None when rooms have no name."""

    @property
    def control_routes(self) -> Sequence[BaseRoute]:
        """Extra control-API routes, mounted at ``/_sandbox/providers/<provider>``."""

    def create_app(self, sandbox: Sandbox) -> ASGIApp:
        """The provider's API as an ASGI app over `sandbox`, mounted at ``/<provider>``."""

    def fault_response(self, status: int, retry_after: int | None) -> Response:
        """An injected failure with `status`, in the provider's own error body (with a
        Retry-After header when `retry_after` is given)."""

    def account_of(self, request: Request) -> str | None:
        """The account a request claims (unverified), which per-account faults key on."""

    def seed(self, sandbox: Sandbox, account: str, kind: str, rooms: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
        """Store `rooms` (given in the provider's own fields) at once, all or none, and
        return them as the API renders them; ValueError names a room that is refused."""

    def is_live(self, kind: str, data: dict[str, Any]) -> bool | None:
        """Whether a stored room's data counts as live (it holds its name) after the
        control API patches it; None: liveness changes only with ``?live=``."""

    def sandbox_connection(self, alias: str, settings: Any) -> SandboxConnection:
        """How `--sandbox` and `sandbox serve` point account `alias` (with its file
        `settings`: a space, an app, a region) at this emulator."""


def no_liveness_rule(kind: str, data: dict[str, Any]) -> bool | None:
    """`is_live` of an emulator whose rooms never stop holding their name by themselves."""
    return None


@dataclass(frozen=True, slots=True)
class EmulatorParts:
    """An `Emulator` made of a module's functions (`dataclasses.replace` swaps one, e.g.
    a test's layer around `create_app`)."""

    create_app: Callable[[Sandbox], ASGIApp]
    fault_response: Callable[[int, int | None], Response]
    account_of: Callable[[Request], str | None]
    seed: Callable[[Sandbox, str, str, list[dict[str, Any]]], list[dict[str, Any]]]
    sandbox_connection: Callable[[str, Any], SandboxConnection]
    name_field: NameField = None
    is_live: Callable[[str, dict[str, Any]], bool | None] = no_liveness_rule
    control_routes: Sequence[BaseRoute] = ()
