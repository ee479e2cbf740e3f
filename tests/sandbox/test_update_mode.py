"""Updates in place end with the same room whether the provider merges or replaces.

No provider says what an update does to the fields it leaves out
(docs/providers/telnyx.md U10, docs/providers/signalwire.md U4, docs/providers/metered.md
U7). The emulators merge, or under the control API's switch replace. Each
provider that updates in place is driven through the real CLI under both modes: one apply
changes the declared field, a second plan finds nothing, and every field the file does
not declare is as it was (issue 12, defect 2). Which providers update in place, and
their cases, come from each provider's tests/providers/<name>/cases.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconcile.cli import cli
from reconcile.exitcodes import CHANGES, OK
from reconcile.sandbox.client import SandboxControl
from reconcile.sandbox.server import SandboxServer

from ..conftest import SANDBOX_ACCOUNTS, SANDBOX_ENVIRON, per_provider, rooms_file
from .conftest import PROBES


@dataclass(frozen=True)
class Case:
    provider: str
    kind: str
    seeded: dict[str, Any]  # the live room, in the provider's shape (its key first)
    declared: str  # the room's line in the file: its key and one changed field
    changed: dict[str, Any]  # the declared field, as the room stores it after apply

    @property
    def key(self) -> str:
        return str(next(iter(self.seeded.values())))


# Each provider's, from its tests/providers/<name>/cases.py `UPDATE_MODE`: the providers
# that update in place are those with cases.
UPDATE_MODE = per_provider("UPDATE_MODE")
CASES = [Case(provider, **case) for provider, table in UPDATE_MODE.items()
         for case in table["cases"]]
IN_PLACE = sorted({case.provider for case in CASES})


def cli_run(*args: str) -> Result:
    return CliRunner(env=SANDBOX_ENVIRON).invoke(cli, list(args))


@pytest.mark.parametrize("mode", ["merge", "replace"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.provider}-{c.kind}" for c in CASES])
def test_one_apply_then_no_changes_and_undeclared_fields_kept(
        tmp_path: Path, real: SandboxServer, case: Case, mode: str) -> None:
    account = SANDBOX_ACCOUNTS[case.provider]
    with SandboxControl(real.base_url) as control:
        assert control.set_update_mode(case.provider, mode) == mode
        control.seed(case.provider, account, case.kind, [case.seeded])
        before = control.room(case.provider, account, case.kind, case.key)["data"]
    source = rooms_file(tmp_path, real, case.provider,
                        {case.kind: f"      - {case.declared}\n"})

    planned = cli_run("plan", "--detailed-exitcode", str(source))
    assert planned.exit_code == CHANGES, planned.output
    applied = cli_run("apply", "--auto-approve", str(source))
    assert applied.exit_code == OK, applied.output
    again = cli_run("plan", "--detailed-exitcode", str(source))
    assert (again.exit_code, again.stdout) == (
        OK, "No changes. (0 unmanaged rooms left alone)\n"), again.output

    with SandboxControl(real.base_url) as control:
        after = control.room(case.provider, account, case.kind, case.key)["data"]
    untouched = {"updated_at", *case.changed}
    assert {k: v for k, v in after.items() if k not in untouched} == \
        {k: v for k, v in before.items() if k not in untouched}
    assert {k: after[k] for k in case.changed} == case.changed


@pytest.mark.parametrize("provider", IN_PLACE)
def test_replace_resets_what_an_update_leaves_out(real: SandboxServer, provider: str
                                                  ) -> None:
    """The switch bites: a bare update under `replace` takes undeclared settings back to
    a new room's values (what an adapter that sent only the changes would cause)."""
    account = SANDBOX_ACCOUNTS[provider]
    case = next(c for c in CASES if c.provider == provider)
    with SandboxControl(real.base_url) as control:
        control.set_update_mode(provider, "replace")
        [room] = control.seed(provider, account, case.kind, [case.seeded])
    changed, value = next(iter(case.changed.items()))
    raw = UPDATE_MODE[provider]
    method, path, extra = raw["update"]
    path = path.format(id=room.get("id"), key=case.key)
    create_path, bare = raw["create"]
    answer = _call(real, provider, method, path, {**extra, changed: value})
    fresh = _call(real, provider, "POST", create_path, bare)
    for name in case.seeded:
        if name in (changed, next(iter(case.seeded)), "display_name"):
            continue  # the key, and SignalWire's display_name, whose default is the key
        assert answer.get(name) == fresh.get(name), name


def test_the_switch_is_read_set_and_refused_when_unknown(real: SandboxServer) -> None:
    with httpx.Client(base_url=real.base_url + "/_sandbox") as http:
        assert http.get("/update-mode/telnyx").json() == {"provider": "telnyx",
                                                          "mode": "merge"}
        assert http.put("/update-mode/telnyx", json={"mode": "replace"}).json()["mode"] == \
            "replace"
        assert http.put("/update-mode/telnyx", json={"mode": "reset"}).status_code == 400
        assert http.put("/update-mode/nope", json={"mode": "merge"}).status_code == 404
        http.post("/reset")
        assert http.get("/update-mode/telnyx").json()["mode"] == "merge"


# -- raw calls for the switch test ----------------------------------------------------------

def _call(server: SandboxServer, provider: str, method: str, path: str,
          body: dict[str, Any]) -> dict[str, Any]:
    probe = PROBES[provider]
    with httpx.Client(headers=probe.headers, auth=probe.auth) as http:
        response = http.request(method, server.url(provider) + path, json=body)
    assert response.is_success, response.text
    answer: dict[str, Any] = response.json()
    unwrap = UPDATE_MODE[provider]["unwrap"]
    return answer[unwrap] if unwrap else answer
