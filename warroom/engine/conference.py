"""Press conferences: a page step may schedule one, and its speakers are briefed at once with
what they may say (the approved statement versions, key messages and Q&A) and what they must
never say. Only approved words are in the brief; what is still waiting is named as such."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from warroom.engine.context import Ctx
from warroom.engine.render import marked
from warroom.engine.state import About, Incident
from warroom.playbook.model import KEY_MESSAGES, PressConference, Step

HEAD = {
    "en": "[warroom] Press conference at {at}{where}. You speak as {role}.",
    "pl": "[warroom] Konferencja prasowa o {at}{where}. Występujesz jako {role}.",
}


def brief(incident: Incident, language: str) -> list[str]:
    """Each statement, the key messages and each Q&A entry: approved text, or why not."""
    lines = []
    book = incident.playbook
    for sid, spec in book.statements.items():
        if sid.startswith("inquiry:"):
            continue
        state = incident.statements[sid]
        draft = state.draft
        approved = draft is not None and (not spec.approvers or state.approved(spec.approvers))
        if draft is not None and approved:
            texts = [marked(t.text) for (_, lang), t in draft.texts.items() if lang == language]
            body = " ".join(texts[0].split()) if texts else ""
            lines.append(f"- {spec.title} v{draft.version} (approved): {body}")
        elif state.releases:
            last = state.releases[-1]
            lines.append(f"- {spec.title} v{last.version} (released)")
        elif sid == KEY_MESSAGES or spec.media:
            lines.append(f"- {spec.title}: not approved yet; do not use")
    return lines


def schedule(ctx: Ctx, step: Step, conference: PressConference) -> None:
    """Tell every speaker when and where, with the brief, in their language; by e-mail where
    they have one (a brief does not fit an SMS), else a short SMS."""
    book = ctx.book
    at = ctx.now + conference.at
    local = f"{at.astimezone(ZoneInfo(book.timezone)):%H:%M}"
    where = "".join(f", {p}" for p in (conference.place, conference.link) if p)
    briefed = []
    for role in conference.speakers:
        person = ctx.inc.holder(role)
        if person is None:
            ctx.note(f"Press conference: nobody holds {role} to speak")
            continue
        contact = ctx.inc.roster.person(person).contact()
        language = contact.language if contact.language in book.languages else book.languages[0]
        head = HEAD.get(language, HEAD["en"]).format(
            at=local, where=where, role=book.roles[role].title
        )
        never = [f"- {line}" for line in book.media_desk.do_not_say.get(language, ())]
        text = "\n".join(
            [head, "", *brief(ctx.inc, language), *(["", "Do not say:", *never] if never else [])]
        )
        about = About("notice", step.id, f"conference-{step.id}-{role}", language=language)
        subject = f"[warroom] {book.title}: press conference at {local}"
        channel = "email" if contact.email else "sms"
        ctx.send(contact, channel, text if channel == "email" else head, subject, about)
        briefed.append(contact.name)
    ctx.note(
        f"Press conference at {local}{where}: "
        + (f"{', '.join(briefed)} briefed" if briefed else "no speaker to brief")
    )
