"""Texts the engine sends: statements rendered from the playbook (its own words to the team
are in `notices`).

A draft is rendered for every audience and language at once and frozen: approvers approve
those exact texts, and the release sends them, even if a fact changes in between (a change
makes a new version, which needs approval again). Only the times that depend on the moment
of release ("as of", "next update by") are left as slots, filled in by the release to each
audience (`fill`); approvers see them marked "filled in at release".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from warroom.engine.state import Incident, RenderedText
from warroom.playbook import templates
from warroom.playbook.model import Action, Playbook

DEFAULT_UPDATE_INTERVAL = timedelta(hours=1)


def update_interval(book: Playbook, audience: str) -> timedelta:
    """How far ahead a text released to `audience` promises its next update: the shortest
    `every` of the steps that update it, else of the playbook's steps, else one hour."""
    mine = [s.every for s in book.steps if s.every is not None and audience in s.to]
    cadence = mine or [s.every for s in book.steps if s.every is not None]
    return min(cadence) if cadence else DEFAULT_UPDATE_INTERVAL


def fill(rendered: RenderedText, book: Playbook, audience: str, now: datetime) -> RenderedText:
    """A drafted text as released to `audience` now: its release-time slots filled in."""
    moments = {"now": now, "next_update_at": now + update_interval(book, audience)}
    return RenderedText(
        subject=templates.fill_at_release(rendered.subject, moments, book.timezone),
        text=templates.fill_at_release(rendered.text, moments, book.timezone),
        sms=templates.fill_at_release(rendered.sms, moments, book.timezone),
    )


def promises(rendered: RenderedText) -> bool:
    """Whether a drafted text promises a next-update time."""
    return any(
        templates.uses_at_release(t, "next_update_at")
        for t in (rendered.subject, rendered.text, rendered.sms)
    )


def marked(text: str) -> str:
    """A drafted text as its approver reads it."""
    return templates.mark_at_release(text)


CORRECTION_LABEL = {
    "en": ("CORRECTION:", "this replaces our statement of {time}."),
    "pl": ("SPROSTOWANIE:", "zastępuje nasze oświadczenie z {time}."),
}
"""What the engine puts at the head of every rendering of a correction, in its language
(English for any other): readers must see it replaces words they already have."""


def labelled(
    rendered: RenderedText, language: str, replaces: datetime | None, timezone: str
) -> RenderedText:
    label, replacing = CORRECTION_LABEL.get(language, CORRECTION_LABEL["en"])
    head = label
    if replaces is not None:
        head += " " + replacing.format(time=f"{replaces.astimezone(ZoneInfo(timezone)):%H:%M}")
    return RenderedText(
        subject=f"{label} {rendered.subject}",
        text=f"{head}\n\n{rendered.text}",
        sms=f"{head} {rendered.sms}",
    )


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
    for name, fact in book.facts.items():
        if fact.kind in ("boolean", "choice"):
            values[name] = templates.FactText(fact.text(facts[name], language), facts[name])
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
        **templates.at_release_context(),  # filled in by the release to each audience
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
    released = incident.statements[statement_id].releases if correction else []
    for audience in statement_audiences(incident, statement_id):
        replaces = max((r.at for r in released if r.audience == audience), default=None)
        for language in incident.playbook.languages:
            values = context(incident, language, audience, now, version, correction)
            subject = spec.subject.get(language)
            rendered = RenderedText(
                subject=templates.render(subject, values) if subject else spec.title,
                text=templates.render(spec.text[language], values),
                sms=templates.render(spec.sms_text(language), values),
            )
            if correction:
                rendered = labelled(rendered, language, replaces, incident.playbook.timezone)
            texts[(audience, language)] = rendered
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
