"""The validated rooms file, as the engine and the commands read it.

`reconcile.config` builds these from the YAML; they sit below it so the engine and the
collision checks can name them without importing the validator (and without a cycle).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from reconcile.errors import Location
from reconcile.models import Account, Room


@dataclass(frozen=True)
class DeclaredRoom:
    account: str
    kind: str
    model: Room
    location: Location
    path: str

    @property
    def key(self) -> str:
        return self.model.key


@dataclass
class AccountConfig:
    alias: str
    type: str
    settings: Account
    location: Location
    rooms: dict[str, list[DeclaredRoom]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)

    def all_rooms(self) -> Iterator[DeclaredRoom]:
        for rooms in self.rooms.values():
            yield from rooms


@dataclass
class Config:
    path: str
    checksum: str  # sha256 of the file's bytes; saved plans are tied to it
    accounts: dict[str, AccountConfig]
