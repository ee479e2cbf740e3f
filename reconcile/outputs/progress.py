"""How `apply` reports each change's outcome on stderr, as it happens.

On a terminal: one live progress bar, `Applying  [######------]  6/14  1 failed`.
Outcomes worth reading (a failure, a skip, an adoption) are printed above the bar the
moment they happen, so nothing hides behind it; plain successes only move the bar.
Anywhere else (a pipe, a CI log): one line per change, exactly as before.

Colour (and click's hide-cursor codes) only on a terminal, and never under NO_COLOR.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TextIO, cast

import click

from reconcile.engine.apply import Outcome
from reconcile.outputs.text import render_outcome

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

LABEL = "Applying"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream is no terminal
        return False


class _Unstyled(io.TextIOBase):
    """The terminal minus escape codes: click's bar writes its hide/show-cursor codes
    straight to the file, past the stripping that `color=False` does in click.echo."""

    def __init__(self, terminal: TextIO) -> None:
        super().__init__()
        self._terminal = terminal

    def write(self, text: str) -> int:
        return self._terminal.write(click.unstyle(text))

    def flush(self) -> None:
        self._terminal.flush()

    def isatty(self) -> bool:
        return True  # only ever wraps a terminal; click checks, to draw the bar live


class ApplyProgress:
    """The outcome listener of `apply`; use it as a context manager around `run.apply`,
    so the bar is closed (and the cursor shown again) even when the apply is cut short."""

    def __init__(self, total: int, *, stream: TextIO | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.total = total
        # Resolved now, not at import: CliRunner swaps sys.stderr per invocation.
        self.stream: TextIO = stream if stream is not None else sys.stderr
        env = os.environ if environ is None else environ
        self.live = _isatty(self.stream)
        # https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
        self.colour = self.live and not env.get("NO_COLOR")
        self.done = 0
        self.failed = 0
        self._bar: ProgressBar[int] | None = None

    def __enter__(self) -> ApplyProgress:
        if self.live:
            # No ETA: applies are short and bursty, so it would mostly be noise.
            bar_file = self.stream if self.colour else cast(TextIO, _Unstyled(self.stream))
            self._bar = click.progressbar(
                length=self.total, label=LABEL, file=bar_file, show_pos=True,
                show_percent=False, show_eta=False, item_show_func=self._info,
                color=self.colour)
            self._bar.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.status == "failed":
            self.failed += 1
        line = render_outcome(outcome)
        if self._bar is None:
            click.echo(line, file=self.stream)
            return
        if outcome.status != "applied" or outcome.message:
            self._above(line, "red" if outcome.status == "failed" else "yellow")
        self._bar.update(1)  # pos changes, so click always redraws the bar after _above

    def _info(self, _item: int | None) -> str:
        text = f"{self.failed} failed"
        return click.style(text, fg="red") if self.failed and self.colour else text

    def _above(self, line: str, colour: str) -> None:
        assert self._bar is not None
        # Blank the bar's line with spaces, not an erase escape, so NO_COLOR output stays
        # free of escape codes; the next update() redraws the bar below the new line.
        self.stream.write("\r" + " " * (self._bar.max_width or 0) + "\r")
        text = click.style(line, fg=colour) if self.colour else line
        click.echo(text, file=self.stream, color=self.colour)
