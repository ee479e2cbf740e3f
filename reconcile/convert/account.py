"""An account's rooms, converted into a new account of another provider.

Each room is converted with the account's defaults merged in (as `validate` sees it);
the target's `defaults:` is what the source's defaults (and the source provider's own
documented defaults) become, and each room keeps only what differs from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconcile.convert.keys import refusal, target_key
from reconcile.convert.mapping import LOSING, Context, Issue, KindMapping, Outcome
from reconcile.convert.translate import Translated, translate
from reconcile.errors import Location
from reconcile.located import Document, LMap, Mark, merge_defaults
from reconcile.models import Room
from reconcile.providers import crosswalk, provider_models
from reconcile.starter import credential_variables

# Account settings that mean the same on every provider.
PORTABLE_SETTINGS = ("concurrency", "safety")
# ...and those convert writes for the target itself (prune: where it means the same).
KEPT_SETTINGS = ("type", "credentials", "defaults", "prune", *PORTABLE_SETTINGS)
GLOB = re.compile(r"[*?\[\]!]")


@dataclass(frozen=True)
class Finding:
    outcome: Outcome
    message: str
    location: Location
    path: str  # e.g. providers.twilio.rooms[2].media_region

    def __str__(self) -> str:
        return f"{self.location}: {self.outcome}: {self.message} (at {self.path})"


@dataclass(frozen=True)
class Target:
    type: str
    kind: str
    alias: str
    settings: Mapping[str, Any]  # locators and the like, from --set


@dataclass
class Conversion:
    settings: dict[str, Any]  # the new account's, `defaults` included, rooms excluded
    rooms: list[dict[str, Any]] = field(default_factory=list)
    comments: list[list[str]] = field(default_factory=list)  # per room: what it lost
    notes: list[str] = field(default_factory=list)  # for the account
    findings: list[Finding] = field(default_factory=list)

    def note(self, comment: str) -> None:
        if comment not in self.notes:
            self.notes.append(comment)

    @property
    def losing(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome in LOSING]

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.REFUSED]


class _Reporter:
    """Findings located in the file, each reported once (a default is in every room)."""

    def __init__(self, document: Document, conversion: Conversion) -> None:
        self.document = document
        self.conversion = conversion
        self.seen: set[tuple[Location, str]] = set()

    def add(self, issue: Issue, data: LMap, path: str) -> str:
        mark: Mark = data.key_marks.get(issue.field, data.mark)
        location = self.document.location(mark)
        where = f"{path}.{issue.field}" if issue.field else path
        if (location, issue.message) not in self.seen:
            self.seen.add((location, issue.message))
            self.conversion.findings.append(Finding(issue.outcome, issue.message, location,
                                                    where))
        return f"{issue.outcome}: {issue.message} ({location})"

    def about_account(self, issue: Issue, alias: str) -> str:
        """An issue of the account as a whole, located at its name."""
        providers: LMap = self.document.data["providers"]
        return self.add(replace(issue, field=alias), providers, "providers")


def convert_account(document: Document, alias: str, target: Target, now: int
                    ) -> Conversion:
    """The source account `alias` of a valid rooms file, as a new account of `target`."""
    account: LMap = document.data["providers"][alias]
    source_type = str(account.get("type", alias))
    mapping = crosswalk(target.type)[target.kind]
    references, holder = _free_references(document, alias, target)
    conversion = Conversion(_settings(account, target, references))
    report = _Reporter(document, conversion)
    path = f"providers.{alias}"
    if holder is not None:
        conversion.note(report.about_account(Issue(Outcome.NOTE, (
            f"account `{holder}` already reads {_listed(credential_references(target.type))};"
            f" the new account reads {_listed(references)}, since one provider account may"
            f" be declared only once: if both are one {target.type} account, move these"
            f" rooms into `{holder}`")), alias))
    if mapping.refused:
        report.about_account(Issue(Outcome.REFUSED,
                                   f"{target.type} {target.kind}: {mapping.refused}"), alias)
        return conversion
    for name in account:
        if name not in (*KEPT_SETTINGS, *crosswalk(source_type)):
            conversion.note(report.add(Issue(Outcome.NOTE, f"`{name}` is not carried: it is"
                                                           f" a setting of the {source_type}"
                                                           " account", name), account, path))
    label = f"{target.type} {target.kind}" if len(crosswalk(target.type)) > 1 else target.type
    shared: dict[str, Any] | None = None
    rooms: list[_Room] = []
    for kind in provider_models(source_type).kinds:
        source = crosswalk(source_type)[kind.name]
        ctx = Context(source_type if kind.name == "rooms" else f"{source_type} {kind.name}",
                      label, now)
        fields = _defaults(account, kind.model, source, mapping, ctx, conversion, report, path)
        shared = fields if shared is None else _common(shared, fields)
        rooms += _rooms(account, kind.name, kind.model, source, mapping, ctx, path)
    model = next(k.model for k in provider_models(target.type).kinds if k.name == target.kind)
    _carry_prune(account, model, conversion, report, path)
    _finish(conversion, report, rooms, shared or {}, mapping, model)
    return conversion


def _defaults(account: LMap, model: type[Room], source: KindMapping, mapping: KindMapping,
              ctx: Context, conversion: Conversion, report: _Reporter, path: str
              ) -> dict[str, Any]:
    """The target's defaults for one source kind: what its declared defaults and the
    source provider's own documented defaults become."""
    declared = account.get("defaults") if isinstance(account.get("defaults"), LMap) else None
    mine, _ = merge_defaults((declared, ""), LMap(account.mark), set(model.yaml_names()))
    result = translate(mine, source, mapping, ctx)
    for issue in result.implied:
        conversion.note(report.about_account(issue, path.split(".", 1)[1]))
    for issue in result.issues:
        conversion.note(report.add(issue, mine, f"{path}.defaults"))
    return result.fields


