"""Which playbook an alert starts, at which level, with which facts, under which key.

Pure: the HTTP routes and `warroom triggers test` call the same `match_alert`, and what the
dry run shows is what a live alert does. What happens next (open incident with this key?
within the cooldown? resolved at source?) needs the store and is the caller's.

The order is part of the format (docs/playbook-format.md §2.11): playbooks by id, each one's
triggers in file order, and the first trigger whose `source` and `match` fit wins, so a
playbook author can predict the outcome without knowing the rest of the library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from warroom.playbook.facts import clean_text, fact_problem
from warroom.playbook.model import Fact, Playbook, Trigger
from warroom.playbook.templates import TemplateProblem
from warroom.triggers.alerts import ABSENT, Alert, as_match_text
from warroom.triggers.templating import placeholder, render

MAX_KEY_LENGTH = 200
"""Longer rendered `dedupe` keys are shortened with a digest of the whole, so two keys that
differ only at the end stay two keys."""
SHORT_PLACEHOLDER = "(not in alert)"
"""Used when the full placeholder is over the fact's `max_length`: the flag says which field."""


@dataclass(frozen=True)
class AlertKey:
    """The identity of an alert: while an incident with this key is open, repeats attach to
    it; after it closes, the trigger's cooldown runs from the closing."""

    source: str
    playbook: str
    dedupe: str

    def __str__(self) -> str:
        return f"{self.source} / {self.playbook} / {self.dedupe}"


@dataclass(frozen=True)
class FlaggedFact:
    """A fact the payload could not fill as written; a person should look at it."""

    name: str
    reason: str
    """E.g. `not in alert: annotations.summary`, `cut to 40 characters (max_length)`."""
    missing: tuple[str, ...] = ()
    """Dotted paths of the payload the template needed and did not find."""

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class TriggerMatch:
    """What one alert would do: start `playbook` at `level` with `facts`, unless the caller
    finds an open incident with `key` (then the alert attaches to it) or one closed less than
    `cooldown` ago (then it is logged and does nothing)."""

    alert: Alert
    playbook: str
    trigger_index: int
    trigger: Trigger
    level: str
    facts: Mapping[str, str]
    """Ready for activation: checked like facts given on the command line. Facts the payload
    could not fill are set to a `(not in alert: ...)` placeholder, or left out where the
    playbook has a default or where a placeholder cannot be the fact's kind (person, number)."""
    flagged: tuple[FlaggedFact, ...]
    key: AlertKey
    cooldown: timedelta
    unset_required: tuple[str, ...] = ()
    """Required facts without default that are still unset (a `person` or `number` fact the
    alert could not fill): the engine refuses an activation without them, so the caller logs
    the alert with this reason instead of activating."""

    @property
    def resolved(self) -> bool:
        """Resolved at source: to be recorded on the open incident, never acted on."""
        return self.alert.resolved

    @property
    def fingerprint(self) -> str | None:
        return self.alert.fingerprint


def trigger_fits(trigger: Trigger, alert: Alert) -> bool:
    """Whether `trigger` takes `alert`: same source, and every `match` value equal as text."""
    return mismatch(trigger, alert) is None


def mismatch(trigger: Trigger, alert: Alert) -> str | None:
    """Why `trigger` does not take `alert` (the first reason), or None when it does.

    A PagerDuty `incident.resolved` skips an `event_type` key, so that the resolution of an
    incident a `match: {event_type: incident.triggered}` trigger opened reaches that incident.
    """
    if trigger.source != alert.source:
        return f"it is for {trigger.source}, the alert came from {alert.source}"
    for key, expected in trigger.match.items():
        if alert.source == "pagerduty" and alert.resolved and key == "event_type":
            continue
        found = alert.value(key)
        if found is ABSENT:
            return f"{key} is not in the alert (expected {expected!r})"
        if as_match_text(found) != expected:
            shown = as_match_text(found)
            what = repr(clean_text(shown)[:60]) if shown is not None else "not text"
            return f"{key} is {what} (expected {expected!r})"
    return None


