"""`Runtime`: commands in, decisions persisted, timers fired, messages dispatched.

The sequence for every input is the same: take the database's write lock, bring the
incident's state up to the last event in the log, `decide`, append the event with its notes
and effects, commit. A command the engine rejects writes nothing. State lives in memory only
as a cache of the log; a restart folds the log again and carries on where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

from warroom.channels import Channel, Receipt, Reconciler
from warroom.channels.sandbox import SandboxChannel
from warroom.engine import lifecycles as lc
from warroom.engine.decide import Decision, decide, new_incident
from warroom.engine.effects import SendMessage
from warroom.engine.events import (
    Acknowledged,
    Activated,
    Approved,
    DeliveryReported,
    Event,
    LevelConfirmed,
    NoteAdded,
    Rejected,
    TimerFired,
)
from warroom.engine.lifecycles import (
    INCIDENT_IN_HAND,
    IncidentPhase,
    MessagePhase,
    OutboxPhase,
    awaits_acknowledgement,
)
from warroom.engine.replies import Reply, parse_reply
from warroom.engine.state import Incident, MessageState
from warroom.errors import CommandRejected, NotFound, StoreError, UsageError, WarroomError
from warroom.runtime.clock import Clock, SteerableClock
from warroom.runtime.links import ACTIONS, ActionLinks, LinkClaim
from warroom.runtime.snapshot import Snapshot
from warroom.store import InboundEntry, OutboxRow, Store

SENDING_LEASE = timedelta(minutes=2)
"""A message claimed this long ago and never settled belongs to a worker that died."""
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_CAP = timedelta(minutes=10)
RECONCILE_AFTER = timedelta(seconds=30)
"""Give a provider time to list a message it accepted before asking whether it exists."""


def backoff(message_id: str, attempt: int) -> timedelta:
    """Capped exponential back-off with jitter. The jitter comes from the message id, so a
    replay or a test sees the same schedule while a burst of retries still spreads out."""
    ceiling: timedelta = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(attempt - 1, 0))
    spread = int(hashlib.sha256(f"{message_id}:{attempt}".encode()).hexdigest()[:8], 16)
    jitter = 0.5 + (spread % 1000) / 2000
    return ceiling * jitter


@dataclass(frozen=True)
class Outcome:
    incident: str
    n: int
    notes: tuple[str, ...]
    effects: int


OPEN = INCIDENT_IN_HAND
"""An incident still in hand: closing or cancelling it frees its alert key."""


@dataclass(frozen=True)
class AlertIntake:
    """One alert, matched to a playbook's trigger: what the runtime needs to act on it."""

    source: str
    key: str
    level: str | None
    facts: Mapping[str, str]
    cooldown: timedelta
    resolved: bool = False
    fingerprint: str | None = None
    flagged: tuple[str, ...] = ()
    """Facts a person should check (`what_happened: not in alert: annotations.summary`)."""
    summary: str = ""

    def describe(self) -> str:
        return self.summary or self.source


@dataclass(frozen=True)
class AlertOutcome:
    verdict: str  # accepted | duplicate | no-effect
    incident: str | None
    detail: str


class NothingWaiting(CommandRejected):
    """A reply from a known person that answers nothing open."""


class AmbiguousReply(CommandRejected):
    """A reply without a code while the person has several requests open."""


class CodeRequired(CommandRejected):
    """An APPROVE or REJECT without the code of its request: it proves nothing."""


@dataclass(frozen=True)
class ReplyOutcome:
    """What a reply or a link did, for the person who sent it and for the inbound log.

    `refusal` is empty when it acted; otherwise one of `unknown-sender`, `not-understood`,
    `nothing-waiting`, `ambiguous`, `needs-code`, `refused`, with `reason` saying why in
    English. The answer in the sender's own language is the caller's to word (`language`).
    """

    accepted: bool
    verb: str
    incident: str | None
    subject: str
    refusal: str
    reason: str
    language: str = "en"

    @classmethod
    def refused(
        cls, refusal: str, reason: str, language: str = "en", incident: str | None = None
    ) -> ReplyOutcome:
        return cls(False, "", incident, "", refusal, reason, language)

    @property
    def summary(self) -> str:
        if self.accepted:
            done = {
                "ack": "acknowledged",
                "approve": "approved",
                "reject": "rejected",
                "confirm": "confirmed level",
            }
            return f"{done[self.verb]}: {self.subject} ({self.incident})"
        return f"ignored: {self.reason}"


