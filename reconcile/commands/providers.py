"""`reconcile providers`: what each provider can change in place, what forces a
replacement, how deletes are done and whether sessions are visible.

Built from the adapters' `Capabilities` and the room models' fields, never written by
hand; offline (no rooms file, no network).
"""

from __future__ import annotations

import json
from typing import Any

import click

from reconcile import exitcodes
from reconcile.engine.adapters import adapter_class
from reconcile.engine.provider import Provider
from reconcile.exitcodes import ERROR, OK
from reconcile.providers import PROVIDER_PACKAGES

FORMAT_VERSION = 1
EXIT_CODES = ((OK, "the table was printed"), (ERROR, "an invalid option"))
ORDER_WORDS = {"delete-first": "delete the old room, then create the new one",
               "create-first": "create the new room, then delete the old one"}
SESSION_WORDS = {
    True: "visible: replacing or deleting an occupied room needs --allow-disruption",
    False: "not visible: the live-session guard cannot tell whether anyone is in a room"}


def capability_table() -> list[dict[str, Any]]:
    """One entry per provider: its capabilities, and per room kind each field's change."""
    return [_provider(adapter_class(name)) for name in PROVIDER_PACKAGES]


def _provider(adapter: type[Provider]) -> dict[str, Any]:
    capabilities = adapter.capabilities
    kinds = {}
    for kind, model in adapter.room_models().items():
        kinds[kind] = [{"field": name, "key": name == model.KEY_FIELD,
                        "change": "replace" if capabilities.forces_replacement(name)
                        else "in place"}
                       for name in model.yaml_names() if name not in model.MANAGEMENT_FIELDS]
    return {"provider": adapter.type, "delete": capabilities.delete,
            "replace_order": capabilities.replace_order,
            "sessions_visible": capabilities.sessions, "kinds": kinds}


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True, help="How to print the table.")
def providers(output_format: str) -> None:
    """Print each provider's capabilities: per field, whether a change updates the room in
    place or forces a replacement; how deletes are done; whether sessions are visible."""
    table = capability_table()
    if output_format == "json":
        click.echo(json.dumps({"format_version": FORMAT_VERSION, "providers": table},
                              indent=2))
    else:
        click.echo(render_text(table), nl=False)
    raise SystemExit(OK)


def render_text(table: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for entry in table:
        lines += [entry["provider"],
                  f"  delete:   {entry['delete']}",
                  f"  replace:  {ORDER_WORDS[entry['replace_order']]}",
                  f"  sessions: {SESSION_WORDS[entry['sessions_visible']]}"]
        for kind, fields in entry["kinds"].items():
            width = max(len(f["field"]) for f in fields)
            lines.append(f"  {kind}:")
            lines += [f"    {f['field']:<{width}}  {f['change']}{'  (key)' if f['key'] else ''}"
                      for f in fields]
        lines.append("")
    return "\n".join(lines)
