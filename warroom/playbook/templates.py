"""Statement templates: sandboxed Jinja2 where every variable must be declared.

A holding statement is written weeks before it is used and rendered in the worst hour of the
year; a typo in a variable must fail at `warroom validate`, not on the front page. Templates
render in a `SandboxedEnvironment` (a playbook is data, not code) with `StrictUndefined`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, meta, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from warroom.errors import TemplateProblem as TemplateProblem  # raised here, caught by compile

BUILTINS: dict[str, str] = {
    "incident": "the incident: incident.id, incident.title, incident.started_at",
    "playbook": "the playbook: playbook.id, playbook.title, playbook.version",
    "level": "the current level's id",
    "level_title": "the current level's title",
    "language": "the language being rendered (en, pl, ...)",
    "audience": "the title of the audience receiving the text",
    "now": "the moment of rendering",
    "next_update_at": "when the next scheduled update is due",
    "statement": "the statement: statement.version, statement.correction (true/false)",
    "timezone": "the playbook's time zone name",
}
"""Variables every template may use besides facts and role names (documented in docs/)."""

TRIGGER_VARIABLES: dict[str, frozenset[str] | None] = {
    "alertmanager": frozenset(
        {
            "labels",
            "annotations",
            "status",
            "startsAt",
            "fingerprint",
            "generatorURL",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "externalURL",
            "receiver",
        }
    ),
    "pagerduty": frozenset({"event"}),
    "generic": None,
}
"""What a trigger's `facts` and `dedupe` templates may read, per source; None: the body's
top-level keys, which are not known in advance."""

TRIGGER_MATCH_ROOTS: dict[str, frozenset[str]] = {
    "pagerduty": frozenset(
        {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}
    ),
}
"""The fields of a PagerDuty v3 `event`, where every dotted `match` key starts."""


@dataclass(frozen=True)
class ContactCard:
    """What a template may know about a person holding a role: no more than a signature."""

    name: str
    title: str = ""
    phone: str = ""
    email: str = ""

    def __str__(self) -> str:
        return self.name  # `{{ spokesperson }}` reads as the name, not a Python repr


@dataclass(frozen=True)
class IncidentCard:
    id: str
    title: str
    started_at: datetime


@dataclass(frozen=True)
class PlaybookCard:
    id: str
    title: str
    version: int


@dataclass(frozen=True)
class StatementCard:
    version: int
    correction: bool


def _local(ctx: Context, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(str(ctx.get("timezone") or "UTC")))


@pass_context
def _time(ctx: Context, moment: datetime) -> str:
    return _local(ctx, moment).strftime("%H:%M")


@pass_context
def _date(ctx: Context, moment: datetime) -> str:
    return _local(ctx, moment).strftime("%Y-%m-%d")


@pass_context
def _datetime(ctx: Context, moment: datetime) -> str:
    return _local(ctx, moment).strftime("%Y-%m-%d %H:%M %Z")


FILTERS = {"time": _time, "date": _date, "datetime": _datetime}

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)
_ENV.filters.update(FILTERS)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


@lru_cache(maxsize=4096)
def variables(source: str) -> frozenset[str]:
    """The top-level names a template reads; raises `TemplateProblem` on a syntax error."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" on its line {line}" if line and "\n" in source.strip() else ""
        raise TemplateProblem(f"template syntax error{where}: {exc.message}") from None


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a validated template; surrounding whitespace is never part of a statement."""
    try:
        return str(_compile(source).render(**context)).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template cannot render: {exc.message}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise TemplateProblem(f"template cannot render: {exc}") from None