def match_alert(
    playbooks: Iterable[Playbook], alert: Alert, *, people: Collection[str] | None = None
) -> TriggerMatch | None:
    """The first trigger of the library that takes `alert`, filled in; None if none does.

    `people` are the roster's person ids, to check `person` facts; None skips that check.
    Never raises for anything in the payload.
    """
    for playbook in sorted(playbooks, key=lambda p: p.id):
        for index, trigger in enumerate(playbook.triggers):
            if trigger_fits(trigger, alert):
                facts, flagged = fill_facts(playbook, trigger, alert, people)
                unset = tuple(
                    name
                    for name, fact in playbook.facts.items()
                    if fact.required and fact.default is None and name not in facts
                )
                return TriggerMatch(
                    alert=alert,
                    playbook=playbook.id,
                    trigger_index=index,
                    trigger=trigger,
                    level=trigger.level or playbook.default_level,
                    facts=facts,
                    flagged=flagged,
                    key=alert_key(playbook, trigger, alert),
                    cooldown=trigger.cooldown,
                    unset_required=unset,
                )
    return None


def fill_facts(
    playbook: Playbook,
    trigger: Trigger,
    alert: Alert,
    people: Collection[str] | None = None,
) -> tuple[dict[str, str], tuple[FlaggedFact, ...]]:
    """The trigger's facts rendered over the alert and checked; what could not be, flagged.

    A fact the payload cannot fill never blocks the activation: the crisis team is better
    paged with `(not in alert: annotations.summary)` in the brief than not paged at all. That
    goes for a required fact the trigger does not mention too.
    """
    facts: dict[str, str] = {}
    flagged: list[FlaggedFact] = []
    for name, template in trigger.facts.items():
        fact = playbook.facts[name]
        try:
            rendered = render(template, alert.variables)
        except TemplateProblem as exc:
            _unfilled(fact, str(exc), "(not filled from alert)", (), facts, flagged)
            continue
        if rendered.missing:
            paths = ", ".join(rendered.missing)
            reason = f"not in alert: {paths}"
            _unfilled(fact, reason, placeholder(paths), rendered.missing, facts, flagged)
            continue
        value = clean_text(rendered.text)
        if not value:
            _unfilled(fact, "empty in alert", "(empty in alert)", (), facts, flagged)
            continue
        if fact.max_length is not None and len(value) > fact.max_length:
            flagged.append(
                FlaggedFact(
                    name,
                    f"cut to {fact.max_length} characters (max_length); the alert gave "
                    f"{len(value)}",
                )
            )
            value = value[: fact.max_length - 1].rstrip() + "…"
        problem = fact_problem(fact, value, people)
        if problem is not None:
            _unfilled(fact, problem, SHORT_PLACEHOLDER, (), facts, flagged)
            continue
        facts[name] = value
    for name, fact in playbook.facts.items():
        if fact.required and fact.default is None and name not in trigger.facts:
            _unfilled(fact, "not filled by the trigger", SHORT_PLACEHOLDER, (), facts, flagged)
    return facts, tuple(flagged)


def _unfilled(
    fact: Fact,
    reason: str,
    stand_in: str,
    missing: tuple[str, ...],
    facts: dict[str, str],
    flagged: list[FlaggedFact],
) -> None:
    """Flag `fact`, and set a stand-in only where one is valid and no default is better."""
    if fact.default is not None:
        flagged.append(FlaggedFact(fact.id, f"{reason}; the default stays", missing))
        return
    if fact.kind in ("person", "number"):
        flagged.append(FlaggedFact(fact.id, f"{reason}; left unset", missing))
        return
    flagged.append(FlaggedFact(fact.id, reason, missing))
    limit = fact.max_length
    if limit is not None and len(stand_in) > limit:
        stand_in = SHORT_PLACEHOLDER[:limit]
    facts[fact.id] = stand_in


def alert_key(playbook: Playbook, trigger: Trigger, alert: Alert) -> AlertKey:
    """(source, playbook, the rendered `dedupe`), computed per alert.

    Without `dedupe`: Alertmanager's group, `receiver/groupKey` (Alertmanager re-sends whole
    groups, and its HA peers each send them); PagerDuty's incident id; for a generic sender,
    the playbook alone (one open incident at a time: a sender that can tell its alerts apart
    says how with `dedupe`).
    """
    if trigger.dedupe is not None:
        try:
            dedupe = render(trigger.dedupe, alert.variables).text
        except TemplateProblem as exc:
            dedupe = f"(dedupe template cannot render: {exc})"
    elif alert.source == "alertmanager":
        dedupe = f"{alert.receiver}/{alert.group_key}"
    elif alert.source == "pagerduty":
        dedupe = alert.incident_ref or ""
    else:
        dedupe = ""
    dedupe = clean_text(dedupe)  # payload text, shown in timelines and on terminals
    if len(dedupe) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(dedupe.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        dedupe = f"{dedupe[: MAX_KEY_LENGTH - 18]}…{digest}"
    return AlertKey(alert.source, playbook.id, dedupe)
