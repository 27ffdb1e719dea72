"""The lifecycles (incident, step, message, outbox row), declared once as data.

Each is a `Lifecycle`: its states, its initial state and its moves. The engine moves incidents,
steps and messages with `fire`, through one `transitions.Machine` per lifecycle built at
import; objects keep their state in a plain `state` attribute. ARCHITECTURE.md measured this
at 1.8 ms to build and ~6 us per trigger, against 13.9 s and 621 MB for a Machine per object.
`auto_transitions` is off: there is no back door such as `to_resolved()`, only the moves
written here. The outbox lifecycle belongs to the shell (store and dispatcher), which uses its
state names; it is declared here so that the one vocabulary of message states lives in one
place and is drawn with the others (`docs/lifecycles.md`, from `mermaid`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from transitions import Machine, MachineError

from warroom.errors import TransitionError


class Stateful(Protocol):
    state: str


class IncidentPhase(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class StepPhase(StrEnum):
    DORMANT = "dormant"
    """The step exists only from a higher level than the incident has reached."""
    WAITING = "waiting"
    READY = "ready"
    PAGED = "paged"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    RELEASED = "released"
    DONE = "done"
    CANCELLED = "cancelled"


class MessagePhase(StrEnum):
    """A message as the incident knows it: what the channels have reported so far."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    PRINTED = "printed"
    """Printed to the terminal or a transcript instead of sent: no channel was configured,
    so nobody received it. Settled, never counted as delivered."""
    WITHHELD = "withheld"
    """Kept back by the exercise sandbox (the recipient is not a participant of a live
    exercise). Settled, never counted as delivered."""
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"


class OutboxPhase(StrEnum):
    """A message as the dispatcher handles it: claimed, sent, unanswered, reconciled."""

    QUEUED = "queued"
    SENDING = "sending"
    UNKNOWN = "unknown"
    """Sent, but the provider's answer never came (5xx, timeout, a crash): ask before resending."""
    RECONCILING = "reconciling"
    SENT = "sent"
    DELIVERED = "delivered"
    PRINTED = "printed"
    WITHHELD = "withheld"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class Move:
    trigger: str
    sources: tuple[str, ...]
    dest: str


@dataclass(frozen=True)
class Lifecycle:
    name: str
    states: tuple[str, ...]
    initial: str
    moves: tuple[Move, ...]
    also_starts: tuple[str, ...] = ()
    """Other states an object may be created in (a step above the incident's level)."""

    def machine(self) -> Machine:
        return Machine(
            model=None,
            states=[str(s) for s in self.states],
            transitions=[
                {"trigger": m.trigger, "source": list(m.sources), "dest": m.dest}
                for m in self.moves
            ],
            initial=str(self.initial),
            auto_transitions=False,
            name=self.name,
        )

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(m.trigger for m in self.moves)

    def reachable(self) -> frozenset[str]:
        seen = {self.initial, *self.also_starts}
        frontier = list(seen)
        while frontier:
            state = frontier.pop()
            for move in self.moves:
                if state in move.sources and move.dest not in seen:
                    seen.add(move.dest)
                    frontier.append(move.dest)
        return frozenset(seen)


def _moves(*moves: tuple[str, str | tuple[str, ...], str]) -> tuple[Move, ...]:
    return tuple(
        Move(trigger, tuple(map(str, (source,) if isinstance(source, str) else source)), str(dest))
        for trigger, source, dest in moves
    )


INCIDENT_LIFECYCLE = Lifecycle(
    "incident",
    tuple(map(str, IncidentPhase)),
    IncidentPhase.NEW,
    _moves(
        ("activate", IncidentPhase.NEW, IncidentPhase.ACTIVE),
        ("resolve", IncidentPhase.ACTIVE, IncidentPhase.RESOLVED),
        ("close", IncidentPhase.RESOLVED, IncidentPhase.CLOSED),
        ("cancel", IncidentPhase.ACTIVE, IncidentPhase.CANCELLED),
    ),
)

