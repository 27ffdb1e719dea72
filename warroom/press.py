"""What the press office prints and publishes, made from an incident's state alone: a press
release of an approved statement version, and the spokesperson's briefing pack.

Only approved words: a statement is exported at the version its approvers approved (or the
last one released), never at a draft, and the pack marks every text it carries as approved
(with its version and approvers) or not yet approved.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from warroom.engine.deadlines import who
from warroom.engine.media import desk_order
from warroom.engine.state import Incident, StatementState
from warroom.errors import UsageError
from warroom.playbook import templates
from warroom.playbook.model import KEY_MESSAGES, Statement
from warroom.specs import one_of

FORMATS = ("md", "html")
EDITORS = {"en": "Note to editors", "pl": "Informacja dla redakcji"}
CONTACT = {"en": "Press contact", "pl": "Kontakt dla mediów"}


def approved_text(
    incident: Incident, statement_id: str, language: str
) -> tuple[int, str, str, str] | None:
    """(version, subject, text, approved by) of the newest approved or released version."""
    state = incident.statements[statement_id]
    spec = incident.playbook.statements[statement_id]
    draft = state.draft
    if draft is not None and spec.approvers and state.approved(spec.approvers):
        for (_, lang), rendered in draft.texts.items():
            if lang == language:
                by = ", ".join(f"{_name(incident, p)} ({r})" for r, p in draft.approvals.items())
                return (
                    draft.version,
                    templates.mark_at_release(rendered.subject),
                    templates.mark_at_release(rendered.text),
                    by,
                )
    for release in reversed(state.releases):
        if release.language == language:
            by = ", ".join(f"{_name(incident, p)} ({r})" for r, p in release.approved_by)
            return release.version, release.subject, release.text, by or "no approval needed"
    return None


def _name(incident: Incident, person: str) -> str:
    found = incident.roster.people.get(person)
    return found.name if found else person


def _pending(incident: Incident, state: StatementState, spec: Statement) -> str:
    draft = state.draft
    if draft is None:
        return "not drafted yet"
    waiting = [r for r in spec.approvers if r not in draft.approvals]
    return f"v{draft.version} not approved (waiting for {', '.join(waiting) or 'four eyes'})"


def press_release(incident: Incident, statement_id: str, language: str, fmt: str) -> str:
    """A statement as a press release: headline, dateline, body, note to editors (the
    approved key messages), press contacts. Refused unless a version is approved."""
    book = incident.playbook
    if statement_id not in book.statements or book.statements[statement_id].media:
        plain = [s for s, spec in book.statements.items() if not spec.media]
        raise UsageError(f"unknown statement {statement_id!r} (expected one of: {one_of(plain)})")
    if language not in book.languages:
        raise UsageError(
            f"--language {language!r} is not one of the playbook's ({one_of(book.languages)})"
        )
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}")
    found = approved_text(incident, statement_id, language)
    if found is None:
        spec = book.statements[statement_id]
        raise UsageError(
            f"{spec.title} has no approved version to publish: "
            f"{_pending(incident, incident.statements[statement_id], spec)}"
        )
    version, headline, body, _ = found
    zone = ZoneInfo(book.timezone)
    releases = incident.statements[statement_id].releases
    when = releases[-1].at if releases else incident.started_at
    date = f"{when.astimezone(zone):%Y-%m-%d}" if when else ""
    dateline = ", ".join(p for p in (book.media_desk.dateline, date) if p)
    editors = None
    if KEY_MESSAGES in book.statements:
        key = approved_text(incident, KEY_MESSAGES, language)
        editors = key[2] if key else None
    contacts = [
        f"{c.name}" + (f", {c.title}" if c.title else "") + f": {c.phone}, {c.email}"
        for c in book.media_desk.press_contacts
    ]
    if fmt == "md":
        parts = [f"# {headline}", "", f"**{dateline}** \u2013 {body}" if dateline else body]
        if editors:
            parts += ["", f"## {EDITORS.get(language, EDITORS['en'])}", "", editors]
        if contacts:
            parts += ["", f"## {CONTACT.get(language, CONTACT['en'])}", ""]
            parts += [f"- {c}" for c in contacts]
        parts += ["", f"<!-- {statement_id} v{version} -->"]
        return "\n".join(parts) + "\n"
    e = html.escape
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in body.split("\n\n") if p.strip())
    out = [
        f"<!doctype html><html lang='{e(language)}'><head><meta charset='utf-8'>",
        f"<title>{e(headline)}</title></head><body><article>",
        f"<h1>{e(headline)}</h1>",
        f"<p class='dateline'><strong>{e(dateline)}</strong></p>" if dateline else "",
        paragraphs,
    ]
    if editors:
        out.append(f"<h2>{e(EDITORS.get(language, EDITORS['en']))}</h2><p>{e(editors)}</p>")
    if contacts:
        out.append(f"<h2>{e(CONTACT.get(language, CONTACT['en']))}</h2><ul>")
        out += [f"<li>{e(c)}</li>" for c in contacts]
        out.append("</ul>")
    out.append(f"<!-- {e(statement_id)} v{version} --></article></body></html>")
    return "\n".join(line for line in out if line) + "\n"


def briefing_pack(incident: Incident) -> str:
    """The spokesperson's pack for a press conference or an interview, one Markdown file for
    print: approved statements and their versions, key messages, Q&A, what never to say,
    press contacts and the open inquiries."""
    book = incident.playbook
    lines = [
        f"# Briefing pack: {book.title}",
        "",
        f"Incident `{incident.id}`, level `{incident.level}`. Only the texts marked approved "
        "may be said or sent.",
    ]
    sections: list[tuple[str, list[str]]] = [
        ("Statements", [s for s, spec in book.statements.items() if not spec.media]),
        ("Key messages", [KEY_MESSAGES] if KEY_MESSAGES in book.statements else []),
        ("Q&A", [q.statement for q in book.media_desk.qa.values()]),
    ]
    for heading, ids in sections:
        lines += ["", f"## {heading}"]
        for sid in ids:
            spec = book.statements[sid]
            state = incident.statements[sid]
            lines += ["", f"### {spec.title}"]
            if sid.startswith("qa:"):
                question = book.media_desk.qa[sid[3:]].question
                lines += [f"- Q ({lang}): {question[lang]}" for lang in book.languages]
            for lang in book.languages:
                found = approved_text(incident, sid, lang)
                if found is None:
                    lines.append(f"- ({lang}) {_pending(incident, state, spec)}")
                    continue
                version, _, text, by = found
                flat = " ".join(text.split())
                lines.append(f"- ({lang}) **approved v{version}** ({by}): {flat}")
    lines += ["", "## Do not say"]
    for lang in book.languages:
        for line in book.media_desk.do_not_say.get(lang, ()):
            lines.append(f"- ({lang}) {line}")
    lines += ["", "## Press contacts"]
    for c in book.media_desk.press_contacts:
        lines.append(
            f"- {c.name}" + (f", {c.title}" if c.title else "") + f": {c.phone}, {c.email}"
        )
    lines += ["", "## Open inquiries"]
    waiting = [i for i in desk_order(incident.inquiries) if i.open]
    lines += [f"- #{i.number} {who(i)} ({i.language}): {i.question}" for i in waiting] or ["None."]
    return "\n".join(lines) + "\n"
