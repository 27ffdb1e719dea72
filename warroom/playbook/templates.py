"""Statement templates: sandboxed Jinja2 where every variable must be declared.

A holding statement is written weeks before it is used and rendered in the worst hour of the
year; a typo in a variable must fail at `warroom validate`, not on the front page. Templates
render in a `SandboxedEnvironment` (a playbook is data, not code) with `StrictUndefined`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes, pass_context
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


class FactText(str):
    """A `boolean` or `choice` fact as a template sees it: the agreed words for its value in
    the language being rendered, and true or false as the value is, so that both
    `{{ contained }}` and `{% if contained %}...{% endif %}` say what the team set."""

    value: str

    def __new__(cls, text: str, value: str) -> FactText:
        made = super().__new__(cls, text)
        made.value = value
        return made

    def __bool__(self) -> bool:
        return self.value not in ("", "false")


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


# -- times filled in at release ------------------------------------------------------------
#
# "Update as of 09:27" read at 09:39 is a statement that was already wrong when it left. The
# times that depend on the moment of release (`now`, `next_update_at`) are therefore left as
# slots when a version is drafted and approved, and filled in once per audience by the event
# that releases to it: the approver signs the words, the release stamps the time.

AT_RELEASE = ("now", "next_update_at")
"""The built-ins whose value is only known when the text is released to an audience."""
TIME_FORMS = {"": "", "time": "%H:%M", "date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M %Z"}
_SLOT_OPEN, _SLOT_CLOSE = "\ue000", "\ue001"
_SLOT = re.compile("\ue000(\\d)(\\d)\ue001")
_MARKS = {
    "now": {
        "": "date and time of release",
        "time": "time of release",
        "date": "date of release",
        "datetime": "date and time of release",
    },
    "next_update_at": {
        "": "date and time of the next update",
        "time": "time of the next update",
        "date": "date of the next update",
        "datetime": "date and time of the next update",
    },
}


class AtRelease:
    """`now` or `next_update_at` while a version is drafted: prints as a slot that the release
    fills in. Only printing it (as is, or with `time`, `date`, `datetime`) is possible, since
    nothing else about the moment is known before it comes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def slot(self, form: str) -> str:
        return (
            f"{_SLOT_OPEN}{AT_RELEASE.index(self.name)}{list(TIME_FORMS).index(form)}{_SLOT_CLOSE}"
        )

    def __str__(self) -> str:
        return self.slot("")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise TemplateProblem(
            f"`{self.name}.{name}`: {self.name} is filled in at release, so a template can only "
            f"print it: {{{{ {self.name} | time }}}}, | date or | datetime"
        )


def at_release_context() -> dict[str, AtRelease]:
    return {name: AtRelease(name) for name in AT_RELEASE}


def fill_at_release(text: str, moments: Mapping[str, datetime], timezone: str) -> str:
    """The text as released: every slot replaced by its moment, in the playbook's zone."""
    if _SLOT_OPEN not in text:
        return text
    zone = ZoneInfo(timezone)

    def filled(match: re.Match[str]) -> str:
        moment = moments[AT_RELEASE[int(match[1])]]
        form = list(TIME_FORMS)[int(match[2])]
        return str(moment) if not form else moment.astimezone(zone).strftime(TIME_FORMS[form])

    return _SLOT.sub(filled, text)


def mark_at_release(text: str) -> str:
    """The text as an approver reads it: each slot says what the release will fill in."""
    if _SLOT_OPEN not in text:
        return text

    def marked(match: re.Match[str]) -> str:
        name, form = AT_RELEASE[int(match[1])], list(TIME_FORMS)[int(match[2])]
        return f"[{_MARKS[name][form]}: filled in at release]"

    return _SLOT.sub(marked, text)


def uses_at_release(text: str, name: str) -> bool:
    """Whether a drafted text has a slot for `name` (a `next_update_at` slot is a promise)."""
    index = str(AT_RELEASE.index(name))
    return any(match[1] == index for match in _SLOT.finditer(text))


def _local(ctx: Context, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(str(ctx.get("timezone") or "UTC")))


@pass_context
def _time(ctx: Context, moment: datetime | AtRelease) -> str:
    if isinstance(moment, AtRelease):
        return moment.slot("time")
    return _local(ctx, moment).strftime("%H:%M")


@pass_context
def _date(ctx: Context, moment: datetime | AtRelease) -> str:
    if isinstance(moment, AtRelease):
        return moment.slot("date")
    return _local(ctx, moment).strftime("%Y-%m-%d")


@pass_context
def _datetime(ctx: Context, moment: datetime | AtRelease) -> str:
    if isinstance(moment, AtRelease):
        return moment.slot("datetime")
    return _local(ctx, moment).strftime("%Y-%m-%d %H:%M %Z")


FILTERS = {"time": _time, "date": _date, "datetime": _datetime}