STEP_LIFECYCLE = Lifecycle(
    "step",
    tuple(map(str, StepPhase)),
    StepPhase.WAITING,
    _moves(
        ("wake", StepPhase.DORMANT, StepPhase.WAITING),
        ("ready", StepPhase.WAITING, StepPhase.READY),
        # page steps
        ("page", StepPhase.READY, StepPhase.PAGED),
        ("escalate", StepPhase.PAGED, StepPhase.ESCALATED),
        ("acknowledge", (StepPhase.PAGED, StepPhase.ESCALATED), StepPhase.ACKNOWLEDGED),
        # approve steps, and send steps whose statement needs approval first
        ("request_approval", StepPhase.READY, StepPhase.AWAITING_APPROVAL),
        ("approve", StepPhase.AWAITING_APPROVAL, StepPhase.APPROVED),
        # send steps
        ("release", (StepPhase.READY, StepPhase.APPROVED), StepPhase.RELEASED),
        (
            "finish",
            (StepPhase.ACKNOWLEDGED, StepPhase.APPROVED, StepPhase.RELEASED),
            StepPhase.DONE,
        ),
        ("recur", StepPhase.DONE, StepPhase.READY),
        (
            "cancel",
            (
                StepPhase.DORMANT,
                StepPhase.WAITING,
                StepPhase.READY,
                StepPhase.PAGED,
                StepPhase.ESCALATED,
                StepPhase.AWAITING_APPROVAL,
                StepPhase.RELEASED,
            ),
            StepPhase.CANCELLED,
        ),
    ),
    also_starts=(StepPhase.DORMANT,),
)
"""One machine for the three step kinds; `docs/lifecycles.md` shows which moves each uses."""

MESSAGE_LIFECYCLE = Lifecycle(
    "message",
    tuple(map(str, MessagePhase)),
    MessagePhase.QUEUED,
    _moves(
        # a receipt's status is the trigger; a late `sent` after `delivered` changes nothing
        ("sent", MessagePhase.QUEUED, MessagePhase.SENT),
        ("delivered", (MessagePhase.QUEUED, MessagePhase.SENT), MessagePhase.DELIVERED),
        # the terminal and the exercise sandbox answer at once, and nothing follows
        ("printed", MessagePhase.QUEUED, MessagePhase.PRINTED),
        ("withheld", MessagePhase.QUEUED, MessagePhase.WITHHELD),
        ("failed", (MessagePhase.QUEUED, MessagePhase.SENT), MessagePhase.FAILED),
        ("undeliverable", (MessagePhase.QUEUED, MessagePhase.SENT), MessagePhase.UNDELIVERABLE),
    ),
)

OUTBOX_LIFECYCLE = Lifecycle(
    "outbox",
    tuple(map(str, OutboxPhase)),
    OutboxPhase.QUEUED,
    _moves(
        ("claim", OutboxPhase.QUEUED, OutboxPhase.SENDING),
        ("postpone", (OutboxPhase.SENDING, OutboxPhase.RECONCILING), OutboxPhase.QUEUED),
        ("lose_track", OutboxPhase.SENDING, OutboxPhase.UNKNOWN),
        ("reconcile", OutboxPhase.UNKNOWN, OutboxPhase.RECONCILING),
        ("still_unknown", OutboxPhase.RECONCILING, OutboxPhase.UNKNOWN),
        ("abandon", (OutboxPhase.SENDING, OutboxPhase.RECONCILING), OutboxPhase.UNKNOWN),
        ("sent", (OutboxPhase.SENDING, OutboxPhase.RECONCILING), OutboxPhase.SENT),
        (
            "delivered",
            (OutboxPhase.SENDING, OutboxPhase.RECONCILING, OutboxPhase.SENT),
            OutboxPhase.DELIVERED,
        ),
        ("printed", OutboxPhase.SENDING, OutboxPhase.PRINTED),
        ("withheld", OutboxPhase.SENDING, OutboxPhase.WITHHELD),
        (
            "failed",
            (OutboxPhase.SENDING, OutboxPhase.RECONCILING, OutboxPhase.SENT),
            OutboxPhase.FAILED,
        ),
        (
            "undeliverable",
            (OutboxPhase.SENDING, OutboxPhase.RECONCILING, OutboxPhase.SENT),
            OutboxPhase.UNDELIVERABLE,
        ),
    ),
)

