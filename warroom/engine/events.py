"""What can happen to an incident: the inputs of `decide`, and the event log's vocabulary.

Every input, whether typed at the CLI, sent by a webhook, replied by SMS or fired by a timer,
becomes one of these, is appended to the log, and is folded into state. They are plain JSON
so that the log is readable by people and by other tools, and replays forever.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from warroom.errors import UnreadableEvent

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = ""
    by: str = ""
    """Who caused it: a person id, `cli`, `sms:+48...`, `webhook:alertmanager`, `timer`."""
    login: str = ""
    """The operating-system login that ran the command, for events from the CLI: `by` is who
    it acts for, `login` who pressed the key. Empty for SMS, links, webhooks and timers,
    whose identity is the sender and its code, the signature, or the token."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            EVENT_TYPES[cls.kind] = cls

    def to_json(self) -> dict[str, Any]:
        # shallow: values are plain (a facts dict at most), and this runs for every event
        return {
            "kind": self.kind,
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
        }


SECRET_FIELDS = frozenset({"secret"})
"""Kept in the log for replay, never shown: not on a timeline, in a report, API or page."""


def shown(event: Event) -> dict[str, Any]:
    """An event as it may be shown to people and tools: its secrets left out."""
    return {k: v for k, v in event.to_json().items() if k not in SECRET_FIELDS}


LEGACY: dict[str, dict[str, Any]] = {"activated": {"keeps_promises": False}}
"""What a field added to an event meant before it existed, for logs written without it."""


def event_from_json(data: dict[str, Any]) -> Event:
    values = dict(data)
    kind = values.pop("kind", None)
    for name, value in LEGACY.get(str(kind), {}).items():
        values.setdefault(name, value)
    try:
        return EVENT_TYPES[str(kind)](**values)
    except (KeyError, TypeError) as exc:
        raise UnreadableEvent(f"an event warroom cannot read: {data!r}") from exc


@dataclass(frozen=True, kw_only=True)
class Activated(Event):
    kind: ClassVar[str] = "activated"
    level: str
    facts: dict[str, str] = field(default_factory=dict)
    exercise: bool = False
    participants: tuple[str, ...] = ()
    keeps_promises: bool = True
    """Whether the incident runs on the rules that keep statements true after release (a
    recurring update goes only with something new or a promise near; a statement a fact made
    stale is corrected). A log written before them has no such field and replays without
    them (see `LEGACY`), so its messages are numbered as they were."""
    secret: str = ""
    """The incident's reply-code secret, drawn by the shell (never by the engine, which has no
    randomness): kept in the log so replay makes the same codes, never shown anywhere."""


@dataclass(frozen=True, kw_only=True)
class Acknowledged(Event):
    kind: ClassVar[str] = "acknowledged"
    person: str
    step: str | None = None
    code: str | None = None
    take_over: str | None = None
    """A role this person (paged as an escalation target) takes over with their answer."""


@dataclass(frozen=True, kw_only=True)
class Approved(Event):
    kind: ClassVar[str] = "approved"
    statement: str
    person: str
    code: str | None = None
    reason: str = ""
    """Why someone else entered it (`phoned in`): required for an approval on behalf."""


@dataclass(frozen=True, kw_only=True)
class Rejected(Event):
    kind: ClassVar[str] = "rejected"
    statement: str
    person: str
    reason: str
    code: str | None = None


@dataclass(frozen=True, kw_only=True)
class TimerFired(Event):
    kind: ClassVar[str] = "timer-fired"
    timer: str
    token: int


@dataclass(frozen=True, kw_only=True)
class LevelRaised(Event):
    kind: ClassVar[str] = "level-raised"
    level: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class LevelConfirmed(Event):
    """A person holding a role with `confirms_level` confirms the level an escalation rung
    proposed: from now on it speaks to outside audiences too."""

    kind: ClassVar[str] = "level-confirmed"
    person: str
    level: str = ""
    """The level they confirm; empty for "the one proposed". A stale confirmation (another
    level is proposed by now) is refused."""
    code: str | None = None
    """The code of the request they answered (an SMS reply), if any."""
    reason: str = ""
    """Why someone else entered it (`phoned in`): required when confirmed on their behalf."""


@dataclass(frozen=True, kw_only=True)
class LevelLowered(Event):
    kind: ClassVar[str] = "level-lowered"
    level: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class FactUpdated(Event):
    """One or more facts at once: an English and a Polish wording change together, so the
    statements are redrafted once, not half-translated in between."""

    kind: ClassVar[str] = "fact-updated"
    facts: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class DeliveryReported(Event):
    kind: ClassVar[str] = "delivery-reported"
    message: str
    status: str  # sent | delivered | printed | withheld | failed | undeliverable
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Reassigned(Event):
    kind: ClassVar[str] = "reassigned"
    role: str
    person: str
    force: bool = False
    """Assign even someone the role's rules refuse (an approver twice, a missing tag)."""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class EscalationRequested(Event):
    kind: ClassVar[str] = "escalation-requested"
    step: str | None = None


@dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    kind: ClassVar[str] = "note"
    text: str


@dataclass(frozen=True, kw_only=True)
class MediaInquiryLogged(Event):
    kind: ClassVar[str] = "media-inquiry"
    outlet: str
    question: str
    journalist: str = ""
    phone: str = ""
    email: str = ""
    language: str = ""
    within: int | None = None
    """Seconds to answer, overriding `media_desk.answer_within`."""


@dataclass(frozen=True, kw_only=True)
class InquiryAnswered(Event):
    kind: ClassVar[str] = "inquiry-answered"
    inquiry: int
    answer: str
    """`qa:<id>`, `statement:<id>` or `draft`: approved words only."""


@dataclass(frozen=True, kw_only=True)
class InquiryDeclined(Event):
    kind: ClassVar[str] = "inquiry-declined"
    inquiry: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class InquiryReferred(Event):
    kind: ClassVar[str] = "inquiry-referred"
    inquiry: int
    to: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class InquiryDrafted(Event):
    """Words prepared for an inquiry and sent for approval: a Q&A entry (`qa:<id>`), or free
    text, which becomes the statement `inquiry:<n>` of this incident."""

    kind: ClassVar[str] = "inquiry-drafted"
    inquiry: int
    answer: str = ""
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class UpdateRequested(Event):
    """A person asks for the recurring update now, even with nothing new to say."""

    kind: ClassVar[str] = "update-requested"
    audiences: tuple[str, ...] = ()
    """Who is to hear it; empty for every audience of the recurring steps."""


@dataclass(frozen=True, kw_only=True)
class CorrectionIssued(Event):
    kind: ClassVar[str] = "correction"
    statement: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ContactsLoaded(Event):
    """The contacts of an audience declared `contacts: at_release`, for this incident only
    (the customers affected). Carried in full, so that replay needs no file."""

    kind: ClassVar[str] = "contacts-loaded"
    audience: str
    source: str
    """The file they were read from, as named on the command line or in the scenario."""
    contacts: list[dict[str, Any]] = field(default_factory=list)
    """`name`, `phone`, `email`, `language`, `outlet`, `textable`: as a roster CSV row."""


@dataclass(frozen=True, kw_only=True)
class Resolved(Event):
    kind: ClassVar[str] = "resolved"
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class Closed(Event):
    kind: ClassVar[str] = "closed"


@dataclass(frozen=True, kw_only=True)
class Cancelled(Event):
    kind: ClassVar[str] = "cancelled"
    reason: str
