"""`decide(incident, event, now)`: the whole behaviour of an incident, with no I/O.

Given the same events at the same moments it makes the same decisions, which is what lets an
exercise run days in milliseconds with the code that runs live, and lets any incident be
replayed from its log. Commands that make no sense raise `CommandRejected` *before* anything
is changed, so the shell writes nothing for them.

Every decision says why in `Decision.notes`; the timeline is those notes in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warroom.durations import format_duration as _span
from warroom.engine import lifecycles as lc
from warroom.engine.assignment import (
    Recipient,
    assign_roles,
    audience_recipients,
    role_candidates,
)
from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer
from warroom.engine.events import (
    Acknowledged,
    Activated,
    Approved,
    Cancelled,
    Closed,
    CorrectionIssued,
    DeliveryReported,
    EscalationRequested,
    Event,
    FactUpdated,
    LevelLowered,
    LevelRaised,
    MediaInquiryLogged,
    NoteAdded,
    Reassigned,
    Rejected,
    Resolved,
    TimerFired,
)
from warroom.engine.render import approval_text, draft_statement, page_text
from warroom.engine.state import (
    Draft,
    Incident,
    Inquiry,
    MessageState,
    Release,
    RoleState,
    StatementState,
    StepState,
)
from warroom.errors import CommandRejected
from warroom.playbook.model import Action, Escalation, Playbook, Step
from warroom.roster.model import Assignment, Contact, Roster
from warroom.specs import one_of

STAFF_FIRST_HOLD = timedelta(minutes=10)
"""How long the next audience waits for the previous one's messages before it goes anyway:
staff should hear first, but an SMS outage must not hold the press statement forever."""


@dataclass
class Decision:
    effects: list[Effect] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def new_incident(incident_id: str, playbook: Playbook, roster: Roster) -> Incident:
    """An incident not yet activated, holding its snapshot of the playbook and roster."""
    return Incident(id=incident_id, playbook=playbook, roster=roster)


def decide(incident: Incident, event: Event, now: datetime) -> Decision:
    """Apply one event to `incident` (in place) and return what the shell must do and why."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise CommandRejected(f"the engine does not know the event {event.kind!r}")
    always = isinstance(event, Activated | TimerFired | DeliveryReported)
    after_resolution = isinstance(event, Closed | NoteAdded) and incident.state == "resolved"
    if not (always or after_resolution or incident.open):
        raise CommandRejected(f"incident {incident.id} is {incident.state}")
    decision = Decision()
    _Run(incident, now, decision).handle(handler, event)
    return decision


