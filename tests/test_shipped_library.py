"""The library in playbooks/ is what users copy: it must validate and brief as documented."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from warroom.brief import make_brief
from warroom.engine.assignment import assign_roles
from warroom.library import Library, load_library

LIBRARY = Path(__file__).parent.parent / "playbooks"
PLAYBOOKS = [
    "data-breach",
    "product-recall",
    "executive-misconduct",
    "facility-emergency",
    "it-outage",
    "social-media-firestorm",
]


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library([LIBRARY], LIBRARY / "roster.yaml")


def test_library_validates_without_errors(library: Library) -> None:
    assert [str(d) for d in library.errors] == []
    assert sorted(library.playbooks) == sorted(PLAYBOOKS)
    assert len(library.scenarios) >= 2
    roster = library.require_roster()
    assert len(roster.people) >= 12
    assert len(roster.rotas) >= 2


@pytest.mark.parametrize("playbook_id", PLAYBOOKS)
def test_every_playbook_speaks_english_and_polish(library: Library, playbook_id: str) -> None:
    playbook = library.playbook(playbook_id)
    assert set(playbook.languages) >= {"en", "pl"}
    for statement in playbook.statements.values():
        assert set(statement.text) >= {"en", "pl"}
    assert any(s.approvers for s in playbook.statements.values()), "no approval gate"
    assert any(step.escalations for step in playbook.steps), "no escalation ladder"
    assert any(step.due for step in playbook.steps), "no SLA"


def test_data_breach_has_the_gdpr_clock(library: Library) -> None:
    playbook = library.playbook("data-breach")
    regulator_steps = [s for s in playbook.steps if s.to and any("regulator" in a for a in s.to)]
    assert regulator_steps
    assert all(s.from_level == "crisis" for s in regulator_steps)
    assert any(s.due is not None and s.due.total_seconds() == 72 * 3600 for s in regulator_steps)


def test_show_data_breach_names_roles_and_backups_at_an_instant(library: Library) -> None:
    moment = datetime.fromisoformat("2026-11-23T09:00+01:00")
    brief = make_brief(library.playbook("data-breach"), library.require_roster(), moment)
    for role, assignment in brief.assignments.items():
        assert assignment.person is not None, f"{role}: {assignment.explanation}"
        assert assignment.backups, f"{role} has no backup"
    # the press-rota override puts Ewa on call that day
    assert brief.assignments["spokesperson"].person is not None
    assert brief.assignments["spokesperson"].person.id == "ewa-wisniewska"


def test_the_implicated_executive_never_speaks(library: Library) -> None:
    playbook = library.playbook("executive-misconduct")
    roster = library.require_roster()
    moment = datetime.fromisoformat("2026-11-23T09:00+01:00")
    for person in roster.people.values():
        facts = {name: "x" for name, f in playbook.facts.items() if f.required}
        facts["implicated"] = person.id
        roles = assign_roles(playbook, roster, moment, playbook.default_level, facts)
        for role, assignment in roles.items():
            assert assignment.person is not None, f"{role} unassigned when {person.id} is"
            assert assignment.person.id != person.id, role
