"""Per-account switches of an emulator, kept in the sandbox store and set through the
control API (``/_sandbox/providers/<provider>/...``): behaviours a real account may show
that tests must be able to turn on (a product retired, a legacy value read back changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.emulation import json_body, json_response

Check = Callable[[Any], bool]  # whether a value is acceptable for a switch


@dataclass(frozen=True)
class Switches:
    """Named switches with their defaults and what each accepts, per account."""

    provider: str
    defaults: Mapping[str, Any]
    accepts: Mapping[str, tuple[Check, str]]  # switch -> (check, what it accepts, in words)

    def _key(self, account: str) -> str:
        return f"{self.provider}:switches:{account}"

    def of(self, sandbox: Sandbox, account: str) -> dict[str, Any]:
        raw = sandbox.store.get_meta(self._key(account))
        return {**self.defaults, **(json.loads(raw) if raw else {})}

    def set(self, sandbox: Sandbox, account: str, changes: Mapping[str, Any]
            ) -> dict[str, Any]:
        """Turn some switches; raises ValueError naming what each one accepts."""
        for name, value in changes.items():
            check = self.accepts[name][0] if name in self.defaults else None
            if check is None or not check(value):
                raise ValueError(self.usage())
        with sandbox.store.transaction():
            settings = {**self.of(sandbox, account), **changes}
            sandbox.store.set_meta(self._key(account), json.dumps(settings))
        return settings

    def usage(self) -> str:
        return "send a JSON object among: " + "; ".join(
            f"{name} ({self.accepts[name][1]})" for name in self.defaults)

    def route(self) -> Route:
        """GET shows an account's switches; POST turns some. The mounting app keeps the
        Sandbox in `app.state.sandbox` (the control API does)."""
        async def endpoint(request: Request) -> Response:
            sandbox: Sandbox = request.app.state.sandbox
            account = request.path_params["account"]
            if request.method == "POST":
                body = await json_body(request)
                try:
                    if not isinstance(body, dict) or not body:
                        raise ValueError(self.usage())
                    self.set(sandbox, account, body)
                except ValueError as exc:
                    return json_response({"error": str(exc)}, 400)
            return json_response(self.of(sandbox, account))

        return Route("/accounts/{account}/switches", endpoint, methods=["GET", "POST"])
