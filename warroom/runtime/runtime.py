"""`Runtime`: commands in, decisions persisted, timers fired, messages dispatched.

The sequence for every input is the same: take the database's write lock, bring the
incident's state up to the last event in the log, `decide`, append the event with its notes
and effects, commit. A command the engine rejects writes nothing. State lives in memory only
as a cache of the log; a restart folds the log again and carries on where it stopped.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from warroom.channels import Channel, Receipt
from warroom.engine.decide import Decision, decide, new_incident
from warroom.engine.effects import SendMessage
from warroom.engine.events import Activated, DeliveryReported, Event, TimerFired
from warroom.engine.state import Incident
from warroom.errors import CommandRejected, NotFound, StoreError, WarroomError
from warroom.runtime.clock import Clock
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import Store

SENDING_LEASE = timedelta(minutes=2)
"""A message claimed this long ago and never settled belongs to a worker that died."""


@dataclass(frozen=True)
class Outcome:
    incident: str
    n: int
    notes: tuple[str, ...]
    effects: int


class Runtime:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        channels: Mapping[str, Channel] | None = None,
        *,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.channels = dict(channels or {})
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._cache: dict[str, tuple[Incident, int]] = {}

    # -- incidents -----------------------------------------------------------------------

    def preview(
        self, snapshot: Snapshot, level: str, facts: dict[str, str], by: str
    ) -> tuple[Incident, Decision]:
        """What activation would do now, decided but written nowhere (`--dry-run`)."""
        playbook, roster = snapshot.compile()
        incident = new_incident("DRY-RUN", playbook, roster)
        decision = decide(incident, Activated(level=level, facts=facts, by=by), self.clock.now())
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
    ) -> Outcome:
        playbook, roster = snapshot.compile()
        now = self.clock.now()
        chosen = level or playbook.default_level
        event = Activated(
            level=chosen,
            facts=dict(facts or {}),
            by=by,
            exercise=exercise,
            participants=participants,
        )
        incident_id = ""
        try:
            with self.store.transaction():
                incident_id = self._new_id(playbook.id, playbook.timezone, now)
                incident = new_incident(incident_id, playbook, roster)
                decision = decide(incident, event, now)
                self.store.create_incident(
                    incident_id,
                    playbook.id,
                    playbook.title,
                    chosen,
                    exercise,
                    snapshot.to_json(),
                    now,
                )
                self._append(incident, 1, event, now, decision)
        except BaseException:
            self._cache.pop(incident_id, None)
            raise
        self._cache[incident_id] = (incident, 1)
        return Outcome(incident_id, 1, tuple(decision.notes), len(decision.effects))

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
        now = self.clock.now()
        try:
            with self.store.transaction():
                incident, n = self._current(incident_id)
                decision = decide(incident, event, now)
                if isinstance(event, TimerFired):
                    self.store.drop_timer(incident_id, event.timer, event.token)
                if also is not None:
                    also()
                self._append(incident, n + 1, event, now, decision)
        except BaseException:
            self._cache.pop(incident_id, None)  # the in-memory state may be half-changed
            raise
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
        """The one incident still in hand (active, contained, or resolved but not closed),
        for commands given without an incident id."""
        open_ones = [r for r in self.store.incidents(open_only=True) if r.state != "new"]
        if not open_ones:
            raise NotFound("no open incident; give its id, or `warroom activate` one")
        if len(open_ones) > 1:
            raise CommandRejected(
                "several incidents are open ("
                + ", ".join(r.id for r in open_ones)
                + "); give --incident"
            )
        return open_ones[0].id

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

    def dispatch(self, limit: int = 100) -> int:
        """Hand claimed outbox messages to their channels and record each receipt."""
        rows = self.store.claim(self.worker, self.clock.now(), limit)
        for row in rows:
            channel = self.channels.get(row.channel)
            if channel is None:
                receipt = Receipt("failed", detail=f"no {row.channel} channel is configured")
            else:
                receipt = channel.send(row.message)
            self.record(row.message, receipt)
        return len(rows)

    def record(self, message: SendMessage, receipt: Receipt) -> None:
        incident_id = message.message.rsplit("-m", 1)[0]
        now = self.clock.now()

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
        self.submit(incident_id, event, also=settle)

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

    def run_until(self, moment: datetime) -> int:
        """On a virtual clock: jump from timer to timer up to `moment`, working at each."""
        set_clock = getattr(self.clock, "set", None)
        if set_clock is None:
            raise WarroomError("run_until needs a virtual clock")
        done = self.work()
        while True:
            following = self.store.next_timer()
            if following is None or following.due_at > moment:
                break
            set_clock(following.due_at)
            done += self.work()
        set_clock(moment)
        return done + self.work()
