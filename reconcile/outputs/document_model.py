"""The plan document read back (a saved plan to apply, or to show again): its shape as
strict pydantic models (reconcile.shapes), one for each object the writer makes.

Unknown keys are ignored, not refused: a minor format version only adds fields, and the
document's readers must ignore those they do not know (outputs/document.py). Every field
the writer has always written is required; those that a 1.0 document lacks, or that only
some documents have, default. Values are checked strictly, as written: a count is a JSON
whole number, a flag a boolean.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from reconcile.engine.plan import Action
from reconcile.shapes import STRICT_OPEN

Fields = dict[str, Any] | None  # a room's values: before or after a change (None: none)


class _Part(BaseModel):
    model_config = STRICT_OPEN


class AccountDoc(_Part):
    name: str
    provider: str
    managed: int
    unmanaged: int


class ChangeDoc(_Part):
    account: str
    provider: str
    kind: str
    key: str
    action: Action
    reason: str
    actions: list[str] = Field(default_factory=list)
    before: Fields = None
    after: Fields = None
    replace_paths: list[str] = Field(default_factory=list)
    sensitive_paths: list[str] = Field(default_factory=list)
    live_session: bool = False
    new_join_urls: bool = False
    live_fingerprint: str | None = None


class SavedChangeDoc(ChangeDoc):
    """A change to apply: the live room it was planned against must be known."""

    live_fingerprint: str | None  # required (null: a create saw no live room)


class UncertainDoc(_Part):
    account: str
    provider: str
    kind: str
    key: str
    requested_at: str
    check: str


class BlockDoc(_Part):
    account: str
    message: str


class ErrorDoc(_Part):
    message: str


class Head(_Part):
    """What is read first: a newer major version, or a failed plan, is told apart from a
    broken document."""

    format_version: str
    errors: list[ErrorDoc] = Field(default_factory=list)


class PlanDoc(Head):
    """A plan document as `plan --format json` writes it (a failed plan's too)."""

    accounts: list[AccountDoc]
    changes: list[ChangeDoc]
    config: str
    checksum: str | None  # the rooms file's sha256 (null: it could not be read)
    plan_checksum: str
    summary: dict[str, int] = Field(default_factory=dict)
    uncertain_creates: list[UncertainDoc] = Field(default_factory=list)  # 1.1
    blocked: list[BlockDoc] = Field(default_factory=list)


class SavedDoc(PlanDoc):
    """A plan to apply: it planned (it has a checksum, and no errors: Head), and its changes
    say what they saw."""

    changes: list[SavedChangeDoc]  # type: ignore[assignment]
    checksum: str
