"""Building blocks shared by every provider's models.

Models are strict (YAML already types its values: `"10"` is not a number) and forbid
unknown keys. Cross-field rules live in `Room.rule_violations()`, so each one reports at
the field it concerns, with its own message.
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from reconcile import envref
from reconcile.escape import unsafe_characters

REFERENCE_PATTERN = r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"
# What editors (yaml-language-server reads `patternErrorMessage`) say instead of a regex.
REFERENCE_MESSAGE = "when not a plain value: a ${VARIABLE} reference to the environment"
SECRET_MESSAGE = ("a credential must be a ${VARIABLE} reference, such as ${TELNYX_API_KEY},"
                  " set in the environment: a literal secret is refused")
# The bound of an integer whose provider documents no maximum: a larger one would be
# sent as is (10**40 has been), and few APIs take more than a signed 32-bit integer.
INT32_MAX = 2**31 - 1
# ...but a Unix time in seconds may pass 2038: its bound is the last second a date can be
# written in (9999-12-31T23:59:59Z).
MAX_UNIX_SECONDS = 253_402_300_799
# Characters a room key may not hold, for the JSON Schema (validate: `Room.key_violations`).
UNPRINTABLE_PATTERN = ("[\\u0000-\\u001f\\u007f-\\u00a0\\u00ad\\u0600-\\u0605\\u061c\\u06dd"
                       "\\u070f\\u0890\\u0891\\u08e2\\u1680\\u180e\\u2000-\\u200f"
                       "\\u2028-\\u202f\\u205f-\\u206f\\u3000\\ufeff\\ufff9-\\ufffb]")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False,
                              validate_default=False, frozen=True)


# -- strings that may hold ${…} references ------------------------------------------


def _defer_when_templated(value: Any, handler: ValidatorFunctionWrapHandler,
                          info: ValidationInfo) -> Any:
    # Offline, a value built from ${…} cannot be checked yet: it is checked again once
    # the commands that talk to providers have resolved it.
    resolved = bool(info.context and info.context.get("resolved"))
    if not resolved and isinstance(value, str) and envref.has_reference(value):
        return value
    return handler(value)


class _TemplatedJsonSchema:
    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        inner = handler(schema)
        return {"anyOf": [inner, {"type": "string", "pattern": REFERENCE_PATTERN,
                                  "patternErrorMessage": REFERENCE_MESSAGE}]}


_T = TypeVar("_T")
# A constrained string that may instead be built from ${…} references:
# `Templated[Annotated[str, Field(max_length=200)]]`. The inner constraints are skipped
# while a value holds a reference (a generic alias, so type checkers read it as a `str`).
Templated = Annotated[_T, WrapValidator(_defer_when_templated), _TemplatedJsonSchema()]


class JsonPattern:
    """Puts the pattern in the JSON Schema while validation uses a readable message; editors
    show the message too (`patternErrorMessage`, read by yaml-language-server)."""

    def __init__(self, pattern: str, message: str) -> None:
        self.pattern = pattern
        self.message = message

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(pattern=self.pattern, patternErrorMessage=self.message)
        return json_schema


class WithJsonSchemaExtra:
    """Adds keywords to a type's JSON Schema (rules validation checks in code)."""

    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.extra)
        return json_schema


