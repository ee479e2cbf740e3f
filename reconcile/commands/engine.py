"""What the commands that talk to providers share: their options, calls to reconcile.api
with its errors reported as the CLI reports them, and the output where it was asked for,
in the format asked for."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from reconcile import files, redact
from reconcile.api import run_file
from reconcile.config import Config
from reconcile.engine.run import Run
from reconcile.errors import ConfigError, ReconcileError
from reconcile.escape import printable_lines
from reconcile.exitcodes import ERROR

if TYPE_CHECKING:
    from reconcile.engine.apply import Outcome
    from reconcile.engine.plan import Plan
    from reconcile.engine.rails import Block
    from reconcile.outputs.mask import Masker

T = TypeVar("T")
DEFAULT_FILE = "rooms.yaml"
FORMATS = ("text", "json", "markdown")
EXTENSIONS = {".json": "json", ".md": "markdown", ".markdown": "markdown"}
OnError = Callable[[Sequence[str], "str | None"], None]  # messages, the file's checksum


# Any path: the loader says, at its place, what is wrong with one that is no rooms file
# (a directory, a pipe...), as `validate` does.
file_argument = click.argument("file", required=False, default=DEFAULT_FILE,
                               type=click.Path())
account_option = click.option("--account", "accounts", multiple=True, metavar="NAME",
                              help="Only these accounts (repeatable; globs allowed).")
target_option = click.option("--target", "targets", multiple=True, metavar="KEY",
                             help="Only rooms with these keys (repeatable; globs allowed).")


def fail(message: str, code: int = ERROR) -> NoReturn:
    # Line by line: a message may list several accounts, each on its own line.
    click.echo(f"reconcile: {printable_lines(message)}", err=True)
    raise SystemExit(code)


def whole_plan(file: str, verb: str, accounts: tuple[str, ...],
               targets: tuple[str, ...]) -> None:
    """Refuse --account and --target with a saved plan: it is used as it was reviewed."""
    if accounts or targets:
        fail(f"{file}: a saved plan is {verb} whole: plan again with --account or --target"
             " to narrow it")


def sandbox_of(ctx: click.Context) -> str | bool:
    """The global --sandbox (and --sandbox-db) as the API takes it."""
    return bool(ctx.obj.get("sandbox")) and (ctx.obj.get("sandbox_db") or True)


def call_api(ctx: click.Context, file: str, call: Callable[[], T],
             on_error: OnError | None = None) -> T:
    """`call()`, an API call on the rooms file `file`, with its errors reported as the
    CLI reports them: located, on stderr, and to `on_error` first (a json or markdown
    output reports them too); then exit 1."""
    try:
        return call()
    except ConfigError as exc:
        if not os.path.lexists(file):
            missing = (f"{file}: no such file (give the rooms file's path: reconcile"
                       f" {ctx.info_name} path/to/rooms.yaml)")
            if on_error is not None:
                on_error([missing], None)
            fail(missing)
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        if on_error is not None:
            on_error([str(d) for d in exc.diagnostics], None)
        done = {"plan": "planned", "apply": "applied"}.get(ctx.info_name or "", "done")
        fail(f"{file} is not valid: nothing was {done}")
    except ReconcileError as exc:
        if on_error is not None:
            on_error(str(exc).splitlines(), exc.checksum)
        fail(str(exc))


def echo_notice(notice: str) -> None:
    click.echo(f"reconcile: note: {notice}", err=True)


def run_engine(ctx: click.Context, file: str, accounts: tuple[str, ...], *,
               work: Callable[[Run, Config], Awaitable[T]],
               on_error: OnError | None = None) -> T:
    """Load `file`, open the selected accounts (sandboxed when asked) and run `work`
    (reconcile.api.run_file), reporting errors as `call_api` does."""
    return call_api(ctx, file, lambda: run_file(file, work, accounts=accounts,
                                                sandbox=sandbox_of(ctx)), on_error)


def masker(show_sensitive: bool = False) -> Masker:
    """What outputs hide: sensitive values unless asked, and the credentials the loader
    registered (the real ones: the sandbox's are public, and never registered)."""
    from reconcile.outputs.mask import Masker

    return Masker(show_sensitive, redact.registered_forms())


# -- output: the format, where it goes, colour and masking --------------------------------

def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--format, --out, --no-color and --show-sensitive."""
    for option in reversed((
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                     help="text (the default), json (a versioned document) or markdown"
                          " (a pull-request comment). With --out and no --format, a .json"
                          " or .md file name chooses."),
        click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                     help="Write the output to FILE (atomically); stdout then shows the text"
                          " plan."),
        click.option("--no-color", is_flag=True,
                     help="No colour. Colour is only ever used on a terminal, and never"
                          " when NO_COLOR is set; FORCE_COLOR forces it."),
        click.option("--show-sensitive", is_flag=True,
                     help="Show sensitive values (Kaleyra descriptions and participants,"
                          " Metered RTMP URLs) instead of masking them."),
    )):
        command = option(command)
    return command


def _colour(no_color: bool) -> bool:
    # https://no-color.org and https://force-color.org: present and not empty.
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Report:
    """Where the output of `plan` or `apply` goes: the document in its format to --out or
    stdout, and the text plan to stdout whenever stdout is not taken by the document."""

    fmt: str
    out: str | None
    colour: bool
    config: str  # the rooms file, as given
    show_sensitive: bool = False

    @property
    def mask(self) -> Masker:
        # Read when used: the credentials are registered when the file is loaded.
        return masker(self.show_sensitive)

    @classmethod
    def of(cls, fmt: str | None, out: str | None, no_color: bool, show_sensitive: bool,
           config: str) -> Report:
        if fmt is None:
            fmt = EXTENSIONS.get(Path(out).suffix.lower(), "text") if out else "text"
        return cls(fmt, out, _colour(no_color), config, show_sensitive)

    @property
    def text_on_stdout(self) -> bool:
        """Whether stdout shows the text plan (else it carries a json or markdown one)."""
        return self.fmt == "text" or self.out is not None

    def echo(self, text: str, *, err: bool = False) -> None:
        """Text for a person: coloured when stdout is a terminal that wants it."""
        click.echo(text, nl=False, err=err, color=self.colour and not err)

    def plan_text(self, plan: Plan, *, colour: bool | None = None) -> str:
        from reconcile.outputs.text import render_plan

        return render_plan(plan, self.mask, colour=self.colour if colour is None else colour)

    def document(self, plan: Plan | None, *, checksum: str | None,
                 blocks: Sequence[Block] = (), errors: Sequence[str] = (),
                 outcomes: Sequence[Outcome] | None = None) -> None:
        """Write the output document: to --out, or to stdout unless that shows text."""
        if self.fmt == "text" and self.out is None:
            return  # the command has shown it as it went
        options: dict[str, Any] = {"checksum": checksum, "blocks": blocks, "errors": errors,
                                   "outcomes": outcomes}
        if self.fmt == "json":
            from reconcile.outputs.document import document, render

            text = render(document(plan, config=self.config, mask=self.mask, **options),
                          self.mask)
        elif self.fmt == "markdown":
            from reconcile.outputs.markdown import render as markdown

            text = markdown(plan, config=self.config, mask=self.mask, **options)
        else:
            from reconcile.outputs.text import render_summary

            text = self.plan_text(plan, colour=False) if plan is not None else ""
            text += render_summary(list(outcomes)) if outcomes is not None else ""
        if self.out is None:
            click.echo(text, nl=False)
        else:
            write_atomically(self.out, text)

    def on_error(self, messages: Sequence[str], checksum: str | None) -> None:
        if self.fmt != "text":
            self.document(None, checksum=checksum, errors=messages)


def write_atomically(path: str, text: str) -> None:
    """Write an output file whole or not at all (a pipeline never reads half a plan), or
    fail the command saying why; `convert --out` may be the rooms file itself. A new file
    is private (0600): with --show-sensitive an output holds secrets and join URLs."""
    try:
        files.write_atomically(path, text, mode=0o600)
    except files.FileNotWritten as exc:
        fail(str(exc))
