"""Errors the user sees: each carries where it happened, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.escape import printable


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file; line and column count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{printable(self.file)}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a rooms file: an error, or a warning that does not stop it."""

    location: Location
    message: str
    path: str = ""  # e.g. providers.telnyx.rooms[3].max_participants
    warning: bool = False

    def __str__(self) -> str:
        suffix = f" (at {self.path})" if self.path else ""
        label = "warning: " if self.warning else ""
        return f"{self.location}: {label}{self.message}{suffix}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.location.file, "line": self.location.line,
                "col": self.location.col, "message": self.message, "path": self.path}


class ReconcileError(Exception):
    """An error the CLI reports as one clear message and a non-zero exit, never a traceback."""

    # The rooms file's sha256 when the error came after it was loaded (reconcile.api sets
    # it): an error document still names the file it was about.
    checksum: str | None = None


class ConfigError(ReconcileError):
    """A rooms file that cannot be used; holds every problem found in it."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(map(str, diagnostics)))
