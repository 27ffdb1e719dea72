"""`Runtime`: commands in, decisions persisted, timers fired, messages dispatched.

The sequence for every input is the same: take the database's write lock, bring the
incident's state up to the last event in the log, `decide`, append the event with its notes
and effects, commit. A command the engine rejects writes nothing. State lives in memory only
as a cache of the log; a restart folds the log again and carries on where it stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import phonenumbers

from warroom.channels import AsyncChannel, AsyncReconciler, Channel, Receipt, Reconciler
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
from warroom.engine.notices import FULL_TEXT, LINKED_PURPOSES, NO_LINK, renderings, team_language
from warroom.engine.replies import Reply, parse_reply
from warroom.engine.state import Incident, MessageState
from warroom.errors import CommandRejected, NotFound, StoreError, UsageError, WarroomError
from warroom.runtime.clock import Clock, SteerableClock
from warroom.runtime.links import ACTIONS, LINK_LIFETIME, ActionLinks, LinkClaim, new_link_id
from warroom.runtime.snapshot import Snapshot
from warroom.store import InboundEntry, OutboxRow, Store, ViewLink

if TYPE_CHECKING:  # the worker's transports, imported when it first sends: not for `status`
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

SENDING_LEASE = timedelta(minutes=2)
"""A message claimed this long ago and never settled, by a worker that has not renewed its
leases since, belongs to a worker that died."""
SWEEP_EVERY_SECONDS = 1.0
"""How often (wall time) a long release looks for claims a dead node left (see `sweep`)."""
RENEW_CHECK_SECONDS = 1.0
"""How often (wall time) a dispatcher waiting on slow sends looks whether to renew its leases."""
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_CAP = timedelta(minutes=10)
RECONCILE_AFTER = timedelta(seconds=30)
"""Give a provider time to list a message it accepted before asking whether it exists."""
RECEIPTS_PER_COMMIT = 200
"""At most this many receipts in one transaction: a release to thousands commits in big
batches, while a single page is recorded as soon as its answer comes (no waiting to fill)."""
CHECKPOINT_EVERY = 2000
"""Events between two checkpoints of an incident's folded state, while deciding."""
CHECKPOINT_AT_PASS_END = 50
"""At the end of a pass, an incident this many events past its checkpoint gets a new one."""
CANNOT_TELL = Receipt(OutboxPhase.QUEUED, detail="resending: outcome unknown")
"""What asking a channel without `reconcile` yields: nothing to ask, so the message is resent."""


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
        self.receipts_per_commit = RECEIPTS_PER_COMMIT
        self.transport = "auto"
        self._awaitable: dict[int, bool] = {}
        """`async`, `threads`, or `auto`: the event loop when a channel can send on it and
        more than one send may be in flight (see `dispatch`)."""
        self._pool: ThreadPoolExecutor | None = None
        """Kept for the runtime's life: channels keep one connection per sending thread."""
        self._loop: asyncio.AbstractEventLoop | None = None
        """The async dispatcher's loop, kept for the runtime's life: HTTP sessions live on it."""
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.channel_trouble: dict[str, str] = {}
        """Channels that cannot send now, with why (a revoked token): shown by the worker."""
        self.lease = SENDING_LEASE
        self._renewed = clock.now()
        """When this worker last renewed its leases (see `_renew_leases`)."""
        self._cache: dict[str, tuple[Incident, int]] = {}
        self._saved: dict[str, int] = {}
        """The event number of each incident's latest checkpoint, as far as this runtime knows."""

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
        """Stop the sending threads and the loop; the store and channels are closed by their
        owners, except what a channel holds on this runtime's loop (its HTTP session)."""
        if self._loop is not None:
            loop, self._loop = self._loop, None
            for channel in self.channels.values():
                if isinstance(channel, AsyncChannel):
                    loop.run_until_complete(channel.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
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
        self,
        incident_id: str,
        event: Event,
        also: Callable[[], None] | None = None,
        current: tuple[Incident, int] | None = None,
    ) -> Outcome:
        """The body of `submit`, inside a transaction the caller holds. `current` is the
        incident as the caller just read it under the same lock, to save a second lookup."""
        now = self.clock.now()
        incident, n = current or self._current(incident_id)
        decision = decide(incident, event, now)
        if isinstance(event, TimerFired):
            self.store.drop_timer(incident_id, event.timer, event.token)
        if also is not None:
            also()
        self._append(incident, n + 1, event, now, decision)
        self._cache[incident_id] = (incident, n + 1)
        if n + 1 - self._saved.get(incident_id, 0) >= CHECKPOINT_EVERY:
            self._save_checkpoint(incident_id)
        return Outcome(incident_id, n + 1, tuple(decision.notes), len(decision.effects))

    def incident(self, incident_id: str) -> Incident:
        return self._current(incident_id)[0]

    def _current(self, incident_id: str, *, checkpoint: bool = True) -> tuple[Incident, int]:
        """The incident folded up to the last event in the log (cached between calls).
        Without a cached state, it starts from the latest checkpoint (`checkpoint=False`:
        from the activation, as `replay` does)."""
        cached = self._cache.get(incident_id)
        last = self.store.last_n(incident_id)
        if cached is not None and cached[1] == last:
            return cached
        if cached is None or cached[1] > last:
            cached = self._checkpointed(incident_id, last) if checkpoint else None
        if cached is None:
            row = self.store.incident(incident_id)
            playbook, roster = Snapshot.from_json(row.snapshot).compile()
            cached = (new_incident(incident_id, playbook, roster), 0)
            self._saved[incident_id] = 0
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
        """The incident rebuilt from its log alone, ignoring the cache and checkpoints."""
        self._cache.pop(incident_id, None)
        return self._current(incident_id, checkpoint=False)[0]

    # -- checkpoints: a cache of the fold in the database, never a source of truth

    def _checkpointed(self, incident_id: str, last: int) -> tuple[Incident, int] | None:
        """The latest checkpoint, if this very code wrote it; anything else (another
        version, a damaged row) is ignored and the log is folded from the start."""
        found = self.store.checkpoint(incident_id)
        if found is None or found[1] != checkpoint_format() or found[0] > last:
            return None
        try:
            incident = pickle.loads(zlib.decompress(found[2]))
        except Exception:  # a cache: whatever went wrong, the log is still there
            return None
        if not isinstance(incident, Incident) or incident.id != incident_id:
            return None
        self._saved[incident_id] = found[0]
        return incident, found[0]

    def _save_checkpoint(self, incident_id: str) -> None:
        """Inside the caller's transaction, after the cached state's last event."""
        incident, n = self._cache[incident_id]
        state = zlib.compress(pickle.dumps(incident, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self.store.save_checkpoint(incident_id, n, checkpoint_format(), state)
        self._saved[incident_id] = n

    def checkpoint(self, *, at_least: int = 1) -> int:
        """Checkpoint every cached incident `at_least` events past its last checkpoint."""
        due = [
            incident_id
            for incident_id, (_, n) in self._cache.items()
            if n - self._saved.get(incident_id, 0) >= at_least
        ]
        if due:
            with self.store.transaction():
                for incident_id in due:
                    if self.store.last_n(incident_id) == self._cache[incident_id][1]:
                        self._save_checkpoint(incident_id)
        return len(due)

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
                (f"{each.audience}, {each.language}, {each.channel}", each.text)
                for each in renderings(incident, statement.draft)
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

    def fire_due_timers(self, until: datetime | None = None) -> int:
        """Fire every wake-up due by `until` (now), including those that firing re-arms in
        the past (a worker back after a while climbs every overdue rung of a ladder, in
        order). Never those that fall due meanwhile: on a fast exercise clock, a recurring
        timer would fall due again before it was fired, and the pass would never end."""
        fired = 0
        moment = until or self.clock.now()
        while due := self.store.due_timers(moment):
            for timer in due:
                event = TimerFired(timer=timer.timer, token=timer.token, by="timer")
                self.submit(timer.incident, event)
                fired += 1
        return fired

    def dispatch(self, limit: int = 200) -> int:
        """Reconcile sends whose outcome is unknown, then send what is queued, several at
        once; every receipt is recorded in the database by this thread alone.

        Two transports, one set of decisions (`_settle`, `_reconciled`, `_record`):

        - the event loop (`_dispatch_async`), when a channel can send on it and more than
          one send may be in flight: claims feed sends continuously, and receipts are
          committed in batches as they come, while other sends are still on the wire;
        - a thread pool, one claimed batch at a time (`_dispatch_threads`), otherwise. With
          `concurrency=1` it sends in claim order, one by one, which keeps an exercise on a
          virtual clock, its log and its report the same on every run.
        """
        self._renewed = self.clock.now()  # nothing is held between passes
        if self._asynchronous():
            if self._loop is None:
                import asyncio

                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(self._dispatch_async(limit))
        return self._dispatch_threads(limit)

    def _asynchronous(self) -> bool:
        if self.transport != "auto":
            return self.transport == "async"
        return self.concurrency > 1 and any(
            isinstance(c, AsyncChannel) for c in self.channels.values()
        )

    def _dispatch_threads(self, limit: int) -> int:
        now = self.clock.now()
        checked = self.store.claim_unknown(self.worker, now, limit)
        for row in checked:
            with self.store.transaction():
                self._reconciled(row, self._ask(row, now))
        claimed = self.store.claim(self.worker, now, limit)
        if not claimed:
            return len(checked)
        rows, withdrawn = self._withdraw(claimed)
        routes = self._routes(rows, now)
        receipts: list[Receipt | WarroomError] = []
        if self.concurrency == 1:
            for route in routes:
                receipts.append(_send(route))
                self._renew_leases()
        else:
            from concurrent import futures

            sending = [self._threads().submit(_send, route) for route in routes]
            while futures.wait(sending, timeout=RENEW_CHECK_SECONDS).not_done:
                self._renew_leases()
            receipts = [future.result() for future in sending]
        self._record_batch(
            withdrawn + [(False, row, r) for row, r in zip(rows, receipts, strict=True)]
        )
        return len(claimed) + len(checked)

    def _renew_leases(self) -> None:
        """While it sends, a node renews the leases on all it holds with one heartbeat a
        quarter-lease: a slow send or a long rate-limited batch is never taken over (and
        sent again) by another node while this one is alive; a dead node stops renewing."""
        now = self.clock.now()
        if now - self._renewed >= self.lease / 4:
            self.store.beat(self.worker, now)
            self._renewed = now

    def _withdraw(
        self, claimed: list[OutboxRow]
    ) -> tuple[list[OutboxRow], list[tuple[bool, OutboxRow, object]]]:
        """Claimed rows to send, and the approval requests to record as not sent instead."""
        sendable: list[OutboxRow] = []
        withdrawn: list[tuple[bool, OutboxRow, object]] = []
        for row in claimed:
            why = self._superseded(row)
            if why:
                withdrawn.append((False, row, Receipt(MessagePhase.FAILED, detail=why)))
            else:
                sendable.append(row)
        return sendable, withdrawn

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

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.concurrency)
        return self._pool

    def _routes(
        self, rows: list[OutboxRow], now: datetime
    ) -> list[tuple[OutboxRow, Channel | None]]:
        """Each claimed row with its link and channel; the incident is read once per batch."""
        channels: dict[tuple[str, str], Channel | None] = {}
        routes = []
        for row in rows:
            key = (row.incident, row.channel)
            if key not in channels:
                channels[key] = self._channel_for(row)
            routes.append((self._with_link(row, now), channels[key]))
        return routes

    def _record_batch(self, batch: list[tuple[bool, OutboxRow, object]]) -> WarroomError | None:
        """Record receipts (or reconciliations, flagged True) in one transaction.

        A channel's misconfiguration (a revoked token) processed nothing: its messages wait,
        retried with back-off until it is fixed, and the error goes on the timeline of each
        incident it holds up, once. Everything else goes on: the other channels, the
        timers. The error is returned for the worker to show, never raised."""
        refused: WarroomError | None = None
        held: dict[str, set[str]] = {}
        now = self.clock.now()
        try:
            with self.store.transaction():
                for reconciling, row, outcome in batch:
                    if isinstance(outcome, WarroomError):
                        refused = refused or outcome
                        held.setdefault(row.channel, set()).add(row.incident)
                        later = now + max(RECONCILE_AFTER, backoff(row.id, row.attempts))
                        phase = OutboxPhase.UNKNOWN if reconciling else OutboxPhase.QUEUED
                        self.store.postpone(row.id, phase, later, str(outcome), now)
                    elif isinstance(outcome, BaseException):
                        raise outcome
                    elif reconciling:
                        assert outcome is None or isinstance(outcome, Receipt)
                        self._reconciled(row, outcome)
                    else:
                        assert isinstance(outcome, Receipt)
                        self.channel_trouble.pop(row.channel, None)
                        self._settle(row, outcome)
        except BaseException:
            for _, row, _ in batch:
                self._cache.pop(row.incident, None)
            raise
        if refused is not None:
            self._say_trouble(held, refused)
        return refused

    def _say_trouble(self, held: dict[str, set[str]], error: WarroomError) -> None:
        """Put a channel's configuration error on the timelines it holds up, once per error."""
        for channel, incidents in held.items():
            if self.channel_trouble.get(channel) == str(error):
                continue
            self.channel_trouble[channel] = str(error)
            text = (
                f"the {channel} channel cannot send ({error}); its messages wait and are "
                "retried with back-off until it is fixed, while everything else goes on"
            )
            for incident in sorted(incidents):
                with contextlib.suppress(CommandRejected):  # a closed incident takes no notes
                    self.submit(incident, NoteAdded(text=text, by="dispatcher"))

    async def _dispatch_async(self, limit: int) -> int:
        """The pass on the event loop: see `dispatch`. Up to `concurrency` sends per channel
        are on the wire at once; claiming tops the queue up whenever half of it has gone, and
        the recorder commits whatever receipts are ready, up to `receipts_per_commit`."""
        import asyncio

        loop = asyncio.get_running_loop()
        ready: asyncio.Queue[tuple[bool, OutboxRow, object]] = asyncio.Queue()
        flying: set[asyncio.Task[None]] = set()
        gates: dict[str, asyncio.Semaphore] = {}
        window = max(limit, 2 * self.concurrency)
        unrecorded = [0]
        """Launched and not yet recorded (a finished task may not have left `flying` yet)."""

        def launch(reconciling: bool, row: OutboxRow, work: Awaitable[object]) -> None:
            async def run() -> None:
                try:
                    outcome = await work
                except Exception as exc:  # recorded (or raised) by the recorder, in order
                    outcome = exc
                ready.put_nowait((reconciling, row, outcome))

            task = loop.create_task(run())
            flying.add(task)
            task.add_done_callback(flying.discard)
            unrecorded[0] += 1

        def gate(channel: str) -> asyncio.Semaphore:
            if channel not in gates:
                gates[channel] = asyncio.Semaphore(self.concurrency)
            return gates[channel]

        done = 0
        refused: WarroomError | None = None
        try:
            now = self.clock.now()
            for row in self.store.claim_unknown(self.worker, now, limit):
                launch(True, row, self._ask_async(row, now, gate(row.channel)))
            claiming = True
            swept = time.monotonic()
            while True:
                if claiming and time.monotonic() - swept >= SWEEP_EVERY_SECONDS:
                    # a long release: what a dead node held is taken over now, not after
                    # this node has sent everything else
                    swept = time.monotonic()
                    # renewed first: what this node is reconciling was claimed long ago by
                    # the dead one, and must not look abandoned to its own sweep
                    self._renewed = self.clock.now()
                    self.store.beat(self.worker, self._renewed)
                    if self.sweep():
                        now = self.clock.now()
                        for row in self.store.claim_unknown(self.worker, now, limit):
                            launch(True, row, self._ask_async(row, now, gate(row.channel)))
                if claiming and unrecorded[0] <= window // 2:
                    now = self.clock.now()
                    claimed = self.store.claim(self.worker, now, window - unrecorded[0])
                    claiming = bool(claimed)
                    rows, withdrawn = self._withdraw(claimed)
                    if withdrawn:
                        refused = self._record_batch(withdrawn) or refused
                        done += len(withdrawn)
                    for row, channel in self._routes(rows, now):
                        launch(False, row, self._send_async(row, channel, gate(row.channel)))
                if not unrecorded[0]:
                    break
                if ready.empty():
                    try:
                        first = await asyncio.wait_for(ready.get(), RENEW_CHECK_SECONDS)
                    except TimeoutError:  # every send still on the wire: hold on to them
                        self._renew_leases()
                        continue
                else:
                    first = ready.get_nowait()
                batch = [first]
                if ready.empty() and unrecorded[0] > 1:
                    # one turn of the loop: answers already read off the sockets join this
                    # commit, instead of a transaction each
                    await asyncio.sleep(0)
                while len(batch) < self.receipts_per_commit and not ready.empty():
                    batch.append(ready.get_nowait())
                unrecorded[0] -= len(batch)
                refused = self._record_batch(batch) or refused
                done += len(batch)
                self._renew_leases()
        except BaseException:
            # sends still on the wire finish; their rows stay `sending` until `recover`
            # treats them as unknown outcomes, as after a crash
            await asyncio.gather(*flying, return_exceptions=True)
            raise
        return done

    async def _send_async(
        self, row: OutboxRow, channel: Channel | None, gate: asyncio.Semaphore
    ) -> Receipt | WarroomError:
        import asyncio

        if channel is None:
            return _send((row, channel))
        message = row.message
        if isinstance(channel, SandboxChannel):
            admitted = channel.admit(message)
            if isinstance(admitted, Receipt):
                return admitted
            message, channel = admitted, channel.inner
        async with gate:
            try:
                if self._can_await(channel):
                    assert isinstance(channel, AsyncChannel)
                    return await channel.send_async(message)
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._threads(), channel.send, message)
            except WarroomError as exc:
                return exc

    def _can_await(self, channel: Channel) -> bool:
        """`isinstance` on a Protocol inspects the class each time: asked once per channel."""
        known = self._awaitable.get(id(channel))
        if known is None:
            known = self._awaitable[id(channel)] = isinstance(channel, AsyncChannel)
        return known

    def _ask(self, row: OutboxRow, now: datetime) -> Receipt | None:
        """Whether an unanswered send went through, as the channel can tell (`CANNOT_TELL`
        when it cannot ask at all)."""
        channel = self.channels.get(row.channel)
        if not isinstance(channel, Reconciler):
            return CANNOT_TELL
        return channel.reconcile(row.message, self._reconcile_since(row, now))

    async def _ask_async(
        self, row: OutboxRow, now: datetime, gate: asyncio.Semaphore
    ) -> Receipt | None:
        import asyncio

        channel = self.channels.get(row.channel)
        since = self._reconcile_since(row, now)
        async with gate:
            if isinstance(channel, AsyncReconciler):
                return await channel.reconcile_async(row.message, since)
            if isinstance(channel, Reconciler):
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._threads(), channel.reconcile, row.message, since
                )
        return CANNOT_TELL

    def _reconcile_since(self, row: OutboxRow, now: datetime) -> datetime:
        return (self.store.claimed_at(row.id) or now) - timedelta(minutes=1)

    def _with_link(self, row: OutboxRow, now: datetime) -> OutboxRow:
        """An e-mailed page or approval request gains its signed link as it goes out; the
        outbox keeps the text without it, so the database never holds a working link.

        An SMS approval request or briefing carries only its first lines: the link to the
        whole text follows them, or, on a server without a public URL, a line saying so."""
        message = row.message
        if message.channel == "sms" and message.purpose in LINKED_PURPOSES:
            return replace(row, message=replace(message, text=self._sms_link(row, now)))
        action = ACTIONS.get(message.purpose)
        if self.links is None or message.channel != "email" or not message.code or not action:
            return row
        incident = row.incident
        url = self.links.url(incident, message.code, action, now)
        label = "Acknowledge" if action == "ack" else "Review and approve"
        text = f"{message.text}\n\n{label}: {url}"
        return replace(row, message=replace(message, text=text))

    def _sms_link(self, row: OutboxRow, now: datetime) -> str:
        message = row.message
        language = team_language(message.language)
        if self.links is None:
            return f"{message.text}\n{NO_LINK[language]}"
        action = ACTIONS.get(message.purpose)
        if action and message.code:
            url = self.links.url(row.incident, message.code, action, now)
        else:  # a briefing: the war-room page, read-only, for a day
            link = ViewLink(new_link_id(), row.incident, now, now + LINK_LIFETIME, "briefing")
            self.store.add_view_link(link)
            url = self.links.view_url(link)
        return f"{message.text}\n{FULL_TEXT[language].format(url=url)}"

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

    def _reconciled(self, row: OutboxRow, found: Receipt | None) -> None:
        """What the provider said about an unanswered send decides: resend only what it
        never accepted (or what a channel that cannot be asked has no record of)."""
        now = self.clock.now()
        if found is CANNOT_TELL:  # it cannot tell, and repeats nothing: resend
            self.store.postpone(row.id, OutboxPhase.QUEUED, now, found.detail, now)
        elif found is None:
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
        current = self._current(incident_id)
        known = current[0].messages.get(message.message)
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
        self._decide_and_append(incident_id, event, also=settle, current=current)

    def recover(self) -> int:
        """At start: what a dead worker left `sending` is reconciled before any resend."""
        return self.sweep()

    def sweep(self) -> int:
        """Rows claimed by a worker whose lease expired, or whose process on this host is
        gone, become outcomes to reconcile (never resent blindly: the send may have
        happened). Every pass does it, so a worker killed mid-fan-out and restarted at once,
        or a node that died, loses nobody's message and sends nobody's twice."""
        gone = [
            owner
            for owner in self.store.in_flight_owners()
            if owner != self.worker and _process_gone(owner)
        ]
        return self.store.requeue_abandoned(self.clock.now() - self.lease, gone)

    def work(self) -> int:
        """Fire what is due and send what is queued until nothing is left for now: the
        moment this pass began, so that a pass on a fast clock ends."""
        done = self.sweep()
        began = self.clock.now()
        while True:
            step = self.fire_due_timers(began) + self.dispatch()
            if not step:
                if done:
                    self.checkpoint(at_least=CHECKPOINT_AT_PASS_END)
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

    def idle(self, poll: float, wake: threading.Event) -> None:
        """Between passes: until the next timer or retry, at most `poll` seconds, and less
        when `wake` is set or another node announces work (on PostgreSQL, LISTEN/NOTIFY):
        no wasted passes, no late rungs, no page waiting a poll for an idle node."""
        try:
            following = self.next_wake_up()
        except StoreError:  # the database is away: the poll is the fallback
            following = None
        wait = poll
        if following is not None:
            wait = max(0.0, min(poll, (following - self.clock.now()).total_seconds()))
        self.store.wait_for_work(wait, wake)

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


_FORMAT: list[str] = []


def checkpoint_format() -> str:
    """Which code a checkpoint comes from: the version and the source of the modules whose
    classes it pickles. A checkpoint from other code is never unpickled into this one."""
    if not _FORMAT:
        import warroom
        from warroom import engine, playbook, roster

        digest = hashlib.sha256(warroom.__version__.encode())
        for package in (engine, playbook, roster):
            for path in sorted(Path(package.__path__[0]).glob("*.py")):
                digest.update(path.read_bytes())
        _FORMAT.append(f"pickle-{pickle.HIGHEST_PROTOCOL}:{digest.hexdigest()[:16]}")
    return _FORMAT[0]


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


def _process_gone(owner: str) -> bool:
    """Whether a worker id (`host:pid`) names a process of this host that no longer runs.
    On another host nobody can tell: there, only the lease says."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _e164(sender: str) -> str:
    """The sender as the roster stores numbers; a malformed one is refused, not guessed."""
    try:
        number = phonenumbers.parse(sender, None)
    except phonenumbers.NumberParseException:
        raise CommandRejected(f"{sender!r} is not a phone number in international format") from None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
