"""One decision in progress, and what every concern does with it: note, name, send, wake.

Handlers receive a `Ctx`: the incident, the playbook it snapshotted, the moment, and the
decision so far. The helpers here are the only way a handler produces effects, so every
message gets its idempotency key and every wake-up its token in the same way.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from warroom.engine.assignment import Recipient, audience_recipients, excluded_people
from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer, Timer, TimerKind
from warroom.engine.lifecycles import MessagePhase
from warroom.engine.state import About, Incident, MessageState, StatementState
from warroom.errors import CommandRejected
from warroom.playbook.model import Playbook, Statement, Step
from warroom.roster.model import Assignment, Contact, Person
from warroom.specs import one_of


@dataclass
class Decision:
    effects: list[Effect] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Ctx:
    def __init__(self, incident: Incident, now: datetime, decision: Decision) -> None:
        self.inc = incident
        self.book: Playbook = incident.playbook
        self.now = now
        self.out = decision
        self.paged_now: set[tuple[str, str]] = set()
        """(step, person) paged by this decision: one rung of a ladder pages nobody twice."""

    def note(self, text: str) -> None:
        self.out.notes.append(text)

    def name(self, person: str | None) -> str:
        if person is None:
            return "nobody"
        found = self.inc.roster.people.get(person)
        return found.name if found else person

    # -- what a command names, checked once ---------------------------------------------------

    def known_level(self, level: str) -> str:
        levels = [lvl.id for lvl in self.book.levels]
        if level not in levels:
            raise CommandRejected(
                f"unknown level {level!r} for {self.book.id} (expected one of: {', '.join(levels)})"
            )
        return level

    def known_statement(self, statement_id: str) -> tuple[StatementState, Statement]:
        if statement_id not in self.book.statements:
            raise CommandRejected(
                f"unknown statement {statement_id!r} (expected one of: "
                f"{one_of(self.book.statements)})"
            )
        return self.inc.statements[statement_id], self.book.statements[statement_id]

    def known_person(self, person_id: str) -> Person:
        person = self.inc.roster.people.get(person_id)
        if person is None:
            raise CommandRejected(f"unknown person {person_id!r} (not in this incident's roster)")
        return person

    # -- people and audiences -----------------------------------------------------------------

    def assignments(self) -> dict[str, Assignment]:
        """The roles as they stand now (after escalations and reassignments)."""
        return {
            role: Assignment(role, self.inc.roster.people.get(state.person or ""), (), ())
            for role, state in self.inc.roles.items()
        }

    def refresh_exclusions(self) -> None:
        """Keep everyone a role's `exclude` names (as the facts now render it) out of every
        audience and page, saying so once on the timeline for each person newly named."""
        named = excluded_people(self.book, self.inc.facts)
        addresses: set[str] = set()
        for person_id, roles in named.items():
            person = self.inc.roster.people.get(person_id)
            if person is None:
                continue
            found = {a for a in (person.phone, person.email) if a}
            if not found <= self.inc.excluded:
                titles = ", ".join(self.book.roles[r].title for r in roles)
                self.note(
                    f"{person.name} is excluded from every audience and page of this incident "
                    f"(excluded from {titles})"
                )
            addresses |= found
        self.inc.excluded = frozenset(addresses)

    def excluded(self, contact: Contact) -> bool:
        return bool(self.inc.excluded and {contact.phone, contact.email} & self.inc.excluded)

    def audience(self, audience_id: str, *, roles: bool = True) -> list[Recipient]:
        recipients = audience_recipients(
            self.book,
            self.inc.roster,
            audience_id,
            self.assignments(),
            self.now,
            self.inc.contact_lists.get(audience_id, ()),
        )
        if self.inc.excluded:
            recipients = [r for r in recipients if not self.excluded(r.contact)]
        if roles:
            return recipients
        role_people = {
            self.inc.holder(r) for r in self.book.audiences[audience_id].roles if self.inc.holder(r)
        }
        return [r for r in recipients if r.contact.person_id not in role_people]

    # -- messages -----------------------------------------------------------------------------

    def send(self, contact: Contact, channel: str, text: str, subject: str, about: About) -> str:
        """Queue one message, unless this content already went to this address on this
        channel; returns the new message's id, or "" when nothing was queued."""
        address = contact.phone if channel == "sms" else contact.email
        key = f"{self.inc.id}/{about.step}/{about.key_part}/{address}/{channel}"
        if not address or key in self.inc.keys or address in self.inc.excluded:
            return ""  # an excluded person's address: see `refresh_exclusions`
        self.inc.keys.add(key)
        language = about.language or contact.language or ""
        audience = self.book.audiences.get(about.audience or "")
        reply_to = audience.reply_to if audience and about.purpose == "statement" else ""
        message_id = f"{self.inc.id}-m{self.inc.next_number()}"
        self.inc.messages[message_id] = MessageState(
            message_id,
            MessagePhase.QUEUED.value,
            about.purpose,
            about.step,
            channel,
            contact.name,
            contact.person_id,
            about.code,
            about.statement,
            about.version,
            about.audience,
            contact=contact,
            key_part=about.key_part,
            language=language,
        )
        self.out.effects.append(
            SendMessage(
                message=message_id,
                key=key,
                purpose=about.purpose,
                step=about.step,
                channel=channel,
                address=address,
                recipient=contact.name,
                person=contact.person_id,
                text=text,
                subject=subject,
                language=language,
                statement=about.statement,
                version=about.version,
                audience=about.audience,
                code=about.code,
                reply_to=reply_to if channel == "email" else "",
            )
        )
        return message_id

    def notify(self, contact: Contact, step: str, text: str, subject: str, key_part: str) -> None:
        """A notice that needs no answer, on every channel the person has."""
        for channel in contact.channels():
            self.send(contact, channel, text, subject, About("notice", step, key_part))

    def code(self) -> str:
        """A short reply code (ACK 4821) unique within the incident: keyed by the incident's
        secret (drawn by the shell at activation), so nobody can work it out from the
        incident id, and replay gives the same code again."""
        used = {m.code for m in self.inc.messages.values() if m.code}
        key = self.inc.secret.encode()
        while True:
            n = self.inc.next_number()
            seed = f"{self.inc.id}:{n}".encode()
            if key:
                digest = hmac.new(key, seed, hashlib.sha256).digest()
            else:  # a log written before incidents had secrets replays with its own codes
                digest = hashlib.sha256(seed).digest()
            code = str(1000 + int.from_bytes(digest[:4], "big") % 9000)
            if code not in used:
                return code

    # -- wake-ups -----------------------------------------------------------------------------

    def start_timer(self, timer: Timer, at: datetime, purpose: str) -> None:
        """Arm (or re-arm) a wake-up; its token is new, so any older wake-up is stale."""
        token = self.inc.next_number()
        self.inc.timers[timer] = token
        self.out.effects.append(StartTimer(timer, token, at, purpose))

    def cancel_timer(self, timer: Timer) -> None:
        if self.inc.timers.pop(timer, None) is not None:
            self.out.effects.append(CancelTimer(timer))

    def arm_due(self, step: Step) -> None:
        if step.due is not None and self.inc.started_at is not None:
            at = max(self.inc.started_at + step.due, self.now)
            self.start_timer(Timer(TimerKind.DUE, step.id), at, "SLA")
