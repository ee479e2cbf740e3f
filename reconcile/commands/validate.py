"""`reconcile validate FILE…`: offline checks, as pre-commit and editors run them."""

from __future__ import annotations

import json

import click

from reconcile import exitcodes
from reconcile.errors import Diagnostic
from reconcile.escape import printable
from reconcile.exitcodes import ERROR, OK

EXIT_CODES = ((OK, "no file has an error (warnings are shown, and exit 0)"),
              (ERROR, "a problem in a file (each at its file:line:col), or an invalid option"))


@click.command(epilog=exitcodes.epilog(EXIT_CODES))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]),
              default="text", show_default=True,
              help="github prints ::error annotations for GitHub Actions.")
def validate(files: tuple[str, ...], output_format: str) -> None:
    """Check rooms files offline: no network and no credentials needed.

    Every problem is reported at its file:line:col. Warnings (such as a legacy Twilio
    room type) are shown too, but only errors fail the check.
    """
    from reconcile.config import diagnose

    results = [(path, sorted(diagnose(path), key=_order)) for path in files]
    total = sum(1 for _, found in results for d in found if not d.warning)
    if output_format == "json":
        click.echo(json.dumps(_as_json(results), indent=2))
    else:
        for _, found in results:
            for diagnostic in found:
                click.echo(_github(diagnostic) if output_format == "github" else str(diagnostic))
        if output_format == "text":
            _summary(results, total)
    raise SystemExit(ERROR if total else OK)


def _order(diagnostic: Diagnostic) -> tuple[int, int]:
    return diagnostic.location.line, diagnostic.location.col


Results = list[tuple[str, list[Diagnostic]]]


def _only(found: list[Diagnostic], warnings: bool = False) -> list[Diagnostic]:
    return [d for d in found if d.warning == warnings]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _summary(results: Results, total: int) -> None:
    files = len(results)
    noun = "file" if files == 1 else "files"
    warned = sum(len(_only(found, warnings=True)) for _, found in results)
    also = f" ({_plural(warned, 'warning')})" if warned else ""
    if total:
        bad = sum(1 for _, found in results if _only(found))
        click.echo(f"{_plural(total, 'error')} in {bad} of {files} {noun}{also}", err=True)
    else:
        click.echo(f"{files} {noun} valid{also}", err=True)


def _as_json(results: Results) -> dict[str, object]:
    return {
        "valid": not any(_only(found) for _, found in results),
        "error_count": sum(len(_only(found)) for _, found in results),
        "warning_count": sum(len(_only(found, warnings=True)) for _, found in results),
        "files": [{"file": path, "valid": not _only(found),
                   "errors": [d.as_dict() for d in _only(found)],
                   "warnings": [d.as_dict() for d in _only(found, warnings=True)]}
                  for path, found in results],
    }


def _escape(text: str, *, property_value: bool = False) -> str:
    # Inert and on one line first (a file name may hold anything), then GitHub's
    # workflow-command escaping.
    text = printable(text).replace("%", "%25")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(diagnostic: Diagnostic) -> str:
    where = diagnostic.location
    suffix = f" (at {diagnostic.path})" if diagnostic.path else ""
    level = "warning" if diagnostic.warning else "error"
    return (f"::{level} file={_escape(where.file, property_value=True)},line={where.line},"
            f"col={where.col}::{_escape(diagnostic.message + suffix)}")
