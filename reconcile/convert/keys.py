"""Room keys across providers: whether the target takes a key, and which key to suggest
when it does not. The target's model decides, so this cannot drift from `validate`."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

from annotated_types import MaxLen
from pydantic import TypeAdapter, ValidationError

from reconcile import envref
from reconcile.convert.mapping import Issue, KeyRule, Outcome
from reconcile.messages import message_for
from reconcile.models import JsonPattern, Room

CHARACTER_CLASS = re.compile(r"\^\[([^\]]+)\]\+\$")  # a key pattern such as ^[A-Za-z0-9_-]+$


def key_rule(model: type[Room]) -> KeyRule:
    """The model's own rule for its key, read from the model so that it cannot drift from
    validation: its field, its pattern's character class and its maximum length."""
    allowed = max_length = None
    for item in model.model_fields[model.key_attribute()].metadata:
        if isinstance(item, JsonPattern) and (found := CHARACTER_CLASS.fullmatch(item.pattern)):
            allowed = found[1]
        elif isinstance(item, MaxLen):
            max_length = item.max_length
    return KeyRule(model.KEY_FIELD, allowed, max_length)


@functools.cache
def _key_type(model: type[Room]) -> TypeAdapter[Any]:
    info = model.model_fields[model.key_attribute()]
    annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata \
        else info.annotation
    return TypeAdapter(annotation)


def refusal(model: type[Room], key: str) -> str:
    """Why the target refuses `key` ("" when it takes it)."""
    try:
        _key_type(model).validate_python(key, strict=True, context={"resolved": False})
    except ValidationError as exc:
        return message_for(exc.errors()[0], model)
    return ""


def target_key(key: Any, rule: KeyRule, model: type[Room], taken: set[str], field: str = ""
               ) -> tuple[str | None, Issue | None]:
    """The key the converted room gets (None: refused), and what to report about it at
    the source's key `field`."""
    text = str(key)
    if text in taken:  # two kinds of the source may share a key (a reference too)
        return None, Issue(Outcome.REFUSED, f"key `{text}` is used twice at the target",
                           field)
    if envref.has_reference(text):
        return text, Issue(Outcome.NOTE, f"key {text} is a reference: check that its value"
                                         " suits the target", field)
    problem = refusal(model, text)
    if not problem:
        return text, None
    suggested = rule.suggest(text)
    if not suggested or refusal(model, suggested) or suggested in taken:
        why = "it is used by another converted room" if suggested in taken else \
            "no key the target takes can be made from it"
        return None, Issue(Outcome.REFUSED, f"key `{text}` is refused by the target"
                                            f" ({problem}), and {why}: rename the room",
                           field)
    return suggested, Issue(Outcome.LOSSY, f"key `{text}` is refused by the target"
                                           f" ({problem}): suggested key `{suggested}`"
                                           " (clients join under the new key)", field)
