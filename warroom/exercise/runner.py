"""Running a tabletop exercise: the real playbook, the real engine, a virtual clock.

The exercise is an ordinary incident marked `exercise`, run by the ordinary runtime: the only
differences are the clock (virtual, or accelerated in facilitated mode), the channels (a
simulated delivery, or the real channels inside the sandbox interlock), and the people: those
named under `responders` are simulated, reacting to the pages and approval requests the
engine actually sent them. What is rehearsed is exactly what runs live.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from warroom.channels import Channel, Receipt
from warroom.durations import format_duration
from warroom.engine import events as ev
from warroom.engine.contact_lists import contact_row
from warroom.engine.effects import SendMessage
from warroom.engine.lifecycles import MESSAGE_FINAL, MessagePhase, dormant, finished
from warroom.engine.state import Incident
from warroom.errors import CommandRejected, UsageError
from warroom.exercise.schema import InjectSpec, ResponderSpec, ScenarioSpec
from warroom.roster.load import read_contact_list
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot


class SimulatedDelivery:
    """Delivers everything at once, except a channel the scenario has taken down."""

    simulated = True
    """Nothing leaves: the sandbox may hand it a non-participant's message, which it reports
    delivered (simulated responders act on it), where a real channel's would be withheld."""

    def __init__(
        self,
        name: str,
        outages: dict[str, list[tuple[datetime, datetime]]],
        now: Callable[[], datetime],
    ) -> None:
        self.name = name
        self.outages = outages
        self.now = now

    def send(self, message: SendMessage) -> Receipt:
        moment = self.now()
        if any(start <= moment < end for start, end in self.outages.get(self.name, [])):
            return Receipt("failed", detail=f"{self.name} outage (exercise inject)", retryable=True)
        return Receipt("delivered", provider_id=f"sim-{message.message}")

    def close(self) -> None:
        """Nothing to release."""


@dataclass(order=True)
class _Action:
    at: datetime
    order: int
    label: str = field(compare=False)
    perform: Callable[[], None] = field(compare=False)


@dataclass
class ExerciseRun:
    incident: str
    started: datetime
    ended: datetime
    log: list[str]


