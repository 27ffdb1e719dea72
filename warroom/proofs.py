"""Proofs of the library: every statement as its readers get it, at typical and longest values.

A change to a template is a change to what the press, a regulator or a worried neighbour
reads. The proofs are kept beside the tests (`tests/fixtures/rendered/<playbook>.txt`) and
compared on every run, so a changed sentence shows in review as prose, in both languages,
and not as a diff of Jinja. Claims the team controls are choice facts (`contained == "yes"`):
every branch is rendered, since a sentence that appears only for "yes" must be read, and its
SMS sized, before anyone sets "yes" in an incident.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.errors import Diagnostic, InvalidInput
from warroom.library import load_library
from warroom.playbook import templates
from warroom.playbook.compile import WORST_CHARACTER, longest_context, worded_facts
from warroom.playbook.model import Action, Playbook, Statement
from warroom.playbook.segments import SegmentCount, count_segments
from warroom.roster.model import Roster
from warroom.yamlsource import load_yaml

DEFAULT_UPDATE_INTERVAL = timedelta(hours=1)
"""As the engine: the next update is the shortest `every` away, else an hour."""

UNSET = ""
"""A choice fact nobody has set: every template must say nothing it controls."""


TYPICAL_START = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
"""A Monday morning in Warsaw, as the breach drill: typical times read as typical times."""


@dataclass(frozen=True)
class Scenario:
    """One plausible moment of an incident: a level, the facts set by then, the time."""

    name: str
    level: str
    facts: Mapping[str, str] = field(default_factory=dict)
    started: datetime = TYPICAL_START
    elapsed: timedelta = timedelta(minutes=40)


@dataclass(frozen=True)
class Rendering:
    """One text as one kind of reader gets it."""

    statement: str
    language: str
    channel: str  # "e-mail", "SMS" or "press" (Q&A answers and key messages)
    subject: str
    text: str
    segments: SegmentCount | None = None
    over: bool = False


def load_scenarios(path: Path) -> dict[str, list[Scenario]]:
    """Typical moments per playbook, from a reviewed YAML file (playbook → list of scenarios)."""
    data = load_yaml(path).data
    if not isinstance(data, dict):
        raise InvalidInput([Diagnostic(str(path), 1, 1, "", "expected playbook id: scenarios")])
    out: dict[str, list[Scenario]] = {}
    for playbook_id, items in data.items():
        out[str(playbook_id)] = [
            Scenario(
                name=str(item["name"]),
                level=str(item["level"]),
                facts={str(k): str(v) for k, v in (item.get("facts") or {}).items()},
                started=item.get("started") or TYPICAL_START,
                elapsed=timedelta(minutes=int(item.get("elapsed_minutes", 40))),
            )
            for item in items
        ]
    return out


def channels(playbook: Playbook, statement: Statement) -> tuple[str, ...]:
    """How the statement reaches people: by the channels of the audiences steps send it to."""
    if statement.media:
        return ("press",)
    used = {
        channel
        for step in playbook.steps
        if step.action is Action.SEND and step.statement == statement.id
        for audience in step.to
        for channel in playbook.audiences[audience].channels
    }
    return tuple(name for name, key in (("e-mail", "email"), ("SMS", "sms")) if key in used)


def typical_cards(playbook: Playbook, roster: Roster | None) -> dict[str, templates.ContactCard]:
    """Each role as the roster would most often fill it: the first person its selectors name."""
    cards = {}
    for role_id, role in playbook.roles.items():
        holder = None
        if roster is not None:
            for selector in playbook.role_selectors(role_id, playbook.levels[0].id):
                kind, _, value = selector.rpartition(":")
                if kind == "tag":
                    holder = next((p for p in roster.people.values() if value in p.tags), None)
                elif kind in ("", "person"):
                    holder = roster.people.get(value)
                if holder is not None:
                    break
        cards[role_id] = templates.ContactCard(
            name=holder.name if holder else f"({role.title})",
            title=role.title,
            phone=(holder.phone or "") if holder else "",
            email=(holder.email or "") if holder else "",
        )
    return cards


def typical_context(
    playbook: Playbook, roster: Roster | None, scenario: Scenario, language: str
) -> dict[str, object]:
    """The context the engine would render with at that moment (engine.render.context)."""
    cadence = [step.every for step in playbook.steps if step.every is not None]
    now = scenario.started + scenario.elapsed
    values: dict[str, object] = dict.fromkeys(playbook.facts, UNSET)
    values.update({n: f.default for n, f in playbook.facts.items() if f.default is not None})
    values.update(scenario.facts)
    values.update(typical_cards(playbook, roster))
    stamp = scenario.started.strftime("%Y%m%d-%H%M")
    values.update(
        incident=templates.IncidentCard(f"{playbook.id}-{stamp}", playbook.title, scenario.started),
        playbook=templates.PlaybookCard(playbook.id, playbook.title, playbook.version),
        level=scenario.level,
        level_title=playbook.level(scenario.level).title,
        language=language,
        audience="",
        now=now,
        next_update_at=now + (min(cadence) if cadence else DEFAULT_UPDATE_INTERVAL),
        statement=templates.StatementCard(1, False),
        timezone=playbook.timezone,
    )
    return values


def render_statement(
    playbook: Playbook, statement: Statement, language: str, context: Mapping[str, Any]
) -> list[Rendering]:
    subject_source = statement.subject.get(language) or statement.title
    subject = templates.render(subject_source, context)
    out = []
    for channel in channels(playbook, statement):
        if channel == "SMS":
            source = statement.sms.get(language) or statement.text[language]
            text = templates.render(source, context)
            count = count_segments(text)
            over = count.segments > statement.sms_max_segments
            out.append(Rendering(statement.id, language, channel, "", text, count, over))
        else:
            text = templates.render(statement.text[language], context)
            out.append(Rendering(statement.id, language, channel, subject, text))
    return out


def statement_choices(sources: Sequence[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for source in sources:
        for name, values in templates.choices(source).items():
            found.setdefault(name, set()).update(values)
    return {name: frozenset(values) for name, values in sorted(found.items())}


def longest(
    playbook: Playbook, statement: Statement, language: str
) -> list[tuple[dict[str, str], Rendering]]:
    """Each channel's rendering at its longest: every fact at its longest (validation's
    sizing), and every combination of the choices its template tests, the longest kept."""
    base = longest_context(
        templates.PlaybookCard(playbook.id, playbook.title, playbook.version),
        timezone=playbook.timezone,
        language=language,
        levels=[(level.id, level.title) for level in playbook.levels],
        facts={name: (f.max_length, f.default) for name, f in playbook.facts.items()},
        roles={name: role.title for name, role in playbook.roles.items()},
        fill=WORST_CHARACTER,
        worded=worded_facts(playbook.facts),
    )
    out = []
    for channel in channels(playbook, statement):
        if channel == "SMS":
            sources = [statement.sms.get(language) or statement.text[language]]
        else:
            sources = [statement.subject.get(language) or "", statement.text[language]]
        options = statement_choices(sources)
        names = [name for name in options if name in playbook.facts or name == "level"]
        best: tuple[int, dict[str, str], Rendering] | None = None
        for values in itertools.product(*[[*sorted(options[n]), UNSET] for n in names]):
            chosen = {n: v for n, v in zip(names, values, strict=True) if v != UNSET}
            context = {**base, **chosen}
            if "level" in chosen:
                context["level_title"] = playbook.level(chosen["level"]).title
            rendering = next(
                r
                for r in render_statement(playbook, statement, language, context)
                if r.channel == channel
            )
            size = rendering.segments.units if rendering.segments else len(rendering.text)
            size += len(rendering.subject)
            if best is None or size > best[0]:
                best = (size, chosen, rendering)
        if best is not None:
            out.append((best[1], best[2]))
    return out


def proof(
    playbook: Playbook, roster: Roster | None, scenarios: Sequence[Scenario], regenerate: str
) -> str:
    """The whole proof of one playbook, as the fixture file holds it."""
    lines = [
        f"# {playbook.id}: every statement as its readers get it, in "
        f"{', '.join(playbook.languages)}.",
        f"# Regenerate with `{regenerate}` and read the diff before committing it.",
        "",
    ]
    for scenario in scenarios:
        facts = ", ".join(f"{k}={v!r}" for k, v in scenario.facts.items()) or "defaults"
        lines += [
            "=" * 78,
            f"TYPICAL: {scenario.name} (level {scenario.level}; {facts})",
            "=" * 78,
            "",
        ]
        for statement in playbook.statements.values():
            for language in playbook.languages:
                context = typical_context(playbook, roster, scenario, language)
                for rendering in render_statement(playbook, statement, language, context):
                    lines += _show(rendering, statement)
    lines += ["=" * 78, "LONGEST: every fact at its longest, filled with 'ż'", "=" * 78, ""]
    for statement in playbook.statements.values():
        for language in playbook.languages:
            for chosen, rendering in longest(playbook, statement, language):
                picked = ", ".join(f"{k}={v!r}" for k, v in chosen.items()) or "none set"
                lines += _show(rendering, statement, f"choices: {picked}")
    return "\n".join(lines).rstrip() + "\n"


def _show(rendering: Rendering, statement: Statement, note: str = "") -> list[str]:
    head = f"--- {rendering.statement} [{rendering.language}] {rendering.channel}"
    if rendering.segments is not None:
        head += f": {rendering.segments}, at most {statement.sms_max_segments}"
        if rendering.over:
            head += " -- OVER"
    if note:
        head += f" ({note})"
    out = [head]
    if rendering.subject and rendering.channel == "e-mail":
        out.append(f"Subject: {rendering.subject}")
        out.append("")
    return [*out, rendering.text, ""]


def over_budget(playbook: Playbook) -> list[str]:
    """SMS that need more segments than allowed in some branch validation does not size."""
    found = []
    for statement in playbook.statements.values():
        for language in playbook.languages:
            for chosen, rendering in longest(playbook, statement, language):
                if rendering.over and rendering.segments is not None:
                    found.append(
                        f"{playbook.id}: {statement.id} [{language}] SMS needs "
                        f"{rendering.segments} with {chosen or 'no choice set'}, over "
                        f"sms_max_segments {statement.sms_max_segments}"
                    )
    return found


REGENERATE = "scripts/render-library"
"""The command that rewrites the proofs, named in each proof and in a failing test."""


def library_proofs(library: Path, scenarios: Path) -> dict[str, str]:
    """The proof of every playbook in `library` (with its roster), by playbook id."""
    loaded = load_library([library], library / "roster.yaml")
    if loaded.errors:
        raise InvalidInput(loaded.errors)
    moments = load_scenarios(scenarios)
    return {
        playbook_id: proof(playbook, loaded.roster, moments.get(playbook_id, []), REGENERATE)
        for playbook_id, (playbook, _) in sorted(loaded.playbooks.items())
    }
