"""Trigger templates (`facts`, `dedupe`) rendered over an alert's payload.

Two promises, both about the payload being someone else's data:

- **Values are data, never templates.** Templates come from the playbook; the payload only
  fills them. A label holding `{{ 7*7 }}` is output as those nine characters: Jinja never
  renders its output again, and nothing here calls it on payload text.
- **A missing field never stops an alert.** Alertmanager rules differ by team, and an alert
  without `annotations.summary` must still start the playbook. A field the payload lacks
  renders as `(not in alert: annotations.summary)`, and its dotted path is reported, so
  the caller can flag the fact for a person to fill in.

Rendering is sandboxed (`ImmutableSandboxedEnvironment`: a playbook is data, and so is the
payload it reads) and its output bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from warroom.playbook.templates import BoundedSandbox, TemplateProblem

MAX_RENDERED = 2000
"""Longest output kept from one template: enough for any fact, and a payload with a 2 MB
annotation cannot turn into a 2 MB fact, timeline line or dedupe key."""

_READ_ONLY_METHODS = frozenset({"items", "keys", "values", "get"})

_missing_paths: ContextVar[list[str] | None] = ContextVar("_missing_paths", default=None)


def placeholder(path: str) -> str:
    """What a field the payload lacks renders as."""
    return f"(not in alert: {path})"


class Missing(Undefined):
    """A field the payload lacks; remembers its dotted path and reports it when output."""

    __slots__ = ()

    @property
    def path(self) -> str:
        return str(self._undefined_name)

    def __str__(self) -> str:
        found = _missing_paths.get()
        if found is not None and self.path not in found:
            found.append(self.path)
        return placeholder(self.path)

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _Object(dict[str, Any]):
    """A JSON object of the payload that knows where it is, so a missing key has a path."""

    path = ""

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False, default=str)


class _List(list[Any]):
    path = ""

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False, default=str)


class _Text(str):
    """Text of the payload; knows its path only so that `{{ labels.team.lead }}` can say
    which path is missing."""

    path = ""


def _wrap(value: Any, path: str) -> Any:
    if value is None:
        return Missing(name=path)
    if isinstance(value, Mapping):
        node: _Object | _List | _Text = _Object(value)
    elif isinstance(value, list):
        node = _List(value)
    elif isinstance(value, str):
        node = _Text(value)
    else:
        return value
    node.path = path
    return node


class _PayloadEnvironment(BoundedSandbox, ImmutableSandboxedEnvironment):
    """Attribute and item access that follow the payload's dotted paths, within the same
    bounds as statement templates (a trigger template runs on every alert)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._child(obj, attribute, lambda: super(_PayloadEnvironment, self).getattr)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._child(obj, argument, lambda: super(_PayloadEnvironment, self).getitem)

    def _child(self, obj: Any, key: Any, fallback: Any) -> Any:
        if isinstance(obj, Missing):
            return Missing(name=f"{obj.path}.{key}")
        if isinstance(obj, _Object):
            if key in obj:
                return _wrap(obj[key], f"{obj.path}.{key}")
            if key in _READ_ONLY_METHODS:
                return fallback()(obj, key)
            return Missing(name=f"{obj.path}.{key}")
        if isinstance(obj, _List) and isinstance(key, int) and not isinstance(key, bool):
            if -len(obj) <= key < len(obj):
                return _wrap(obj[key], f"{obj.path}.{key}")
            return Missing(name=f"{obj.path}.{key}")
        found = fallback()(obj, key)
        if isinstance(obj, _Text) and isinstance(found, Undefined):
            return Missing(name=f"{obj.path}.{key}")
        return found


def _finalize(value: Any) -> Any:
    """Booleans as JSON spells them, so `{{ resolved }}` reads as the sender wrote it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _in_utc(style: str) -> Callable[[Any], str]:
    """warroom's time filters (`time`, `date`, `datetime`, as in statements) for payload text:
    RFC 3339 as senders write it, Alertmanager's nanoseconds included, shown in UTC, since an
    alert's time belongs to no playbook's time zone."""

    def apply(value: Any) -> str:
        if isinstance(value, Undefined):
            return str(value)  # missing stays missing, with its path
        text = _FRACTION.sub(r"\1", str(value).strip())
        moment = datetime.fromisoformat(text)  # a ValueError: the fact is flagged
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime(style)

    return apply


_ENV = _PayloadEnvironment(undefined=Missing, autoescape=False, finalize=_finalize)
_ENV.filters.update(
    time=_in_utc("%H:%M"), date=_in_utc("%Y-%m-%d"), datetime=_in_utc("%Y-%m-%d %H:%M UTC")
)


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    try:
        return _ENV.from_string(source)
    except TemplateError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from None


@dataclass(frozen=True)
class Rendered:
    text: str
    """The output, trimmed, at most `MAX_RENDERED` characters."""
    missing: tuple[str, ...]
    """Dotted paths the template output but the payload lacks, in order of first use."""


def render(source: str, variables: Mapping[str, Any], limit: int = MAX_RENDERED) -> Rendered:
    """Render one trigger template over an alert's variables.

    Raises `TemplateProblem` only for what the playbook's author wrote wrong (syntax, or an
    operation that cannot apply, such as adding a number to text); a missing field is not
    an error.
    """
    template = _compiled(source)
    context = {name: _wrap(value, name) for name, value in variables.items()}
    found: list[str] = []
    token = _missing_paths.set(found)
    try:
        pieces: list[str] = []
        size = 0
        # a mapping, not keywords: a body key named `self` is data too
        for piece in template.generate(context):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                break
        text = "".join(pieces)[:limit].strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template cannot render: {exc.message}") from None
    except (TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as exc:
        raise TemplateProblem(f"template cannot render: {exc}") from None
    finally:
        _missing_paths.reset(token)
    return Rendered(text, tuple(found))