class Exercise:
    """One run of a scenario against a runtime whose clock the exercise may move."""

    def __init__(
        self,
        scenario: ScenarioSpec,
        snapshot: Snapshot,
        runtime: Runtime,
        *,
        participants: tuple[str, ...] = (),
        outages: dict[str, list[tuple[datetime, datetime]]] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.snapshot = snapshot
        self.runtime = runtime
        self.participants = participants or tuple(scenario.participants)
        self.outages = outages if outages is not None else {}
        self.silenced: set[str] = set()
        self.agenda: list[_Action] = []
        self.counter = itertools.count()
        self.seen: set[tuple[str, str]] = set()
        self.answering: set[int] = set()
        """Inquiries a simulated spokesperson has planned to answer."""
        self.scanned = 0
        self.watching: list[str] = []
        self.log: list[str] = []
        self.on_progress = on_progress or (lambda text: None)
        self.incident = ""

    @staticmethod
    def simulated_channels(
        outages: dict[str, list[tuple[datetime, datetime]]], now: Callable[[], datetime]
    ) -> Mapping[str, Channel]:
        return {kind: SimulatedDelivery(kind, outages, now) for kind in ("sms", "email")}

    # -- running ---------------------------------------------------------------------------

    def start(self) -> str:
        spec = self.scenario
        for inject in spec.injects:
            if inject.contacts is not None:
                self._contacts_file(inject.contacts.csv)  # refused before anything is started
        playbook, _ = self.snapshot.compile()
        outcome = self.runtime.activate(
            self.snapshot,
            level=spec.level or playbook.default_level,
            facts=dict(spec.facts),
            by=f"exercise:{spec.exercise}",
            exercise=True,
            participants=self.participants,
            secret=exercise_secret(spec),
        )
        self.incident = outcome.incident
        for index, inject in enumerate(spec.injects):
            self._plan(spec.start + inject.at, f"inject {index + 1}", self._inject(index, inject))
        return self.incident

    def run(self) -> ExerciseRun:
        """Run on the virtual clock until the steps are done, the incident ends, or `end`."""
        clock_set = getattr(self.runtime.clock, "set", None)
        if clock_set is None:
            raise UsageError("a simulated exercise needs a virtual clock")
        spec = self.scenario
        end = spec.start + spec.end
        self.start()
        while True:
            self.runtime.work()
            self._observe()
            if self._finished():
                break
            following = [a for a in (self.runtime.next_wake_up(), self._next_action()) if a]
            moment = min(following) if following else None
            if moment is None or moment > end:
                clock_set(end if moment is not None else self.runtime.clock.now())
                break
            clock_set(moment)
            self._perform_due()
        return ExerciseRun(self.incident, spec.start, self.runtime.clock.now(), self.log)

    def run_live(self, stop: Callable[[float], bool]) -> ExerciseRun:
        """Facilitated mode: real people answer in real (or accelerated) time. `stop(seconds)`
        waits up to that long and says whether to stop (Ctrl-C, SIGTERM)."""
        spec = self.scenario
        end = spec.start + spec.end
        speed = float(getattr(self.runtime.clock, "speed", 1.0))
        self.start()
        while True:
            self._perform_due()
            self.runtime.work()
            self._observe()
            now = self.runtime.clock.now()
            if self._finished() or now >= end:
                break
            following = [a for a in (self.runtime.next_wake_up(), self._next_action()) if a]
            wait = min([(m - now).total_seconds() / speed for m in following] + [1.0])
            if stop(max(wait, 0.0)):
                break
        return ExerciseRun(self.incident, spec.start, self.runtime.clock.now(), self.log)

    def _next_action(self) -> datetime | None:
        return self.agenda[0].at if self.agenda else None

    def _plan(self, at: datetime, label: str, perform: Callable[[], None]) -> None:
        heapq.heappush(self.agenda, _Action(at, next(self.counter), label, perform))

    def _perform_due(self) -> None:
        now = self.runtime.clock.now()
        while self.agenda and self.agenda[0].at <= now:
            action = heapq.heappop(self.agenda)
            action.perform()

    def _finished(self) -> bool:
        incident = self.runtime.incident(self.incident)
        if not incident.open:
            return True
        if self.agenda:
            return False
        return all(self._step_over(incident, step_id) for step_id in incident.steps)

    @staticmethod
    def _step_over(incident: Incident, step_id: str) -> bool:
        """A closing message (`on_resolve`) counts as over: it is said only when a person
        resolves the incident, so waiting for it would run every drill to its time limit."""
        state = incident.steps[step_id]
        step = incident.playbook.step(step_id)
        recurring = step.every is not None
        return (
            finished(state)
            or dormant(state)
            or step.on_resolve
            or (recurring and state.occurrence >= 0 and state.finished_at is not None)
        )

    def _submit(self, event: ev.Event, label: str) -> None:
        try:
            outcome = self.runtime.submit(self.incident, event)
        except CommandRejected as exc:
            self._say(f"{label}: no effect ({exc})")
            return
        for note in outcome.notes:
            self._say(note)

    def _say(self, text: str) -> None:
        offset = self.runtime.clock.now() - self.scenario.start
        line = f"+{format_duration(offset) if offset.total_seconds() else '0m'}  {text}"
        self.log.append(line)
        self.on_progress(line)

    # -- injects ---------------------------------------------------------------------------

    def _inject(self, index: int, inject: InjectSpec) -> Callable[[], None]:
        by = f"inject:{index + 1}"

        def perform() -> None:
            if inject.media_inquiry is not None:
                q = inject.media_inquiry
                emails = [c for c in q.contact if "@" in c]
                phones = [c for c in q.contact if "@" not in c]
                self._submit(
                    ev.MediaInquiryLogged(
                        outlet=q.outlet,
                        question=q.question,
                        journalist=q.journalist,
                        phone=phones[0] if phones else "",
                        email=emails[0] if emails else "",
                        language=q.language or "",
                        within=int(q.within.total_seconds()) if q.within else None,
                        by=by,
                    ),
                    by,
                )
            elif inject.raise_level:
                self._submit(ev.LevelRaised(level=inject.raise_level, reason=by, by=by), by)
            elif inject.lower_level:
                self._submit(ev.LevelLowered(level=inject.lower_level, reason=by, by=by), by)
            elif inject.fact:
                self._submit(ev.FactUpdated(facts=dict(inject.fact), by=by), by)
            elif inject.channel_outage and inject.lasting:
                now = self.runtime.clock.now()
                window = (now, now + inject.lasting)
                self.outages.setdefault(inject.channel_outage, []).append(window)
                text = (
                    f"Inject: {inject.channel_outage} is down for {format_duration(inject.lasting)}"
                )
                self._submit(ev.NoteAdded(text=text, by=by), by)
            elif inject.silence:
                self.silenced.add(inject.silence)
                self._submit(ev.NoteAdded(text=f"Inject: {inject.silence} goes silent", by=by), by)
            elif inject.restore:
                self.silenced.discard(inject.restore)
                self._submit(ev.NoteAdded(text=f"Inject: {inject.restore} is back", by=by), by)
            elif inject.note:
                self._submit(ev.NoteAdded(text=inject.note, by=by), by)
            elif inject.contacts is not None:
                given = inject.contacts
                rows = [contact_row(c) for c in read_contact_list(self._contacts_file(given.csv))]
                loaded = ev.ContactsLoaded(
                    audience=given.audience, source=given.csv, contacts=rows, by=by
                )
                self._submit(loaded, by)

        return perform

    def _contacts_file(self, csv: str) -> Path:
        """The scenario names its lists relative to itself, as a roster does: a snapshot that
        does not know where the scenario lives would read them from wherever the process runs,
        so it is refused instead."""
        if Path(csv).is_absolute():
            return Path(csv)
        if not self.snapshot.scenario_file:
            raise UsageError(
                f"exercise {self.scenario.exercise}: the contacts inject's csv {csv!r} is "
                "relative to the scenario file, but this exercise was started without it "
                "(give the snapshot its scenario_file)"
            )
        return Path(os.path.normpath(Path(self.snapshot.scenario_file).parent / csv))

    # -- simulated people ------------------------------------------------------------------

    def _observe(self) -> None:
        """Schedule how each simulated person answers what reached them.

        Only messages new since the last look, and those still on their way, are examined:
        a three-day exercise sends thousands of statements nobody simulated answers.
        """
        incident = self.runtime.incident(self.incident)
        now = self.runtime.clock.now()
        messages = list(incident.messages.values())
        for message in messages[self.scanned :]:
            if (
                message.person is not None
                and message.code is not None
                and message.person not in self.participants
                and message.person in self.scenario.responders
            ):
                self.watching.append(message.id)
        self.scanned = len(messages)
        still: list[str] = []
        for message_id in self.watching:
            message = incident.messages[message_id]
            person = message.person
            # a live exercise withholds a simulated responder's page from the real person: the
            # simulation stands in for them and answers it all the same
            if message.state not in (MessagePhase.DELIVERED, MessagePhase.WITHHELD):
                if message.state not in MESSAGE_FINAL:
                    still.append(message_id)
                continue
            if person is None or message.code is None or (person, message.code) in self.seen:
                continue
            self.seen.add((person, message.code))
            responder = self.scenario.responders.get(person)
            if responder is None or responder.silent:
                continue
            self._respond(person, responder, message.purpose, message.code, message.statement, now)
        self.watching = still
        self._answer_inquiries(incident, now)

    def _answer_inquiries(self, incident: Incident, now: datetime) -> None:
        """A simulated owner of the media desk answers an open inquiry from its suggested Q&A
        entry once a version of it is approved, after their scripted delay: never free text,
        never an entry nobody suggested, never words not approved."""
        for inquiry in incident.inquiries:
            if not inquiry.open or not inquiry.suggestion or inquiry.number in self.answering:
                continue
            person = incident.holder(inquiry.owner) if inquiry.owner else None
            responder = self.scenario.responders.get(person or "")
            if person is None or responder is None or responder.answer_after is None:
                continue
            if person in self.participants:
                continue
            statement = incident.statements[inquiry.suggestion]
            spec = incident.playbook.statements[inquiry.suggestion]
            if not statement.approved(spec.approvers):
                continue
            self.answering.add(inquiry.number)
            by = f"simulated:{person}"
            answer = ev.InquiryAnswered(inquiry=inquiry.number, answer=inquiry.suggestion, by=by)

            def perform(event: ev.Event = answer, who: str = person, label: str = by) -> None:
                if who not in self.silenced:
                    self._submit(event, label)

            self._plan(now + responder.answer_after, by, perform)

    def _respond(
        self,
        person: str,
        responder: ResponderSpec,
        purpose: str,
        code: str,
        statement: str | None,
        now: datetime,
    ) -> None:
        by = f"simulated:{person}"
        event: ev.Event | None = None
        delay: timedelta | None = None
        if purpose == "page" and responder.ack_after is not None:
            event, delay = ev.Acknowledged(person=person, code=code, by=by), responder.ack_after
        elif purpose == "approval" and statement and responder.approve_after is not None:
            event = ev.Approved(statement=statement, person=person, code=code, by=by)
            delay = responder.approve_after
        elif purpose == "approval" and statement and responder.reject_after is not None:
            reason = responder.reject_reason or "no reason given"
            event = ev.Rejected(statement=statement, person=person, reason=reason, code=code, by=by)
            delay = responder.reject_after
        if event is None or delay is None:
            return
        answer = event

        def perform() -> None:
            if person not in self.silenced:
                self._submit(answer, by)

        self._plan(now + delay, by, perform)


def exercise_secret(spec: ScenarioSpec) -> str:
    """An exercise's reply-code secret, from its scenario and `seed`: the same drill gives the
    same codes, so its report is byte-identical run after run. A drill's codes protect
    nothing real (its messages go only to participants, marked EXERCISE)."""
    return hashlib.sha256(f"warroom-exercise:{spec.exercise}:{spec.seed}".encode()).hexdigest()
