"""`reconcile export`: the live rooms of the file's accounts, as a starter rooms file.

The input file supplies the accounts (endpoints, locators, `${…}` credentials); the rooms
it declares play no part. Each live room is written with the fields that differ from the
provider's defaults (`Provider.exportable_fields`), checked by its model and planned
against the live room, so the output validates clean and plans "No changes". A room the
model rejects is skipped, with a comment in the file and a warning on stderr. A value
holding one of the account's credentials is never written: the file must say `${…}`.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from reconcile import exitcodes
from reconcile.commands.engine import (
    account_option,
    fail,
    file_argument,
    masker,
    run_engine,
    target_option,
    write_atomically,
)
from reconcile.config import Config
from reconcile.engine import planner
from reconcile.engine.plan import LiveRoom
from reconcile.engine.provider import Provider
from reconcile.engine.run import Run, targeted
from reconcile.escape import printable
from reconcile.exitcodes import ERROR, OK
from reconcile.loader import load_file
from reconcile.messages import message_for
from reconcile.models import Room
from reconcile.outputs.mask import Masker
from reconcile.outputs.yaml_export import ExportedAccount, ExportedRoom, SkippedRoom, render

# Account settings an export leaves out: `defaults` would merge into the exported rooms
# (which spell out their own fields), and `prune` could delete the rooms a --target
# export left out.
DROPPED_SETTINGS = {"defaults": "left out: each room spells out its own fields",
                    "prune": "left out: add it back once the file declares every room"}
EXIT_CODES = ((OK, "the rooms file was written (rooms it cannot declare are skipped, with a"
                   " warning)"),
              (ERROR, "an error: an invalid file or option, a provider that could not be"
                      " read, an --out that cannot be written"))


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@file_argument
@account_option
@target_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the rooms file here instead of to stdout.")
@click.pass_context
def export(ctx: click.Context, file: str, accounts: tuple[str, ...], targets: tuple[str, ...],
           out: str | None) -> None:
    """Write the live rooms of FILE's accounts as a starter rooms file.

    Unmanaged rooms are exported too: that is how existing rooms are adopted. Only fields
    that differ from the provider's defaults are written; credentials stay the file's
    ${…} references. Kaleyra rooms come from the account's state file.
    """
    if out is not None and os.path.abspath(out) == os.path.abspath(file):
        fail(f"--out {out} is the rooms file being read: write the export elsewhere")
    source = Path(file)
    target = Path(out) if out else source  # where relative paths must point from

    async def work(run: Run, config: Config) -> tuple[list[ExportedAccount], Masker]:
        # The accounts as the file writes them: credentials as ${…}, its own endpoint
        # (not the sandbox's). The run has validated the file already.
        raw = load_file(file).data["providers"]
        mask = masker()
        read = await run.each_account(lambda provider: _export(provider, targets, mask))
        return [_account(provider, raw[alias], *read[alias], source, target)
                for alias, provider in run.providers.items()], mask

    exported, mask = run_engine(ctx, file, accounts, work=work)
    text = mask.scrub(render(exported, source.name))  # a no-op: _room left them out
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomically(out, text)
    rooms = sum(isinstance(item, ExportedRoom) for account in exported
                for items in account.kinds.values() for item in items)
    click.echo(f"reconcile: exported {rooms} room{'' if rooms == 1 else 's'} of"
               f" {len(exported)} account{'' if len(exported) == 1 else 's'}"
               + (f" to {out}" if out else ""), err=True)


Items = list[ExportedRoom | SkippedRoom]


async def _export(provider: Provider, targets: tuple[str, ...], mask: Masker
                  ) -> tuple[dict[str, Items], list[str]]:
    """Each kind's rooms (sorted by key), and notes for the account."""
    kinds = provider.room_models()
    read = await asyncio.gather(*(provider.export_rooms(kind) for kind in kinds))
    rooms: dict[str, Items] = {}
    notes: list[str] = []
    for (kind, model), live in zip(kinds.items(), read, strict=True):
        named = sorted((room for room in live if room.key is not None),
                       key=lambda room: str(room.key))
        rooms[kind] = [_room(provider, kind, model, room, mask) for room in named
                       if targeted(str(room.key), targets)]
        if len(named) < len(live) and not targets:
            notes.append(f"unnamed {kind} left out: {len(live) - len(named)} (only a room"
                         " with a key can be declared)")
    return rooms, notes


def _room(provider: Provider, kind: str, model: type[Room], live: LiveRoom, mask: Masker
          ) -> ExportedRoom | SkippedRoom:
    """The exported room, or why it is skipped: the model must take it, and planning it
    against the live room must find nothing to change."""
    address = mask.scrub(f"{provider.account.alias}.{kind}[{live.key}]")
    fields = provider.exportable_fields(kind, live)
    notes = [f"{name}: not exported (see the account's note)"
             for name in provider.export_omits if live.fields.get(name) not in (None, "")]
    for name in [n for n, value in fields.items() if _holds_secret(value, mask)]:
        if name == model.KEY_FIELD:
            _warn(f"{address} (id {live.id}): skipped: its key holds a credential")
            return SkippedRoom(f"room id {live.id}", "its key holds a credential")
        del fields[name]
        notes.append(f"{name}: not exported: it holds one of the account's credentials;"
                     " write it with a ${…} reference")
        _warn(f"{address}: {notes[-1]}")
    room, problem = _checked(model, fields)
    drifted = [change.name for change in planner.diff(provider, kind, live, room)] if room else []
    if drifted:
        # A value that does not read back as written would plan a change on every run.
        for name in drifted:
            fields.pop(name)
            notes.append(f"{name}: not exported: the provider's value does not read back"
                         " as written")
            _warn(f"{address}: {notes[-1]}")
        room, problem = _checked(model, fields)
    if room is None:
        problem = mask.scrub(problem)  # a message may quote the value
        _warn(f"{address} (id {live.id}): skipped: {problem}")
        return SkippedRoom(f"{live.key} (id {live.id})", problem)
    return ExportedRoom(fields, notes)


def _holds_secret(value: Any, mask: Masker) -> bool:
    text = json.dumps(value, ensure_ascii=False)
    return mask.scrub(text) != text


def _checked(model: type[Room], fields: dict[str, Any]) -> tuple[Room | None, str]:
    """(the room, "") when the model takes the fields, else (None, the first problem)."""
    try:
        room = model.model_validate(fields, context={"resolved": True})
    except ValidationError as exc:
        error = exc.errors()[0]
        return None, f"{_path(error['loc'])}: {message_for(error, model)}"
    for violation in room.rule_violations():
        if not violation.warning:  # a warning (a legacy Twilio type) still exports
            return None, f"{_path(violation.path)}: {violation.message}"
    return room, ""


def _path(parts: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _account(provider: Provider, raw: dict[str, Any], rooms: dict[str, Items],
             notes: list[str], source: Path, target: Path) -> ExportedAccount:
    settings = {key: value for key, value in raw.items()
                if key not in rooms and key not in DROPPED_SETTINGS}
    settings = provider.relocated_settings(provider.account, settings, source, target)
    notes = [*(f"{key}: {why}" for key, why in DROPPED_SETTINGS.items() if key in raw),
             *(f"{name} is never exported: {why}"
               for name, why in provider.export_omits.items()),
             *notes]
    return ExportedAccount(provider.account.alias, settings, rooms, notes)


def _warn(message: str) -> None:
    click.echo(f"reconcile: warning: {printable(message)}", err=True)  # quotes live keys
