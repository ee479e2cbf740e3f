"""The `reconcile` command line.

Subcommands are imported only when run, so `reconcile --help` and `--version` stay fast
(no pydantic, httpx or starlette at start-up).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import traceback
from typing import Any

import click

from reconcile import __version__, process, redact
from reconcile.about import provider_names
from reconcile.escape import printable, printable_lines
from reconcile.exitcodes import ERROR
from reconcile.providers import PROVIDER_PACKAGES

# name -> (module:attribute, one-line help shown by `reconcile --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("reconcile.commands.validate:validate",
                 "Check rooms files offline: no network, no credentials."),
    "schema": ("reconcile.commands.schema:schema",
               "Write (or --check) the JSON Schema of the rooms file."),
    "init": ("reconcile.commands.init:init",
             "Write a starter rooms file, its schema, pre-commit hooks and .gitignore."),
    "plan": ("reconcile.commands.plan:plan",
             "Show what apply would change, from the providers' live rooms."),
    "apply": ("reconcile.commands.apply:apply",
              "Make the providers' rooms match the file, idempotently."),
    "github-comment": ("reconcile.gitops.cli:comment", "Post or update the plan comment on a PR."),
    "sandbox": ("reconcile.sandbox.cli:sandbox",
                f"Run the built-in emulators of the {len(PROVIDER_PACKAGES)} providers'"
                " room APIs."),
    "export": ("reconcile.commands.export:export",
               "Write the live rooms of the file's accounts as a starter rooms file."),
    "show": ("reconcile.commands.show:show",
             "List the live rooms the file manages, with their join URLs (masked)."),
    "convert": ("reconcile.commands.convert:convert",
                "Move an account's rooms to another provider, as a new account."),
    "providers": ("reconcile.commands.providers:providers",
                  "Print what each provider updates in place, replaces and deletes."),
}


HELP = f"""Video-conferencing rooms as code, on {provider_names()}.

Declare rooms in YAML, check them with `validate`, see the changes with `plan`,
make them with `apply`.

\b
Exit codes: 0 success (plan --detailed-exitcode: no changes), 1 an error,
a failed or skipped change, or a usage error, 2 plan --detailed-exitcode:
changes, 3 a safety rail blocked apply (plan --detailed-exitcode: would
block it). `reconcile COMMAND --help` lists each command's.

The options below work after the command too: `reconcile plan --sandbox FILE`.
"""


class LazyGroup(click.Group):
    """Subcommands imported on use; a usage error of any command exits 1, as Terraform's
    do, so that 2 from `plan --detailed-exitcode` only ever means "changes"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # click types exit_code as a ClassVar, but reads it from the instance.
            exc.exit_code = ERROR  # type: ignore[misc]
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, self._hoist_global_options(ctx, args))
        except click.UsageError as exc:
            exc.exit_code = ERROR  # type: ignore[misc]  # as in invoke() above
            raise

    def _hoist_global_options(self, ctx: click.Context, args: list[str]) -> list[str]:
        """`reconcile plan --sandbox f.yaml` as `reconcile --sandbox plan f.yaml`: the
        group's options given after the subcommand move before it, unless the subcommand
        has an option of that name itself, or the token is another option's value."""
        ours = _options_by_name(self.params)
        start = _subcommand_index(args, ours)
        command = self.get_command(ctx, args[start]) if start < len(args) else None
        if command is None:
            return args
        theirs = _options_by_name(command.get_params(ctx))
        hoisted: list[str] = []
        tail: list[str] = []
        index = start + 1
        while index < len(args):
            token = args[index]
            if token == "--":
                tail += args[index:]
                break
            name = _option_name(token, ours)
            moved = name is not None and name not in theirs
            width = 2 if "=" not in token and _takes_value((ours if moved else theirs)
                                                           .get(token)) else 1
            (hoisted if moved else tail).extend(args[index:index + width])
            index += width
        return args[:start] + hoisted + [args[start]] + tail

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _options_by_name(params: list[click.Parameter]) -> dict[str, click.Option]:
    return {name: option for option in params if isinstance(option, click.Option)
            and option.expose_value for name in option.opts + option.secondary_opts}


def _takes_value(option: click.Option | None) -> bool:
    return option is not None and not option.is_flag and not option.count


