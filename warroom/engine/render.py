"""Texts the engine sends: statements rendered from the playbook (its own words to the team
are in `notices`).

A draft is rendered for every audience and language at once and frozen: approvers approve
those exact texts, and the release sends them, even if a fact changes in between (a change
makes a new version, which needs approval again).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from warroom.engine.state import Incident, RenderedText
from warroom.playbook import templates
from warroom.playbook.model import Action

DEFAULT_UPDATE_INTERVAL = timedelta(hours=1)


def next_update_at(incident: Incident, now: datetime) -> datetime:
    """When the next update is due: the playbook's update cadence from now, else one hour."""
    cadence = [s.every for s in incident.playbook.steps if s.every is not None]
    return now + (min(cadence) if cadence else DEFAULT_UPDATE_INTERVAL)


def context(
    incident: Incident,
    language: str,
    audience: str,
    now: datetime,
    version: int,
    correction: bool,
) -> dict[str, object]:
    book = incident.playbook
    facts = dict.fromkeys(book.facts, "")
    facts.update(incident.facts)
    values: dict[str, object] = dict(facts)
    for role_id, role in book.roles.items():
        holder = incident.roster.people.get(incident.holder(role_id) or "")
        values[role_id] = templates.ContactCard(
            name=holder.name if holder else "",
            title=role.title,
            phone=(holder.phone or "") if holder else "",
            email=(holder.email or "") if holder else "",
        )
    started = incident.started_at or now
    values.update(
        incident=templates.IncidentCard(incident.id, book.title, started),
        playbook=templates.PlaybookCard(book.id, book.title, book.version),
        level=incident.level,
        level_title=book.level(incident.level).title,
        language=language,
        audience=book.audiences[audience].title if audience in book.audiences else audience,
        now=now,
        next_update_at=next_update_at(incident, now),
        statement=templates.StatementCard(version, correction),
        timezone=book.timezone,
    )
    return values


PRESS = "press"
"""The one rendering of a Q&A answer or the key messages: for journalists, per language."""


def statement_audiences(incident: Incident, statement_id: str) -> list[str]:
    if incident.playbook.statements[statement_id].media:
        return [PRESS]
    steps = incident.playbook.steps
    return list(
        dict.fromkeys(
            a
            for s in steps
            if s.action is Action.SEND and s.statement == statement_id
            for a in s.to
        )
    )


def draft_statement(
    incident: Incident, statement_id: str, version: int, correction: bool, now: datetime
) -> dict[tuple[str, str], RenderedText]:
    spec = incident.playbook.statements[statement_id]
    texts: dict[tuple[str, str], RenderedText] = {}
    for audience in statement_audiences(incident, statement_id):
        for language in incident.playbook.languages:
            values = context(incident, language, audience, now, version, correction)
            subject = spec.subject.get(language)
            texts[(audience, language)] = RenderedText(
                subject=templates.render(subject, values) if subject else spec.title,
                text=templates.render(spec.text[language], values),
                sms=templates.render(spec.sms_text(language), values),
            )
    return texts


CONFIRM_LEVEL_TEXT = {
    "en": (
        "[warroom] {title}, incident {incident}: nobody answered, and the escalation ladder "
        "PROPOSES level {level}. Nothing goes to outside audiences at {level} until you "
        "confirm. Reply CONFIRM {code} to confirm it; ignore this to keep level {confirmed}."
    ),
    "pl": (
        "[warroom] {title}, incydent {incident}: nikt nie odpowiedział i ścieżka eskalacji "
        "PROPONUJE poziom {level}. Nic nie wyjdzie do odbiorców zewnętrznych na poziomie "
        "{level} bez Twojego potwierdzenia. Odpowiedz POTWIERDZAM POZIOM {code}, aby "
        "potwierdzić; bez odpowiedzi zostaje poziom {confirmed}."
    ),
}
"""The request to confirm a level an escalation rung proposed: the person who speaks for the
organisation decides, not a timer."""


CONFIRM_LEVEL_SMS = {
    "en": "[warroom] {title}: level {level} proposed. Reply CONFIRM {code}; no reply keeps "
    "{confirmed}.",
    "pl": "[warroom] {title}: poziom {level}? POTWIERDZAM POZIOM {code}; bez odpowiedzi: "
    "{confirmed}.",
}
"""The same request within two SMS segments (`warroom.engine.sizing` checks it); the e-mail
says the whole of it."""


def confirm_level_text(
    incident: Incident, level: str, code: str, language: str, channel: str = "email"
) -> str:
    texts = CONFIRM_LEVEL_SMS if channel == "sms" else CONFIRM_LEVEL_TEXT
    template = texts.get(language, texts["en"])
    return template.format(
        title=incident.playbook.title,
        incident=incident.id,
        level=level,
        code=code,
        confirmed=incident.confirmed_level,
    )
