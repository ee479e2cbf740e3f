"""A sentinel in every credential never shows: not in any output, log or error, at any
verbosity, whether the run succeeds or the credentials are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.sandbox.core import DEFAULT_CREDENTIALS, PROVIDERS, Sandbox
from reconcile.sandbox.registry import DECLARATIONS
from reconcile.sandbox.server import SandboxServer
from reconcile.starter import credential_variables

from ..conftest import accounts_file, one_room

SENTINEL = "S3NT1NEL-7f3a"
# Every credential variable of a `accounts_file` file, each holding the sentinel: the
# sandbox's default value of that credential (its shape, such as an Account SID's "AC"),
# then the sentinel.
ENVIRON = {variable: f"{DECLARATIONS[provider].secrets[name]}-{SENTINEL}"
           for provider in PROVIDERS
           for name, variable in credential_variables(provider, provider).items()}
ROOMS = {provider: one_room(provider, "standup") for provider in PROVIDERS}
STATE = "state/kaleyra.json"  # Kaleyra's, under the rooms file's folder


def register(sandbox: Sandbox) -> None:
    """Make the sandbox accept ENVIRON: each default credential becomes its sentinel value
    (a principal of "*", any, stays so)."""
    for provider in PROVIDERS:
        sentinel = {DECLARATIONS[provider].secrets[name]: ENVIRON[variable] for name, variable
                    in credential_variables(provider, provider).items()}
        principal, secret = DEFAULT_CREDENTIALS[provider]
        sandbox.register(provider, sentinel.get(principal, principal), sentinel[secret])


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]])
def test_the_sentinel_never_shows(tmp_path: Path, server: SandboxServer, sandbox: Sandbox,
                                  verbosity: list[str]) -> None:
    path = accounts_file(tmp_path, server, ROOMS, state=STATE)
    register(sandbox)
    runner = CliRunner(env=ENVIRON)
    outputs = []
    for args in (["plan", str(path)], ["apply", "--auto-approve", str(path)],
                 ["plan", "--detailed-exitcode", str(path)]):
        result = runner.invoke(cli, [*verbosity, *args])
        outputs.append(result.output + result.stderr)
        assert result.exit_code == 0, result.output + result.stderr
    if verbosity == ["-vv"]:
        assert "HTTP Request" in outputs[0]  # the logs are really on
    state = (tmp_path / "state" / "kaleyra.json").read_text()
    for text in [*outputs, state]:
        assert SENTINEL not in text


@pytest.mark.parametrize("verbosity", [[], ["-vv"]])
def test_refused_credentials_do_not_show_either(tmp_path: Path, server: SandboxServer,
                                                verbosity: list[str]) -> None:
    path = accounts_file(tmp_path, server, ROOMS, state=STATE)
    wrong = {name: f"{value}-wrong" for name, value in ENVIRON.items()}  # never registered
    result = CliRunner(env=wrong).invoke(cli, [*verbosity, "plan", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "401" in line]
    # Kaleyra reads nothing without a state file; the four others each say why they failed.
    for alias in ("twilio", "telnyx", "signalwire", "metered"):
        assert any(alias in line for line in lines), result.stderr
    assert "twilio: reading the live rooms failed: 401: Authenticate; check TWILIO_ACCOUNT_SID" \
           " and TWILIO_AUTH_TOKEN, the credentials of account `twilio` (" in result.stderr
    assert SENTINEL not in result.output + result.stderr


@pytest.mark.parametrize("variable", sorted(ENVIRON))
def test_an_empty_credential_is_reported_before_any_request(
        tmp_path: Path, server: SandboxServer, sandbox: Sandbox, variable: str) -> None:
    """An empty variable used to pass: Telnyx sent `Bearer ` five times, Twilio and
    Metered the empty secret. It is refused, located, as an unset one is."""
    path = accounts_file(tmp_path, server, ROOMS, state=STATE)
    register(sandbox)
    for command in (["plan"], ["apply", "--auto-approve"], ["export"], ["show"]):
        result = CliRunner(env={**ENVIRON, variable: ""}).invoke(cli, [*command, str(path)])
        assert result.exit_code == 1, result.output
        line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                    if "${" + variable + "}" in text)
        assert re.search(rf"^{re.escape(str(path))}:{line}:\d+: environment variable"
                         rf" `{variable}` is set but empty", result.stderr, re.M), result.stderr
    assert not any(sandbox.counter_table().values()), sandbox.counter_table()