class _Run:
    """One decision in progress: the incident, the moment, and what has been decided so far."""

    def __init__(self, incident: Incident, now: datetime, decision: Decision) -> None:
        self.inc = incident
        self.book = incident.playbook
        self.now = now
        self.out = decision

    def handle(self, handler: Callable[[_Run, Event], None], event: Event) -> None:
        handler(self, event)

    def note(self, text: str) -> None:
        self.out.notes.append(text)

    def name(self, person: str | None) -> str:
        if person is None:
            return "nobody"
        found = self.inc.roster.people.get(person)
        return found.name if found else person

    # -- activation ---------------------------------------------------------------------------

    def activated(self, event: Activated) -> None:
        inc, book = self.inc, self.book
        if inc.state != "new":
            raise CommandRejected(f"incident {inc.id} is already {inc.state}")
        if event.level not in {lvl.id for lvl in book.levels}:
            raise CommandRejected(
                f"unknown level {event.level!r} for {book.id} "
                f"(expected one of: {', '.join(lvl.id for lvl in book.levels)})"
            )
        facts = self.checked_facts(event.facts, activation=True)
        lc.fire(lc.INCIDENT, "activate", inc, f"incident {inc.id}")
        inc.level, inc.facts, inc.started_at = event.level, facts, self.now
        inc.exercise, inc.participants = event.exercise, tuple(event.participants)
        kind = "Exercise" if event.exercise else "Incident"
        self.note(
            f"{kind} {inc.id} activated from playbook {book.id} v{book.version} at level "
            f"{event.level} by {event.by or 'unknown'}"
        )
        for role, assignment in assign_roles(
            book, inc.roster, self.now, event.level, facts
        ).items():
            person = assignment.person.id if assignment.person else None
            inc.roles[role] = RoleState(role, person, [person] if person else [])
            self.note(f"{book.roles[role].title}: {assignment.explanation}")
        for sid in book.statements:
            inc.statements[sid] = StatementState(sid)
        for step in book.steps:
            applies = book.applies(step.from_level, event.level)
            inc.steps[step.id] = StepState(step.id, "waiting" if applies else "dormant")
            if applies:
                self.arm_due(step)
        self.advance()

    def checked_facts(self, given: dict[str, str], *, activation: bool) -> dict[str, str]:
        """Facts with defaults applied; every problem is a rejection naming fact and value."""
        book = self.book
        for name, value in given.items():
            if name not in book.facts:
                raise CommandRejected(
                    f"unknown fact {name!r} for {book.id} (expected one of: {one_of(book.facts)})"
                )
            fact = book.facts[name]
            if fact.max_length is not None and len(value) > fact.max_length:
                raise CommandRejected(
                    f"fact {name}: {len(value)} characters, over max_length {fact.max_length}"
                )
            if fact.kind == "person" and value and value not in self.inc.roster.people:
                raise CommandRejected(
                    f"fact {name}: {value!r} is not a person in the roster (expected a person id)"
                )
            if fact.kind == "number" and value and not value.replace(".", "", 1).isdigit():
                raise CommandRejected(f"fact {name}: {value!r} is not a number")
        facts = dict(self.inc.facts)
        if activation:
            facts = {n: f.default for n, f in book.facts.items() if f.default is not None}
            missing = [
                n
                for n, f in book.facts.items()
                if f.required and f.default is None and n not in given
            ]
            if missing:
                raise CommandRejected(
                    "missing required facts: "
                    + ", ".join(missing)
                    + " (give them as --fact NAME=VALUE)"
                )
        facts.update(given)
        return facts

    # -- moving steps forward -----------------------------------------------------------------

    def advance(self) -> None:
        """Start every step whose dependencies are done; repeat until nothing moves."""
        if not self.inc.open:
            return
        moved = True
        while moved:
            moved = False
            for step in self.book.steps:
                state = self.inc.steps[step.id]
                if state.state == "waiting" and all(
                    self.inc.steps[d].state in ("done", "skipped") for d in step.after
                ):
                    lc.fire(lc.STEP, "ready", state, f"step {step.id}")
                    state.started_at = self.now
                    moved = True
                if state.state == "ready" and self.start(step, state):
                    moved = True

    def start(self, step: Step, state: StepState) -> bool:
        if step.action is Action.PAGE:
            self.page_step(step, state)
            return True
        statement = self.inc.statements[step.statement or ""]
        spec = self.book.statements[statement.id]
        if step.action is Action.APPROVE:
            self.ensure_draft(statement, step)
            lc.fire(lc.STEP, "request_approval", state, f"step {step.id}")
            self.request_approvals(statement, step)
            if statement.approved(spec.approvers):
                self.approval_complete(statement)
            return True
        # SEND: a version this step has not sent, approved where the statement needs it
        self.ensure_draft(statement, step)
        if spec.approvers and not statement.approved(spec.approvers):
            draft = statement.draft
            if draft is not None and not draft.requested and not draft.rejections:
                self.note(f"{step.title}: waits for approval of {spec.title}")
                self.request_approvals(statement, step)
            return False
        self.release(step, state)
        return True

    def finish(self, step: Step, state: StepState, trigger: str | None = None) -> None:
        if trigger:
            lc.fire(lc.STEP, trigger, state, f"step {step.id}")
        lc.fire(lc.STEP, "finish", state, f"step {step.id}")
        state.finished_at = self.now
        self.cancel_timer(f"esc:{step.id}")
        if step.due is not None and self.inc.started_at is not None:
            deadline = self.inc.started_at + step.due
            outcome = "met" if self.now <= deadline else "breached"
            if state.due_outcome != "breached":
                state.due_outcome = outcome
            self.note(
                f"{step.title}: done {_span(self.now - self.inc.started_at)} after activation; "
                f"SLA {_span(step.due)} {outcome}"
            )
            self.cancel_timer(f"due:{step.id}")
        else:
            self.note(f"{step.title}: done")
        if step.every is not None:
            self.start_timer(f"every:{step.id}", self.now + step.every, "next update")

    # -- paging -------------------------------------------------------------------------------

    def page_step(self, step: Step, state: StepState) -> None:
        lc.fire(lc.STEP, "page", state, f"step {step.id}")
        state.page_round += 1
        paged = 0
        for audience in step.page:
            for role in self.book.audiences[audience].roles:
                person = self.inc.holder(role)
                if person is None:
                    self.note(f"{step.title}: nobody holds {role} to page")
                    continue
                state.paged[person] = role
                paged += self.page(step, state, self.inc.roster.person(person).contact(), role)
            for recipient in self.audience(audience, roles=False):
                key = recipient.contact.person_id or _address(recipient.contact)
                state.paged.setdefault(key, None)
                paged += self.page(step, state, recipient.contact, None, recipient.channels)
        if not paged:
            self.note(f"{step.title}: nobody could be paged; escalation will go on")
        if step.escalations:
            first = step.escalations[0]
            self.start_timer(f"esc:{step.id}", self.now + first.after, "escalation")

    def page(
        self,
        step: Step,
        state: StepState,
        contact: Contact,
        role: str | None,
        channels: Iterable[str] | None = None,
    ) -> int:
        """Page one person on each channel they have; returns how many messages went out."""
        code = self.code()
        role_title = self.book.roles[role].title if role else "escalation contact"
        if contact.person_id:
            state.acked.pop(contact.person_id, None)  # a new page needs its own answer
        sent = 0
        for channel in channels or contact.channels():
            text = page_text(self.inc, step, role_title, code, contact.language or "en")
            sent += self.send(
                purpose="page",
                step=step.id,
                contact=contact,
                channel=channel,
                text=text,
                subject=f"[warroom] {self.book.title}: {step.title}",
                key_part=f"page{state.page_round}-{code}",
                code=code,
            )
        if sent:
            who = contact.name + (f" ({role_title})" if role else "")
            self.note(f"{step.title}: paged {who}, code {code}")
        return sent

    def audience(self, audience_id: str, *, roles: bool = True) -> list[Recipient]:
        assignments = self.assignments()
        recipients = audience_recipients(
            self.book, self.inc.roster, audience_id, assignments, self.now
        )
        if roles:
            return recipients
        role_people = {
            self.inc.holder(r) for r in self.book.audiences[audience_id].roles if self.inc.holder(r)
        }
        return [r for r in recipients if r.contact.person_id not in role_people]

    def assignments(self) -> dict[str, Assignment]:
        """The roles as they stand now (after escalations and reassignments)."""
        return {
            role: Assignment(role, self.inc.roster.people.get(state.person or ""), (), ())
            for role, state in self.inc.roles.items()
        }

    def acknowledged(self, event: Acknowledged) -> None:
        step_id = self.locate_page(event.person, event.step, event.code)
        step, state = self.book.step(step_id), self.inc.steps[step_id]
        state.acked[event.person] = self.now
        held = [r for r in self.paged_roles(step) if self.inc.holder(r) == event.person]
        took = f" ({', '.join(self.book.roles[r].title for r in held)})" if held else ""
        self.note(f"{step.title}: {self.name(event.person)}{took} acknowledged")
        for role in held:
            self.inc.roles[role].acked_at = self.now
        if self.page_complete(step, state, event.person):
            if step.ack_within and state.started_at is not None:
                waited = self.now - state.started_at
                verdict = "met" if waited <= step.ack_within else "missed"
                self.note(
                    f"{step.title}: acknowledged after {_span(waited)} "
                    f"(ack within {_span(step.ack_within)} {verdict}); paging stops"
                )
            self.finish(step, state, "acknowledge")
            self.advance()
        else:
            waiting = self.unacknowledged_roles(step, state)
            if waiting:
                titles = ", ".join(self.book.roles[r].title for r in waiting)
                self.note(f"{step.title}: still waiting for {titles}")

    def locate_page(self, person: str, step_id: str | None, code: str | None) -> str:
        """Which open page an acknowledgement answers; ambiguity is refused, not guessed."""
        if person not in self.inc.roster.people and not any(
            person in s.paged for s in self.inc.steps.values()
        ):
            raise CommandRejected(f"unknown person {person!r} (not in this incident's roster)")
        if code is not None:
            message = next(
                (m for m in self.inc.messages.values() if m.code == code and m.purpose == "page"),
                None,
            )
            if message is None or message.person != person:
                raise CommandRejected(f"code {code!r} was not sent to {self.name(person)}")
            step_id = message.step
        open_pages = [
            sid
            for sid, s in self.inc.steps.items()
            if s.state in ("paged", "escalated") and person in s.paged and person not in s.acked
        ]
        if step_id is not None:
            if step_id not in self.inc.steps:
                raise CommandRejected(
                    f"unknown step {step_id!r} (expected one of: {one_of(self.inc.steps)})"
                )
            if step_id not in open_pages:
                raise CommandRejected(
                    f"{self.name(person)} has no open page for step {step_id!r}"
                    + (f" (open: {', '.join(open_pages)})" if open_pages else "")
                )
            return step_id
        if not open_pages:
            raise CommandRejected(f"{self.name(person)} was not paged, or has already acknowledged")
        if len(open_pages) > 1:
            raise CommandRejected(
                f"{self.name(person)} has open pages for {', '.join(open_pages)}; say which "
                "(--step, or the code from the page)"
            )
        return open_pages[0]

    def paged_roles(self, step: Step) -> list[str]:
        return [r for a in step.page for r in self.book.audiences[a].roles]

    def unacknowledged_roles(self, step: Step, state: StepState) -> list[str]:
        return [r for r in self.paged_roles(step) if self.inc.roles[r].acked_at is None]

    def page_complete(self, step: Step, state: StepState, latest: str) -> bool:
        """Acknowledged when every paged role has answered and, if the page also went to
        groups or people, one of them has; an escalation target answering takes it over."""
        if latest in state.targets:
            return True
        if self.unacknowledged_roles(step, state):
            return False
        others = [p for p, r in state.paged.items() if r is None and p not in state.targets]
        return not others or any(p in state.acked for p in others)

    # -- escalation ---------------------------------------------------------------------------

    def timer_fired(self, event: TimerFired) -> None:
        if self.inc.timers.get(event.timer) != event.token or not self.inc.open:
            self.note(f"wake-up {event.timer} #{event.token} is stale; ignored")
            return
        del self.inc.timers[event.timer]
        kind, _, step_id = event.timer.partition(":")
        step, state = self.book.step(step_id), self.inc.steps[step_id]
        if kind == "esc":
            if state.state in ("paged", "escalated"):
                self.escalate(step, state)
        elif kind == "due":
            if state.state not in lc.STEP_FINISHED and state.due_outcome is None:
                state.due_outcome = "breached"
                self.note(f"{step.title}: SLA {_span(step.due or timedelta())} breached")
        elif kind == "every":
            if state.state == "done":
                lc.fire(lc.STEP, "recur", state, f"step {step.id}")
                state.occurrence += 1
                state.audiences_released = 0
                self.note(f"{step.title}: update {state.occurrence + 1} is due")
                self.advance()
        elif kind == "release" and state.state == "released":
            self.note(f"{step.title}: next audience goes after {_span(STAFF_FIRST_HOLD)}")
            state.pending.clear()
            self.release_next(step, state)
            self.advance()

    def escalation_requested(self, event: EscalationRequested) -> None:
        open_steps = [
            s for s in self.book.steps if self.inc.steps[s.id].state in ("paged", "escalated")
        ]
        if event.step is not None:
            chosen = [s for s in open_steps if s.id == event.step]
            if not chosen:
                raise CommandRejected(
                    f"step {event.step!r} is not waiting for acknowledgement "
                    f"(waiting: {', '.join(s.id for s in open_steps) or 'none'})"
                )
        else:
            chosen = open_steps[:1]
        if not chosen or not chosen[0].escalations:
            raise CommandRejected(
                "no step with an escalation ladder is waiting for acknowledgement"
            )
        step = chosen[0]
        self.note(f"{step.title}: escalated by hand by {event.by or 'unknown'}")
        self.escalate(step, self.inc.steps[step.id])

    def escalate(self, step: Step, state: StepState) -> None:
        """Climb one rung of the ladder; past the last rung, a `repeat` keeps re-paging."""
        last = len(step.escalations) - 1
        if state.state == "paged":
            lc.fire(lc.STEP, "escalate", state, f"step {step.id}")
        if state.rung > last:
            self.repage(step, state)
            self.arm_repeat(step, state)
            return
        rung = step.escalations[state.rung]
        if rung.next_candidate:
            self.next_candidates(step, state)
        if rung.page:
            self.page_targets(step, state, rung)
        if rung.repeat is not None:
            self.repage(step, state)
        if rung.raise_level is not None:
            self.raise_level(rung.raise_level, f"{step.title} not acknowledged")
        state.rung += 1
        if state.rung <= last:
            # counted from the page, not from this wake-up: a worker that was down for a while
            # catches up on the ladder instead of pushing every later rung back
            paged_at = state.started_at or self.now
            following = step.escalations[state.rung]
            self.start_timer(f"esc:{step.id}", paged_at + following.after, "escalation")
        elif rung.repeat is not None:
            self.arm_repeat(step, state)

    def arm_repeat(self, step: Step, state: StepState) -> None:
        """The next repeat on the ladder's own beat (page time + after + k * repeat), and
        never in the past: a worker back after an hour re-pages once, not six times."""
        rung = step.escalations[-1]
        if rung.repeat is None:
            return
        base = (state.started_at or self.now) + rung.after
        slots = (self.now - base) // rung.repeat + 1
        self.start_timer(f"esc:{step.id}", base + slots * rung.repeat, "repeat page")

    def next_candidates(self, step: Step, state: StepState) -> None:
        for role in self.unacknowledged_roles(step, state):
            holder = self.inc.roles[role]
            silent = self.name(holder.person)
            candidates = role_candidates(
                self.book, self.inc.roster, role, self.now, self.inc.level, self.inc.facts
            )
            taken = {s.person for r, s in self.inc.roles.items() if r != role}
            following = [c for c in candidates if c.eligible and c.person.id not in holder.tried]
            fresh = [c for c in following if c.person.id not in taken] or following
            if not fresh:
                self.note(f"{step.title}: no further candidate for {role}; {silent} still paged")
                continue
            chosen = fresh[0]
            holder.person = chosen.person.id
            holder.tried.append(chosen.person.id)
            state.paged[chosen.person.id] = role
            rank = candidates.index(chosen) + 1
            self.note(
                f"{self.book.roles[role].title}: {silent} did not acknowledge; moves to "
                f"{chosen.person.name} (candidate {rank}, {chosen.selector})"
            )
            self.page(step, state, chosen.person.contact(), role)

    def page_targets(self, step: Step, state: StepState, rung: Escalation) -> None:
        selectors = []
        for selector in rung.page:
            if selector.startswith("role:"):
                holder = self.inc.holder(selector[5:])
                if holder:
                    selectors.append(holder)
            else:
                selectors.append(selector)
        for candidate in self.inc.roster.candidates(selectors, self.now):
            if not candidate.eligible:
                self.note(
                    f"{step.title}: not paging {candidate.person.name}: "
                    + ", ".join(candidate.problems)
                )
                continue
            if candidate.person.id not in state.paged:
                state.paged[candidate.person.id] = None
            if candidate.person.id not in state.targets:
                state.targets.append(candidate.person.id)
            self.page(step, state, candidate.person.contact(), None)

    def repage(self, step: Step, state: StepState) -> None:
        state.page_round += 1
        waiting = [p for p in state.paged if p not in state.acked]
        current = {self.inc.holder(r) for r in self.paged_roles(step)}
        for person in waiting:
            role = state.paged[person]
            if role is not None and person not in current:
                continue  # replaced by the next candidate; they are not chased any more
            found = self.inc.roster.people.get(person)
            if found is not None:
                self.page(step, state, found.contact(), role)

    # -- levels -------------------------------------------------------------------------------

    def level_raised(self, event: LevelRaised) -> None:
        self.check_level(event.level)
        if self.book.rank(event.level) <= self.book.rank(self.inc.level):
            raise CommandRejected(
                f"level {event.level!r} is not above the current level {self.inc.level!r}"
            )
        self.raise_level(event.level, event.reason or f"raised by {event.by or 'unknown'}")

    def raise_level(self, level: str, reason: str) -> None:
        if self.book.rank(level) <= self.book.rank(self.inc.level):
            return
        previous, self.inc.level = self.inc.level, level
        self.note(f"Level raised from {previous} to {level} ({reason})")
        self.take_over_tiers(previous, level)
        for step in self.book.steps:
            state = self.inc.steps[step.id]
            if state.state == "dormant" and self.book.applies(step.from_level, level):
                lc.fire(lc.STEP, "wake", state, f"step {step.id}")
                self.note(f"{step.title}: now part of the incident (from level {step.from_level})")
                self.arm_due(step)
        self.advance()

    def take_over_tiers(self, previous: str, level: str) -> None:
        """A tier that starts at the new level (the CEO speaks at crisis) takes the role over,
        if its first choice can; the person replaced is told on the timeline, not dropped."""
        book = self.book
        for role_id, role in book.roles.items():
            fresh = [
                t
                for t in role.tiers
                if t.from_level
                and book.rank(previous) < book.rank(t.from_level) <= book.rank(level)
            ]
            if not fresh:
                continue
            holder = self.inc.roles[role_id]
            candidates = role_candidates(
                book, self.inc.roster, role_id, self.now, level, self.inc.facts
            )
            tier_people = {p for t in fresh for p in t.pick}
            chosen = next((c for c in candidates if c.eligible and c.selector in tier_people), None)
            if chosen is None or chosen.person.id == holder.person:
                continue
            self.note(
                f"{role.title}: at level {level}, {chosen.person.name} takes over from "
                f"{self.name(holder.person)} ({chosen.selector})"
            )
            holder.person, holder.acked_at = chosen.person.id, None
            holder.tried.append(chosen.person.id)
            if not self.page_new_holder(role_id, chosen.person.id):
                self.tell_new_holder(role_id, chosen.person.id, level)

    def page_new_holder(self, role_id: str, person_id: str) -> bool:
        """Whoever takes a role over is paged by every step still waiting on that role;
        returns whether any step did."""
        person = self.inc.roster.person(person_id)
        paged = False
        for step in self.book.steps:
            state = self.inc.steps[step.id]
            if state.state in ("paged", "escalated") and role_id in self.paged_roles(step):
                state.paged[person_id] = role_id
                self.page(step, state, person.contact(), role_id)
                paged = True
        return paged

    def tell_new_holder(self, role_id: str, person_id: str, level: str) -> None:
        """No step is paging for the role any more: the new holder is told, not left unaware."""
        contact = self.inc.roster.person(person_id).contact()
        title = self.book.roles[role_id].title
        text = (
            f"[warroom] {self.book.title}, incident {self.inc.id}, now at level {level}: "
            f"you are the {title}. `warroom status` shows where things stand."
        )
        key = f"takeover-{role_id}-{level}"
        self.notify(contact, f"role:{role_id}", text, f"[warroom] You are now {title}", key)

    def notify(self, contact: Contact, step: str, text: str, subject: str, key_part: str) -> None:
        """A notice that needs no answer, on every channel the person has."""
        for channel in contact.channels():
            self.send(
                purpose="notice",
                step=step,
                contact=contact,
                channel=channel,
                text=text,
                subject=subject,
                key_part=key_part,
            )

    def level_lowered(self, event: LevelLowered) -> None:
        self.check_level(event.level)
        if self.book.rank(event.level) >= self.book.rank(self.inc.level):
            raise CommandRejected(
                f"level {event.level!r} is not below the current level {self.inc.level!r}"
            )
        previous, self.inc.level = self.inc.level, event.level
        self.note(
            f"Level lowered from {previous} to {event.level} "
            f"({event.reason or 'by ' + (event.by or 'unknown')}); nothing sent is withdrawn"
        )

    def check_level(self, level: str) -> None:
        levels = [lvl.id for lvl in self.book.levels]
        if level not in levels:
            raise CommandRejected(
                f"unknown level {level!r} for {self.book.id} (expected one of: {', '.join(levels)})"
            )

    # -- statements ---------------------------------------------------------------------------

    def ensure_draft(self, statement: StatementState, step: Step) -> None:
        """Render a new version unless one is in hand that this step may still use.

        An approve step needs a version not released anywhere; a send step one it has not
        sent itself, so two send steps can release one approved version to their audiences,
        while a recurring update renders (and is approved) afresh each time.
        """
        if step.action is Action.APPROVE:
            used = {r.version for r in statement.releases}
        else:
            used = set(self.inc.steps[step.id].released_versions)
        if statement.draft is None or statement.draft.version in used:
            self.new_draft(statement, correction=False)

    def new_draft(self, statement: StatementState, *, correction: bool) -> Draft:
        statement.version += 1
        texts = draft_statement(self.inc, statement.id, statement.version, correction, self.now)
        statement.draft = Draft(statement.version, texts, self.now, correction)
        spec = self.book.statements[statement.id]
        self.note(f"{spec.title} v{statement.version} drafted ({len(texts)} renderings)")
        return statement.draft

    def request_approvals(self, statement: StatementState, step: Step) -> None:
        spec = self.book.statements[statement.id]
        draft = statement.draft
        if draft is None or draft.requested:
            return
        draft.requested = True
        for role in spec.approvers:
            if role in draft.approvals:
                continue
            person = self.inc.holder(role)
            if person is None:
                self.note(f"{spec.title}: nobody holds {role} to approve")
                continue
            contact = self.inc.roster.person(person).contact()
            code = self.code()
            for channel in contact.channels():
                text = approval_text(self.inc, statement.id, draft, code, channel)
                self.send(
                    purpose="approval",
                    step=step.id,
                    contact=contact,
                    channel=channel,
                    text=text,
                    subject=f"[warroom] Approve {spec.title} v{draft.version}",
                    key_part=f"approve-{statement.id}-v{draft.version}",
                    code=code,
                    statement=statement.id,
                    version=draft.version,
                )
            self.note(
                f"{spec.title} v{draft.version}: approval requested from {contact.name} "
                f"({self.book.roles[role].title}), code {code}"
            )

    def approver_roles(self, statement_id: str, person: str, code: str | None) -> list[str]:
        if statement_id not in self.book.statements:
            raise CommandRejected(
                f"unknown statement {statement_id!r} (expected one of: "
                f"{one_of(self.book.statements)})"
            )
        spec = self.book.statements[statement_id]
        statement = self.inc.statements[statement_id]
        draft = statement.draft
        if draft is None or not draft.requested:
            raise CommandRejected(f"{spec.title} is not waiting for approval")
        if draft.version in {r.version for r in statement.releases}:
            raise CommandRejected(
                f"{spec.title} v{draft.version} is already released; "
                "use `warroom correct` to issue a correction"
            )
        roles = [r for r in spec.approvers if self.inc.holder(r) == person]
        if not roles:
            holders = ", ".join(f"{r}: {self.name(self.inc.holder(r))}" for r in spec.approvers)
            raise CommandRejected(
                f"{self.name(person)} is not an approver of {spec.title} ({holders})"
            )
        pending = [r for r in roles if r not in draft.approvals]
        if not pending:
            raise CommandRejected(
                f"{self.name(person)} has already approved {spec.title} v{draft.version}"
            )
        if code is not None:
            ok = any(
                m.code == code and m.person == person and m.statement == statement_id
                for m in self.inc.messages.values()
            )
            if not ok:
                raise CommandRejected(f"code {code!r} was not sent to {self.name(person)}")
        return pending

    def approved(self, event: Approved) -> None:
        roles = self.approver_roles(event.statement, event.person, event.code)
        statement = self.inc.statements[event.statement]
        draft = statement.draft
        assert draft is not None
        for role in roles:
            draft.approvals[role] = event.person
        spec = self.book.statements[event.statement]
        self.note(
            f"{spec.title} v{draft.version}: approved by {self.name(event.person)} "
            f"({', '.join(self.book.roles[r].title for r in roles)})"
        )
        if statement.approved(spec.approvers):
            self.approval_complete(statement)
            self.advance()

    def approval_complete(self, statement: StatementState) -> None:
        spec = self.book.statements[statement.id]
        draft = statement.draft
        assert draft is not None
        by = ", ".join(f"{self.name(p)} ({r})" for r, p in draft.approvals.items())
        self.note(f"{spec.title} v{draft.version}: every approver has approved ({by})")
        for step in self.book.steps:
            state = self.inc.steps[step.id]
            if (
                step.action is Action.APPROVE
                and step.statement == statement.id
                and state.state == "awaiting_approval"
            ):
                self.finish(step, state, "approve")
        if draft.correction:
            self.release_correction(statement)

    def rejected(self, event: Rejected) -> None:
        if not event.reason.strip():
            raise CommandRejected("a rejection needs a reason (--reason), so the owner can revise")
        self.approver_roles(event.statement, event.person, event.code)
        statement = self.inc.statements[event.statement]
        spec = self.book.statements[event.statement]
        draft = statement.draft
        assert draft is not None
        draft.rejections.append((event.person, event.reason))
        draft.approvals.clear()
        self.note(
            f"{spec.title} v{draft.version}: rejected by {self.name(event.person)}: {event.reason}"
        )
        owner = self.inc.holder(spec.owner) if spec.owner else None
        if owner is not None:
            contact = self.inc.roster.person(owner).contact()
            text = (
                f"[warroom] {spec.title} v{draft.version} was rejected by "
                f"{self.name(event.person)}: {event.reason}. Revise the facts "
                f"(warroom fact NAME=VALUE); a new version goes to the approvers."
            )
            key = f"rejected-{statement.id}-v{draft.version}-{len(draft.rejections)}"
            subject = f"[warroom] {spec.title} rejected"
            self.notify(contact, f"statement:{statement.id}", text, subject, key)
            self.note(f"{spec.title}: sent back to its owner {contact.name}")
        draft.requested = False  # a new version (after a fact changes) is requested afresh

    def fact_updated(self, event: FactUpdated) -> None:
        if not event.facts:
            raise CommandRejected("no fact given (expected NAME=VALUE)")
        facts = self.checked_facts(event.facts, activation=False)
        by = event.by or "unknown"
        for name, value in event.facts.items():
            previous = self.inc.facts.get(name)
            self.note(f"Fact {name} = {value!r} (was {previous!r}) by {by}")
        self.inc.facts = facts
        for statement in self.inc.statements.values():
            draft = statement.draft
            if draft is None or draft.version in {r.version for r in statement.releases}:
                continue
            texts = draft_statement(
                self.inc, statement.id, draft.version, draft.correction, self.now
            )
            if texts == draft.texts:
                continue
            was_requested = draft.requested or bool(draft.rejections)
            new = self.new_draft(statement, correction=draft.correction)
            if draft.approvals:
                self.note(
                    f"{self.book.statements[statement.id].title}: earlier approvals were of "
                    f"v{draft.version}; v{new.version} needs approval again"
                )
            if was_requested:
                step = self.approving_step(statement.id)
                self.request_approvals(statement, step)

    def approving_step(self, statement_id: str) -> Step:
        for action in (Action.APPROVE, Action.SEND):
            for step in self.book.steps:
                if step.statement == statement_id and step.action is action:
                    return step
        return self.book.steps[0]

    def correction_issued(self, event: CorrectionIssued) -> None:
        if event.statement not in self.book.statements:
            raise CommandRejected(
                f"unknown statement {event.statement!r} (expected one of: "
                f"{one_of(self.book.statements)})"
            )
        statement = self.inc.statements[event.statement]
        spec = self.book.statements[event.statement]
        if not statement.releases:
            raise CommandRejected(
                f"{spec.title} has not been released; there is nothing to correct"
            )
        draft = self.new_draft(statement, correction=True)
        self.note(f"{spec.title}: correction v{draft.version} ({event.reason})")
        if spec.approvers:
            self.request_approvals(statement, self.approving_step(statement.id))
        else:
            self.release_correction(statement)

    def release_correction(self, statement: StatementState) -> None:
        draft = statement.draft
        assert draft is not None
        audiences = list(dict.fromkeys(r.audience for r in statement.releases if not r.correction))
        step = f"correct:{statement.id}"
        for audience in audiences:
            self.release_audience(step, statement, draft, audience)

    # -- release ------------------------------------------------------------------------------

    def release(self, step: Step, state: StepState) -> None:
        lc.fire(lc.STEP, "release", state, f"step {step.id}")
        statement = self.inc.statements[step.statement or ""]
        assert statement.draft is not None
        state.released_versions.append(statement.draft.version)
        state.audiences_released = 0
        self.release_next(step, state)

    def release_next(self, step: Step, state: StepState) -> None:
        """Release to the next audience in `to` order; the rest wait for these messages."""
        statement = self.inc.statements[step.statement or ""]
        draft = statement.draft
        assert draft is not None
        self.cancel_timer(f"release:{step.id}")
        while state.audiences_released < len(step.to):
            audience = step.to[state.audiences_released]
            state.audiences_released += 1
            if not self.book.applies(self.book.audiences[audience].from_level, self.inc.level):
                self.note(f"{step.title}: {audience} skipped below its level")
                continue
            state.pending = self.release_audience(step.id, statement, draft, audience)
            if state.pending and state.audiences_released < len(step.to):
                self.start_timer(f"release:{step.id}", self.now + STAFF_FIRST_HOLD, "next audience")
                return
        self.finish(step, state)

    def release_audience(
        self, step_id: str, statement: StatementState, draft: Draft, audience: str
    ) -> list[str]:
        spec = self.book.statements[statement.id]
        approved_by = tuple(draft.approvals.items())
        messages: list[str] = []
        languages: set[str] = set()
        for recipient in self.audience(audience):
            rendered = draft.texts[(audience, recipient.language)]
            languages.add(recipient.language)
            for channel in recipient.channels:
                before = len(self.out.effects)
                self.send(
                    purpose="statement",
                    step=step_id,
                    contact=recipient.contact,
                    channel=channel,
                    text=rendered.sms if channel == "sms" else rendered.text,
                    subject=rendered.subject,
                    key_part=f"{statement.id}-v{draft.version}",
                    statement=statement.id,
                    version=draft.version,
                    audience=audience,
                    language=recipient.language,
                )
                messages += [
                    e.message for e in self.out.effects[before:] if isinstance(e, SendMessage)
                ]
        for language in sorted(languages):
            rendered = draft.texts[(audience, language)]
            statement.releases.append(
                Release(
                    draft.version,
                    audience,
                    language,
                    rendered.subject,
                    rendered.text,
                    self.now,
                    approved_by,
                    draft.correction,
                    sum(len(s.releases) for s in self.inc.statements.values()),
                )
            )
        what = "correction" if draft.correction else "released"
        approvals = (
            ", ".join(f"{r}: {self.name(p)}" for r, p in approved_by) or "no approval needed"
        )
        self.note(
            f"{spec.title} v{draft.version} {what} to {self.book.audiences[audience].title}: "
            f"{len(messages)} messages in {', '.join(sorted(languages)) or 'no language'} "
            f"({approvals})"
        )
        return messages

    def delivery_reported(self, event: DeliveryReported) -> None:
        message = self.inc.messages.get(event.message)
        if message is None:
            raise CommandRejected(f"unknown message {event.message!r} in incident {self.inc.id}")
        if event.status not in ("sent", "delivered", "failed", "undeliverable"):
            raise CommandRejected(
                f"unknown delivery status {event.status!r} "
                "(expected sent, delivered, failed or undeliverable)"
            )
        if message.state == event.status or message.state in lc.MESSAGE_FINAL:
            return  # a late or repeated receipt changes nothing
        lc.fire(lc.MESSAGE, event.status, message, f"message {message.id}")
        message.detail = event.detail
        state = self.inc.steps.get(message.step)
        if event.status in ("failed", "undeliverable"):
            self.note(
                f"Message to {message.recipient} by {message.channel} {event.status}"
                + (f": {event.detail}" if event.detail else "")
            )
            other = self.fail_over(message)
            if other is not None and state is not None and message.id in state.pending:
                state.pending.append(other)
        waiting_on_it = state is not None and message.id in state.pending
        if waiting_on_it and state is not None and state.state == "released":
            settled = (self.inc.messages[m].state in lc.MESSAGE_SETTLED for m in state.pending)
            if all(settled):
                state.pending = []
                self.release_next(self.book.step(message.step), state)
                self.advance()

    def fail_over(self, message: MessageState) -> str | None:
        """Send what could not be delivered on the recipient's other channel (SMS -> e-mail),
        unless they already have it there; returns the new message's id."""
        contact = message.contact
        if contact is None:
            return None
        for channel in (c for c in contact.channels() if c != message.channel):
            text, subject = self.text_for(message, channel)
            if text is None:
                continue
            before = len(self.out.effects)
            sent = self.send(
                purpose=message.purpose,
                step=message.step,
                contact=contact,
                channel=channel,
                text=text,
                subject=subject,
                key_part=message.key_part,
                code=message.code,
                statement=message.statement,
                version=message.version,
                audience=message.audience,
                language=message.language,
            )
            if sent:
                new = self.out.effects[before]
                assert isinstance(new, SendMessage)
                self.note(f"{message.recipient}: failed over from {message.channel} to {channel}")
                return new.message
            self.note(f"{message.recipient}: already reached by {channel}")
            return None
        self.note(f"{message.recipient}: no other channel to try")
        return None

    def text_for(self, message: MessageState, channel: str) -> tuple[str | None, str]:
        """The same content rendered for another channel, if it can be (a notice cannot)."""
        if message.purpose == "page" and message.code:
            step = self.book.step(message.step)
            role = self.inc.steps[step.id].paged.get(message.person or "")
            title = self.book.roles[role].title if role else "escalation contact"
            text = page_text(self.inc, step, title, message.code, message.language or "en")
            return text, f"[warroom] {self.book.title}: {step.title}"
        statement = self.inc.statements.get(message.statement or "")
        if statement is None or statement.draft is None:
            return None, ""
        draft = statement.draft
        if draft.version != message.version:
            released = [
                r
                for r in statement.releases
                if (r.version, r.audience, r.language)
                == (message.version, message.audience, message.language)
            ]
            if channel != "email" or not released:
                return None, ""
            return released[0].text, released[0].subject
        if message.purpose == "approval" and message.code:
            return approval_text(self.inc, statement.id, draft, message.code, channel), (
                f"[warroom] Approve {self.book.statements[statement.id].title} v{draft.version}"
            )
        rendered = draft.texts.get((message.audience or "", message.language))
        if message.purpose != "statement" or rendered is None:
            return None, ""
        return (rendered.sms if channel == "sms" else rendered.text), rendered.subject

    # -- people, notes, end -------------------------------------------------------------------

    def reassigned(self, event: Reassigned) -> None:
        if event.role not in self.book.roles:
            raise CommandRejected(
                f"unknown role {event.role!r} (expected one of: {one_of(self.book.roles)})"
            )
        person = self.inc.roster.people.get(event.person)
        if person is None:
            raise CommandRejected(
                f"unknown person {event.person!r} (not in this incident's roster)"
            )
        holder = self.inc.roles[event.role]
        if holder.person == event.person:
            raise CommandRejected(f"{person.name} already holds {event.role}")
        previous = self.name(holder.person)
        demands = [
            c
            for c in role_candidates(
                self.book, self.inc.roster, event.role, self.now, self.inc.level, self.inc.facts
            )
            if c.person.id == event.person
        ]
        caveat = (
            f"; note: {', '.join(demands[0].problems)}" if demands and demands[0].problems else ""
        )
        holder.person, holder.acked_at = event.person, None
        holder.tried.append(event.person)
        self.note(
            f"{self.book.roles[event.role].title}: {previous} -> {person.name}, assigned by "
            f"{event.by or 'unknown'}{caveat}"
        )
        self.page_new_holder(event.role, event.person)

    def note_added(self, event: NoteAdded) -> None:
        if not event.text.strip():
            raise CommandRejected("a note needs some text")
        self.note(f"Note by {event.by or 'unknown'}: {event.text}")

    def inquiry_logged(self, event: MediaInquiryLogged) -> None:
        if not event.outlet.strip() or not event.question.strip():
            raise CommandRejected("a media inquiry needs --outlet and --question")
        self.inc.inquiries.append(Inquiry(event.outlet, event.question, event.journalist, self.now))
        who = f"{event.journalist}, " if event.journalist else ""
        self.note(
            f"Media inquiry #{len(self.inc.inquiries)} from {who}{event.outlet}: {event.question}"
        )

    def resolved(self, event: Resolved) -> None:
        lc.fire(lc.INCIDENT, "resolve", self.inc, f"incident {self.inc.id}")
        self.wind_down("resolved", event.by, event.summary)

    def cancelled(self, event: Cancelled) -> None:
        if not event.reason.strip():
            raise CommandRejected("cancelling needs a reason")
        lc.fire(lc.INCIDENT, "cancel", self.inc, f"incident {self.inc.id}")
        self.wind_down("cancelled", event.by, event.reason)

    def closed(self, event: Closed) -> None:
        lc.fire(lc.INCIDENT, "close", self.inc, f"incident {self.inc.id}")
        self.note(f"Incident closed by {event.by or 'unknown'}")

    def wind_down(self, how: str, by: str, why: str) -> None:
        for timer in list(self.inc.timers):
            self.cancel_timer(timer)
        for step in self.book.steps:
            state = self.inc.steps[step.id]
            if lc.can(lc.STEP, "cancel", state):
                lc.fire(lc.STEP, "cancel", state, f"step {step.id}")
        self.note(f"Incident {how} by {by or 'unknown'}" + (f": {why}" if why else ""))

    # -- effects ------------------------------------------------------------------------------

    def send(
        self,
        *,
        purpose: str,
        step: str,
        contact: Contact,
        channel: str,
        text: str,
        subject: str,
        key_part: str,
        code: str | None = None,
        statement: str | None = None,
        version: int | None = None,
        audience: str | None = None,
        language: str = "",
    ) -> int:
        address = contact.phone if channel == "sms" else contact.email
        key = f"{self.inc.id}/{step}/{key_part}/{address}/{channel}"
        if not address or key in self.inc.keys:
            return 0
        self.inc.keys.add(key)
        message_id = f"{self.inc.id}-m{self.inc.next_number()}"
        self.inc.messages[message_id] = MessageState(
            message_id,
            "queued",
            purpose,
            step,
            channel,
            contact.name,
            contact.person_id,
            code,
            statement,
            version,
            audience,
            contact=contact,
            key_part=key_part,
            language=language or contact.language or "",
        )
        self.out.effects.append(
            SendMessage(
                message=message_id,
                key=key,
                purpose=purpose,
                step=step,
                channel=channel,
                address=address,
                recipient=contact.name,
                person=contact.person_id,
                text=text,
                subject=subject,
                language=language or contact.language or "",
                statement=statement,
                version=version,
                audience=audience,
                code=code,
            )
        )
        return 1

    def code(self) -> str:
        """A short, deterministic reply code (ACK 4821) unique within the incident."""
        used = {m.code for m in self.inc.messages.values() if m.code}
        while True:
            n = self.inc.next_number()
            digest = hashlib.sha256(f"{self.inc.id}:{n}".encode()).digest()
            code = str(1000 + int.from_bytes(digest[:4], "big") % 9000)
            if code not in used:
                return code

    def start_timer(self, timer: str, at: datetime, purpose: str) -> None:
        """Arm (or re-arm) a wake-up; its token is new, so any older wake-up is stale."""
        token = self.inc.next_number()
        self.inc.timers[timer] = token
        self.out.effects.append(StartTimer(timer, token, at, purpose))

    def cancel_timer(self, timer: str) -> None:
        if self.inc.timers.pop(timer, None) is not None:
            self.out.effects.append(CancelTimer(timer))

    def arm_due(self, step: Step) -> None:
        if step.due is not None and self.inc.started_at is not None:
            at = max(self.inc.started_at + step.due, self.now)
            self.start_timer(f"due:{step.id}", at, "SLA")