def _rooms(account: LMap, kind: str, model: type[Room], source: KindMapping,
           mapping: KindMapping, ctx: Context, path: str) -> list[_Room]:
    """Each room of one kind, translated with the account's defaults merged in."""
    declared = account.get("defaults") if isinstance(account.get("defaults"), LMap) else None
    rooms: list[_Room] = []
    for index, room in enumerate(account.get(kind) or []):
        merged, inherited = merge_defaults((declared, ""), room, set(model.yaml_names()))
        result = translate(merged, source, mapping, Context(ctx.source, ctx.target, ctx.now))
        rooms.append(_Room(merged, f"{path}.{kind}[{index}]", source.key.field,
                           set(inherited), result))
    return rooms


@dataclass(frozen=True)
class _Room:
    merged: LMap  # the source room with its account's defaults
    path: str
    key_field: str  # the source's
    inherited: set[str]  # fields that come from the account's defaults
    result: Translated

    @property
    def key(self) -> Any:
        return self.merged.get(self.key_field)


def _finish(conversion: Conversion, report: _Reporter, rooms: list[_Room],
            defaults: dict[str, Any], mapping: KindMapping, model: type[Room]) -> None:
    """Keys checked, the target's defaults factored out, each room's comments written."""
    for room in rooms:  # a default every room does not have would add to some
        defaults = {k: v for k, v in defaults.items() if k in room.result.fields}
    if defaults:
        conversion.settings["defaults"] = defaults
    taken: set[str] = set()
    for room in rooms:
        key, problem = target_key(room.key, mapping.key, model, taken, room.key_field)
        comments: list[str] = []
        for issue in ([problem] if problem else []) + room.result.issues:
            comment = report.add(issue, room.merged, room.path)
            # Said once, above `defaults:`, when the field comes from the defaults.
            (conversion.note if issue.field in room.inherited else comments.append)(comment)
        if key is None:
            continue
        taken.add(key)
        fields = {k: v for k, v in room.result.fields.items()
                  if defaults.get(k, _UNSET) != v}
        conversion.rooms.append({mapping.key.field: key, **fields})
        conversion.comments.append(comments)


def _free_references(document: Document, alias: str, target: Target
                     ) -> tuple[dict[str, str], str | None]:
    """The new account's credential references: the target's own names (TELNYX_API_KEY)
    unless another account (the source included) reads them, then names of the new
    account's own; and the account that reads the usual ones, if any. Two accounts reading
    the same references would be refused as one provider account declared twice."""
    used: dict[str, str] = {}  # reference -> the account reading it
    for name, other in document.data["providers"].items():
        credentials = other.get("credentials") if isinstance(other, LMap) else None
        if isinstance(credentials, LMap):
            used.update({str(value): name for value in credentials.values()})
    usual = credential_references(target.type)
    holder = next((used[ref] for ref in usual.values() if ref in used), None)
    if holder is None:
        return usual, None
    base = target.alias if target.alias != target.type else f"{target.type}_{alias}"
    for suffix in ("", *(f"_{n}" for n in range(2, 100))):
        references = credential_references(target.type, base + suffix)
        if not any(ref in used for ref in references.values()):
            return references, holder
    raise ValueError("no free credential references")  # pragma: no cover - 98 taken


def _listed(references: Mapping[str, str]) -> str:
    return ", ".join(references.values())


def _carry_prune(account: LMap, model: type[Room], conversion: Conversion,
                 report: _Reporter, path: str) -> None:
    """The prune pattern, when the target's keys may hold each character it names."""
    prune = account.get("prune")
    if not isinstance(prune, LMap) or not isinstance(prune.get("match"), str):
        return
    if not any(refusal(model, char) for char in set(GLOB.sub("", prune["match"]))):
        conversion.settings["prune"] = {"match": prune["match"]}
        return
    report.add(Issue(Outcome.DROPPED, f"prune pattern `{prune['match']}` matches keys the"
                                      " target cannot have: not carried", "match"),
               prune, f"{path}.prune")


_UNSET = object()


def _common(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if b.get(k, _UNSET) == v}


def _settings(account: LMap, target: Target, references: dict[str, str]) -> dict[str, Any]:
    """The new account's settings: type, locators, credentials, portable settings."""
    settings: dict[str, Any] = {} if target.alias == target.type else {"type": target.type}
    settings.update(target.settings)
    settings["credentials"] = references
    for name in PORTABLE_SETTINGS:
        if name in account:
            settings[name] = account[name]
    return settings


def credential_references(provider_type: str, prefix: str | None = None) -> dict[str, str]:
    """`${PREFIX_FIELD}` for each credential of the provider, named as `init` and the
    messages name them; the prefix is the provider type unless given (TELNYX_API_KEY;
    telnyx-video: TELNYX_VIDEO_API_KEY)."""
    return {name: f"${{{variable}}}" for name, variable
            in credential_variables(provider_type, prefix or provider_type).items()}
