"""A playbook explained for one instant: who would be assigned, who hears what, how fast.

The comms director's pre-crisis check ("if it happened now, who would speak?") and the
incident's own first minute use the same assignment code, so the brief cannot drift from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from warroom.durations import format_duration
from warroom.engine.assignment import assign_roles, audience_recipients
from warroom.errors import UsageError
from warroom.playbook.model import Action, Escalation, Playbook, Step
from warroom.roster.model import Assignment, Roster
from warroom.specs import one_of


@dataclass(frozen=True)
class AudienceReach:
    audience: str
    title: str
    recipients: int
    by_channel: Mapping[str, int]
    unreachable: int
    language: str
    applies: bool


@dataclass(frozen=True)
class Brief:
    playbook: Playbook
    at: datetime
    level: str
    assignments: Mapping[str, Assignment]
    audiences: tuple[AudienceReach, ...]


def check_level(playbook: Playbook, level: str | None) -> str:
    chosen = level or playbook.default_level
    if chosen not in {lvl.id for lvl in playbook.levels}:
        raise UsageError(
            f"unknown level {chosen!r} for {playbook.id} "
            f"(expected one of: {', '.join(lvl.id for lvl in playbook.levels)})"
        )
    return chosen


def check_facts(playbook: Playbook, facts: Mapping[str, str]) -> None:
    for name in facts:
        if name not in playbook.facts:
            raise UsageError(
                f"unknown fact {name!r} for {playbook.id} (expected one of: "
                f"{one_of(playbook.facts)})"
            )


def make_brief(
    playbook: Playbook,
    roster: Roster,
    at: datetime,
    level: str | None = None,
    facts: Mapping[str, str] | None = None,
) -> Brief:
    chosen = check_level(playbook, level)
    check_facts(playbook, facts or {})
    assignments = assign_roles(playbook, roster, at, chosen, facts or {})
    reach = []
    for aid, audience in playbook.audiences.items():
        recipients = audience_recipients(playbook, roster, aid, assignments, at)
        channels = Counter(c for r in recipients for c in r.channels)
        languages = sorted({r.language for r in recipients})
        reach.append(
            AudienceReach(
                audience=aid,
                title=audience.title,
                recipients=len(recipients),
                by_channel={c: channels[c] for c in audience.channels},
                unreachable=sum(1 for r in recipients if not r.channels),
                language=audience.language or "/".join(languages) or playbook.languages[0],
                applies=playbook.applies(audience.from_level, chosen),
            )
        )
    return Brief(playbook, at, chosen, assignments, tuple(reach))


def describe_rung(rung: Escalation) -> str:
    parts = []
    if rung.next_candidate:
        parts.append("page next candidate")
    if rung.page:
        parts.append("page " + ", ".join(rung.page))
    if rung.raise_level:
        parts.append(f"propose {rung.raise_level}")  # a person confirms it: see levels.py
    if rung.repeat:
        parts.append(f"repeat every {format_duration(rung.repeat)} until acknowledged")
    return f"+{format_duration(rung.after)}: " + "; ".join(parts)


def describe_action(playbook: Playbook, step: Step) -> str:
    if step.action is Action.PAGE:
        text = "page " + ", ".join(step.page)
        if step.ack_within:
            text += f", ack within {format_duration(step.ack_within)}"
        return text
    statement = playbook.statements[step.statement or ""]
    if step.action is Action.APPROVE:
        return f"approve {statement.id} by " + ", ".join(statement.approvers)
    text = f"send {statement.id} to " + " -> ".join(step.to)
    if step.every:
        text += f", every {format_duration(step.every)}"
    return text


def mermaid(playbook: Playbook) -> str:
    """A Mermaid flowchart: steps, their order, their escalation ladders and level gates."""

    def node(name: str) -> str:
        return name.replace("-", "_")

    def label(text: str) -> str:
        return '"' + text.replace('"', "#quot;") + '"'

    lines = ["flowchart TD"]
    for step in playbook.steps:
        text = f"{step.title}<br/>{describe_action(playbook, step)}"
        if step.due:
            text += f"<br/>due {format_duration(step.due)}"
        if step.from_level:
            text += f"<br/>from level {step.from_level}"
        shape = ("([", "])") if step.every else ("[", "]")
        lines.append(f"  {node(step.id)}{shape[0]}{label(text)}{shape[1]}")
    for step in playbook.steps:
        for dep in step.after:
            lines.append(f"  {node(dep)} --> {node(step.id)}")
        previous = node(step.id)
        for i, rung in enumerate(step.escalations):
            rung_id = f"{node(step.id)}_esc{i}"
            lines.append(f"  {rung_id}{{{{{label(describe_rung(rung))}}}}}")
            lines.append(f"  {previous} -. not acknowledged .-> {rung_id}")
            previous = rung_id
    for step in playbook.steps:
        if step.from_level:
            lines.append(f"  class {node(step.id)} gated")
    lines.append("  classDef gated stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"
