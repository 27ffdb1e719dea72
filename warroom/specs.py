"""What every YAML format shares: the strict model base, field types, and error translation.

pydantic checks the *shape* of a file (keys, types, formats); the compile steps check its
*meaning* (references, cycles, templates). Both report through `Diagnostic`, so a user sees
one kind of message: `file:line:column: path: what is wrong, what was expected`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    Strict,
    ValidationError,
)

from warroom.durations import format_duration, parse_duration
from warroom.errors import Diagnostic, InvalidInput, Severity
from warroom.yamlsource import PathKey, Source


class Spec(BaseModel):
    """A piece of a user's YAML: unknown keys are errors, and a loaded spec never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _pattern(regex: str, noun: str, example: str) -> Any:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {noun} (expected e.g. {example})")
        return value

    return AfterValidator(check)


Slug = Annotated[str, _pattern(r"[a-z0-9][a-z0-9-]*", "id", "data-breach: lowercase, digits, -")]
"""Ids of playbooks, levels, steps, audiences, statements, people, groups, rotas, tags."""

Name = Annotated[str, _pattern(r"[a-z_][a-z0-9_]*", "name", "crisis_lead: lowercase, digits, _")]
"""Role and fact names: they are template variables, so they must be identifiers."""

Lang = Annotated[str, _pattern(r"[a-z]{2,3}", "language code", "en, pl")]

SELECTOR_HELP = "tag:NAME, oncall:ROTA, person:ID or a person id"
Selector = Annotated[
    str,
    _pattern(
        r"(?:(?:tag|oncall|person|role):)?[a-z0-9_][a-z0-9_-]*",
        "person selector",
        SELECTOR_HELP,
    ),
]
"""Who, in the roster's terms: `tag:media-trained`, `oncall:press-rota`, `anna-kowalska`."""


def _phone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"phone number {value!r} must be quoted text in international format, "
            'e.g. "+48 600 100 200"'
        )
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"{value!r} is not a phone number in international format "
            "(expected + and country code, e.g. +48 600 100 200)"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number")
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if len(_PARSED) > 100_000:
        _PARSED.clear()
    _PARSED[e164] = number
    return e164


_PARSED: dict[str, Any] = {}
"""Numbers `_phone` has just parsed, by E.164: `can_text` asks about the same number next,
and parsing is most of what validating a 10,000-row contact list costs."""


_NOT_TEXTABLE = {
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
}


def can_text(e164: str) -> bool:
    """Whether a number can receive SMS: a Warsaw landline (+48 22 ...) cannot."""
    number = _PARSED.get(e164) or phonenumbers.parse(e164, None)
    return phonenumbers.number_type(number) not in _NOT_TEXTABLE


Phone = Annotated[str, BeforeValidator(_phone)]
"""Stored as E.164 (`+48600100200`): what Twilio wants and what inbound replies carry."""


def _email(value: str) -> str:
    import email_validator  # only files with an e-mail address pay for it

    try:
        return email_validator.validate_email(value, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid e-mail address: {exc}") from None


Email = Annotated[str, AfterValidator(_email)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone (expected an IANA name, e.g. Europe/Warsaw)"
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone)]


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a time (expected ISO 8601 with offset, "
                "e.g. 2026-11-23T09:00:00+01:00)"
            ) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        shown = str(value) if isinstance(value, date) else repr(value)
        raise ValueError(
            f"{shown} needs a UTC offset (expected e.g. 2026-11-23T09:00:00+01:00)"
            if isinstance(value, datetime)
            else f"{shown} is not a time (expected e.g. 2026-11-23T09:00:00+01:00)"
        )
    return value


Instant = Annotated[datetime, BeforeValidator(_instant)]
"""A moment with its UTC offset: a naive time is ambiguous across a team in several zones."""


def _day_or_instant(value: Any) -> date | datetime:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return _instant(value)


DayOrInstant = Annotated[date | datetime, BeforeValidator(_day_or_instant)]
"""`2026-12-20` (a whole day in the person's zone) or an exact moment with offset."""

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""`10m`, `1h30m`, as people write them (`warroom.durations`); written back the same way."""


def _scalar_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Flag = Annotated[bool, Strict()]
"""true or false, nothing else: `yes` in a playbook is more likely a typo than a yes."""

Text = Annotated[str, BeforeValidator(_scalar_text)]
"""Free text where a bare number is meant as text too (a fact `affected: 5000`)."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneOrMany = BeforeValidator(_one_or_many)
"""`page: crisis-team` reads as well as `page: [crisis-team]`."""


