"""The engine's own texts, checked at validation as statements are: rendered with every title
at its length and every fact at its longest (`compile.longest_value`, the same values the
statement budgets use), each must fit two SMS segments in each team language. A long step or
statement title is the usual cause, and the playbook is where it is fixed."""

from __future__ import annotations

from datetime import UTC, datetime

from warroom.engine import handover
from warroom.engine.assignment import addressed_languages
from warroom.engine.notices import (
    TEAM_LANGUAGES,
    approval_text,
    link_room,
    oversized,
    page_text,
)
from warroom.engine.render import confirm_level_text, draft_statement
from warroom.engine.state import Draft, Incident
from warroom.playbook.compile import (
    WORST_CHARACTER,
    longest_value,
)
from warroom.playbook.model import Action, Playbook
from warroom.roster.model import Roster
from warroom.yamlsource import PathKey

SAMPLE_CODE = "0000"
SAMPLE_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SAMPLE_ID = "x" * 24
"""As long as an incident id gets (the playbook id and a date) in the statement budgets."""


def sample_incident(book: Playbook) -> Incident:
    """An incident at the longest level, with every fact at its longest."""
    incident = Incident(SAMPLE_ID, book, Roster({}))
    incident.level = max((level.id for level in book.levels), key=len)
    incident.facts = {
        name: longest_value(f.max_length, f.default, WORST_CHARACTER)
        for name, f in book.facts.items()
    }
    incident.started_at = SAMPLE_START
    return incident


def oversized_texts(book: Playbook) -> list[tuple[PathKey, str]]:
    """(where in the playbook, why) for each engine SMS that would exceed two segments."""
    incident = sample_incident(book)
    found: list[tuple[PathKey, str]] = []
    for index, step in enumerate(book.steps):
        if step.action is not Action.PAGE:
            continue
        roles = {r for a in step.page for r in book.audiences[a].roles}
        titles = [book.roles[r].title for r in roles] or ["escalation contact"]
        longest = max(titles, key=len)
        texts = [
            ("page", lang, page_text(incident, step, longest, SAMPLE_CODE, lang))
            for lang in TEAM_LANGUAGES
        ]
        found += [(("steps", index, "title"), str(o)) for o in oversized(texts)]
    for sid, spec in book.statements.items():
        if not spec.approvers:
            continue
        at = SAMPLE_START
        draft = Draft(1, draft_statement(incident, sid, 1, False, at), at)
        texts = [
            (
                "approval request",
                lang,
                approval_text(incident, sid, draft, SAMPLE_CODE, "sms", lang) + link_room(lang),
            )
            for lang in TEAM_LANGUAGES
        ]
        found += [(("statements", sid, "title"), str(o)) for o in oversized(texts)]
    if any(role.confirms_level for role in book.roles.values()):
        incident.confirmed_level = max((level.id for level in book.levels), key=len)
        asks = [
            (
                "level confirmation request",
                lang,
                confirm_level_text(incident, incident.level, SAMPLE_CODE, lang, "sms"),
            )
            for lang in TEAM_LANGUAGES
        ]
        found += [(("title",), str(o)) for o in oversized(asks)]
    for role_id, role in book.roles.items():
        if not addressed_languages(book, role_id):
            continue
        heads = [
            (
                "handover briefing",
                lang,
                handover.head(book, incident.level, role.title, lang) + link_room(lang),
            )
            for lang in TEAM_LANGUAGES
        ]
        found += [(("roles", role_id, "title"), str(o)) for o in oversized(heads)]
    return found
