"""The Twilio emulator's per-account switches (control API:
``POST /_sandbox/providers/twilio/accounts/{AccountSid}/switches``).

- ``legacy_types_as_group``: rooms asked for with a legacy type (go, peer-to-peer,
  group-small) are created as `group` rooms, as Twilio's current docs suggest (U14).
- ``retired``: Programmable Video has ended for the account (U15): every request that
  authenticates answers with this HTTP status (``true`` means 404), in Twilio's error body.
"""

from __future__ import annotations

from typing import Any

from reconcile.providers.twilio.emulator_rooms import PROVIDER, TwilioError
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.switches import Switches

# What a retired product may answer, and the Twilio code the emulator puts in the body.
RETIRED_ANSWERS = {401: (20003, "Authenticate"), 403: (20403, "Forbidden"),
                   404: (20404, "The requested resource {path} was not found"),
                   410: (20404, "The requested resource {path} is no longer available")}


def _retired_value(value: Any) -> bool:
    return isinstance(value, bool) or value in RETIRED_ANSWERS


SWITCHES = Switches(
    PROVIDER, {"legacy_types_as_group": False, "retired": False},
    {"legacy_types_as_group": (lambda v: isinstance(v, bool), "true or false"),
     "retired": (_retired_value, "false, true (404) or one of 401, 403, 404, 410")})
CONTROL_ROUTES = [SWITCHES.route()]


def legacy_types_as_group(sandbox: Sandbox, account: str) -> bool:
    return bool(SWITCHES.of(sandbox, account)["legacy_types_as_group"])


def retired_error(sandbox: Sandbox, account: str, path: str) -> TwilioError | None:
    """The answer of a retired product to any request of the account, or None."""
    retired = SWITCHES.of(sandbox, account)["retired"]
    if retired is False:
        return None
    status = 404 if retired is True else int(retired)
    code, message = RETIRED_ANSWERS[status]
    return TwilioError(status, code, message.format(path=path))