@dataclass(frozen=True)
class LinkRequest:
    """What a signed link would do: shown on the page a GET opens, done by the POST."""

    incident: str
    title: str
    person: str
    verb: str
    subject: str
    texts: tuple[tuple[str, str], ...]
    """(audience and language, text) of the statement version an approval covers."""
    refusal: str
    """Why it cannot act now (already answered, incident closed), or empty."""
    event: Event


class Runtime:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        channels: Mapping[str, Channel] | None = None,
        *,
        worker: str | None = None,
        concurrency: int = 8,
        links: ActionLinks | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.channels = dict(channels or {})
        self.links = links
        """Signs the act links added to e-mailed pages and approval requests, when set."""
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        """Kept for the runtime's life: channels keep one connection per sending thread."""
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._cache: dict[str, tuple[Incident, int]] = {}

    # -- incidents -----------------------------------------------------------------------

    def preview(
        self, snapshot: Snapshot, level: str, facts: dict[str, str], by: str
    ) -> tuple[Incident, Decision]:
        """What activation would do now, decided but written nowhere (`--dry-run`)."""
        playbook, roster = snapshot.compile()
        incident = new_incident("DRY-RUN", playbook, roster)
        event = Activated(level=level, facts=facts, by=by, secret=secrets.token_hex(16))
        decision = decide(incident, event, self.clock.now())
        return incident, decision

    def activate(
        self,
        snapshot: Snapshot,
        *,
        level: str | None = None,
        facts: dict[str, str] | None = None,
        by: str = "",
        exercise: bool = False,
        participants: tuple[str, ...] = (),
        login: str = "",
        secret: str | None = None,
    ) -> Outcome:
        """Open an incident. `secret` (its reply codes' key) is drawn here unless given: an
        exercise derives it from its scenario's seed, so its report is the same every run."""
        outcome: Outcome | None = None
        try:
            with self.store.transaction():
                outcome = self._activate(
                    snapshot, level, facts, by, exercise, participants, login, secret
                )
        except BaseException:
            if outcome is not None:  # decided, but the commit failed
                self._cache.pop(outcome.incident, None)
            raise
        return outcome

    def _activate(
        self,
        snapshot: Snapshot,
        level: str | None,
        facts: dict[str, str] | None,
        by: str,
        exercise: bool = False,
        participants: tuple[str, ...] = (),
        login: str = "",
        secret: str | None = None,
    ) -> Outcome:
        """The body of `activate`, inside a transaction the caller holds."""
        playbook, roster = snapshot.compile()
        now = self.clock.now()
        chosen = level or playbook.default_level
        event = Activated(
            level=chosen,
            facts=dict(facts or {}),
            by=by,
            login=login,
            exercise=exercise,
            participants=participants,
            secret=secrets.token_hex(16) if secret is None else secret,
        )
        incident_id = self._new_id(playbook.id, playbook.timezone, now)
        incident = new_incident(incident_id, playbook, roster)
        decision = decide(incident, event, now)
        self.store.create_incident(
            incident_id, playbook.id, playbook.title, chosen, exercise, snapshot.to_json(), now
        )
        self._append(incident, 1, event, now, decision)
        self._cache[incident_id] = (incident, 1)
        return Outcome(incident_id, 1, tuple(decision.notes), len(decision.effects))

    def take_alert(self, snapshot: Snapshot, alert: AlertIntake) -> AlertOutcome:
        """An alert from a monitoring system: open the playbook's incident, attach to the
        one its key already has open, record a resolution at source, or do nothing (within
        the cooldown). One transaction, so the same alert delivered fifty times at once
        opens one incident."""
        try:
            with self.store.transaction():
                return self._take_alert(snapshot, alert)
        except BaseException:
            self._cache.clear()  # an activation or note may be half-cached
            raise

    def _take_alert(self, snapshot: Snapshot, alert: AlertIntake) -> AlertOutcome:
        now = self.clock.now()
        by = f"webhook:{alert.source}"
        found = self.store.alert_incident(alert.key)
        fingerprint = alert.fingerprint or ""
        if found is not None and found.state in OPEN:
            if alert.resolved:
                if fingerprint and fingerprint in found.resolved:
                    return AlertOutcome("duplicate", found.incident, "resolution already recorded")
                self.store.mark_alert(alert.key, found.incident, resolved=fingerprint)
                text = f"resolved at source ({alert.describe()}); people decide what happens next"
                self._decide_and_append(found.incident, NoteAdded(text=text, by=by))
                return AlertOutcome("accepted", found.incident, "resolved at source: recorded")
            if not fingerprint or fingerprint in found.fingerprints:
                return AlertOutcome("duplicate", found.incident, f"attached to {found.incident}")
            self.store.mark_alert(alert.key, found.incident, firing=fingerprint)
            text = f"the alert fired again: new fingerprint {fingerprint} ({alert.describe()})"
            self._decide_and_append(found.incident, NoteAdded(text=text, by=by))
            return AlertOutcome("accepted", found.incident, f"attached to {found.incident}")
        if alert.resolved:
            return AlertOutcome("no-effect", None, "resolved alert with no open incident")
        if found is not None and now - found.updated_at < alert.cooldown:
            until = found.updated_at + alert.cooldown
            why = (
                f"within the cooldown after {found.incident} was {found.state} "
                f"(until {until.isoformat(timespec='seconds')})"
            )
            return AlertOutcome("no-effect", found.incident, why)
        outcome = self._activate(snapshot, alert.level, dict(alert.facts), by)
        self.store.bind_alert(alert.key, outcome.incident, alert.source, now, fingerprint)
        if alert.flagged:
            text = "facts to check, the alert could not fill them: " + "; ".join(alert.flagged)
            self._decide_and_append(outcome.incident, NoteAdded(text=text, by=by))
        return AlertOutcome("accepted", outcome.incident, f"activated {outcome.incident}")

    def close(self) -> None:
        """Stop the sending threads; the store and channels are closed by their owners."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _append(
        self, incident: Incident, n: int, event: Event, now: datetime, decision: Decision
    ) -> None:
        self.store.append(
            incident.id,
            n,
            event,
            now,
            decision.notes,
            decision.effects,
            state=incident.state,
            level=incident.level,
        )

    def _new_id(self, playbook: str, timezone: str, now: datetime) -> str:
        """`data-breach-20261123-0900`: readable on a phone, typed at 3 a.m."""
        base = f"{playbook}-{now.astimezone(ZoneInfo(timezone)):%Y%m%d-%H%M}"
        candidate, n = base, 1
        while self.store.incident_exists(candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def submit(
        self,
        incident_id: str,
        event: Event,
        *,
        also: Callable[[], None] | None = None,
    ) -> Outcome:
        """Decide one event and persist it with its effects, or write nothing at all."""
        try:
            with self.store.transaction():
                return self._decide_and_append(incident_id, event, also)
        except BaseException:
            self._cache.pop(incident_id, None)  # the in-memory state may be half-changed
            raise

    def _decide_and_append(
        self, incident_id: str, event: Event, also: Callable[[], None] | None = None
    ) -> Outcome:
        """The body of `submit`, inside a transaction the caller holds."""
        now = self.clock.now()
        incident, n = self._current(incident_id)
        decision = decide(incident, event, now)
        if isinstance(event, TimerFired):
            self.store.drop_timer(incident_id, event.timer, event.token)
        if also is not None:
            also()
        self._append(incident, n + 1, event, now, decision)
        self._cache[incident_id] = (incident, n + 1)
        return Outcome(incident_id, n + 1, tuple(decision.notes), len(decision.effects))

    def incident(self, incident_id: str) -> Incident:
        return self._current(incident_id)[0]

    def _current(self, incident_id: str) -> tuple[Incident, int]:
        """The incident folded up to the last event in the log (cached between calls)."""
        cached = self._cache.get(incident_id)
        last = self.store.last_n(incident_id)
        if cached is not None and cached[1] == last:
            return cached
        if cached is None or cached[1] > last:
            row = self.store.incident(incident_id)
            playbook, roster = Snapshot.from_json(row.snapshot).compile()
            cached = (new_incident(incident_id, playbook, roster), 0)
        incident, n = cached
        for stored in self.store.events(incident_id, after=n):
            try:
                decide(incident, stored.event, stored.at)
            except WarroomError as exc:
                raise StoreError(
                    f"incident {incident_id}: event {stored.n} ({stored.event.kind}) cannot be "
                    f"replayed: {exc}"
                ) from exc
            n = stored.n
        self._cache[incident_id] = (incident, n)
        return incident, n

    def replay(self, incident_id: str) -> Incident:
        """The incident rebuilt from its log alone, ignoring the cache."""
        self._cache.pop(incident_id, None)
        return self._current(incident_id)[0]

    def open_incident(self) -> str:
        """The one incident still in hand (active, or resolved but not closed),
        for commands given without an incident id."""
        open_ones = [
            r for r in self.store.incidents(open_only=True) if r.state != IncidentPhase.NEW
        ]
        if not open_ones:
            raise NotFound("no open incident; give its id, or `warroom activate` one")
        if len(open_ones) > 1:
            raise CommandRejected(
                "several incidents are open ("
                + ", ".join(r.id for r in open_ones)
                + "); give --incident"
            )
        return open_ones[0].id

    # -- replies, status callbacks, links ------------------------------------------------

    def receive_sms(self, sender: str, body: str, *, inbound: int | None = None) -> ReplyOutcome:
        """Act on an SMS reply (ACK, APPROVE, REJECT) and say what happened.

        The sender's number names the person in each open incident's roster; the code names
        the page or approval. The reply is in the inbound log before it acts (`inbound` is
        its line when the caller logged it already) and the verdict is written in the same
        transaction as the event it caused. A reply from an unknown number, or about a
        closed incident, changes nothing.
        """
        if inbound is None:
            inbound = self.store.log_inbound(self._received("cli:inbound-sms", "sms", sender, body))
        language = "en"
        try:
            number = _e164(sender)
        except CommandRejected as exc:
            return self._refuse_reply(inbound, ReplyOutcome.refused("unknown-sender", str(exc)))
        try:
            language = self._language_of(number)
            reply = parse_reply(body)
            incident_id, event, subject = self._reply_event(number, reply)
        except NotFound as exc:
            refusal = ReplyOutcome.refused("unknown-sender", str(exc), language)
            return self._refuse_reply(inbound, refusal)
        except AmbiguousReply as exc:
            return self._refuse_reply(
                inbound, ReplyOutcome.refused("ambiguous", str(exc), language)
            )
        except CodeRequired as exc:
            return self._refuse_reply(
                inbound, ReplyOutcome.refused("needs-code", str(exc), language)
            )
        except NothingWaiting as exc:
            refusal = ReplyOutcome.refused("nothing-waiting", str(exc), language)
            return self._refuse_reply(inbound, refusal)
        except CommandRejected as exc:
            refusal = ReplyOutcome.refused("not-understood", str(exc), language)
            return self._refuse_reply(inbound, refusal)
        outcome = ReplyOutcome(True, reply.verb, incident_id, subject, "", "", language)
        return self._act_on_reply(inbound, incident_id, event, outcome)

    def _act_on_reply(
        self, inbound: int, incident_id: str, event: Event, outcome: ReplyOutcome
    ) -> ReplyOutcome:
        def judge() -> None:
            self.store.judge_inbound(inbound, "accepted", outcome.summary, incident_id)

        try:
            self.submit(incident_id, event, also=judge)
        except CommandRejected as exc:
            refusal = ReplyOutcome.refused("refused", str(exc), outcome.language, incident_id)
            return self._refuse_reply(inbound, refusal)
        return outcome

    def _refuse_reply(self, inbound: int, outcome: ReplyOutcome) -> ReplyOutcome:
        with self.store.transaction():
            self.store.judge_inbound(inbound, "no-effect", outcome.summary, outcome.incident)
        return outcome

    def _received(self, route: str, channel: str, sender: str, body: str) -> InboundEntry:
        digest = hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()
        return InboundEntry(
            self.clock.now(), route, channel, sender, body, "received", "", None, None, digest
        )

    def _language_of(self, number: str) -> str:
        """The language to answer a number in: its owner's first, in any open incident."""
        for row in self.store.incidents(open_only=True):
            incident = self.incident(row.id)
            for person in incident.roster.people.values():
                if person.phone == number:
                    return person.languages[0] if person.languages else "en"
        return "en"

    def _reply_event(self, number: str, reply: Reply) -> tuple[str, Event, str]:
        by = f"sms:{number}"
        candidates: list[tuple[str, str, MessageState]] = []
        known = False
        for row in self.store.incidents(open_only=True):
            incident = self.incident(row.id)
            person = next(
                (p.id for p in incident.roster.people.values() if p.phone == number), None
            )
            if person is None or not incident.open:
                continue
            known = True
            purpose = {"ack": "page", "confirm": "level"}.get(reply.verb, "approval")
            for message in incident.messages.values():
                if message.person != person or message.purpose != purpose or not message.code:
                    continue
                if reply.code is not None and message.code != reply.code:
                    continue
                if self._still_open(incident, message):
                    candidates.append((row.id, person, message))
        if not known:
            raise NotFound(f"{number} is not in the roster of any open incident")
        if reply.verb != "ack" and reply.code is None:
            # an approval is only as good as its proof: the sender's number and the code
            # that went to that number with this version's request
            word = reply.verb.upper()
            what = (
                "the request to confirm the level" if word == "CONFIRM" else "the approval request"
            )
            raise CodeRequired(
                f"{word} without the code approves nothing; reply {word} <code> with the code "
                f"from {what}"
            )
        chosen = {(i, m.code): (i, p, m) for i, p, m in candidates}
        if not chosen:
            what = f"code {reply.code}" if reply.code else "an open request"
            raise NothingWaiting(f"no {reply.verb} is waiting for {what} from {number}")
        if len(chosen) > 1:
            raise AmbiguousReply("several requests are open; reply with the code")
        incident_id, person, message = next(iter(chosen.values()))
        return (incident_id, *self._answer(incident_id, person, message, reply, by))

    def _answer(
        self, incident_id: str, person: str, message: MessageState, reply: Reply, by: str
    ) -> tuple[Event, str]:
        """The event a reply or a link makes of one open request, and what it was about."""
        incident = self.incident(incident_id)
        if reply.verb == "ack":
            step = incident.playbook.step(message.step)
            return Acknowledged(person=person, code=message.code, by=by), step.title
        if reply.verb == "confirm":
            level = message.step.removeprefix("level:")
            confirm = LevelConfirmed(person=person, level=level, code=message.code, by=by)
            return confirm, level
        statement = message.statement or ""
        subject = f"{incident.playbook.statements[statement].title} v{message.version}"
        if reply.verb == "approve":
            event: Event = Approved(statement=statement, person=person, code=message.code, by=by)
            return event, subject
        event = Rejected(
            statement=statement, person=person, reason=reply.reason, code=message.code, by=by
        )
        return event, subject

    @staticmethod
    def _still_open(incident: Incident, message: MessageState) -> bool:
        if message.purpose == "level":  # the level it asks about is still the one proposed
            return message.step == f"level:{incident.proposed_level}"
        if message.purpose == "page":
            step = incident.steps.get(message.step)
            return (
                step is not None
                and awaits_acknowledgement(step)
                and message.person not in step.acked
            )
        statement = incident.statements.get(message.statement or "")
        draft = statement.draft if statement else None
        return draft is not None and draft.requested and draft.version == message.version

    def report_status(
        self, message_id: str, status: str, *, detail: str = "", inbound: int
    ) -> tuple[str, str]:
        """A provider's status callback: (verdict, what it did). It moves a message forward
        only (a late `sent` never undoes `delivered`), and a repeat changes nothing."""
        incident_id = message_id.rsplit("-m", 1)[0]
        try:
            with self.store.transaction():
                incident = (
                    self.incident(incident_id) if self.store.incident_exists(incident_id) else None
                )
                message = incident.messages.get(message_id) if incident else None
                if message is None:
                    outcome = f"unknown message {message_id!r}"
                    self.store.judge_inbound(inbound, "no-effect", outcome)
                    return "no-effect", outcome
                if not lc.can(lc.MESSAGE, status, message):
                    outcome = f"message {message_id} is already {message.state}"
                    self.store.judge_inbound(inbound, "no-effect", outcome, incident_id)
                    return "no-effect", outcome
                outcome = f"message {message_id} {status}"

                def settle() -> None:
                    self.store.settle(message_id, status, self.clock.now(), detail=detail)
                    self.store.judge_inbound(inbound, "accepted", outcome, incident_id)

                event = DeliveryReported(
                    message=message_id, status=status, detail=detail, by="twilio:status-callback"
                )
                self._decide_and_append(incident_id, event, also=settle)
        except BaseException:
            self._cache.pop(incident_id, None)
            raise
        return "accepted", outcome

    def link(self, claim: LinkClaim) -> LinkRequest:
        """What a signed link would do now, without doing it (the page a GET shows)."""
        incident = self.incident(claim.incident)
        message = next(
            (
                m
                for m in incident.messages.values()
                if m.code == claim.code and ACTIONS.get(m.purpose) == claim.action
            ),
            None,
        )
        if message is None or message.person is None:
            raise NotFound("this link does not match any request of the incident")
        person = incident.roster.people.get(message.person)
        name = person.name if person else message.person
        verb = "ack" if claim.action == "ack" else "approve"
        event, subject = self._answer(
            incident.id, message.person, message, Reply(verb, claim.code), f"link:{message.person}"
        )
        why = ""
        if not incident.open:
            why = f"incident {incident.id} is {incident.state}"
        elif not self._still_open(incident, message):
            why = "this request is no longer open (already answered, or superseded)"
        texts: tuple[tuple[str, str], ...] = ()
        statement = incident.statements.get(message.statement or "")
        if verb == "approve" and statement is not None and statement.draft is not None:
            texts = tuple(
                (f"{audience}, {language}", text.text)
                for (audience, language), text in statement.draft.texts.items()
            )
        return LinkRequest(
            incident.id, incident.playbook.title, name, verb, subject, texts, why, event
        )

    def follow_link(self, claim: LinkClaim, *, inbound: int) -> ReplyOutcome:
        """Act on a signed link (the POST): the same event an SMS reply would make."""
        try:
            request = self.link(claim)
        except NotFound as exc:
            return self._refuse_reply(inbound, ReplyOutcome.refused("nothing-waiting", str(exc)))
        if request.refusal:
            refusal = ReplyOutcome.refused("refused", request.refusal, "en", request.incident)
            return self._refuse_reply(inbound, refusal)
        outcome = ReplyOutcome(True, request.verb, request.incident, request.subject, "", "", "en")
        return self._act_on_reply(inbound, request.incident, request.event, outcome)

    # -- the worker ----------------------------------------------------------------------

    def fire_due_timers(self) -> int:
        """Fire every due wake-up, including those that firing re-arms in the past (a worker
        back after a while climbs every overdue rung of a ladder, in order)."""
        fired = 0
        while due := self.store.due_timers(self.clock.now()):
            for timer in due:
                event = TimerFired(timer=timer.timer, token=timer.token, by="timer")
                self.submit(timer.incident, event)
                fired += 1
        return fired

    def dispatch(self, limit: int = 200) -> int:
        """Reconcile sends whose outcome is unknown, then send what is queued, several at
        once; every receipt is recorded in the database by this thread alone."""
        now = self.clock.now()
        checked = self.store.claim_unknown(self.worker, now, limit)
        for row in checked:
            with self.store.transaction():
                self._reconcile(row)
        claimed = self.store.claim(self.worker, now, limit)
        if not claimed:
            return len(checked)
        withdrawn = [(row, why) for row in claimed if (why := self._superseded(row))]
        rows = [row for row in claimed if not any(row is w for w, _ in withdrawn)]
        routes = [(self._with_link(row, now), self._channel_for(row)) for row in rows]
        if self.concurrency == 1 or len(rows) <= 1:
            receipts = [_send(route) for route in routes]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency)
            receipts = list(self._pool.map(_send, routes))
        refused: WarroomError | None = None
        try:
            with self.store.transaction():  # one commit for the whole pass, not one per receipt
                for row, why in withdrawn:
                    self._record(row.message, Receipt(MessagePhase.FAILED, detail=why))
                for row, outcome in zip(rows, receipts, strict=True):
                    if isinstance(outcome, WarroomError):
                        # misconfigured (a revoked token): nothing was processed, so the
                        # message simply waits in the queue for the fixed configuration
                        refused = refused or outcome
                        self.store.postpone(row.id, OutboxPhase.QUEUED, now, str(outcome), now)
                    else:
                        self._settle(row, outcome)
        except BaseException:
            for row in claimed:
                self._cache.pop(row.incident, None)
            raise
        if refused is not None:
            raise refused  # every other receipt of the pass is already recorded
        return len(claimed) + len(checked)

    def _superseded(self, row: OutboxRow) -> str:
        """Why an approval request must not go out now (a newer version of the statement was
        drafted while it waited in the queue: its code approves nothing), or ""."""
        message = row.message
        if message.purpose != "approval" or not message.statement:
            return ""
        statement = self.incident(row.incident).statements.get(message.statement)
        draft = statement.draft if statement else None
        if draft is None or draft.version == message.version:
            return ""
        return f"not sent: v{message.version} was superseded by v{draft.version}"

    def _with_link(self, row: OutboxRow, now: datetime) -> OutboxRow:
        """An e-mailed page or approval request gains its signed link as it goes out; the
        outbox keeps the text without it, so the database never holds a working link."""
        message = row.message
        action = ACTIONS.get(message.purpose)
        if self.links is None or message.channel != "email" or not message.code or not action:
            return row
        incident = row.incident
        url = self.links.url(incident, message.code, action, now)
        label = "Acknowledge" if action == "ack" else "Review and approve"
        text = f"{message.text}\n\n{label}: {url}"
        return replace(row, message=replace(message, text=text))

    def _channel_for(self, row: OutboxRow) -> Channel | None:
        """The channel for a message; for an exercise, always inside the sandbox."""
        channel = self.channels.get(row.channel)
        incident = self.incident(row.incident)
        if channel is None or not incident.exercise:
            return channel
        people = [incident.roster.people.get(p) for p in incident.participants]
        addresses = {a for p in people if p is not None for a in (p.phone, p.email) if a}
        return SandboxChannel(channel, frozenset(addresses))

    def _settle(self, row: OutboxRow, receipt: Receipt) -> None:
        now = self.clock.now()
        if receipt.status == OutboxPhase.UNKNOWN:
            wait = max(RECONCILE_AFTER, backoff(row.id, row.attempts))
            self.store.postpone(row.id, OutboxPhase.UNKNOWN, now + wait, receipt.detail, now)
        elif (
            receipt.status == MessagePhase.FAILED
            and receipt.retryable
            and row.attempts < MAX_ATTEMPTS
        ):
            wait = backoff(row.id, row.attempts)
            detail = f"{receipt.detail}; attempt {row.attempts}, retry in {wait.seconds}s"
            self.store.postpone(row.id, OutboxPhase.QUEUED, now + wait, detail, now)
        elif receipt.status == MessagePhase.FAILED and receipt.retryable:
            final = Receipt(
                MessagePhase.FAILED,
                detail=f"gave up after {row.attempts} attempts: {receipt.detail}",
            )
            self._record(row.message, final)
        else:
            self._record(row.message, receipt)

    def _reconcile(self, row: OutboxRow) -> None:
        """Ask the provider whether an unanswered send went through, before resending."""
        now = self.clock.now()
        channel = self.channels.get(row.channel)
        if not isinstance(channel, Reconciler):  # it cannot tell, and repeats nothing: resend
            self.store.postpone(row.id, OutboxPhase.QUEUED, now, "resending: outcome unknown", now)
            return
        since = (self.store.claimed_at(row.id) or now) - timedelta(minutes=1)
        found = channel.reconcile(row.message, since)
        if found is None:
            detail = "not found at the provider; resending"
            self.store.postpone(row.id, OutboxPhase.QUEUED, now, detail, now)
        elif found.status == OutboxPhase.UNKNOWN and row.attempts >= MAX_ATTEMPTS:
            gave_up = f"outcome still unknown after {row.attempts} attempts: {found.detail}"
            self._record(row.message, Receipt(MessagePhase.FAILED, detail=gave_up))
        elif found.status == OutboxPhase.UNKNOWN:
            wait = max(RECONCILE_AFTER, backoff(row.id, row.attempts))
            self.store.postpone(row.id, OutboxPhase.UNKNOWN, now + wait, found.detail, now)
        else:
            self._record(row.message, found)

    def _record(self, message: SendMessage, receipt: Receipt) -> None:
        """Settle the outbox row and tell the engine, inside the caller's transaction."""
        incident_id = message.message.rsplit("-m", 1)[0]
        now = self.clock.now()
        known = self.incident(incident_id).messages.get(message.message)
        if known is not None and not lc.can(lc.MESSAGE, receipt.status, known):
            # a status callback got there first (delivered before the send's own answer)
            self.store.settle(message.message, receipt.status, now, provider_id=receipt.provider_id)
            return

        def settle() -> None:
            self.store.settle(
                message.message,
                receipt.status,
                now,
                provider_id=receipt.provider_id,
                detail=receipt.detail,
            )

        event = DeliveryReported(
            message=message.message, status=receipt.status, detail=receipt.detail, by="dispatcher"
        )
        self._decide_and_append(incident_id, event, also=settle)

    def recover(self) -> int:
        """At start: messages a dead worker left `sending` go back to the queue."""
        return self.store.requeue_abandoned(self.clock.now() - SENDING_LEASE)

    def work(self) -> int:
        """Fire what is due and send what is queued until nothing is left for now."""
        done = 0
        while True:
            step = self.fire_due_timers() + self.dispatch()
            if not step:
                return done
            done += step

    def beat(self) -> None:
        """Say this worker finished a pass, for `/readyz` on any node."""
        self.store.beat(self.worker, self.clock.now())

    def next_wake_up(self) -> datetime | None:
        """The next moment the worker has something to do: a timer, or a postponed send."""
        timer = self.store.next_timer()
        moments = [m for m in (timer.due_at if timer else None, self.store.next_send_at()) if m]
        return min(moments) if moments else None

    def run_until(self, moment: datetime) -> int:
        """On a virtual clock: jump from timer to timer up to `moment`, working at each."""
        if not isinstance(self.clock, SteerableClock):
            raise UsageError("run_until needs a virtual clock")
        set_clock = self.clock.set
        done = self.work()
        while True:
            following = self.next_wake_up()
            if following is None or following > moment:
                break
            set_clock(following)
            done += self.work()
        set_clock(moment)
        return done + self.work()


def _send(route: tuple[OutboxRow, Channel | None]) -> Receipt | WarroomError:
    """One send; a channel's misconfiguration is returned, not raised, so that the other
    messages of the pass are still recorded before the worker stops."""
    row, channel = route
    if channel is None:
        return Receipt(MessagePhase.UNDELIVERABLE, detail=f"no {row.channel} channel is configured")
    try:
        return channel.send(row.message)
    except WarroomError as exc:
        return exc


def _e164(sender: str) -> str:
    """The sender as the roster stores numbers; a malformed one is refused, not guessed."""
    try:
        number = phonenumbers.parse(sender, None)
    except phonenumbers.NumberParseException:
        raise CommandRejected(f"{sender!r} is not a phone number in international format") from None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
