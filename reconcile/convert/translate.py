"""One room from one provider's fields to another's, through the shared concepts.

Provider-agnostic: everything a provider does differently is in its `KindMapping`. The
result says, field by field, what moved and what did not (`Issue`s); nothing declared is
left out without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconcile.convert.concepts import CONCEPTS, Concept
from reconcile.convert.mapping import (
    Codec,
    Context,
    Inherent,
    Issue,
    KindMapping,
    Outcome,
    show,
)

# The reconciler's own room fields: the same meaning on every provider.
CARRIED_AS_IS = ("prevent_destroy",)
NOT_CARRIED = {"renamed_from": "it names a room of the source provider"}


@dataclass
class Translated:
    fields: dict[str, Any] = field(default_factory=dict)  # the target's, by YAML name
    issues: list[Issue] = field(default_factory=list)
    implied: list[Issue] = field(default_factory=list)  # about values nobody declared


def translate(room: Mapping[str, Any], source: KindMapping, target: KindMapping,
              ctx: Context) -> Translated:
    """The room's fields at the target, except the key (see `keys.py`)."""
    out = Translated()
    consumed = {source.key.field, *CARRIED_AS_IS, *NOT_CARRIED}
    for concept in CONCEPTS:
        codec = source.concepts.get(concept.name)
        if codec is None:
            continue
        read = codec.read(room, ctx)
        if read is not None:
            consumed.update(name for name in codec.fields if name in room)
            value, issues = read
            first = next((name for name in codec.fields if name in room), "")
            out.issues += [_at(issue, first) for issue in issues]
            if value is not None:
                _declared(concept, value, codec, target.concepts.get(concept.name), ctx,
                          out, first, _what(concept, value, room, first))
        elif codec.default is not None and codec.confirmed:
            _implied(concept, codec.default, codec, target.concepts.get(concept.name), ctx,
                     out)
    for name in CARRIED_AS_IS:
        if name in room:
            out.fields[name] = room[name]
    for name, why in NOT_CARRIED.items():
        if name in room:
            out.issues.append(Issue(Outcome.NOTE, f"`{name}` is not carried: {why}", name))
    for name in room:
        if name not in consumed:
            out.issues.append(Issue(Outcome.DROPPED, f"`{name}` has no equivalent on"
                                                     f" {ctx.target}", name))
    return out


def _at(issue: Issue, name: str) -> Issue:
    return issue if issue.field or not name else Issue(issue.outcome, issue.message, name)


def _what(concept: Concept, value: Any, room: Mapping[str, Any], name: str) -> str:
    """A declared value as messages quote it: its field as written (a URL never, as it
    may carry a token), else the concept."""
    if name and concept.name == "webhook":
        return f"`{name}`"
    if name:
        return f"`{name}: {show(room[name])}`"
    return f"{concept.title} {show(value, concept.unit)}"


def _declared(concept: Concept, value: Any, source: Codec, target: Codec | None,
              ctx: Context, out: Translated, name: str, what: str) -> None:
    """A value the room declares: written, or reported as lost."""
    if concept.name == "expiry" and isinstance(value, int) and value <= ctx.now:
        out.issues.append(Issue(Outcome.LOSSY, f"{concept.title} {show(value, concept.unit)} is"
                                               " already past:"
                                               " left out, or the room would be born"
                                               " expired", name))
        return
    ctx.values[concept.name] = value
    if target is None or isinstance(target, Inherent):
        kept = target.value if target is not None else concept.neutral
        if value == kept or (concept.neutral is not None and value == concept.neutral):
            return
        close = target is not None and value in target.close
        outcome = Outcome.NOTE if close else (
            target.mismatch if target is not None else Outcome.DROPPED)
        where = f"always {show(kept)} on {ctx.target}" if target is not None \
            else f"no equivalent on {ctx.target}" + (f": {concept.lost}" if concept.lost
                                                      else "")
        out.issues.append(Issue(outcome, f"{what}: {where}", name))
        return
    if source.flavour != target.flavour:
        out.issues.append(Issue(Outcome.LOSSY, f"{what} means something else on"
                                               f" {ctx.target}: {target.flavour or 'n/a'}",
                                name))
    written, issues = target.write(value, ctx)
    out.fields.update(written)
    out.issues += [_at(issue, name) for issue in issues]
    if concept.carried and written:
        out.issues.append(Issue(Outcome.NOTE, f"{concept.title}: {concept.carried}", name))


def _implied(concept: Concept, value: Any, source: Codec, target: Codec | None,
             ctx: Context, out: Translated) -> None:
    """The source's documented default, where nothing is declared (crosswalk rule 2):
    written when the target would otherwise behave differently."""
    ctx.values[concept.name] = value
    if target is None or isinstance(target, Inherent):
        kept = target.value if target is not None else concept.neutral
        if value == kept or (target is not None and value in target.close):
            return
        there = concept.lost or ("it has no equivalent" if kept is None
                                 else f"always {show(kept)}")
        out.implied.append(Issue(Outcome.NOTE, f"{concept.title}:"
                                               f" {show(value, concept.unit)} by default on"
                                               f" {ctx.source}; on {ctx.target} {there}"))
        return
    if source.flavour != target.flavour:
        return  # a different meaning is never implied
    if target.confirmed and target.default == value:
        return
    written, issues = target.write(value, ctx)
    out.fields.update(written)
    out.implied += issues
