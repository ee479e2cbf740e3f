"""`reconcile show`: the live rooms the file manages, with their join URLs; or, given a
saved plan, that plan rendered again without reading any provider.

A declared room is paired with its live room as a plan pairs them (by key, else by
`renamed_from`). Join URLs let anyone in, so they are masked unless --show-sensitive.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import click

from reconcile import exitcodes
from reconcile.commands.engine import (
    account_option,
    fail,
    file_argument,
    masker,
    run_engine,
    target_option,
)
from reconcile.config import Config, DeclaredRoom
from reconcile.engine.plan import LiveRoom
from reconcile.engine.provider import Provider
from reconcile.engine.run import Run, targeted
from reconcile.escape import json_printable, printable
from reconcile.exitcodes import ERROR, OK
from reconcile.outputs.mask import Masker

FORMAT_VERSION = 1
EXIT_CODES = ((OK, "the rooms (or the saved plan) were shown"),
              (ERROR, "an error: a bad file or option, an unreadable provider, a failed"
                      " plan"))
SESSION_WORDS = {True: "yes", False: "no", None: "unknown"}


@dataclass(frozen=True, slots=True)
class Shown:
    account: str
    provider: str
    kind: str
    key: str
    id: str | None  # None: not live
    status: str  # the provider's status, "live" when it gives none, or "missing"
    active_session: bool | None  # None: the provider does not show sessions
    join_urls: tuple[tuple[str | None, str], ...]  # (whom it is for, URL)
    reason: str | None = None  # why a missing room is missing

    @property
    def address(self) -> str:
        return f"{self.account}.{self.kind}[{self.key}]"


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@file_argument
@account_option
@target_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="How to print the rooms (text or json) or a saved plan (any).")
@click.option("--show-sensitive", is_flag=True,
              help="Print join URLs in full (they let anyone join the room).")
@click.pass_context
def show(ctx: click.Context, file: str, accounts: tuple[str, ...], targets: tuple[str, ...],
         output_format: str, show_sensitive: bool) -> None:
    """List the live rooms FILE declares: id, status, whether people are in them, and
    their join URLs (masked unless --show-sensitive).

    FILE may instead be a plan saved by `plan --out plan.json`: it is shown as `plan`
    showed it, in the format asked for, without contacting any provider.
    """
    from reconcile.outputs.document import is_saved_plan

    if is_saved_plan(file):
        from reconcile.commands.plan import render_saved

        render_saved(file, output_format, None, False, show_sensitive, accounts, targets)
        raise SystemExit(OK)
    if output_format == "markdown":
        fail(f"--format markdown shows a saved plan (`show plan.json`); {file} is a rooms"
             " file, whose rooms are shown as text or json")

    async def work(run: Run, config: Config) -> tuple[list[Shown], Masker]:
        found = await run.each_account(lambda provider: _managed(provider, targets))
        mask = masker(show_sensitive)
        return [room for alias in run.providers for room in found[alias]], mask

    rooms, mask = run_engine(ctx, file, accounts, work=work)
    rooms = [_masked(room, mask) for room in rooms]
    text = render_json(rooms) if output_format == "json" else render_text(rooms)
    click.echo(mask.scrub(text), nl=False)
    raise SystemExit(OK)


async def _managed(provider: Provider, targets: tuple[str, ...]) -> list[Shown]:
    """The account's declared rooms, each with what its live room shows."""
    gate = asyncio.Semaphore(provider.read_concurrency)  # one read per room, bounded

    async def one(kind: str, room: DeclaredRoom, live: LiveRoom | None) -> Shown:
        base = (provider.account.alias, provider.type, kind, room.key)
        async with gate:
            if live is None:
                return Shown(*base, None, "missing", None, (),
                             reason=await provider.missing_reason(kind, room.key))
            active = await provider.session_active(kind, live)
        return Shown(*base, live.id, live.status or "live", active,
                     tuple(provider.join_links(kind, live)))

    steps = []
    for kind, declared in provider.account.rooms.items():
        chosen = [room for room in declared if targeted(room.key, targets)]
        if not chosen:
            continue  # no read for a kind nothing is shown of
        live = {room.key: room for room in await provider.list_rooms(kind)
                if room.key is not None}
        for room in chosen:
            previous = room.model.renamed_from
            current = live.get(room.key) or (live.get(previous) if previous else None)
            steps.append(one(kind, room, current))
    return list(await asyncio.gather(*steps))


def _masked(room: Shown, mask: Masker) -> Shown:
    urls = tuple((who, mask.url(url)) for who, url in room.join_urls)
    return Shown(room.account, room.provider, room.kind, room.key, room.id, room.status,
                 room.active_session, urls, room.reason)


def render_text(rooms: list[Shown]) -> str:
    if not rooms:
        return "No managed rooms.\n"
    lines: list[str] = []
    p = printable  # keys from the file, everything else from the provider
    for room in rooms:
        lines.append(p(room.address))
        if room.id is None:
            lines.append(f"    status:  missing ({p(room.reason or '')}): apply creates it")
            continue
        lines.append(f"    id:      {p(room.id)}")
        lines.append(f"    status:  {p(room.status)}")
        lines.append(f"    session: {SESSION_WORDS[room.active_session]}")
        for who, url in room.join_urls:
            lines.append(f"    join{f' ({p(who)})' if who else ''}: {p(url)}")
    return "\n".join(lines) + "\n"


def render_json(rooms: list[Shown]) -> str:
    document: dict[str, Any] = {"format_version": FORMAT_VERSION, "rooms": [
        {"account": room.account, "provider": room.provider, "kind": room.kind,
         "key": room.key, "id": room.id, "status": room.status,
         "active_session": room.active_session, "missing_reason": room.reason,
         "join_urls": [{"participant": who, "url": url} for who, url in room.join_urls]}
        for room in rooms]}
    return json_printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
