"""The library interface: plan and apply a rooms file from Python, as the CLI does.

`plan_file`, `apply_file` and `apply_saved` load the file, open its accounts (on the
built-in sandbox when asked), plan, check the safety rails and apply. They print nothing:
they return what happened, and call back to ask for confirmation and to report progress.
The `plan` and `apply` commands are thin wrappers that render these results.

Each call is synchronous: it runs its own event loop, as the commands do, so it cannot
be called from a running loop: it raises `InEventLoop` there, before doing anything (run
it in a thread: `await asyncio.to_thread(plan_file, path)`).

Errors raise `reconcile.errors.ReconcileError`: `ConfigError` for a rooms file that cannot
be used (its `diagnostics` are located, `file:line:col`), a plain `ReconcileError` for
anything else the CLI reports in one message (an account that cannot be read, a stale
saved plan, a held lock). An error met after the file was loaded carries its `checksum`.
An argument of the wrong Python type is a TypeError, raised before anything is read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from reconcile.config import Config, load
from reconcile.engine.adapters import adapter_class
from reconcile.engine.apply import Outcome
from reconcile.engine.plan import Plan, SavedPlan
from reconcile.engine.provider import RunContext
from reconcile.engine.rails import Block, check
from reconcile.engine.run import Run, narrow, open_accounts, select
from reconcile.errors import ReconcileError
from reconcile.escape import printable
from reconcile.exitcodes import BLOCKED, CHANGES, ERROR, OK

__all__ = ["ApplyResult", "InEventLoop", "PlanResult", "apply_file", "apply_saved",
           "plan_file", "plan_status"]

T = TypeVar("T")
FilePath = str | os.PathLike[str]
# Globs, as --account and --target take them: a list, or one pattern as a string.
Patterns = str | Iterable[str]
# The sandbox to run on: None (or False) for the real providers, True for the default
# database (.reconcile/sandbox.db), or the path of a database (its rooms kept across calls).
SandboxOption = bool | FilePath | None
Confirm = Callable[[Plan], bool]
Progress = Callable[[Outcome], None]
Notices = Callable[[str], None]
OnPlan = Callable[[Plan, Sequence[Outcome]], None]

log = logging.getLogger("reconcile")


class InEventLoop(ReconcileError, RuntimeError):
    """A call made from inside a running event loop, where its own loop cannot run.
    (A RuntimeError too, as asyncio's own refusal was, for code that caught that.)"""


@dataclass(frozen=True)
class PlanResult:
    """What `plan_file` found: the plan, and what the safety rails would block."""

    plan: Plan
    blocks: tuple[Block, ...]  # apply would stop here (exit 3) until forced or fixed
    checksum: str  # the rooms file's sha256: a saved plan is tied to it

    @property
    def exit_status(self) -> int:
        """As `plan --detailed-exitcode` exits: 3 when a rail would block apply, 2 for
        changes, 0 for none. (Plain `plan` exits 0 whenever a plan is made.)"""
        return plan_status(self.plan, self.blocks)


def plan_status(plan: Plan, blocks: Sequence[Block]) -> int:
    """A plan's exit status under `plan --detailed-exitcode` (see PlanResult)."""
    return BLOCKED if blocks else CHANGES if plan.has_changes else OK


@dataclass(frozen=True)
class ApplyResult:
    """What `apply_file` or `apply_saved` did."""

    plan: Plan  # the changes apply set out to make (a saved plan's: those still valid)
    checksum: str  # the rooms file's sha256
    outcomes: tuple[Outcome, ...] = ()  # skipped changes first, then each applied or failed
    blocks: tuple[Block, ...] = ()  # the rails that stopped it: nothing was sent
    declined: bool = False  # not confirmed: nothing was sent

    @property
    def exit_status(self) -> int:
        """As `apply` exits: 3 when a rail blocked it, 1 when it was not confirmed or a
        change failed or was skipped, 0 when the providers match the file."""
        if self.blocks:
            return BLOCKED
        if self.declined or any(o.status != "applied" for o in self.outcomes):
            return ERROR
        return OK


def plan_file(path: FilePath, *, accounts: Patterns = (), targets: Patterns = (),
              force: bool = False, sandbox: SandboxOption = None,
              environ: Mapping[str, str] | None = None,
              on_notice: Notices | None = None) -> PlanResult:
    """What `apply_file` would change, read from the providers (`reconcile plan`).

    `accounts` and `targets` narrow the plan to accounts and room keys matching these
    globs (a list, or one glob as a string). `force` plans for `apply --force` (the
    destroy threshold blocks nothing).
    Credentials are read from `environ` (default: os.environ); the sandbox needs none.
    `on_notice(text)` hears each provider's notice for today (default: logged)."""
    _refuse_running_loop("plan_file")
    wanted = _patterns(targets, "targets")

    async def work(run: Run, config: Config) -> PlanResult:
        plan = narrow(await run.plan(), wanted)
        # People in a room are for apply to judge when it runs: sessions come and go.
        blocks = _rails(run, plan, force=force, allow_disruption=True)
        return PlanResult(plan, blocks, config.checksum)

    return run_file(path, work, accounts=accounts, sandbox=sandbox, environ=environ,
                    on_notice=on_notice or _log_notice)


@dataclass(frozen=True)
class _Steps:
    """What apply does once it has a plan, the same for a file and a saved plan."""

    force: bool
    allow_disruption: bool
    auto_approve: bool
    reviewed: str | None  # the checksum the plan must have
    confirm: Confirm | None
    on_plan: OnPlan | None
    on_progress: Progress | None

    async def apply(self, run: Run, plan: Plan, skipped: list[Outcome], checksum: str,
                    plan_checksum: str | None = None) -> ApplyResult:
        if self.reviewed is not None:
            # A saved plan's plan_checksum is only what its document claims; planned again,
            # an untouched one is that very plan, so that is what is compared. With changes
            # skipped (changed since) nothing whole is left to compare but the claim.
            actual = plan_checksum if plan_checksum and skipped else plan.checksum()
            if actual != self.reviewed.strip().lower():
                raise ReconcileError(
                    f"the plan differs from the reviewed one: its checksum is {actual}, the"
                    f" reviewed plan's {printable(self.reviewed.strip())}: nothing applied;"
                    " review the new plan")
        if self.on_plan is not None:
            self.on_plan(plan, skipped)
        if not plan.has_changes and not skipped:
            return ApplyResult(plan, checksum)
        blocks = _rails(run, plan, force=self.force, allow_disruption=self.allow_disruption)
        if blocks:
            return ApplyResult(plan, checksum, blocks=blocks)
        if plan.has_changes and not self.auto_approve and (
                self.confirm is None or not self.confirm(plan)):
            return ApplyResult(plan, checksum, declined=True)
        listener = self.on_progress or _ignore
        for outcome in skipped:
            listener(outcome)
        outcomes = skipped + await run.apply(plan, listener)
        return ApplyResult(plan, checksum, outcomes=tuple(outcomes))


def apply_file(path: FilePath, *, accounts: Patterns = (), targets: Patterns = (),
               force: bool = False, allow_disruption: bool = False,
               auto_approve: bool = False, confirm: Confirm | None = None,
               checksum: str | None = None, on_plan: OnPlan | None = None,
               on_progress: Progress | None = None, lock_timeout: float | None = None,
               sandbox: SandboxOption = None, environ: Mapping[str, str] | None = None,
               on_notice: Notices | None = None) -> ApplyResult:
    """Plan, then make the changes (`reconcile apply`): concurrently, idempotently,
    carrying on past failures; the outcomes say what failed.

    Nothing is sent unless the plan is approved: `auto_approve=True`, or `confirm(plan)`
    returning True. With neither, apply declines (`declined`, exit status 1): the safe
    default. `confirm` is asked only when the plan has changes and no rail blocks it.
    `checksum`: apply only a plan with this checksum (a reviewed plan's), else raise.
    `on_plan(plan, skipped)` hears the plan before the rails are checked (to show it);
    `on_progress(outcome)` hears each outcome as it happens. `force` and
    `allow_disruption` are apply's options; `lock_timeout` is how many seconds to wait
    for another apply's state lock (None: wait). The rest is as for `plan_file`."""
    _refuse_running_loop("apply_file")
    wanted = _patterns(targets, "targets")
    _check_checksum(checksum)
    steps = _Steps(force, allow_disruption, auto_approve, checksum, confirm, on_plan,
                   on_progress)

    async def work(run: Run, config: Config) -> ApplyResult:
        return await steps.apply(run, narrow(await run.plan(), wanted), [], config.checksum)

    return run_file(path, work, accounts=accounts, sandbox=sandbox, environ=environ,
                    hold_locks=True, lock_timeout=lock_timeout,
                    on_notice=on_notice or _log_notice)


def apply_saved(saved: FilePath | SavedPlan, *, force: bool = False,
                allow_disruption: bool = False, auto_approve: bool = False,
                confirm: Confirm | None = None, checksum: str | None = None,
                on_plan: OnPlan | None = None, on_progress: Progress | None = None,
                lock_timeout: float | None = None, sandbox: SandboxOption = None,
                environ: Mapping[str, str] | None = None,
                on_notice: Notices | None = None) -> ApplyResult:
    """Apply a plan saved by `plan --out plan.json` (`reconcile apply plan.json`).

    The rooms file it was made from must be unchanged (by checksum), and where it was
    (its path is relative to the working directory the plan was made in). Only the rooms
    the plan changes are read again; one whose live state changed since is skipped, and
    reported as a skipped outcome. Approval and the options are as for `apply_file`."""
    _refuse_running_loop("apply_saved")
    _check_checksum(checksum)
    if not isinstance(saved, SavedPlan):
        _check_path(saved, "saved")
        from reconcile.outputs.document import read_saved

        saved = read_saved(os.fspath(saved))
    kept = saved  # narrowed, for the closure
    if not Path(kept.config).is_file():
        raise ReconcileError(f"{kept.path}: the plan was made from {printable(kept.config)},"
                             " which is not there; apply from the directory the plan was"
                             " made in")
    steps = _Steps(force, allow_disruption, auto_approve, checksum, confirm, on_plan,
                   on_progress)

    async def work(run: Run, config: Config) -> ApplyResult:
        if config.checksum != kept.checksum:
            raise ReconcileError(f"{kept.path}: the plan was made from another version of"
                                 f" {kept.config} (sha256 {kept.checksum}, now"
                                 f" {config.checksum}): nothing applied; plan again")
        changes, skipped = await run.replan(kept, config)
        return await steps.apply(run, changes, skipped, config.checksum, kept.plan_checksum)

    return run_file(kept.config, work, accounts=sorted({c.account for c in kept.changes}),
                    sandbox=sandbox, environ=environ, hold_locks=True,
                    lock_timeout=lock_timeout, on_notice=on_notice or _log_notice)


# -- the run: load, open the accounts (on the sandbox when asked), work ------------------

def run_file(path: FilePath, work: Callable[[Run, Config], Awaitable[T]], *,
             accounts: Patterns = (), sandbox: SandboxOption = None,
             environ: Mapping[str, str] | None = None, hold_locks: bool = False,
             lock_timeout: float | None = None, on_notice: Notices | None = None) -> T:
    """Load `path`, open the accounts matching `accounts` (all when empty) and run
    `work` on them in a new event loop: what every command that talks to providers does.
    `on_notice` hears the providers' notices for today (None: they are not wanted)."""
    _refuse_running_loop("run_file")
    sandboxed = sandbox is not None and sandbox is not False
    if isinstance(sandbox, str | os.PathLike) and not os.fspath(sandbox):
        # Path("") is the current directory: never what an empty option meant.
        raise ReconcileError("sandbox: an empty path; give the database file's path,"
                             " or True for the default one")
    _check_path(path, "path")
    _check_environ(environ)
    patterns = _patterns(accounts, "accounts")
    config = load(path, environ, credentials=not sandboxed)
    try:
        aliases = [account.alias for account in select(config, patterns)]
        if patterns and not aliases:
            raise ReconcileError(f"no account matches {', '.join(patterns)}")
        with ExitStack() as stack:
            context = RunContext(os.fspath(path), lock_timeout=lock_timeout)
            if on_notice is not None:
                for notice in _notices(config, aliases, context):
                    on_notice(notice)
            if sandboxed:
                config, context = _on_sandbox(config, context, sandbox, stack)
            return _run(config, aliases, context, hold_locks, work)
    except ReconcileError as exc:
        exc.checksum = config.checksum
        raise


def _on_sandbox(config: Config, context: RunContext, sandbox: SandboxOption,
                stack: ExitStack) -> tuple[Config, RunContext]:
    """The config pointed at a sandbox server started for this run (stopped with it)."""
    # The one door to the sandbox, and a lazy one: it loads starlette and uvicorn.
    from reconcile.sandbox import attach

    db = attach.DEFAULT_DB if isinstance(sandbox, bool) or sandbox is None else Path(sandbox)
    server = attach.start(db)
    stack.callback(server.stop)
    context = RunContext(context.config_path, lock_timeout=context.lock_timeout,
                         state_dir=attach.state_dir(db), sandbox=True)
    return attach.attach(config, server), context


def _run(config: Config, aliases: Sequence[str], context: RunContext, hold_locks: bool,
         work: Callable[[Run, Config], Awaitable[T]]) -> T:
    results: list[T] = []

    async def main() -> None:
        chosen = [config.accounts[alias] for alias in aliases]
        async with open_accounts(chosen, context, hold_locks=hold_locks) as run:
            results.append(await work(run, config))

    # The result is kept outside the task: on the way out asyncio.run reprs its SIGINT
    # handler, main task and result included (~0.3 s for 10,000 changes).
    asyncio.run(main())
    return results[0]


# -- the arguments' Python types, checked before anything is read (a wrong one failed deep
# inside, as an AttributeError or a bare "not iterable", or was even taken: bytes as ints)

def _patterns(value: Patterns, name: str) -> tuple[str, ...]:
    """One pattern given as a string is that pattern (tuple() would make one a letter)."""
    if isinstance(value, str):
        return (value,)
    patterns = tuple(value) if isinstance(value, Iterable) \
        and not isinstance(value, bytes | bytearray | Mapping) else None
    if patterns is None or not all(isinstance(item, str) for item in patterns):
        raise TypeError(f"{name} must be a glob (str) or an iterable of globs, not"
                        f" {_kind(value if patterns is None else patterns)}")
    return patterns


def _check_path(path: object, name: str) -> None:
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        raise TypeError(f"{name} must be a str or os.PathLike[str], not {_kind(path)}")


def _check_environ(environ: object) -> None:
    if environ is not None and not (isinstance(environ, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in environ.items())):
        raise TypeError("environ must be None or a mapping of str to str (such as"
                        f" os.environ), not {_kind(environ)}")


def _check_checksum(checksum: object) -> None:
    """A checksum no plan can have is refused before the providers are read and the
    state locks taken (it is not quoted: it may be anything pasted)."""
    if checksum is not None and not isinstance(checksum, str):
        raise TypeError(f"checksum must be None or a str, not {_kind(checksum)}")
    if checksum is not None and not re.fullmatch(r"[0-9a-f]{64}", checksum.strip().lower()):
        raise ReconcileError("checksum: not a plan checksum (64 hexadecimal digits, as"
                             " `plan` prints it): nothing read, nothing applied")


def _kind(value: object) -> str:
    """The type of a value, or of the odd item in a collection; never the value itself,
    which may be a credential."""
    if isinstance(value, tuple | Mapping):
        items = value.values() if isinstance(value, Mapping) else value
        odd = [type(item).__name__ for item in items if not isinstance(item, str)]
        return f"one with an item of type {odd[0]}" if odd else type(value).__name__
    return type(value).__name__


def _refuse_running_loop(name: str) -> None:
    """Raise InEventLoop when called from a running loop: before loading, starting a
    sandbox or opening an account, rather than asyncio.run's bare RuntimeError after."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # none running: the call can run its own
    raise InEventLoop(f"reconcile.api.{name} cannot be called from a running event loop: it"
                      " runs its own; call it in a thread there, as in"
                      f" `await asyncio.to_thread({name}, ...)`")


def _notices(config: Config, aliases: Sequence[str], context: RunContext) -> list[str]:
    """Each provider's notices for today, once per run however many accounts use it."""
    today = context.today()
    types = dict.fromkeys(config.accounts[alias].type for alias in aliases)
    return list(dict.fromkeys(notice for kind in types
                              for notice in adapter_class(kind).notices(today)))


def _rails(run: Run, plan: Plan, *, force: bool, allow_disruption: bool
           ) -> tuple[Block, ...]:
    settings = {alias: p.account.settings for alias, p in run.providers.items()}
    return tuple(check(plan, settings, force=force, allow_disruption=allow_disruption))


def _log_notice(notice: str) -> None:
    log.warning("note: %s", notice)


def _ignore(outcome: Outcome) -> None:
    return None
