"""`reconcile convert`: an account's rooms, moved to another provider as a new account.

The output is the input file as written, with the new account added: planning it shows
creates on the target and the source's rooms untouched, until they are pruned. Every
field that cannot move, and every value that moves approximately, is named on stderr with
its place in the file and written as a comment beside its room; either makes convert exit
1 and write nothing, unless --allow-lossy. The file written is checked as `validate`
checks it before it replaces anything.
"""

from __future__ import annotations

import time
from typing import Any

import click
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconcile import exitcodes
from reconcile.commands.engine import fail, write_atomically
from reconcile.config import ALIAS_PATTERN, check_document
from reconcile.convert.account import Conversion, Target, convert_account, credential_references
from reconcile.convert.mapping import Outcome
from reconcile.convert.render import CannotInsert, account_lines, with_account
from reconcile.exitcodes import ERROR, OK
from reconcile.files import FileRefused, read_regular
from reconcile.loader import MAX_FILE_BYTES, load_bytes, load_file, load_text
from reconcile.located import Document
from reconcile.messages import describe, message_for, printable, suggest
from reconcile.providers import PROVIDER_PACKAGES, crosswalk, provider_models

EXIT_CODES = ((OK, "the converted file was written (with --allow-lossy: whatever it lost is"
                   " reported)"),
              (ERROR, "an error, or a room or value that cannot move (nothing is written;"
                      " --allow-lossy accepts approximations, never a refused room)"))
# Account settings --set may not give: convert writes them itself.
NOT_SETTABLE = ("type", "credentials", "defaults", "prune")
# Settings of a type --set cannot give (its values are text), by pydantic's error type.
TYPED = {"int_type": "a whole number", "float_type": "a number", "bool_type": "true or false"}


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--account", "alias", required=True, metavar="NAME",
              help="The account whose rooms move.")
@click.option("--to", "to", required=True, metavar="TYPE[:KIND]",
              help="The target provider, and its room kind when it has several"
                   " (signalwire:rooms or signalwire:conferences).")
@click.option("--as", "new_alias", default=None, metavar="NEW_NAME",
              help="The new account's name [default: the target type].")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A setting of the new account, such as the locator it needs:"
                   " space=…, app=…, region=… (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the file here (atomically; it may be FILE) instead of to stdout.")
@click.option("--allow-lossy", is_flag=True,
              help="Write the file even though some fields or values cannot move exactly"
                   " (each is still reported).")
def convert(file: str, alias: str, to: str, new_alias: str | None, settings: tuple[str, ...],
            out: str | None, allow_lossy: bool) -> None:
    """Move the rooms of FILE's account NAME to another provider, as a new account.

    Rooms are translated through shared concepts (capacity, recording, timeouts, expiry,
    webhook, privacy, in-call features, region). Credentials become ${TYPE_FIELD}
    references (TELNYX_API_KEY); the account's prune pattern and its `defaults` come
    along where they mean the same.
    """
    provider_type, kind = _target_kind(to)
    document, text = _valid(file)
    source_type = _source_type(document, alias)
    if source_type == provider_type and len(crosswalk(source_type)) == 1:
        fail(f"--to {printable(to)}: account `{alias}` is a {source_type} account already")
    alias_given = provider_type if new_alias is None else new_alias  # --as '' is refused
    target = Target(provider_type, kind, _new_alias(document, alias_given),
                    _settings(provider_type, settings))
    conversion = convert_account(document, alias, target, int(time.time()))
    for finding in sorted(conversion.findings, key=lambda f: (f.location.line,
                                                              f.location.col)):
        click.echo(printable(str(finding)), err=True)
    _refuse_losses(conversion, allow_lossy)
    header = (f"converted by `reconcile convert` from account `{alias}` ({source_type});"
              " review the comments below")
    try:
        written = with_account(text, lambda indent: account_lines(
            target.alias, kind, conversion, indent, header))
    except CannotInsert as exc:
        fail(f"{printable(file)}: {exc}")
    _check_output(written, out or file)
    if out is None:
        click.echo(written, nl=False)
    else:
        write_atomically(out, written)
    click.echo(_summary(conversion, alias, target, out), err=True)


def _target_kind(to: str) -> tuple[str, str]:
    provider_type, _, kind = to.partition(":")
    option = f"--to {printable(to)}"  # as typed, escaped: it may hold any character
    if provider_type not in PROVIDER_PACKAGES:
        fail(f"{option}: unknown provider type {describe(provider_type)}: use one of"
             f" {', '.join(PROVIDER_PACKAGES)}{suggest(provider_type, PROVIDER_PACKAGES)}")
    kinds = list(crosswalk(provider_type))
    if not kind and len(kinds) > 1:
        fail(f"{option}: {provider_type} has several room kinds: write "
             + " or ".join(f"--to {provider_type}:{k}" for k in kinds))
    if kind and kind not in kinds:
        fail(f"{option}: {provider_type} has no room kind {describe(kind)}: use one of"
             f" {', '.join(kinds)}")
    return provider_type, kind or kinds[0]