def _pattern_check(pattern: str, message: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        # fullmatch: `$` would also match before a final newline ("room\n"), which the
        # JSON Schema's pattern (and every provider) refuses.
        if not compiled.fullmatch(value):
            raise PydanticCustomError("pattern", message)
        return value

    return check


def matching(pattern: str, message: str, **field_constraints: Any) -> tuple[Any, ...]:
    """The constraints of a string matching `pattern`, with a message a person
    understands: `Templated[Annotated[str, *matching(pattern, message)]]`."""
    return (Field(**field_constraints), AfterValidator(_pattern_check(pattern, message)),
            JsonPattern(pattern, message))


URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*$"
Url = Templated[Annotated[str, *matching(
    URL_PATTERN, "must be an absolute URL with a scheme, such as https://…")]]
HttpUrl = Templated[Annotated[str, *matching(
    r"^https?://[^\s/?#]+[^\s]*$", "must be an http:// or https:// URL")]]

EnvReference = Annotated[
    str,
    # errorMessage: editors show it for a wrong type too (a number, a list).
    Field(pattern="^" + REFERENCE_PATTERN + "$", json_schema_extra={
        "patternErrorMessage": SECRET_MESSAGE, "errorMessage": SECRET_MESSAGE}),
    WrapValidator(lambda v, handler: _check_reference(v, handler)),
]


def _check_reference(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    if isinstance(value, str) and envref.WHOLE_REFERENCE.match(value):
        return value
    # The message is completed, with the field's name, where errors are formatted.
    raise PydanticCustomError("literal_secret", "credentials must be ${…} references")


# -- account settings shared by every provider -----------------------------------------


class Prune(StrictModel):
    match: str = Field(min_length=1, description="Glob of undeclared live room keys to delete.")


class Safety(StrictModel):
    max_destroy_percent: int = Field(30, ge=0, le=100, description=(
        "Block a plan whose deletes and replaces exceed this share of the managed rooms."))
    min_managed_rooms: int = Field(10, ge=0, le=INT32_MAX, description=(
        "The share applies once an account has at least this many managed rooms."))


class Account(StrictModel):
    """Settings every account has; providers add credentials, locators and room kinds."""

    # Settings that do not say which provider account this is (the rest do: two aliases
    # alike in all of them are one account). Room kinds are left out by name too.
    NOT_LOCATORS: ClassVar[frozenset[str]] = frozenset({"concurrency", "prune", "safety",
                                                        "defaults", "credentials"})
    # Locators whose unset value differs by alias (Kaleyra's state file).
    PER_ALIAS_DEFAULTS: ClassVar[frozenset[str]] = frozenset()

    type: str
    endpoint: Templated[Annotated[str, *matching(
        r"^https?://[^\s/?#]+[^\s?#]*$", "must be an http:// or https:// URL without a"
        " query, such as https://proxy.example.com/telnyx")]] | None = Field(None, description=(
        "Overrides the provider's base URL (scheme and host), e.g. the sandbox or a proxy."))
    concurrency: int = Field(8, ge=1, le=64, description="Writes run at most this many at once.")
    prune: Prune | None = None
    safety: Safety = Field(default_factory=Safety)


# -- rooms -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """A cross-field rule broken by a room.

    `at` is where to report it: a YAML field name, or a path into the room such as
    ("participants", 2, "user_id"). `related` names the other fields the rule involves,
    so a message can say when one of them comes from `defaults`. A `warning` is reported
    but leaves the room valid.
    """

    at: str | tuple[str | int, ...]
    message: str
    related: tuple[str, ...] = ()
    first_at: tuple[str | int, ...] | None = None  # for repeats: where the first one is
    warning: bool = False

    @property
    def path(self) -> tuple[str | int, ...]:
        return (self.at,) if isinstance(self.at, str) else self.at


class Room(StrictModel):
    KEY_FIELD: ClassVar[str]  # the YAML name of the identity field
    # The provider may not tell keys apart by case: two that differ only by case collide.
    KEY_IGNORES_CASE: ClassVar[bool] = False
    # Fields for the reconciler itself, never sent to the provider.
    MANAGEMENT_FIELDS: ClassVar[frozenset[str]] = frozenset({"prevent_destroy",
                                                              "renamed_from"})

    prevent_destroy: bool | None = Field(None, description=(
        "Refuse any plan that deletes or replaces this room."))
    renamed_from: Templated[Annotated[str, Field(min_length=1)]] | None = Field(None, description=(
        "The room's previous key: a live room of that name is renamed (in place where the"
        " provider can, else replaced) instead of left behind."))

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_attribute()))

    @classmethod
    def key_attribute(cls) -> str:
        return _key_attribute(cls)

    @classmethod
    def yaml_names(cls) -> list[str]:
        return [info.alias or name for name, info in cls.model_fields.items()]

    def declared(self) -> dict[str, Any]:
        """The provider fields this room sets, by their YAML names."""
        # Left out by the dump itself (by field name, which is their YAML name too): a
        # plan asks once a room, and filtering the dump after cost a third of the dump.
        # A set: pydantic-core reads a frozenset more slowly.
        return self.model_dump(by_alias=True, exclude_unset=True,
                               exclude=set(self.MANAGEMENT_FIELDS))

    def rule_violations(self) -> Iterator[Violation]:
        return iter(())

    def key_violations(self) -> Iterator[Violation]:
        """A key (or the key it was renamed from) holding a character `printable` would
        escape: controls (C0, C1, DEL), bidi overrides and isolates, line separators,
        zero-width and other invisible characters. Keys show on terminals, in logs and in
        pull requests; refused here, each shows there exactly as written."""
        for name, value in ((self.KEY_FIELD, self.key), ("renamed_from", self.renamed_from)):
            found = unsafe_characters(value) if isinstance(value, str) else []
            if found:
                what = "characters" if len(found) > 1 else "a character"
                yield Violation(name, f"holds {what} that would be invisible or act on a"
                                      f" terminal ({', '.join(found)}): a room key may hold"
                                      " only printable characters, since it shows on"
                                      " terminals, in logs and in pull requests")




HttpMethod = Literal["GET", "POST"]


@dataclass(frozen=True, slots=True)
class RoomKind:
    """One list of rooms in an account (`rooms`, or SignalWire's `conferences`)."""

    name: str
    model: type[Room]


@dataclass(frozen=True, slots=True)
class ProviderModels:
    """What the config layer needs to know about a provider's file format."""

    type: str
    account: builtins.type[Account]  # `type` here is the field above
    kinds: tuple[RoomKind, ...]
    # Fields whose values every output masks unless --show-sensitive (PII, stream keys):
    # declared with the models so outputs need no adapter (nor httpx) to know them.
    sensitive_fields: frozenset[str] = frozenset()

    def locators(self) -> list[str]:
        """The account settings that say where its rooms live (a SignalWire space, a
        Metered app, a Kaleyra region): the required ones besides the credentials."""
        return [name for name, info in self.account.model_fields.items()
                if info.is_required() and name not in ("type", "credentials")]


def defaults_model(name: str, *room_models: type[Room]) -> type[StrictModel]:
    """A model of `defaults:`: every field of the room kinds, all optional, no key field."""
    fields: dict[str, Any] = {}
    for model in room_models:
        key = model.key_attribute()
        for attribute, info in model.model_fields.items():
            if attribute == key or attribute in fields:
                continue
            annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata \
                else info.annotation
            fields[attribute] = (annotation | None, Field(
                None, alias=info.alias, description=info.description))
    return create_model(name, __base__=StrictModel, __doc__=(
        "Fields merged into every room of the account; a room's own value wins."), **fields)


def only_key_required(schema: dict[str, Any], key: str) -> None:
    """Rooms may take any other field from `defaults`, so the schema requires only the key.
    The key and `renamed_from` refuse, as `Room.key_violations` does, the characters an
    editor should flag: controls, bidi and invisible format characters, line separators
    (ECMA-262 patterns cannot say `str.isprintable()` exactly; validate has the last word)."""
    schema["required"] = [key]
    for name in (key, "renamed_from"):
        field = schema.get("properties", {}).get(name)
        if field is not None and "not" not in field:  # a key with a pattern of its own
            field["not"] = {"pattern": UNPRINTABLE_PATTERN}
            # What editors show when `not` matches (yaml-language-server), not the pattern.
            field["errorMessage"] = ("a room key may hold only printable characters: no"
                                     " control, invisible or bidi character")


@functools.cache
def _key_attribute(model: type[Room]) -> str:
    """The attribute holding the room's key (asked for once a room, so kept)."""
    for name, info in model.model_fields.items():
        if (info.alias or name) == model.KEY_FIELD:
            return name
    raise LookupError(model.KEY_FIELD)
