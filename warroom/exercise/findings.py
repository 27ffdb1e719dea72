"""What an exercise teaches: strengths, and areas for improvement with their root causes.

An exercise director acts on causes, not on scores: "the legal approver was slow" fixes
nothing, "the first legal candidate is away and the second never answered his page" does.
So each finding is read from the log (who was paged, on which channel, who answered, what
the desk was asked and why nobody answered) and carries the corrective action that cause
calls for, worded from it, never picked from a list.

Each kind of finding is one function registered with `@finds`: it reads the `Evidence` and
returns `Finding`s. A new event worth noticing is one more such function; ranking, the
improvement plan and every report format pick it up unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property, partial

from warroom.durations import format_duration
from warroom.engine.events import (
    Approved,
    CorrectionIssued,
    DeliveryReported,
    InquiryDrafted,
)
from warroom.engine.state import Incident, Inquiry, MessageState, StatementWentStale
from warroom.exercise.ratings import WEIGHT
from warroom.exercise.schema import ScenarioSpec
from warroom.store import StoredEvent

COORDINATION = "Operational Coordination"
PUBLIC_INFORMATION = "Public Information and Warning"
COMMUNICATIONS = "Operational Communications"
"""HSEEP core capabilities, for a finding no objective with a `capability` explains."""

LANGUAGES = {"pl": "Polish", "en": "English", "de": "German", "uk": "Ukrainian", "fr": "French"}


@dataclass(frozen=True)
class Objective:
    """What findings need of a scored objective (kept apart from the report's own type)."""

    id: str
    title: str
    status: str
    rating: str
    rated: str
    target: str
    measured: str
    cause: str
    step: str | None
    inquiries: bool
    before: tuple[str, ...]
    capability: str
    owner: str


@dataclass(frozen=True)
class Finding:
    strength: bool
    title: str
    observation: str
    analysis: str
    root_cause: str
    action: str = ""
    """The corrective action; areas for improvement only."""
    capability: str = ""
    objectives: tuple[str, ...] = ()
    """The objectives it explains: their ratings rank it, their owner is responsible."""
    weight: int = 0
    """How much it cost when no objective measured it (an unanswered journalist still does)."""


@dataclass
class Evidence:
    """An exercise as the findings read it: the scenario, the incident folded from its log,
    the log itself, and the objectives as scored."""

    scenario: ScenarioSpec
    incident: Incident
    events: list[StoredEvent]
    objectives: list[Objective]
    ended: datetime

    @property
    def start(self) -> datetime:
        return self.scenario.start

    def at(self, moment: datetime | None) -> str:
        if moment is None:
            return "never"
        delta = moment - self.start
        return "+" + (format_duration(delta) if delta.total_seconds() > 0 else "0m")

    def name(self, person: str | None) -> str:
        found = self.incident.roster.people.get(person or "")
        return found.name if found else (person or "nobody")

    def role_title(self, role: str) -> str:
        spec = self.incident.playbook.roles.get(role)
        return spec.title if spec else role

    def below_par(self, keep: Callable[[Objective], bool]) -> tuple[str, ...]:
        """Ids of the objectives not performed without challenges that `keep` selects."""
        return tuple(o.id for o in self.objectives if o.rating != "P" and keep(o))

    @cached_property
    def deliveries(self) -> list[tuple[datetime, MessageState, DeliveryReported]]:
        """Every delivery report, with its message, in log order."""
        found = []
        for stored in self.events:
            event = stored.event
            if isinstance(event, DeliveryReported) and event.message in self.incident.messages:
                found.append((stored.at, self.incident.messages[event.message], event))
        return found

    def first_delivery(self, person: str, purpose: str, step: str) -> datetime | None:
        moments = [
            at
            for at, message, _ in self.deliveries
            if message.person == person and message.purpose == purpose and message.step == step
        ]
        return min(moments) if moments else None

    def acknowledged(self, person: str, after: datetime | None = None) -> datetime | None:
        moments = [
            at
            for step in self.incident.steps.values()
            for who, at in step.acked.items()
            if who == person and (after is None or at >= after)
        ]
        return min(moments) if moments else None

    def notes(self) -> Iterator[tuple[datetime, str]]:
        for stored in self.events:
            for note in stored.notes:
                yield stored.at, note

    @cached_property
    def handovers(self) -> list[Handover]:
        """Roles that changed hands when the level changed, from the log's own notes."""
        titles = {spec.title: role for role, spec in self.incident.playbook.roles.items()}
        found = []
        for at, note in self.notes():
            match = HANDOVER.match(note)
            if match is None or match["role"] not in titles:
                continue
            role = titles[match["role"]]
            chain = self.incident.roles[role].tried if role in self.incident.roles else []
            person = next((p for p in chain if self.name(p) == match["new"]), None)
            if person is not None:
                before = chain[chain.index(person) - 1] if chain.index(person) else None
                found.append(Handover(role, person, match["old"], match["level"], at, before))
        return found

    def holder_at(self, role: str, moment: datetime) -> str | None:
        """Who held a role at a moment, as far as level changes moved it."""
        later = [h for h in self.handovers if h.role == role and h.at > moment]
        if later:
            return later[0].previous_id
        return self.incident.holder(role)


HANDOVER = re.compile(
    r"^(?P<role>.+): at level (?P<level>\S+), (?P<new>.+) takes over from (?P<old>.+) \(.*\)$"
)


@dataclass(frozen=True)
class Handover:
    role: str
    person: str
    previous: str
    level: str
    at: datetime
    previous_id: str | None


Finder = Callable[[Evidence], Iterable[Finding]]
FINDERS: list[Finder] = []


def finds(finder: Finder) -> Finder:
    """Register a kind of finding; the report runs them all, in the order registered."""
    FINDERS.append(finder)
    return finder


def weight(finding: Finding, evidence: Evidence) -> int:
    ratings = {o.id: o.rating for o in evidence.objectives}
    return max([finding.weight, *(WEIGHT.get(ratings.get(o, ""), 0) for o in finding.objectives)])


def find(evidence: Evidence) -> tuple[list[Finding], list[Finding]]:
    """Strengths in the order found; areas for improvement costliest first (stable)."""
    found = [finding for finder in FINDERS for finding in finder(evidence)]
    explained = {o for f in found if not f.strength for o in f.objectives}
    found += [
        _unexplained(o) for o in evidence.objectives if o.rating != "P" and o.id not in explained
    ]
    capabilities = {o.id: o.capability for o in evidence.objectives if o.capability}
    found = [
        replace(
            f,
            capability=next(
                (capabilities[o] for o in f.objectives if o in capabilities), f.capability
            ),
        )
        for f in found
    ]
    strengths = [f for f in found if f.strength]
    areas = sorted((f for f in found if not f.strength), key=lambda f: -weight(f, evidence))
    return strengths, areas


def _cost(evidence: Evidence, ids: Iterable[str]) -> str:
    chosen = set(ids)
    shown = [
        f"{o.title}: {o.status} ({o.rating}), {o.measured} against {o.target}"
        for o in evidence.objectives
        if o.id in chosen
    ]
    return "; ".join(shown)


def _unexplained(objective: Objective) -> Finding:
    """An objective below par that no finding explains still gets an area of its own."""
    what = f"step {objective.step}" if objective.step else objective.title
    return Finding(
        strength=False,
        title=f"{objective.title}: {objective.status}",
        observation=f"{objective.measured} against {objective.target}.",
        analysis=f"Rated {objective.rating}.",
        root_cause=objective.cause or "the log shows no escalation, breach or refusal",
        action=f"walk through {what} with its owner to find what held it to {objective.measured}",
        objectives=(objective.id,),
    )


# -- the kinds of finding ------------------------------------------------------------------


@finds
def objectives_performed(evidence: Evidence) -> Iterator[Finding]:
    """A strength for each objective performed without challenges, with what achieved it."""
    for objective in evidence.objectives:
        if objective.rating != "P":
            continue
        yield Finding(
            strength=True,
            title=objective.title,
            observation=f"{objective.measured} against {objective.target}.",
            analysis=f"Performed without challenges: {objective.rated}.",
            root_cause=_what_achieved(evidence, objective),
            objectives=(objective.id,),
        )


def _what_achieved(evidence: Evidence, objective: Objective) -> str:
    if objective.inquiries:
        answered = [i for i in evidence.incident.inquiries if i.status == "answered"]
        return (
            "; ".join(
                f"#{i.number} answered with {i.answer} {_waited(i)} after it was asked"
                for i in answered
            )
            or "no journalist called"
        )
    if objective.step:
        title = evidence.incident.playbook.step(objective.step).title
        for stored in evidence.events:
            if any(
                n.startswith((f"{title}: done", f"{title}: acknowledged")) for n in stored.notes
            ):
                return f"{stored.notes[0]} at {evidence.at(stored.at)}"
    if objective.before:
        audience = evidence.incident.playbook.audiences[objective.before[0]].title
        for at, note in evidence.notes():
            if f" released to {audience}:" in note:
                return f"{note} at {evidence.at(at)}, first of all"
    return objective.measured


def _waited(inquiry: Inquiry) -> str:
    if inquiry.closed_at is None:
        return ""
    return format_duration(max(inquiry.closed_at - inquiry.at, timedelta(minutes=1)))


@finds
def candidates_who_never_answered(evidence: Evidence) -> Iterator[Finding]:
    """A role's candidate paged and silent, until the escalation ladder moved on."""
    incident = evidence.incident
    for role, state in incident.roles.items():
        chain = state.tried
        title = evidence.role_title(role)
        for place, person in enumerate(chain[:-1]):
            steps = [s for s in incident.steps.values() if s.paged.get(person) == role]
            if not steps or any(person in s.acked for s in steps):
                continue
            step = steps[0]
            following = chain[place + 1]
            if following in {h.person for h in evidence.handovers if h.role == role}:
                continue  # a level change moved the role on, not the silence
            paged = evidence.first_delivery(person, "page", step.id)
            next_paged = evidence.first_delivery(following, "page", step.id)
            next_acked = step.acked.get(following)
            skipped = _skipped(evidence, role, person)
            channels = _channels(evidence, person, "page", step.id)
            cause = (
                (f"{skipped}; " if skipped else "")
                + f"the {_ordinal(place, skipped)} {title.lower()} candidate, "
                f"{evidence.name(person)}, was paged at {evidence.at(paged)} ({channels}) and "
                f"never acknowledged; the next, {evidence.name(following)}, was paged only at "
                f"{evidence.at(next_paged)}, when the ladder moved, and acknowledged at "
                f"{evidence.at(next_acked)}"
            )
            delivered = any(
                m.state == "delivered"
                for _, m, _ in evidence.deliveries
                if m.person == person and m.purpose == "page"
            )
            contact = incident.roster.people.get(person)
            if contact is not None and "sms" not in contact.channels():
                landline = " (the phone on record is a landline)" if contact.phone else ""
                cause += f"; {contact.name} is reachable only by e-mail{landline}"
                action = f"give {contact.name} an SMS-capable number"
            elif not delivered:
                action = _reachable_action(evidence, person)
            else:
                gap = (
                    f" (today {format_duration(next_paged - paged)} later)"
                    if next_paged and paged and next_paged > paged
                    else ""
                )
                action = (
                    f"page {evidence.name(following)} together with {evidence.name(person)} "
                    f"as {title}{gap}, and confirm {evidence.name(person)} can answer at every "
                    "rota hand-over"
                )
            ids = evidence.below_par(partial(_measures_step, step=step.id))
            yield Finding(
                strength=False,
                title=f"{title}: {evidence.name(person)} never acknowledged",
                observation=(
                    f"{evidence.name(person)} ({title}) never acknowledged the page of "
                    f"{incident.playbook.step(step.id).title}; {evidence.name(following)} "
                    f"acknowledged at {evidence.at(next_acked)}."
                ),
                analysis=(
                    f"Cost: {_cost(evidence, ids)}."
                    if ids
                    else "No objective suffered: the escalation ladder covered for it in time."
                ),
                root_cause=cause,
                action=action,
                capability=COORDINATION,
                objectives=ids,
                weight=1,
            )


def _measures_step(objective: Objective, step: str) -> bool:
    return objective.step == step


def _ordinal(place: int, skipped: str) -> str:
    if skipped:
        return "next"
    return ["first", "second", "third", "fourth"][min(place, 3)]


def _skipped(evidence: Evidence, role: str, person: str) -> str:
    """The candidates passed over before this one, as the assignment note gave them."""
    prefix = f"{evidence.role_title(role)}: {evidence.name(person)}: "
    for _, note in evidence.notes():
        if note.startswith(prefix) and "skipped:" in note:
            return "; ".join(p for p in note.split("; ")[1:] if "skipped:" in p)
    return ""


def _channels(evidence: Evidence, person: str, purpose: str, step: str) -> str:
    outcome: dict[str, str] = {}
    for _, message, report in evidence.deliveries:
        if message.person == person and message.purpose == purpose and message.step == step:
            outcome[message.channel] = report.status
    return ", ".join(f"{channel} {status}" for channel, status in outcome.items()) or "not sent"


def _reachable_action(evidence: Evidence, person: str) -> str:
    """No page reached them: the roster's addresses are what to fix."""
    failed = sorted(
        {
            m.channel
            for _, m, report in evidence.deliveries
            if m.person == person and m.purpose == "page" and report.status != "delivered"
        }
    )
    addresses = " and ".join(
        {"sms": "phone number", "email": "e-mail address"}.get(c, c) for c in failed
    )
    return (
        f"correct {evidence.name(person)}'s {addresses or 'contact details'} in the roster: "
        "no page reached them"
    )


@finds
def late_acknowledgements(evidence: Evidence) -> Iterator[Finding]:
    """The last of a team to acknowledge, when that held an objective back and no silent
    candidate before them explains it."""
    incident = evidence.incident
    covered = set()
    for state in incident.roles.values():
        covered.update(state.tried[1:])  # paged because the ladder moved: explained there
    for objective in evidence.objectives:
        step = incident.steps.get(objective.step or "")
        if objective.rating == "P" or step is None or not step.acked:
            continue
        person, acked = max(step.acked.items(), key=lambda pair: (pair[1], pair[0]))
        role = step.paged.get(person)
        if role is None or person in covered:
            continue
        paged = evidence.first_delivery(person, "page", step.id)
        took = format_duration(acked - paged) if paged and acked > paged else "0m"
        title = evidence.role_title(role)
        skipped = _skipped(evidence, role, person)
        contact = incident.roster.people.get(person)
        email_only = contact is not None and "sms" not in contact.channels()
        channels = _channels(evidence, person, "page", step.id)
        cause = (
            (f"{skipped}; the next {title.lower()} candidate, " if skipped else "")
            + f"{evidence.name(person)}{',' if skipped else ''}"
            + (" is reachable only by e-mail and" if email_only else "")
            + f" acknowledged {took} after the page ({channels})"
        )
        action = (
            f"give {evidence.name(person)} an SMS-capable number"
            if email_only
            else f"agree with {evidence.name(person)} to acknowledge {title} pages within "
            f"{objective.target.split(' within ')[-1]}, or page a deputy with them"
        )
        covered.add(person)
        yield Finding(
            strength=False,
            title=f"{title}: {evidence.name(person)} acknowledged last, at {evidence.at(acked)}",
            observation=(
                f"{evidence.name(person)} ({title}) was the last to acknowledge "
                f"{incident.playbook.step(step.id).title}, at {evidence.at(acked)}."
            ),
            analysis=f"Cost: {_cost(evidence, [objective.id])}.",
            root_cause=cause,
            action=action,
            capability=COORDINATION,
            objectives=evidence.below_par(partial(_measures_step, step=step.id)),
        )


@finds
def new_holders_who_never_acknowledged(evidence: Evidence) -> Iterator[Finding]:
    """Someone who took a role over at a level change and never acknowledged it."""
    incident = evidence.incident
    for handover in evidence.handovers:
        if evidence.acknowledged(handover.person, after=handover.at) is not None:
            continue
        title = evidence.role_title(handover.role)
        name = evidence.name(handover.person)
        pages = [
            m
            for m in incident.messages.values()
            if m.person == handover.person and m.purpose == "page"
        ]
        notices = [
            m
            for m in incident.messages.values()
            if m.person == handover.person and m.step == f"role:{handover.role}"
        ]
        told = (
            "paged"
            if pages
            else "told by a notice, with nothing to acknowledge,"
            if notices
            else "never told"
        )
        reminded = [
            f"{note.split(':')[0].lower()} at {evidence.at(at)}"
            for at, note in evidence.notes()
            if at >= handover.at and note.endswith(f"half its time gone; {name} reminded")
        ]
        lost = [
            i
            for i in incident.inquiries
            if i.open
            and not i.repeat_of
            and i.owner == handover.role
            and _approved(incident, i)
            and (i.deadline or evidence.ended) > handover.at
        ]
        lost_text = "; ".join(
            f"#{i.number} {_journalist(i)} asked at {evidence.at(i.at)}, deadline "
            f"{evidence.at(i.deadline)}, never answered"
            + (f" although {i.suggestion} was approved" if _approved(incident, i) else "")
            for i in lost
        )
        ids = evidence.below_par(lambda o: o.inquiries) if lost else ()
        cost = _cost(evidence, ids)
        action = (
            f"page whoever takes over as {title} at level {handover.level}, and rehearse the "
            f"hand-over with {name}"
            if not pages
            else f"have {name} acknowledge the {title} hand-over at level {handover.level}, or "
            f"keep {handover.previous} as {title} until they do"
        )
        yield Finding(
            strength=False,
            title=f"New {title.lower()} {name} never acknowledged",
            observation=(
                f"At {evidence.at(handover.at)} the level rose to {handover.level} and {name} "
                f"took over as {title} from {handover.previous}; {name} never acknowledged."
            ),
            analysis="Cost: "
            + ("; ".join(p for p in (lost_text, cost) if p) or "none measured")
            + ".",
            root_cause=(
                f"{name} was {told} when the role changed hands at {evidence.at(handover.at)}"
                + (
                    f"; the reminder for {', '.join(reminded)} went to {name}, and approved words "
                    "were never sent"
                    if reminded
                    else ""
                )
            ),
            action=action,
            capability=PUBLIC_INFORMATION,
            objectives=ids,
            weight=2 if lost else 1,
        )


def _journalist(inquiry: Inquiry) -> str:
    return f"{inquiry.journalist}, {inquiry.outlet}" if inquiry.journalist else inquiry.outlet


def _approved(incident: Incident, inquiry: Inquiry) -> bool:
    statement = incident.statements.get(inquiry.suggestion)
    spec = incident.playbook.statements.get(inquiry.suggestion)
    return statement is not None and spec is not None and statement.approved(spec.approvers)


@finds
def journalists_left_unanswered(evidence: Evidence) -> Iterator[Finding]:
    """An inquiry never answered, with why: no words, no approval, nobody to send them."""
    incident = evidence.incident
    silent = {
        (h.role, h.person)
        for h in evidence.handovers
        if evidence.acknowledged(h.person, after=h.at) is None
    }
    for inquiry in incident.inquiries:
        if not inquiry.open or inquiry.repeat_of:
            continue
        holder = evidence.holder_at(inquiry.owner, inquiry.at) if inquiry.owner else None
        final = incident.holder(inquiry.owner) if inquiry.owner else None
        if (inquiry.owner, final) in silent and _approved(incident, inquiry):
            continue  # the words were ready: the hand-over nobody acknowledged explains it
        again = [r for r in incident.inquiries if r.repeat_of == inquiry.number]
        cause, action = _why_unanswered(evidence, inquiry, holder)
        ids = evidence.below_par(lambda o: o.inquiries)
        yield Finding(
            strength=False,
            title=f"Journalist left unanswered: {_journalist(inquiry)}",
            observation=(
                f"{_journalist(inquiry)} asked \u201c{inquiry.question}\u201d at "
                f"{evidence.at(inquiry.at)} (deadline {evidence.at(inquiry.deadline)})"
                + "".join(
                    f"; asked again at {evidence.at(r.at)} by {_journalist(r)}" for r in again
                )
                + "; never answered."
            ),
            analysis=(f"Cost: {_cost(evidence, ids)}." if ids else "No objective measured it.")
            + " An unanswered journalist writes the story without us.",
            root_cause=cause,
            action=action,
            capability=PUBLIC_INFORMATION,
            objectives=ids,
            weight=2,
        )


def _why_unanswered(evidence: Evidence, inquiry: Inquiry, holder: str | None) -> tuple[str, str]:
    incident = evidence.incident
    book = incident.playbook
    title = evidence.role_title(inquiry.owner or "")
    person = incident.roster.people.get(holder or "")
    language = inquiry.language or book.languages[0]
    if person is not None and language not in person.languages:
        spoken = LANGUAGES.get(language, language)
        return (
            f"the question is in {spoken}, and {person.name} ({title}), who owns it, does not "
            f"speak {spoken}",
            f"add a second media-trained {spoken} speaker to the press rota",
        )
    if not inquiry.suggestion:
        return (
            f"no Q&A entry of playbook {book.id} matches the question, and no words were "
            "drafted for it",
            f"add a Q&A entry to playbook {book.id} answering \u201c{inquiry.question}\u201d, "
            "approved before the next drill",
        )
    statement = incident.statements[inquiry.suggestion]
    spec = book.statements[inquiry.suggestion]
    draft = statement.draft
    if draft is None:
        return (
            f"{inquiry.suggestion} was never prepared for approval",
            f"have the {title.lower()} prepare {inquiry.suggestion} as soon as it is suggested",
        )
    if not statement.approved(spec.approvers):
        waiting = [evidence.role_title(r) for r in spec.approvers if r not in draft.approvals]
        who = ", ".join(waiting) or "a second person"
        return (
            f"{inquiry.suggestion} v{draft.version} was never approved (waiting for {who})",
            f"agree with the {who} to approve media Q&A within half the desk's deadline",
        )
    name = person.name if person else "nobody"
    return (
        f"{inquiry.suggestion} v{draft.version} was approved, but its owner ({title}, {name}) "
        "never sent it",
        f"have {name} send approved Q&A answers before the journalist's deadline",
    )


@finds
def injects_that_tested_nothing(evidence: Evidence) -> Iterator[Finding]:
    """A channel outage while nothing used the channel, a silence while nothing was asked."""
    start = evidence.start
    for number, inject in enumerate(evidence.scenario.injects, 1):
        if inject.channel_outage and inject.lasting:
            channel = inject.channel_outage
            begin, end = start + inject.at, start + inject.at + inject.lasting
            used = [at for at, m, _ in evidence.deliveries if m.channel == channel]
            if any(begin <= at < end for at in used) or any(
                begin <= at < end + timedelta(hours=1)
                for at, m, r in evidence.deliveries
                if m.channel == channel and r.status == "failed" and "outage" in r.detail
            ):
                continue
            before = max((at for at in used if at < begin), default=None)
            after = min((at for at in used if at >= end), default=None)
            busiest = _busiest(evidence, channel)
            yield Finding(
                strength=False,
                title=f"Inject {number} tested nothing: {channel} outage at {evidence.at(begin)}",
                observation=(
                    f"{channel} was down from {evidence.at(begin)} to {evidence.at(end)}, and "
                    f"no message tried {channel} meanwhile."
                ),
                analysis="The drill learned nothing about working without "
                f"{channel}: nobody needed it while it was down.",
                root_cause=(
                    f"the outage fell between {channel} messages: the last before it at "
                    f"{evidence.at(before)}, the next at {evidence.at(after)}"
                ),
                action=(
                    f"move the {channel} outage to {busiest}, when {channel} was in use, or drop it"
                    if busiest
                    else f"drop the {channel} outage: nothing in this drill uses {channel}"
                ),
                capability=COMMUNICATIONS,
            )
        if inject.silence:
            person = inject.silence
            begin = start + inject.at
            restored = [
                start + i.at
                for i in evidence.scenario.injects
                if i.restore == person and i.at > inject.at
            ]
            end = min(restored) if restored else evidence.ended
            asked = [
                at
                for at, m, _ in evidence.deliveries
                if m.person == person and m.purpose in ("page", "approval") and begin <= at < end
            ]
            if asked:
                continue
            yield Finding(
                strength=False,
                title=f"Inject {number} tested nothing: {evidence.name(person)} silenced",
                observation=(
                    f"{evidence.name(person)} was silent from {evidence.at(begin)} to "
                    f"{evidence.at(end)}, and nothing was asked of them meanwhile."
                ),
                analysis="Nobody had to cover for them: the drill learned nothing from it.",
                root_cause=f"no page or approval request reached {evidence.name(person)} "
                "while they were silenced",
                action=f"silence {evidence.name(person)} before a step that pages or asks them",
                capability=COORDINATION,
            )


def _busiest(evidence: Evidence, channel: str) -> str:
    """The minute with the most messages on a channel: where an outage would be felt."""
    counts: dict[datetime, int] = {}
    for at, message, _ in evidence.deliveries:
        if message.channel == channel:
            minute = at.replace(second=0, microsecond=0)
            counts[minute] = counts.get(minute, 0) + 1
    if not counts:
        return ""
    moment = max(sorted(counts), key=lambda m: counts[m])
    return evidence.at(moment)


@finds
def statements_approved_by_their_drafter(evidence: Evidence) -> Iterator[Finding]:
    """Words approved by the person who wrote them: four eyes that were two."""
    drafters: dict[str, tuple[str, datetime]] = {}
    for stored in evidence.events:
        event = stored.event
        if isinstance(event, InquiryDrafted) and event.text:
            drafters[f"inquiry:{event.inquiry}"] = (_person(event.by), stored.at)
        elif isinstance(event, CorrectionIssued):
            drafters[event.statement] = (_person(event.by), stored.at)
        elif isinstance(event, Approved) and event.statement in drafters:
            drafter, drafted = drafters[event.statement]
            if event.person != drafter:
                continue
            name = evidence.name(drafter)
            what = _statement_title(evidence, event.statement)
            yield Finding(
                strength=False,
                title=f"{what} approved by its own drafter",
                observation=(
                    f"{name} drafted {what} at {evidence.at(drafted)} and approved it at "
                    f"{evidence.at(stored.at)}."
                ),
                analysis="The approval checked nothing: nobody but its author read it "
                "before it could go out.",
                root_cause=f"{name} holds an approving role for the words they wrote, and "
                "nothing kept them from approving them",
                action=f"have someone other than {name} approve what {name} drafts "
                f"({what}): a second approver for it",
                capability=PUBLIC_INFORMATION,
                weight=2,
            )
            drafters.pop(event.statement)


def _person(by: str) -> str:
    return by.split(":", 1)[1] if by.startswith("simulated:") else by


def _statement_title(evidence: Evidence, statement: str) -> str:
    spec = evidence.incident.playbook.statements.get(statement)
    return spec.title if spec else statement


def plan(
    areas: list[Finding], evidence: Evidence, lead: str, due: datetime
) -> list[dict[str, str]]:
    """One row per area for improvement: the action, its capability, who owns it, by when."""
    owners = {o.id: o.owner for o in evidence.objectives if o.owner}
    rows = []
    for area in areas:
        role = next((owners[o] for o in area.objectives if o in owners), lead)
        holder = evidence.incident.holder(role)
        rows.append(
            {
                "area for improvement": area.title,
                "corrective action": area.action,
                "capability": area.capability,
                "responsible": evidence.role_title(role)
                + (f" ({evidence.name(holder)})" if holder else ""),
                "due": due.date().isoformat(),
            }
        )
    return rows


@finds
def audiences_heard_at_once(evidence: Evidence) -> Iterator[Finding]:
    """Staff and press told in the same minute: "staff first" was a list order, not a gap."""
    for objective in evidence.objectives:
        if not objective.before or "same moment" not in objective.cause:
            continue
        first, then = objective.before[0], objective.before[-1]
        steps = [
            step
            for step in evidence.incident.playbook.steps
            if first in step.to and then in step.to and step.hold is None
        ]
        where = f"step {steps[0].id}" if steps else "the send step"
        yield Finding(
            strength=False,
            title=f"{first} and {then} heard at the same moment",
            observation=f"{objective.measured}.",
            analysis=f"{then} could read the news before {first} had read it from us.",
            root_cause=f"{where} releases to its audiences one after another with no gap "
            "between them",
            action=f"give {where} a `hold:` of a few minutes: {first} before {then}",
            capability=objective.capability or PUBLIC_INFORMATION,
            objectives=(objective.id,),
            weight=2,
        )


@finds
def promises_broken(evidence: Evidence) -> Iterator[Finding]:
    """A next-update time we gave an audience and did not keep: they were left waiting for
    words we said would come, which is how a story becomes "company goes silent"."""
    book = evidence.incident.playbook
    for missed in evidence.incident.promises_missed:
        audience = book.audiences[missed.audience].title
        promised = f"{_statement_title(evidence, missed.statement)} v{missed.version}"
        if missed.released_at is None:
            came = "and no update reached them before the exercise ended"
            late = evidence.ended - missed.promised_by
        else:
            came = f"and {missed.released} reached them at {evidence.at(missed.released_at)}"
            late = missed.released_at - missed.promised_by
        approvals = [
            s
            for s in evidence.events
            if isinstance(s.event, Approved)
            and missed.made_at <= s.at <= (missed.released_at or evidence.ended)
        ]
        cause = (
            f"the next update was approved only at {evidence.at(approvals[-1].at)}"
            if approvals
            else "no update to them was approved between the promise and its time"
        )
        yield Finding(
            strength=False,
            title=f"Update promised to {audience} by {evidence.at(missed.promised_by)} "
            "not given in time",
            observation=f"{promised}, released at {evidence.at(missed.made_at)}, promised "
            f"{audience} an update by {evidence.at(missed.promised_by)}, {came}.",
            analysis=f"{audience} waited {format_duration(late)} past a time we gave them.",
            root_cause=cause,
            action=f"approve the update to {audience} before 75% of the interval is gone "
            "(the lead is reminded then), or promise a time the approvers can keep",
            capability=PUBLIC_INFORMATION,
            weight=2,
        )


@finds
def statements_left_stale(evidence: Evidence) -> Iterator[Finding]:
    """Words an audience held after a fact behind them changed: a strength when the new
    version reached them fast, an area when it did not."""
    book = evidence.incident.playbook
    seen: set[tuple[str, tuple[tuple[str, str, str], ...]]] = set()
    for stale in evidence.incident.went_stale:
        title = f"{_statement_title(evidence, stale.statement)} v{stale.version}"
        facts = ", ".join(fact for fact, _, _ in stale.changes)
        for audience in stale.audiences:
            if (audience, stale.changes) in seen:
                continue  # one change overtook two statements they held: one finding
            seen.add((audience, stale.changes))
            replaced = _told(evidence, audience, stale)
            held = (replaced or evidence.ended) - stale.at
            who = book.audiences[audience].title
            if replaced is not None and held <= STALE_FOR_AT_MOST:
                yield Finding(
                    strength=True,
                    title=f"{who} given the new facts in {format_duration(held)}",
                    observation=f"{facts} changed at {evidence.at(stale.at)}, overtaking "
                    f"{title}; words with the new facts reached {who} at "
                    f"{evidence.at(replaced)}.",
                    analysis="The audience did not act on words we no longer stood by.",
                    root_cause=f"a new version was drafted, approved and released within "
                    f"{format_duration(held)} of the change",
                )
                continue
            ended = (
                f"words with the new facts reached them at {evidence.at(replaced)}"
                if replaced
                else "no words with the new facts reached them before the exercise ended"
            )
            yield Finding(
                strength=False,
                title=f"{who} held stale words of {title} for {format_duration(held)}",
                observation=f"{facts} changed at {evidence.at(stale.at)}; {ended}.",
                analysis=f"For {format_duration(held)}, {who} could act on words we no "
                "longer stood by.",
                root_cause=f"the correction of {title} waited for its approvers"
                if replaced
                else f"the correction of {title} was not approved or not released",
                action=f"name a second approver for {title} who answers at night, so "
                f"that a correction reaches {who} within {format_duration(STALE_FOR_AT_MOST)}",
                capability=PUBLIC_INFORMATION,
                weight=2,
            )


def _told(evidence: Evidence, audience: str, stale: StatementWentStale) -> datetime | None:
    """When the audience first heard, in any statement, the facts that overtook the words
    they held: a correction of another statement tells them as well as a new version."""
    changed = {fact: now for fact, _, now in stale.changes}
    return min(
        (
            release.at
            for statement in evidence.incident.statements.values()
            for release in statement.releases
            if release.audience == audience
            and release.at >= stale.at
            and all(release.facts.get(fact) == now for fact, now in changed.items())
        ),
        default=None,
    )


STALE_FOR_AT_MOST = timedelta(minutes=15)
"""How long an audience may hold words a changed fact overtook before the report counts it
against the team: the time to draft, approve and send a correction at 3 a.m."""
