"""`reconcile init`: a starter rooms file for the providers asked for, the schema editors
read, pre-commit hooks, .gitignore lines and, on request, the GitHub Actions workflow.

Nothing that exists is overwritten: such a file is named and kept, and init exits 1 (the
others are still written); .gitignore only gets the lines it lacks.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import click

from reconcile import __version__, exitcodes
from reconcile.exitcodes import ERROR, OK
from reconcile.files import FileNotWritten, write_atomically
from reconcile.providers import PROVIDER_PACKAGES

EXIT_CODES = ((OK, "every file was written"),
              (ERROR, "a file existed and was kept (the others were written), a file"
                      " could not be written, or an invalid option"))
SCHEMA_PATH = Path("schemas") / "rooms.schema.json"
WORKFLOW_PATH = Path(".github") / "workflows" / "reconcile.yml"


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.option("--provider", "providers", multiple=True, required=True,
              type=click.Choice(list(PROVIDER_PACKAGES)),
              help="A provider you use (repeatable): one starter account each.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=".", show_default=True, help="The repository's root.")
@click.option("--file", "rooms", type=click.Path(dir_okay=False, path_type=Path),
              default="rooms.yaml", show_default=True,
              help="The rooms file, relative to --dir.")
@click.option("--workflow", is_flag=True,
              help=f"Also write the GitHub Actions workflow ({WORKFLOW_PATH}).")
def init(providers: tuple[str, ...], directory: Path, rooms: Path, workflow: bool) -> None:
    """Write a starter rooms file and what goes with it: its schema, for editors (the
    file's modeline points at it), pre-commit hooks and .gitignore lines."""
    from reconcile.schema import shipped_schema
    from reconcile.starter import GITIGNORE_LINES, precommit_config, rooms_file

    schema = Path(os.path.relpath(directory / SCHEMA_PATH, (directory / rooms).parent))
    files = {rooms: rooms_file(list(dict.fromkeys(providers)), schema.as_posix()),
             SCHEMA_PATH: shipped_schema("rooms"),
             Path(".pre-commit-config.yaml"): precommit_config(__version__)}
    if workflow:
        files[WORKFLOW_PATH] = resources.files("reconcile.gitops").joinpath(
            "workflow.yml").read_text(encoding="utf-8")
    kept = [path for path, text in files.items() if not _create(directory, path, text)]
    _ignore(directory / ".gitignore", GITIGNORE_LINES)
    if workflow and rooms != Path("rooms.yaml"):
        click.echo(f"note: set ROOMS_FILE and the `paths:` filters in {WORKFLOW_PATH} to"
                   f" {rooms.as_posix()}", err=True)
    click.echo(f"next: `reconcile --sandbox plan {(directory / rooms).as_posix()}` plans it"
               " on the built-in emulators; `pre-commit install` turns the hooks on", err=True)
    if kept:
        raise SystemExit(ERROR)


def _create(directory: Path, path: Path, text: str) -> bool:
    """Write a new file; False, and say so, when it exists."""
    target = directory / path
    try:
        write_atomically(target, text, overwrite=False, parents=True)
    except FileNotWritten as exc:
        if not exc.exists:
            raise click.ClickException(f"cannot write {target}: {exc.problem}") from None
        click.echo(f"kept {target}: it exists, and init overwrites nothing", err=True)
        return False
    click.echo(f"wrote {target}", err=True)
    return True


def _ignore(gitignore: Path, lines: tuple[str, ...]) -> None:
    """Append the lines .gitignore lacks (it may already ignore some, or not exist)."""
    try:
        present = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
        missing = [line for line in lines if line not in present.splitlines()]
        if not any(not line.startswith("#") for line in missing):
            return
        separator = "\n" if present and not present.endswith("\n") else ""
        write_atomically(gitignore, present + separator + ("\n" if present else "")
                         + "\n".join(missing) + "\n")
    except OSError as exc:
        raise click.ClickException(f"cannot update {gitignore}: {exc.strerror}") from None
    except FileNotWritten as exc:
        raise click.ClickException(f"cannot update {gitignore}: {exc.problem}") from None
    click.echo(f"added {sum(not line.startswith('#') for line in missing)} lines to"
               f" {gitignore}", err=True)
