"""What the engine asks the shell to do. The runtime writes these to the store in the same
transaction as the event that caused them (the outbox), so a crash loses nothing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class SendMessage:
    """One message to one address on one channel: a page, an approval request or a statement.

    `key` is the idempotency key (incident, step, statement version, recipient, channel): the
    outbox refuses a second row with the same key, so a statement is never released twice.
    """

    message: str
    key: str
    purpose: str  # page | approval | statement | notice | level | briefing
    step: str
    channel: str
    address: str
    recipient: str
    person: str | None
    text: str
    subject: str = ""
    language: str = ""
    statement: str | None = None
    version: int | None = None
    audience: str | None = None
    code: str | None = None
    reply_to: str = ""
    """The audience's `reply_to:` for a statement e-mail; empty means the channel's own."""

    def to_json(self) -> dict[str, Any]:
        # every field is a plain value: a shallow copy, not asdict's deep one (it dominated
        # the cost of persisting a release to thousands of recipients)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class TimerKind(StrEnum):
    """Why a step wants to be woken; the value is how the store and the event log spell it."""

    ESCALATION = "esc"
    """Nobody acknowledged the page: climb the ladder (or re-page)."""
    DUE = "due"
    """The step's SLA runs out."""
    NEXT_UPDATE = "every"
    """A recurring step (an update every hour) is due again."""
    NEXT_AUDIENCE = "release"
    """Staff first, but not forever: the next audience goes anyway."""
    INQUIRY_HALF = "inquiry-half"
    """Half a media inquiry's time is gone: its owner is paged. `step` is its number."""
    INQUIRY_DUE = "inquiry-due"
    """A media inquiry's deadline passed unanswered: it escalates on the owner's ladder."""
    PROMISE_LEAD = "promise-lead"
    """75% of the interval to an update promised to an audience is gone and it has not come:
    the lead is paged. `step` is the audience."""
    PROMISE_DUE = "promise-due"
    """A promised update's time came without it: recorded as a missed promise."""


@dataclass(frozen=True)
class Timer:
    """One wake-up per (kind, step): re-arming it replaces the earlier one.

    Stored and logged as `kind:step` (`esc:assemble`), the form every log has used, so old
    logs replay.
    """

    kind: TimerKind
    step: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.step}"

    @classmethod
    def parse(cls, text: str) -> Timer | None:
        """The timer a stored string names, or None for one this engine does not know."""
        kind, _, step = text.partition(":")
        try:
            return cls(TimerKind(kind), step)
        except ValueError:
            return None


@dataclass(frozen=True)
class StartTimer:
    """Wake the incident at `at`; a wake-up whose token is no longer current is dropped."""

    timer: Timer
    token: int
    at: datetime
    purpose: str


@dataclass(frozen=True)
class CancelTimer:
    timer: Timer


Effect = SendMessage | StartTimer | CancelTimer
