"""What happens next if nobody answers: the next rung of each open page's ladder, when, and
who it reaches. Read-only: the war-room page and `status` show it; `paging` does it.

The people named are the ones the ladder would choose if it climbed now, from the roster
as it stands now; the engine decides again when the rung is due, so this is a forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warroom.engine import lifecycles as lc
from warroom.engine.assignment import role_candidates
from warroom.engine.state import Incident
from warroom.playbook.model import Step


@dataclass(frozen=True)
class NextRung:
    step: str
    at: datetime
    moves: dict[str, str]
    """Role -> the person it would move to (`next_candidate`)."""
    pages: tuple[str, ...]
    """People the rung pages besides (names)."""
    raises_to: str | None
    repeats: bool


def next_rungs(incident: Incident, now: datetime) -> list[NextRung]:
    """The next rung of every step still waiting for an acknowledgement."""
    found = []
    for step in incident.playbook.steps:
        state = incident.steps.get(step.id)
        if state is None or not lc.awaits_acknowledgement(state) or state.started_at is None:
            continue
        if state.rung < len(step.escalations):
            rung = step.escalations[state.rung]
            found.append(
                NextRung(
                    step=step.id,
                    at=state.started_at + rung.after,
                    moves=_moves(incident, step, now) if rung.next_candidate else {},
                    pages=_names(incident, rung.page, now),
                    raises_to=rung.raise_level,
                    repeats=rung.repeat is not None,
                )
            )
    return found


def _moves(incident: Incident, step: Step, now: datetime) -> dict[str, str]:
    moves = {}
    for audience in step.page:
        for role in incident.playbook.audiences[audience].roles:
            holder = incident.roles[role]
            if holder.acked_at is not None:
                continue
            candidates = role_candidates(
                incident.playbook, incident.roster, role, now, incident.level, incident.facts
            )
            following = [c for c in candidates if c.eligible and c.person.id not in holder.tried]
            if following:
                moves[role] = following[0].person.name
    return moves


def _names(incident: Incident, selectors: tuple[str, ...], now: datetime) -> tuple[str, ...]:
    chosen = []
    for selector in selectors:
        if selector.startswith("role:"):
            holder = incident.holder(selector[5:])
            if holder:
                chosen.append(holder)
        else:
            chosen.append(selector)
    return tuple(c.person.name for c in incident.roster.candidates(chosen, now) if c.eligible)
