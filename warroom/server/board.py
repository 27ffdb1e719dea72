"""The war-room board: one incident as the people in the room need to see it, in their
language and time zone. Built from the same state and log as `status` and the read API.

What it leaves out is part of the design: reply codes (they make an SMS count), the phone
numbers and addresses of contact lists (only counts), and a named person's contact details
unless the viewer holds the API token.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from warroom.durations import format_duration
from warroom.engine import lifecycles as lc
from warroom.engine.levels import speaking_level
from warroom.engine.media import desk_order
from warroom.engine.outlook import next_rungs
from warroom.engine.state import Incident
from warroom.playbook.facts import to_fill_in
from warroom.store.port import OutboxRow, StoredEvent

TIMELINE_LINES = 50
DELIVERY_STATES = (
    "queued",
    "sending",
    "unknown",
    "reconciling",
    "sent",
    "delivered",
    "printed",
    "withheld",
    "failed",
    "undeliverable",
)
"""In the order a message moves, so every bar reads left to right the same way."""

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "exercise": "EXERCISE EXERCISE EXERCISE: this is a drill",
        "level": "Level",
        "proposed": "proposed, awaiting confirmation",
        "state": "State",
        "started": "Started",
        "ago": "ago",
        "roles": "Roles",
        "role": "Role",
        "holder": "Held by",
        "acknowledged": "Acknowledged",
        "not_yet": "not yet",
        "next": "If nobody answers",
        "moves_to": "moves to",
        "pages": "pages",
        "raises_to": "proposes raising the level to",
        "repeats": "pages again",
        "steps": "Steps",
        "step": "Step",
        "sla": "SLA",
        "due": "due",
        "statements": "Statements",
        "version": "version",
        "approved_by": "approved by",
        "awaiting": "awaiting",
        "released_to": "released to",
        "not_released": "not released yet",
        "delivery": "Delivery",
        "inquiries": "Media inquiries",
        "no_inquiries": "none",
        "answer_by": "answer by",
        "open": "open",
        "answered": "answered",
        "declined": "declined",
        "referred": "referred",
        "facts": "Facts",
        "to_fill": "to fill in",
        "timeline": "Latest",
        "nobody": "nobody",
        "connection_lost": "Connection lost, last update at",
        "live": "live",
        "pages_label": "Pages and approval requests",
    },
    "pl": {
        "exercise": "ĆWICZENIA ĆWICZENIA ĆWICZENIA: to jest ćwiczenie",
        "level": "Poziom",
        "proposed": "proponowany, czeka na potwierdzenie",
        "state": "Stan",
        "started": "Początek",
        "ago": "temu",
        "roles": "Role",
        "role": "Rola",
        "holder": "Pełni",
        "acknowledged": "Potwierdzono",
        "not_yet": "jeszcze nie",
        "next": "Jeśli nikt nie odpowie",
        "moves_to": "przechodzi do",
        "pages": "powiadamia",
        "raises_to": "proponuje podniesienie poziomu do",
        "repeats": "powiadamia ponownie",
        "steps": "Kroki",
        "step": "Krok",
        "sla": "Termin",
        "due": "do",
        "statements": "Komunikaty",
        "version": "wersja",
        "approved_by": "zatwierdzili",
        "awaiting": "czeka na",
        "released_to": "wysłano do",
        "not_released": "jeszcze nie wysłano",
        "delivery": "Doręczenia",
        "inquiries": "Pytania mediów",
        "no_inquiries": "brak",
        "answer_by": "odpowiedź do",
        "open": "otwarte",
        "answered": "odpowiedziano",
        "declined": "odmówiono",
        "referred": "przekazano",
        "facts": "Fakty",
        "to_fill": "do uzupełnienia",
        "timeline": "Ostatnie zdarzenia",
        "nobody": "nikt",
        "connection_lost": "Utracono połączenie, ostatnia aktualizacja o",
        "live": "na żywo",
        "pages_label": "Powiadomienia i prośby o zatwierdzenie",
    },
}


def language(accept: str | None) -> str:
    """The first of en/pl the browser asks for (`Accept-Language: pl-PL,pl;q=0.9,en;q=0.8`)."""
    ranked = []
    for part in (accept or "").split(","):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            quality = 0.0
        ranked.append((quality, tag.split("-")[0].lower()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag in WORDS:
            return tag
    return "en"


@dataclass(frozen=True)
class Moment:
    """A time as the room reads it (playbook zone), with UTC for whoever hovers."""

    local: str
    utc: str
    iso: str


@dataclass(frozen=True)
class RoleLine:
    title: str
    holder: str
    contact: str
    acknowledged: Moment | None
    next_at: Moment | None
    next_what: str


@dataclass(frozen=True)
class StepLine:
    title: str
    state: str
    due: Moment | None
    outcome: str


@dataclass(frozen=True)
class InquiryLine:
    """One journalist's question: open ones carry their deadline and count down to it."""

    at: Moment
    text: str
    status: str
    deadline: Moment | None
    owner: str
    outcome: str = ""


@dataclass(frozen=True)
class StatementLine:
    title: str
    version: int
    approved: list[str]
    awaiting: list[str]
    released: list[str]


@dataclass(frozen=True)
class DeliveryLine:
    audience: str
    counts: list[tuple[str, int]]
    total: int


@dataclass
class Board:
    incident: str
    title: str
    exercise: bool
    level: str
    proposed_level: str
    state: str
    started: Moment | None
    age: str
    roles: list[RoleLine] = field(default_factory=list)
    steps: list[StepLine] = field(default_factory=list)
    statements: list[StatementLine] = field(default_factory=list)
    delivery: list[DeliveryLine] = field(default_factory=list)
    inquiries: list[InquiryLine] = field(default_factory=list)
    facts: list[tuple[str, str, bool]] = field(default_factory=list)
    timeline: list[tuple[Moment, str]] = field(default_factory=list)
    last_n: int = 0
    now: str = ""
    """The server's clock (ISO): countdowns count from it, not from the viewer's clock."""