MAX_TEXT = 10_000
"""The longest text or list one expression may build (`'x' * n`, `replace`, `center`)."""
MAX_RANGE = 1_000
"""The longest `range()`: a statement lists things people read, not a million numbers."""
MAX_OUTPUT = 50_000
"""The longest output of one template: longer than any statement anyone would sign."""
MAX_NUMBER = 10**30
"""The largest number `**` may make: a date or a count, not a denial of service."""


class BoundedSandbox(SandboxedEnvironment):
    """A sandbox that also bounds what a template can cost: text, ranges, numbers, output.

    Jinja's sandbox stops a template from reaching Python; it does not stop `'x' * 10**9`
    (4 GB, 40 s in `warroom validate`) or loops that never end. Templates here are prose
    with a few conditions, so the bounds are far from any real statement and the shapes that
    only serve to burn time (a loop in a loop, macros, recursion) are refused when read.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        self.filters.update(
            center=_bounded_width(self.filters["center"]),
            indent=_bounded_width(self.filters["indent"]),
            format=_refused("format", "use the text itself, or a fact"),
            replace=_bounded_replace,
            wordwrap=_bounded_width(self.filters["wordwrap"]),
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise TemplateProblem("`%` formatting is not allowed in templates; write the text")
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(times, int):
                    _check_size(len(sized) * max(times, 0))
        if operator == "**" and _too_big(left, right):
            raise TemplateProblem(f"a number in the template is over {MAX_NUMBER:.0e}")
        result = self.binop_table[operator](left, right)
        if isinstance(result, str | list | tuple):
            _check_size(len(result))
        return result

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for block in tree.find_all((nodes.Macro, nodes.CallBlock)):
            raise TemplateSyntaxError(
                "macros are not allowed in statement templates", block.lineno, name, filename
            )
        for loop in tree.find_all(nodes.For):
            if loop.recursive or any(True for _ in loop.find_all(nodes.For)):
                raise TemplateSyntaxError(
                    "a loop inside a loop is not allowed in statement templates",
                    loop.lineno,
                    name,
                    filename,
                )
        return tree


def _check_size(size: int) -> None:
    if size > MAX_TEXT:
        raise TemplateProblem(
            f"the template builds a text of {size:,} characters (limit {MAX_TEXT:,})"
        )


def _too_big(base: Any, exponent: Any) -> bool:
    """Whether `base ** exponent` would be over `MAX_NUMBER`, known before computing it."""
    numbers = (int, float)
    if not isinstance(base, numbers) or not isinstance(exponent, numbers):
        return False
    if abs(base) <= 1 or exponent <= 0:
        return False
    return float(exponent) * math.log10(abs(base)) > math.log10(MAX_NUMBER)


def _range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise TemplateProblem(f"range() of {len(found):,} numbers (limit {MAX_RANGE:,})")
    return found


def _bounded_width(apply: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if isinstance(width, int) and width > MAX_TEXT:
            raise TemplateProblem(f"a width of {width:,} (limit {MAX_TEXT:,})")
        return apply(value, width, *args, **kwargs)

    return bounded


def _bounded_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, count)
    _check_size(len(text) + times * max(len(new) - len(old), 0))
    return text.replace(old, new, -1 if count is None else count)


def _refused(name: str, instead: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise TemplateProblem(f"the `{name}` filter is not allowed in templates; {instead}")

    return refuse


def bounded_output(chunks: Iterable[str]) -> str:
    """Join a template's output, stopping past `MAX_OUTPUT` instead of exhausting memory."""
    kept: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateProblem(f"the template writes over {MAX_OUTPUT:,} characters")
        kept.append(chunk)
    return "".join(kept)


_ENV = BoundedSandbox(
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


@lru_cache(maxsize=4096)
def choices(source: str) -> dict[str, frozenset[str]]:
    """The values a template compares each name with (`{% if contained == "yes" %}`).

    A claim the team controls is a fact the template tests against fixed words; the library's
    proofs render every such branch, so a sentence that only appears for "yes" is read (and
    sized) before anyone sets "yes" in an incident.
    """
    found: dict[str, set[str]] = {}
    for compare in _ENV.parse(source).find_all(nodes.Compare):
        lefts = [compare.expr, *(op.expr for op in compare.ops)]
        for left, operand in zip(lefts, compare.ops, strict=False):
            if operand.op not in ("eq", "ne"):
                continue
            for name, value in ((left, operand.expr), (operand.expr, left)):
                if (
                    isinstance(name, nodes.Name)
                    and isinstance(value, nodes.Const)
                    and isinstance(value.value, str)
                ):
                    found.setdefault(name.name, set()).add(value.value)
    return {name: frozenset(values) for name, values in found.items()}


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a validated template; surrounding whitespace is never part of a statement."""
    try:
        return bounded_output(_compile(source).generate(**context)).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template cannot render: {exc.message}") from None
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise TemplateProblem(f"template cannot render: {exc}") from None
