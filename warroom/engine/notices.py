"""What the engine itself says to the crisis team: pages, approval requests, reminders, a
rejection sent back, a handover briefing.

Each is written in the recipient's language (English or Polish; English for any other), opens
with one line saying what happened, and is sized like a statement: one SMS segment where it
can be, never more than two. What does not fit an SMS (the statement to approve, a briefing)
is cut at a word and the signed link to the whole text follows it, added by the runtime as the
message goes out (`LINK_ROOM` is kept free for it), or, where the server has no public URL,
a line saying there is no link, never a dead one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from warroom.engine.state import Draft, Incident
from warroom.playbook.model import Step
from warroom.playbook.segments import count_segments
from warroom.playbook.templates import mark_at_release

TEAM_LANGUAGES = ("en", "pl")
SMS_HOPE = 1
"""Segments an engine SMS should take; validation warns past it only when it cannot help."""
SMS_LIMIT = 2
"""Segments an engine SMS never exceeds (the signed link excepted)."""
CUT = "..."

FULL_TEXT = {"en": "Full text: {url}", "pl": "Pełny tekst: {url}"}
"""The line the runtime adds to an SMS that carries only the first lines."""
NO_LINK = {
    "en": "No link: WARROOM_PUBLIC_URL is not set.",
    "pl": "Brak linku: nie ustawiono WARROOM_PUBLIC_URL.",
}
"""Said instead of the link where the server has no public address: a dead link is worse."""
LINKED_PURPOSES = ("approval", "briefing")
"""Messages whose SMS is cut short and followed by a link to the whole text."""


def team_language(language: str | None) -> str:
    return language if language in TEAM_LANGUAGES else "en"


def fit(head: str, body: str = "", *, limit: int = SMS_LIMIT, room: str = "") -> str:
    """`head`, then as much of `body` as fits in `limit` segments with `room` still free after
    it; the body is cut at a word, marked with an ellipsis. The head is never cut."""
    whole = f"{head}\n{body}" if body else head
    if not body or count_segments(whole + room).segments <= limit:
        return whole
    words = body.split()
    low, high = 0, len(words)  # the longest prefix of words that fits (segments only grow)
    while low < high:
        middle = (low + high + 1) // 2
        trial = f"{head}\n{' '.join(words[:middle])}{CUT}{room}"
        if count_segments(trial).segments <= limit:
            low = middle
        else:
            high = middle - 1
    return f"{head}\n{' '.join(words[:low])}{CUT}" if low else head


def link_room(language: str) -> str:
    """Room kept free after a cut SMS for the link's label. The URL itself, or the line
    saying there is none, is the one thing an SMS carries beyond its two segments."""
    return "\n" + FULL_TEXT[team_language(language)].format(url="")


# -- pages ------------------------------------------------------------------------------------

PAGE = {
    "en": '[warroom] {title}: you are {role} for "{step}". Reply ACK {code}.',
    "pl": '[warroom] {title}: jesteś {role}, krok "{step}". Odpisz ACK {code}.',
}
INCIDENT_LINE = {
    "en": "Incident {incident}, level {level}.",
    "pl": "Incydent {incident}, poziom {level}.",
}


def page_text(
    incident: Incident, step: Step, role: str, code: str, language: str, channel: str = "sms"
) -> str:
    lang = team_language(language)
    line = PAGE[lang].format(title=incident.playbook.title, role=role, step=step.title, code=code)
    if channel == "sms":
        return line
    return f"{line}\n\n{INCIDENT_LINE[lang].format(incident=incident.id, level=incident.level)}"


# -- approval requests ------------------------------------------------------------------------

APPROVE = {
    "en": '[warroom] To approve: "{statement}" v{version}. Reply APPROVE {code} or REJECT '
    "{code} reason.",
    "pl": '[warroom] Zatwierdź "{statement}" v{version}: ZATWIERDZAM {code} lub ODRZUCAM '
    "{code} powód.",
}
MORE = {
    "en": "({count} renderings in all.)",
    "pl": "(Wszystkich wersji: {count}.)",
}
LABELS = {
    "en": {"email": "e-mail", "sms": "SMS", "subject": "Subject"},
    "pl": {"email": "e-mail", "sms": "SMS", "subject": "Temat"},
}


@dataclass(frozen=True)
class Rendering:
    """One text an approver approves: for whom, on which channel, and the words."""

    audience: str
    language: str
    channel: str
    subject: str
    text: str


def renderings(incident: Incident, draft: Draft) -> list[Rendering]:
    """Every text a version would send: the e-mail (or the press) text of each audience and
    language, and the SMS wherever the audience is reached by SMS."""
    book = incident.playbook
    out = []
    for (audience, language), rendered in draft.texts.items():
        spec = book.audiences.get(audience)
        title = spec.title if spec else audience
        # what the release fills in (its time, the next update's) is shown as a slot
        subject, text = mark_at_release(rendered.subject), mark_at_release(rendered.text)
        out.append(Rendering(title, language, "email", subject, text))
        if spec is not None and "sms" in spec.channels:
            out.append(Rendering(title, language, "sms", "", mark_at_release(rendered.sms)))
    return out


def approval_text(
    incident: Incident, statement_id: str, draft: Draft, code: str, channel: str, language: str
) -> str:
    """By SMS: the question, then the first lines of the SMS rendering in the approver's
    language (the link to every rendering follows). By e-mail: every rendering, SMS too."""
    lang = team_language(language)
    spec = incident.playbook.statements[statement_id]
    head = APPROVE[lang].format(statement=spec.title, version=draft.version, code=code)
    texts = renderings(incident, draft)
    if channel == "sms":
        first = _first_for(texts, lang)
        more = MORE[lang].format(count=len(texts)) if len(texts) > 1 else ""
        body = " ".join(part for part in (first, more) if part)
        return fit(head, body, room=link_room(lang))
    labels = LABELS[lang]
    parts = [head, ""]
    for each in texts:
        where = f"--- {each.audience} ({each.language}), {labels[each.channel]}"
        if each.channel == "sms":
            where += f", {count_segments(each.text)}"
        parts += [where + " ---"]
        if each.subject:
            parts += [f"{labels['subject']}: {each.subject}"]
        parts += ["", each.text, ""]
    return "\n".join(parts).rstrip()


def _first_for(texts: Iterable[Rendering], language: str) -> str:
    """The first lines an SMS approver reads: an SMS rendering in their language if there is
    one, else any rendering in it, else the first of all."""
    ordered = sorted(texts, key=lambda t: (t.language != language, t.channel != "sms"))
    return " ".join(ordered[0].text.split()) if ordered else ""


# -- a rejection sent back, and reminders -----------------------------------------------------

REJECTED = {
    "en": '[warroom] "{statement}" v{version} was rejected by {name}: {reason}. Change the '
    "facts (warroom fact NAME=VALUE); the new version goes to the approvers.",
    "pl": '[warroom] "{statement}" v{version} odrzucone przez: {name}: {reason}. Zmień fakty '
    "(warroom fact NAZWA=WARTOŚĆ); nowa wersja trafi do zatwierdzających.",
}


def rejected_text(statement: str, version: int, name: str, reason: str, language: str) -> str:
    lang = team_language(language)
    template = REJECTED[lang]
    line = template.format(statement=statement, version=version, name=name, reason=reason)
    if count_segments(line).segments <= SMS_LIMIT:
        return line
    short = template.format(statement=statement, version=version, name=name, reason="{reason}")
    head, _, tail = short.partition("{reason}")
    return fit(head.rstrip(), reason + tail, limit=SMS_LIMIT).replace("\n", " ", 1)


INQUIRY = {
    "en": {
        "half": "[warroom] Media inquiry #{number} from {who}, due {due}: yours ({role}).",
        "overdue": "[warroom] Media inquiry #{number} from {who} is overdue since {due} ({role}).",
        "answer": "Answer: warroom inquiry answer {number} --with ...",
        "hint": "Suggested: {suggestion}.",
    },
    "pl": {
        "half": "[warroom] Pytanie mediów #{number} od {who}, termin {due}: Twoje ({role}).",
        "overdue": "[warroom] Pytanie mediów #{number} od {who} czeka po terminie {due} ({role}).",
        "answer": "Odpowiedź: warroom inquiry answer {number} --with ...",
        "hint": "Sugestia: {suggestion}.",
    },
}


def inquiry_text(
    kind: str,
    *,
    number: int,
    who: str,
    role: str,
    due: str,
    question: str,
    suggestion: str,
    language: str,
    channel: str,
) -> str:
    """Half an inquiry's time gone (`half`), or past its deadline (`overdue`): the one line,
    then the question, cut to fit an SMS; by e-mail, whole, with how to answer it."""
    words = INQUIRY[team_language(language)]
    head = words[kind].format(number=number, who=who, role=role, due=due)
    body = f'"{" ".join(question.split())}"'
    if channel == "sms":
        return fit(head, body)
    hint = [words["hint"].format(suggestion=suggestion)] if suggestion else []
    return "\n".join([head, body, "", *hint, words["answer"].format(number=number)])


# -- sizing, for validation -------------------------------------------------------------------


@dataclass(frozen=True)
class Oversize:
    """An engine text over the SMS limit: what it is, in which language, and its size."""

    what: str
    language: str
    text: str

    def __str__(self) -> str:
        return (
            f"the {self.what} in {self.language} needs {count_segments(self.text)} "
            f"(over {SMS_LIMIT}): shorten the title"
        )


def oversized(texts: Iterable[tuple[str, str, str]]) -> list[Oversize]:
    """Of (what, language, SMS text), those over the limit."""
    return [
        Oversize(what, lang, text)
        for what, lang, text in texts
        if count_segments(text).segments > SMS_LIMIT
    ]