def _address(contact: Contact) -> str:
    return contact.phone or contact.email or contact.name


_HANDLERS: dict[type[Event], Callable[[_Run, Event], None]] = {
    Activated: _Run.activated,  # type: ignore[dict-item]
    Acknowledged: _Run.acknowledged,  # type: ignore[dict-item]
    Approved: _Run.approved,  # type: ignore[dict-item]
    Rejected: _Run.rejected,  # type: ignore[dict-item]
    TimerFired: _Run.timer_fired,  # type: ignore[dict-item]
    LevelRaised: _Run.level_raised,  # type: ignore[dict-item]
    LevelLowered: _Run.level_lowered,  # type: ignore[dict-item]
    FactUpdated: _Run.fact_updated,  # type: ignore[dict-item]
    DeliveryReported: _Run.delivery_reported,  # type: ignore[dict-item]
    Reassigned: _Run.reassigned,  # type: ignore[dict-item]
    EscalationRequested: _Run.escalation_requested,  # type: ignore[dict-item]
    NoteAdded: _Run.note_added,  # type: ignore[dict-item]
    MediaInquiryLogged: _Run.inquiry_logged,  # type: ignore[dict-item]
    CorrectionIssued: _Run.correction_issued,  # type: ignore[dict-item]
    Resolved: _Run.resolved,  # type: ignore[dict-item]
    Closed: _Run.closed,  # type: ignore[dict-item]
    Cancelled: _Run.cancelled,  # type: ignore[dict-item]
}