LIFECYCLES = (INCIDENT_LIFECYCLE, STEP_LIFECYCLE, MESSAGE_LIFECYCLE, OUTBOX_LIFECYCLE)

INCIDENT = INCIDENT_LIFECYCLE.machine()
STEP = STEP_LIFECYCLE.machine()
MESSAGE = MESSAGE_LIFECYCLE.machine()

INCIDENT_IN_HAND = frozenset({IncidentPhase.NEW, IncidentPhase.ACTIVE, IncidentPhase.RESOLVED})
"""Not yet closed or cancelled: listed as open, and a command without an incident id may mean
one of these."""
STEP_FINISHED = frozenset({StepPhase.DONE, StepPhase.CANCELLED})
STEP_AWAITING_ACK = frozenset({StepPhase.PAGED, StepPhase.ESCALATED})
MESSAGE_FINAL = frozenset(
    {
        MessagePhase.DELIVERED,
        MessagePhase.PRINTED,
        MessagePhase.WITHHELD,
        MessagePhase.FAILED,
        MessagePhase.UNDELIVERABLE,
    }
)
MESSAGE_SETTLED = frozenset({MessagePhase.SENT, *MESSAGE_FINAL})
MESSAGE_NOT_RECEIVED = frozenset({MessagePhase.PRINTED, MessagePhase.WITHHELD})
"""Settled, but nobody received it: the next audience need not wait for it (staff first
waits for the channels' answers, not for people), and a page in one of these states was never
seen, so it acknowledges nothing and the escalation ladder goes on."""


def awaits_acknowledgement(step: Stateful) -> bool:
    """A page is out and nobody has yet answered it for the whole step."""
    return step.state in STEP_AWAITING_ACK


def finished(step: Stateful) -> bool:
    return step.state in STEP_FINISHED


def dormant(step: Stateful) -> bool:
    return step.state == StepPhase.DORMANT


def waiting(step: Stateful) -> bool:
    """Part of the incident, but the steps it comes after are not all done."""
    return step.state == StepPhase.WAITING


def ready(step: Stateful) -> bool:
    return step.state == StepPhase.READY


def done(step: Stateful) -> bool:
    """Finished its work (until it recurs, for a repeating step)."""
    return step.state == StepPhase.DONE


def awaits_approval(step: Stateful) -> bool:
    return step.state == StepPhase.AWAITING_APPROVAL


def releasing(step: Stateful) -> bool:
    """Released to some of its audiences; the rest wait for those messages (staff first)."""
    return step.state == StepPhase.RELEASED


def settled(message: Stateful) -> bool:
    """The channel has answered for this message, one way or the other."""
    return message.state in MESSAGE_SETTLED


def fire(machine: Machine, trigger: str, obj: Stateful, what: str) -> None:
    """Move `obj` by `trigger`, or raise `TransitionError` naming what and from where.

    Handlers check what a command may do before they move anything, so a refused move here is
    a bug in the engine, not a user's mistake.
    """
    try:
        event = machine.events[trigger]
    except KeyError:
        raise TransitionError(f"{what}: no such move {trigger!r}") from None
    try:
        event.trigger(obj)
    except MachineError:
        raise TransitionError(cannot(machine, trigger, obj, what)) from None


def can(machine: Machine, trigger: str, obj: Stateful) -> bool:
    return trigger in machine.get_triggers(obj.state)


def cannot(machine: Machine, trigger: str, obj: Stateful, what: str) -> str:
    """Why a move is refused, naming the moves that are possible instead."""
    allowed = ", ".join(machine.get_triggers(obj.state)) or "none"
    return (
        f"{what} is {obj.state.replace('_', ' ')}; cannot {trigger.replace('_', ' ')} "
        f"(possible now: {allowed})"
    )


def mermaid(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Mermaid state diagram, for `docs/lifecycles.md`."""
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {s}" for s in (lifecycle.initial, *lifecycle.also_starts)]
    for move in lifecycle.moves:
        for source in move.sources:
            lines.append(f"    {source} --> {move.dest}: {move.trigger}")
    return "\n".join(lines)