def _option_name(token: str, options: dict[str, click.Option]) -> str | None:
    """The option a token spells, in any of click's forms: `--name`, `--name=value`, and
    repeated short flags such as `-vv`."""
    name = token.split("=", 1)[0] if token.startswith("--") else token
    if name in options:
        return name
    if len(token) > 2 and token[0] == "-" and token[1] != "-" and len(set(token[1:])) == 1:
        short = token[:2]
        return short if short in options and options[short].count else None
    return None


def _subcommand_index(args: list[str], ours: dict[str, click.Option]) -> int:
    """Where the subcommand's name is: the first argument that is no group option."""
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        name = _option_name(args[index], ours)
        takes = name is not None and "=" not in args[index] and _takes_value(ours[name])
        index += 2 if takes else 1
    return index


@click.group(cls=LazyGroup, help=HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="reconcile")
@click.option("--debug", is_flag=True, envvar="RECONCILE_DEBUG",
              help="Show tracebacks of internal errors (secrets stay redacted).")
@click.option("-v", "--verbose", count=True,
              help="Log more to stderr: -v requests, -vv everything (secrets stay masked).")
@click.option("--sandbox", is_flag=True,
              help="Run against the built-in emulators: no account or credentials needed.")
@click.option("--sandbox-db", type=click.Path(dir_okay=False), default=None,
              help="The sandbox's rooms, kept across runs [default: .reconcile/sandbox.db].")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int, sandbox: bool,
        sandbox_db: str | None) -> None:
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, sandbox=sandbox, sandbox_db=sandbox_db)
    levels = {0: logging.WARNING, 1: logging.INFO}
    # Every library's records (httpx, httpcore, uvicorn) pass the masker and the escaping.
    handler = redact.install(levels.get(verbose, logging.DEBUG), sys.stderr,
                             "%(levelname)s %(name)s: %(message)s")
    if not verbose:
        handler.setFormatter(_PlainFormatter("%(message)s"))


class _PlainFormatter(redact.SafeFormatter):
    """Without -v, a warning reads as a sentence (`reconcile: warning: …`): the logger's
    name helps whoever debugs with -v, not whoever is warned."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return f"reconcile: {record.levelname.lower()}: {super().formatMessage(record)}"


def main(argv: list[str] | None = None) -> None:
    """Entry point: never lets a traceback reach the user unless --debug asks for it, and
    never a credential, even then."""
    options: dict[str, Any] = {}  # ctx.obj: the group fills in `debug` (flag or env)
    # A run builds objects by the room and frees few before it ends: at the default
    # threshold (700) the collector walks the growing heap thousands of times. A plan of
    # 10,000 rooms: 0.2 s less CPU (a tenth) for about 25 MiB more at the peak.
    gc.set_threshold(100_000, 50, 100)
    process.OWNED_BY_THE_COMMAND = True
    process.skip_pydantic_plugins()
    try:
        cli.main(args=argv, prog_name="reconcile", standalone_mode=True, obj=options)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: report, don't crash
        _internal_error(exc, debug=bool(options.get("debug")))


def _redact(text: str) -> str:
    """The text without any value of the environment long enough to be a secret.

    Every credential comes from the environment (rooms files may only hold `${…}`
    references; GITHUB_TOKEN is read directly), and an internal error may quote any of
    them, so all values are masked but paths, which tracebacks are full of and which are
    no secrets. Nothing is imported: this must work when anything else is broken. The
    run's credentials go first, in every form they may be quoted in (base64 included)."""
    text = redact.scrub(text, redact.registered_forms())
    values = {value for value in os.environ.values() if len(value) >= redact.MIN_SECRET}
    for value in sorted(values, key=len, reverse=True):  # longest first: masked whole
        if value in text and not os.path.exists(value):
            text = text.replace(value, "***")
    return text


def _internal_error(exc: BaseException, *, debug: bool) -> None:
    if debug:
        text = "".join(traceback.format_exception(exc))
        click.echo(printable_lines(_redact(text)), err=True, nl=False)
    message: Any = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    hint = "" if debug else " (run with --debug for details)"
    click.echo(f"reconcile: internal error: {printable(_redact(message))}{hint}", err=True)
    sys.exit(ERROR)
