"""A handover is a briefing: whoever takes over a role that speaks for the organisation in
the middle of an incident (the CEO at level crisis, a spokesperson put in by hand) is told
what was said so far, what journalists are waiting for, and the key messages, in their own
language. Not "see warroom status": the person stepping in front of a camera may have no
terminal.

By SMS the first lines, within two segments, and the signed link to the war-room page; by
e-mail the whole briefing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from warroom.engine.assignment import addressed_languages
from warroom.engine.context import Ctx
from warroom.engine.deadlines import who
from warroom.engine.notices import fit, link_room, team_language
from warroom.engine.render import PRESS
from warroom.engine.state import About
from warroom.playbook.model import KEY_MESSAGES, Playbook

WORDS = {
    "en": {
        "head": "[warroom] {title} ({level}): you are now {role}.",
        "from": "You take over from {previous}.",
        "covers": "You speak for us in: {languages}.",
        "released": "Released so far:",
        "counts": "Released: {released}. Open media inquiries: {open}.",
        "nothing": "nothing yet",
        "inquiries": "Open media inquiries:",
        "latest": "Latest: {items}.",
        "none": "none",
        "due": "due {due}",
        "key": "Key messages:",
        "unapproved": "not approved yet; do not use them",
        "subject": "[warroom] Briefing: you are now {role}",
    },
    "pl": {
        "head": "[warroom] {title} ({level}): jesteś teraz {role}.",
        "from": "Przejmujesz od: {previous}.",
        "covers": "Mówisz w imieniu firmy po: {languages}.",
        "released": "Dotąd wydane:",
        "counts": "Wydane: {released}. Otwarte pytania mediów: {open}.",
        "nothing": "jeszcze nic",
        "inquiries": "Otwarte pytania mediów:",
        "latest": "Ostatnie: {items}.",
        "none": "brak",
        "due": "termin {due}",
        "key": "Kluczowe przekazy:",
        "unapproved": "jeszcze niezatwierdzone; nie używaj ich",
        "subject": "[warroom] Odprawa: jesteś teraz {role}",
    },
}


def speaks_for_us(ctx: Ctx, role_id: str) -> bool:
    """A role that addresses an audience or the press: its new holder needs a briefing."""
    return bool(addressed_languages(ctx.book, role_id))


def anything_said(ctx: Ctx) -> bool:
    """Whether there is anything to brief on yet: a release, or an inquiry."""
    return bool(ctx.inc.inquiries) or any(s.releases for s in ctx.inc.statements.values())


def brief(ctx: Ctx, role_id: str, person_id: str, previous: str | None) -> None:
    """Send the new holder of `role_id` the briefing, on each channel they have."""
    contact = ctx.inc.roster.person(person_id).contact()
    lang = team_language(contact.language)
    words = WORDS[lang]
    role = ctx.book.roles[role_id].title
    first = head(ctx.book, ctx.inc.level, role, lang)
    about = About("briefing", f"role:{role_id}", f"briefing-{role_id}-{person_id}", language=lang)
    subject = words["subject"].format(role=role)
    for channel in contact.channels():
        if channel == "sms":
            text = fit(first, _summary(ctx, lang), room=link_room(lang))
        else:
            taking = words["from"].format(previous=ctx.name(previous))
            text = "\n".join([first, taking, "", *_full(ctx, role_id, lang)]).rstrip()
        ctx.send(contact, channel, text, subject, about)
    ctx.note(f"{role}: {contact.name} briefed on taking over (releases, inquiries, key messages)")


def head(book: Playbook, level: str, role: str, lang: str) -> str:
    """The one line saying what happened: which role is now theirs, at which level."""
    return WORDS[lang]["head"].format(title=book.title, level=level, role=role)


def _releases(ctx: Ctx) -> list[tuple[str, str, list[str]]]:
    """(statement and version, hour it first went out, audiences), in the order released."""
    zone = ZoneInfo(ctx.book.timezone)
    released = sorted(
        ((sid, r) for sid, s in ctx.inc.statements.items() for r in s.releases),
        key=lambda pair: pair[1].order,
    )
    seen: dict[tuple[str, int], tuple[str, str, list[str]]] = {}
    for sid, release in released:
        title = f"{ctx.book.statements[sid].title} v{release.version}"
        hour = f"{release.at.astimezone(zone):%H:%M}"
        entry = seen.setdefault((sid, release.version), (title, hour, []))
        audience = ctx.book.audiences.get(release.audience)
        name = audience.title if audience else release.audience
        if name not in entry[2]:
            entry[2].append(name)
    return list(seen.values())


def _open_inquiries(ctx: Ctx) -> list[str]:
    zone = ZoneInfo(ctx.book.timezone)
    return [
        f"#{i.number} {who(i)}"
        + (f" ({i.deadline.astimezone(zone):%H:%M})" if i.deadline else "")
        + f': "{i.question}"'
        for i in ctx.inc.inquiries
        if i.open
    ]


def _summary(ctx: Ctx, lang: str) -> str:
    """Counts first, so they survive the cut; then the newest release and each open inquiry."""
    words = WORDS[lang]
    releases = _releases(ctx)
    inquiries = [f"#{i.number} {i.outlet}" for i in ctx.inc.inquiries if i.open]
    counts = words["counts"].format(released=len(releases), open=len(inquiries))
    latest = [f"{title} {hour}" for title, hour, _ in releases[-1:]] + inquiries
    return f"{counts} {words['latest'].format(items='; '.join(latest))}" if latest else counts


def _full(ctx: Ctx, role_id: str, lang: str) -> list[str]:
    words = WORDS[lang]
    covers = ", ".join(addressed_languages(ctx.book, role_id))
    lines = [words["covers"].format(languages=covers), "", words["released"]]
    releases = _releases(ctx)
    lines += [f"- {t} ({h}): {', '.join(a)}" for t, h, a in releases] or [f"- {words['nothing']}"]
    lines += ["", words["inquiries"]]
    lines += [f"- {line}" for line in _open_inquiries(ctx)] or [f"- {words['none']}"]
    lines += ["", words["key"], _key_messages(ctx, lang)]
    return lines


def _key_messages(ctx: Ctx, lang: str) -> str:
    """The approved key messages in the reader's language, or a warning not to use them."""
    spec = ctx.book.statements.get(KEY_MESSAGES)
    if spec is None:
        return f"- {WORDS[lang]['none']}"
    state = ctx.inc.statements[KEY_MESSAGES]
    draft = state.draft
    if draft is None or not state.approved(spec.approvers):
        return f"- {WORDS[lang]['unapproved']}"
    text = draft.texts.get((PRESS, lang)) or next(iter(draft.texts.values()))
    return text.text
