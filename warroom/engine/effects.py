"""What the engine asks the shell to do. The runtime writes these to the store in the same
transaction as the event that caused them (the outbox), so a crash loses nothing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SendMessage:
    """One message to one address on one channel: a page, an approval request or a statement.

    `key` is the idempotency key (incident, step, statement version, recipient, channel): the
    outbox refuses a second row with the same key, so a statement is never released twice.
    """

    message: str
    key: str
    purpose: str  # page | approval | statement | notice
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

    def to_json(self) -> dict[str, Any]:
        # every field is a plain value: a shallow copy, not asdict's deep one (it dominated
        # the cost of persisting a release to thousands of recipients)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class StartTimer:
    """Wake the incident at `at`; a wake-up whose token is no longer current is dropped."""

    timer: str
    token: int
    at: datetime
    purpose: str


@dataclass(frozen=True)
class CancelTimer:
    timer: str


Effect = SendMessage | StartTimer | CancelTimer