def _valid(file: str) -> tuple[Document, str]:
    """The file, valid, and its text as written (CRLF kept), from one read: what is
    converted is what is written back."""
    try:
        raw: bytes | None = read_regular(file, MAX_FILE_BYTES, "rooms file").data
    except FileRefused:
        raw = None  # the loader says why, located
    document = load_file(file) if raw is None else load_bytes(raw, file)
    diagnostics = [d for d in check_document(document) if not d.warning]
    if diagnostics or raw is None:
        for diagnostic in diagnostics:
            click.echo(str(diagnostic), err=True)
        fail(f"{printable(file)} is not valid: nothing was written")
    return document, raw.decode("utf-8-sig")


def _source_type(document: Document, alias: str) -> str:
    providers = document.data["providers"] or {}
    if alias not in providers:
        names = list(providers)
        mark = document.data.key_marks["providers"]
        _located(f"{document.location(mark)}: no account `{printable(alias)}` in `providers`"
                 f"{suggest(alias, names)} (accounts: {', '.join(names) or 'none'})")
    return str(providers[alias].get("type", alias))


def _new_alias(document: Document, alias: str) -> str:
    providers = document.data["providers"]
    if not ALIAS_PATTERN.match(alias):
        fail(f"--as {describe(alias)}: an account name may contain only letters, digits,"
             " `_` and `-`")
    if alias in providers:
        where = document.location(providers.key_marks[alias])
        _located(f"{where}: account `{alias}` already exists: name the new one with --as NAME")
    return alias


def _located(message: str) -> None:
    """A problem at a place in the file, said as `validate` says it."""
    click.echo(message, err=True)
    fail("nothing was written")


def _settings(provider_type: str, pairs: tuple[str, ...]) -> dict[str, Any]:
    """--set NAME=VALUE pairs, checked by the account model of the target."""
    models = provider_models(provider_type)
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or name in NOT_SETTABLE or name in {k.name for k in models.kinds}:
            # The value is never echoed: --set credentials=… may well hold a secret.
            shown = f"{describe(name)}=…" if equals else "without `=`"
            fail(f"--set {shown}: write NAME=VALUE for a setting of a"
                 f" {provider_type} account (not {', '.join(NOT_SETTABLE)}, which convert"
                 " writes itself)")
        settings[name] = value
    candidate = {"type": provider_type, "credentials": credential_references(provider_type),
                 **settings}
    try:
        models.account.model_validate(candidate, context={"resolved": False})
    except ValidationError as exc:
        for error in exc.errors():
            # printable: a name or value from the command line may hold any character
            click.echo(printable(f"reconcile: {_set_error(error, provider_type, models.account)}"),
                       err=True)
        fail("nothing was written")
    return settings


def _set_error(error: ErrorDetails, provider_type: str, account: type[BaseModel]) -> str:
    """One problem of the --set values, said in the command line's terms."""
    name = str(error["loc"][0]) if error["loc"] else "?"
    info = account.model_fields.get(name)
    hint = f" ({info.description})" if info is not None and info.description else ""
    if error["type"] == "missing":
        return f"--to {provider_type} needs --set {name}=…{hint}"
    if error["type"] in TYPED and isinstance(error["input"], str):
        # The YAML hint ("remove the quotes") would be wrong here: --set gives text only.
        return (f"--set {name}: takes {TYPED[error['type']]}, and --set values are text:"
                " set it in the written file")
    return f"--set {name}: {message_for(error, account)}"


def _refuse_losses(conversion: Conversion, allow_lossy: bool) -> None:
    if conversion.refused:
        fail(f"nothing was written: {_count(len(conversion.refused), 'room')} cannot be"
             " converted (above)")
    if conversion.losing and not allow_lossy:
        fail(f"nothing was written: {_count(len(conversion.losing), 'field')} cannot move"
             " exactly (above): change the file, or accept the losses with --allow-lossy")


def _check_output(text: str, beside: str) -> None:
    """The converted file validates as `validate` sees it, or nothing is written."""
    diagnostics = [d for d in check_document(load_text(text, beside)) if not d.warning]
    if diagnostics:
        for diagnostic in diagnostics:
            click.echo(str(diagnostic), err=True)
        fail("internal error: the converted file does not validate: nothing was written")


def _summary(conversion: Conversion, alias: str, target: Target, out: str | None) -> str:
    counts = {outcome: sum(f.outcome is outcome for f in conversion.findings)
              for outcome in (Outcome.LOSSY, Outcome.DROPPED, Outcome.NOTE)}
    reported = ", ".join(_count(n, "note") if outcome is Outcome.NOTE else f"{n} {outcome}"
                         for outcome, n in counts.items() if n)
    return (f"reconcile: converted {_count(len(conversion.rooms), 'room')} of account"
            f" `{alias}` into account `{target.alias}` ({target.type} {target.kind})"
            + (f": {reported}" if reported else "") + (f"; written to {out}" if out else ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