def build(
    incident: Incident,
    outbox: list[OutboxRow],
    events: list[StoredEvent],
    now: datetime,
    words: dict[str, str],
    *,
    privileged: bool = False,
) -> Board:
    book = incident.playbook
    zone = ZoneInfo(book.timezone)

    def moment(at: datetime) -> Moment:
        return Moment(
            f"{at.astimezone(zone):%H:%M}",
            f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            at.astimezone(UTC).isoformat(),
        )

    def name(person: str | None) -> str:
        found = incident.roster.people.get(person or "")
        return found.name if found else words["nobody"]

    levels = {level.id: level.title for level in book.levels}
    started = incident.started_at
    board = Board(
        incident=incident.id,
        title=book.title,
        exercise=incident.exercise,
        # the level the organisation speaks at, and beside it the one a rung only proposed
        level=levels.get(speaking_level(incident), speaking_level(incident)),
        proposed_level=levels.get(incident.proposed_level, incident.proposed_level),
        state=incident.state,
        started=moment(started) if started else None,
        age=format_duration(now - started) if started and now > started else "0m",
        last_n=events[-1].n if events else 0,
        now=now.astimezone(UTC).isoformat(),
    )
    ahead = {rung.step: rung for rung in next_rungs(incident, now)}
    for role_id, role in incident.roles.items():
        person = incident.roster.people.get(role.person or "")
        contact = ""
        if privileged and person is not None:
            contact = " · ".join(c for c in (person.phone, person.email) if c)
        next_at: Moment | None = None
        what = ""
        if role.acked_at is None:
            for step in book.steps:
                rung = ahead.get(step.id)
                roles_paged = {r for a in step.page for r in book.audiences[a].roles}
                if rung is None or role_id not in roles_paged:
                    continue
                next_at = moment(rung.at)
                parts = []
                if role_id in rung.moves:
                    parts.append(f"{words['moves_to']} {rung.moves[role_id]}")
                if rung.pages:
                    parts.append(f"{words['pages']} {', '.join(rung.pages)}")
                if rung.raises_to:
                    parts.append(f"{words['raises_to']} {levels.get(rung.raises_to)}")
                if rung.repeats:
                    parts.append(words["repeats"])
                what = "; ".join(parts)
                break
        board.roles.append(
            RoleLine(
                title=book.roles[role_id].title,
                holder=name(role.person),
                contact=contact,
                acknowledged=moment(role.acked_at) if role.acked_at else None,
                next_at=next_at,
                next_what=what,
            )
        )
    for step in book.steps:
        state = incident.steps[step.id]
        if lc.dormant(state):
            continue
        due = started + step.due if started and step.due else None
        board.steps.append(
            StepLine(
                title=step.title,
                state=state.state.replace("_", " "),
                due=moment(due) if due and not state.due_outcome else None,
                outcome=state.due_outcome or "",
            )
        )
    audiences = {aid: a.title or aid for aid, a in book.audiences.items()}
    for statement_id, statement in incident.statements.items():
        spec = book.statements[statement_id]
        draft = statement.draft
        if spec.media and draft is None:
            continue  # a Q&A entry nobody has asked for yet
        approved = []
        awaiting = []
        if draft is not None and draft.requested:
            for approver in spec.approvers:
                title = book.roles[approver].title
                if approver in draft.approvals:
                    approved.append(f"{title}: {name(draft.approvals[approver])}")
                else:
                    awaiting.append(f"{title}: {name(incident.holder(approver))}")
        released = sorted(
            {
                f"{audiences.get(r.audience, r.audience)} (v{r.version}, {moment(r.at).local})"
                for r in statement.releases
            }
        )
        board.statements.append(
            StatementLine(spec.title, statement.version, approved, awaiting, released)
        )
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for row in outbox:
        audience = row.message.audience
        label = audiences.get(audience, audience) if audience else words["pages_label"]
        per[label][row.state] += 1
    for label, counts in per.items():
        ordered = [(s, counts[s]) for s in DELIVERY_STATES if counts[s]]
        ordered += [(s, n) for s, n in sorted(counts.items()) if s not in DELIVERY_STATES]
        board.delivery.append(DeliveryLine(label, ordered, sum(counts.values())))
    for inquiry in desk_order(incident.inquiries):  # open first, nearest deadline first
        who = f"{inquiry.outlet}" + (f" ({inquiry.journalist})" if inquiry.journalist else "")
        board.inquiries.append(
            InquiryLine(
                moment(inquiry.at),
                f"#{inquiry.number} {who}: {inquiry.question}",
                inquiry.status,
                moment(inquiry.deadline) if inquiry.open and inquiry.deadline else None,
                name(incident.holder(inquiry.owner)) if inquiry.owner else "",
                inquiry.answer or inquiry.reason,
            )
        )
    missing = to_fill_in(incident.facts)
    for fact, value in sorted(incident.facts.items()):
        board.facts.append((fact, value, fact in missing))
    hide = redactor(incident)
    lines: list[tuple[Moment, str]] = []
    for stored in events:
        if stored.event.kind == "delivery-reported":
            continue  # the bars show them
        for note in stored.notes:
            lines.append((moment(stored.at), hide.sub("····", note) if hide else note))
    board.timeline = lines[-TIMELINE_LINES:][::-1]
    return board


def redactor(incident: Incident) -> re.Pattern[str] | None:
    """Reply codes make an SMS count: never shown outside the messages that carry them."""
    codes = sorted({m.code for m in incident.messages.values() if m.code}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, codes)) + r")\b") if codes else None
