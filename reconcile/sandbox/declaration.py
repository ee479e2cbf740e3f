"""What each provider's folder declares for the sandbox, in its `sandbox.py`: the
credentials the sandbox accepts out of the box and how its answers are shaped (for the
hostile modes). Plain data, so that loading every provider's declaration stays cheap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Paging = Literal["link", "numbered", "cursor", "none"]


@dataclass(frozen=True)
class BodyShape:
    """How one provider shapes its answers."""

    id_field: str
    key_field: str | None
    paging: Paging
    next_link: tuple[str, ...] = ()  # where a link-paged body names the next page
    wrong_field: str | None = None  # what `wrong_type` breaks: default, the key
    needed_field: str | None = None  # what `missing_field` drops: default, the id
    page_param: str = ""  # the query parameter a numbered list's page is asked by
    page_count: tuple[str, ...] = ()  # where a numbered body says how many pages there are
    # cursor paging: the query parameter naming the last item seen (the next page starts
    # after it), the one asking for a page size, and the size when it is not asked for
    cursor_param: str = ""
    limit_param: str = ""
    page_size: int = 0

    @property
    def broken_field(self) -> str:
        return self.wrong_field or self.key_field or self.id_field


@dataclass(frozen=True)
class SandboxDeclaration:
    """One provider's sandbox facts (`SANDBOX` in `reconcile/providers/<p>/sandbox.py`)."""

    # (principal, secret) accepted by default and printed by `sandbox serve`; a principal
    # of "*" accepts any (a SignalWire project, a Metered app)
    credentials: tuple[str, str]
    # the same, by the rooms file's credential names: what a file's variables are set to
    # to use them (a principal of "*" becomes a name of the declaration's choosing)
    secrets: dict[str, str]
    hostile: BodyShape