# -- pydantic errors -> diagnostics ---------------------------------------------------------

DISCRIMINATOR_TAGS: set[str] = set()
"""Tags of callable-discriminated unions; pydantic puts them in error locations, we drop them."""

_KIND = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping (key: value)",
    type(None): "nothing (empty)",
    date: "a date",
    datetime: "a time",
}


def _kind(value: Any) -> str:
    return next((name for t, name in _KIND.items() if type(value) is t), type(value).__name__)


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return _kind(value)
    return f"{_kind(value)} {value!r}"


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "datetime_type": "a time such as 2026-11-23T09:00:00+01:00",
    "date_type": "a date such as 2026-12-20",
}


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (through Annotated, Optional, list, dict)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    return [annotation]


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Which spec class the location `loc` points into, for 'expected one of' hints."""
    current: list[Any] = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
        nxt: list[Any] = []
        for model in models:
            for name, info in model.model_fields.items():
                if part in (name, info.alias):
                    nxt.extend(_unwrap(info.annotation))
        if not nxt and models:
            # a dict key (role name, audience id...): stay on the dict's value type
            continue
        current = nxt or current
    models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
    return models[0] if models else None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _diagnostic(root: type[BaseModel], source: Source, error: Any) -> Diagnostic:
    kind: str = error["type"]
    loc = tuple(p for p in error["loc"] if p not in DISCRIMINATOR_TAGS)
    is_key = bool(loc) and loc[-1] == "[key]"
    if is_key:
        loc = loc[:-1]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(root, loc[:-1])
        message = f"unknown key {key!r}"
        if model is not None:
            allowed = _keys_of(model)
            close = difflib.get_close_matches(key, allowed, n=1)
            message += f"; did you mean {close[0]!r}?" if close else ""
            message += f" (expected one of: {', '.join(allowed)})"
        return source.diagnostic(loc, message, at_key=True)
    if kind == "missing":
        return source.diagnostic(loc[:-1], f"missing required key {loc[-1]!r}")
    if kind in ("value_error", "assertion_error"):
        message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        return source.diagnostic(loc, message, at_key=is_key)
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        return source.diagnostic(loc, f"{value!r} is not allowed (expected {expected})")
    if kind in _EXPECTED:
        return source.diagnostic(loc, f"expected {_EXPECTED[kind]}, got {_shown(value)}")
    if kind in ("too_short", "too_long"):
        return source.diagnostic(loc, error["msg"].replace("List", "list"))
    return source.diagnostic(loc, f"{error['msg']} (got {_shown(value)})")


M = TypeVar("M", bound=BaseModel)


def validate_source(model: type[M], source: Source) -> M:
    """Validate a parsed file against a spec; every shape error of the file comes at once."""
    if not isinstance(source.data, dict):
        raise InvalidInput(
            [source.diagnostic((), f"expected a mapping at the top, got {_kind(source.data)}")]
        )
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        diagnostics = {_diagnostic(model, source, e) for e in exc.errors(include_url=False)}
        raise InvalidInput(sorted(diagnostics)) from None


def tagged(tag: str) -> str:
    """Register a discriminator tag so it never shows up in a user's error path."""
    DISCRIMINATOR_TAGS.add(tag)
    return tag


def mapping_or(other: str) -> Any:
    """Discriminator for 'a mapping, or else the other form' unions (one branch's errors only)."""

    def pick(value: Any) -> str:
        return "mapping" if isinstance(value, dict) else other

    tagged("mapping")
    tagged(other)
    return pick


def one_of(known: Iterable[str]) -> str:
    names = sorted(set(known))
    return ", ".join(names) if names else "none are declared"


class Findings:
    """Diagnostics collected against one source file."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Diagnostic] = []

    def error(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.items.append(self.source.diagnostic(path, message, at_key=at_key))

    def warn(self, path: PathKey, message: str) -> None:
        self.items.append(self.source.diagnostic(path, message, severity=Severity.WARNING))

    def ref(self, kind: str, value: str | None, known: Collection[str], path: PathKey) -> bool:
        """Check that `value` names one of `known`; suggest the closest name when it does not."""
        if value is None or value in known:
            return True
        close = difflib.get_close_matches(value, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        self.error(path, f"unknown {kind} {value!r}{hint} (expected one of: {one_of(known)})")
        return False

    def raise_if_errors(self) -> None:
        if any(d.severity is Severity.ERROR for d in self.items):
            raise InvalidInput(self.items)
