"""`reconcile schema`: write or check the committed JSON Schema, or print a shipped one."""

from __future__ import annotations

from pathlib import Path

import click

from reconcile import exitcodes
from reconcile.exitcodes import ERROR, OK
from reconcile.schema import SHIPPED, shipped_schema

EXIT_CODES = ((OK, "the schema was written or printed (with --check: it is up to date)"),
              (ERROR, "with --check: the file is stale or missing; or an invalid option"))


MAX_SCHEMA_BYTES = 16 * 1024 * 1024  # the generated schema is ~100 KB


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default="schemas/rooms.schema.json", show_default=True,
              help="Where the schema lives.")
@click.option("--check", is_flag=True,
              help="Exit 1 when the file differs from what the models generate.")
@click.option("--print", "printed", type=click.Choice(SHIPPED),
              help="Print a schema shipped with this version to stdout instead: the rooms"
                   " file's, or the JSON plan's (`plan --format json`).")
def schema(output: Path, check: bool, printed: str | None) -> None:
    """Write the JSON Schema (draft 2020-12) of the rooms file, generated from the models."""
    if printed:
        click.echo(shipped_schema(printed), nl=False)
        return
    from reconcile.files import FileNotWritten, FileRefused, read_regular, write_atomically
    from reconcile.schema import render_schema

    generated = render_schema()
    if check:
        try:
            current: str | None = read_regular(output, MAX_SCHEMA_BYTES, "schema").data \
                .decode("utf-8", errors="replace")
        except FileRefused as refused:
            if not refused.missing:
                click.echo(f"reconcile: {refused}", err=True)
                raise SystemExit(ERROR) from None
            current = None
        if current != generated:
            state = "missing" if current is None else "stale"
            click.echo(f"{output} is {state}: run `reconcile schema` and commit the result",
                       err=True)
            raise SystemExit(ERROR)
        click.echo(f"{output} is up to date", err=True)
        raise SystemExit(OK)
    try:
        write_atomically(output, generated, parents=True)
    except FileNotWritten as exc:
        click.echo(f"reconcile: {exc}", err=True)
        raise SystemExit(ERROR) from None
    click.echo(f"wrote {output}", err=True)
