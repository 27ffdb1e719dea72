"""An incident as the engine sees it: a fold over its events, rebuilt the same way every time.

Plain mutable data: `decide` updates it in place (copying a whole incident per event would
cost more than the decision). The rule that keeps that safe: a refused command raises
`CommandRejected` before anything changes, and the runtime drops its cached incident after
any exception from `decide`, refolding it from the log (see `Runtime.submit`). The lifecycles
in `lifecycles.py` move the `state` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from warroom.engine.effects import Timer
from warroom.engine.lifecycles import IncidentPhase
from warroom.playbook.model import Playbook
from warroom.roster.model import Contact, Roster


@dataclass
class RoleState:
    role: str
    person: str | None
    tried: list[str] = field(default_factory=list)
    acked_at: datetime | None = None


@dataclass
class StepState:
    id: str
    state: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    paged: dict[str, str | None] = field(default_factory=dict)
    """Person (or contact address) -> the role they were paged for; None for escalation targets."""
    acked: dict[str, datetime] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    """People paged by an escalation rung: any one of them answering takes the page over."""
    rung: int = 0
    page_round: int = 0
    occurrence: int = 0
    due_outcome: str | None = None
    audiences_released: int = 0
    pending: set[str] = field(default_factory=set)
    """Messages of the audience being released (and their fail-overs); the next audience
    waits for them. Emptied when the step moves on, so a finished step holds none."""
    unsettled: int = 0
    """How many of `pending` no channel has answered yet: counted, so a receipt costs the
    same at 20,000 recipients as at 20."""
    released_versions: list[int] = field(default_factory=list)
    waits_for_contacts: str = ""
    """The `contacts: at_release` audience whose list this send step waits for, if any."""
    waits_for_facts: tuple[str, ...] = ()
    """The `requires_facts` the step was last seen waiting for: said once on the timeline."""
    waits_for_approval: int = 0
    """The version (a correction drafted mid-release) the rest of this send step's audiences
    wait to see approved: never released to them on fewer approvers than it needs."""
    hold_until: datetime | None = None
    """A send step's `hold`: the next audience goes no earlier than this, however soon the
    previous one's messages are reported sent."""


@dataclass(frozen=True)
class RenderedText:
    subject: str
    text: str
    sms: str


@dataclass
class Draft:
    version: int
    texts: dict[tuple[str, str], RenderedText]
    """(audience, language) -> the approved template: what goes out, but for the times that
    are filled in when it is released to that audience (see `templates.AT_RELEASE`)."""
    drafted_at: datetime
    correction: bool = False
    facts: Mapping[str, str] = field(default_factory=dict)
    """The facts it was rendered from: what an audience that hears it has been told."""
    approvals: dict[str, str] = field(default_factory=dict)  # role -> person
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (person, reason)
    requested: bool = False


@dataclass(frozen=True)
class Release:
    version: int
    audience: str
    language: str
    subject: str
    text: str
    at: datetime
    approved_by: tuple[tuple[str, str], ...]
    correction: bool = False
    order: int = 0
    """Position among all releases of the incident: who heard first, even in one minute."""
    sms: str = ""
    """The SMS text sent to this audience in this language (`text` is the e-mail's)."""
    promised: datetime | None = None
    """The next update this text promised ("next update by 15:08"), if it promised one."""
    facts: Mapping[str, str] = field(default_factory=dict)
    """The facts this version was rendered from."""


@dataclass
class StatementState:
    id: str
    version: int = 0
    draft: Draft | None = None
    releases: list[Release] = field(default_factory=list)
    stale: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    """Audience -> fact -> (value it was told, value now): a released version that a fact
    changed since; cleared when a newer version reaches that audience."""

    def approved(self, required: tuple[str, ...]) -> bool:
        """Every approver role answered, by as many distinct people as there are roles."""
        if self.draft is None or not all(r in self.draft.approvals for r in required):
            return False
        return len({self.draft.approvals[r] for r in required}) == len(required)


@dataclass
class MessageState:
    id: str
    state: str
    purpose: str
    step: str
    channel: str
    recipient: str
    person: str | None
    code: str | None = None
    statement: str | None = None
    version: int | None = None
    audience: str | None = None
    detail: str = ""
    contact: Contact | None = None
    """Who it was for, with every address they have: where a failed message fails over."""
    key_part: str = ""
    language: str = ""

    def about(self) -> About:
        """What this message carries, to send it again on another channel."""
        return About(
            self.purpose,
            self.step,
            self.key_part,
            self.code,
            self.statement,
            self.version,
            self.audience,
            self.language,
        )


@dataclass(frozen=True)
class About:
    """What a message is for, apart from whom it goes to and on which channel: a page (with
    its reply code), an approval request, a statement version for an audience, a notice."""

    purpose: str  # page | approval | statement | notice
    step: str
    key_part: str
    """Distinguishes this content in the idempotency key (`page2-4821`, `holding-v3`)."""
    code: str | None = None
    statement: str | None = None
    version: int | None = None
    audience: str | None = None
    language: str = ""


@dataclass
class Promise:
    """A next-update time released to an audience: a commitment to it, kept by any release
    to that audience by then."""

    audience: str
    due: datetime
    made_at: datetime
    statement: str
    version: int
    interval: timedelta


@dataclass
class PromiseMissed:
    """A promised update that did not come in time: noticed when it fell due, and completed
    by the late release, if one came (a log replayed without the wake-up records it then)."""

    audience: str
    promised_by: datetime
    made_at: datetime
    statement: str
    """The statement whose text made the promise."""
    version: int
    noticed_at: datetime
    released_at: datetime | None = None
    released: str = ""
    """`update v3`: what finally reached the audience, late."""


@dataclass(frozen=True)
class StatementWentStale:
    """A released version that a fact changed since: its audiences now hold words we no
    longer stand by, until a new version reaches them."""

    at: datetime
    statement: str
    version: int
    audiences: tuple[str, ...]
    changes: tuple[tuple[str, str, str], ...]
    """(fact, value released, value now), in the playbook's order of facts."""


class InquiryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DECLINED = "declined"
    REFERRED = "referred"


@dataclass
class Inquiry:
    """A journalist's question on the media desk: whose it is, by when, and how it ended."""

    outlet: str
    question: str
    journalist: str
    at: datetime
    number: int = 0
    phone: str = ""
    email: str = ""
    language: str = ""
    owner: str | None = None
    """The role that answers it (`media_desk.owner`, or where it was referred)."""
    deadline: datetime | None = None
    status: str = InquiryStatus.OPEN.value
    suggestion: str = ""
    """The Q&A statement (`qa:<id>`) whose question matches best; never sent by itself."""
    closed_at: datetime | None = None
    closed_by: str = ""
    answer: str = ""
    """`qa:smoke-toxic v2`, `statement:holding v1`, `draft v1`: what was sent."""
    reason: str = ""
    repeat_of: int = 0
    """The open inquiry this one repeats (same outlet, same question or journalist)."""

    @property
    def open(self) -> bool:
        return self.status == InquiryStatus.OPEN


@dataclass
class Incident:
    id: str
    playbook: Playbook
    roster: Roster
    state: str = IncidentPhase.NEW.value
    level: str = ""
    """The level the incident is run at: its steps, pages and role tiers. Raised by an
    escalation rung, it may be only proposed (below)."""
    proposed_level: str = ""
    """A level an escalation rung raised and no person has confirmed yet: its paging steps
    run, but nothing is drafted for or released to outside audiences at it. Empty when none."""
    confirmed_level: str = ""
    """While a level is proposed: the level last set by a person, at which the organisation
    still speaks to outside audiences."""
    facts: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None
    exercise: bool = False
    participants: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)
    """Keys the reply codes; from the `Activated` event, never shown."""
    roles: dict[str, RoleState] = field(default_factory=dict)
    steps: dict[str, StepState] = field(default_factory=dict)
    statements: dict[str, StatementState] = field(default_factory=dict)
    messages: dict[str, MessageState] = field(default_factory=dict)
    timers: dict[Timer, int] = field(default_factory=dict)
    inquiries: list[Inquiry] = field(default_factory=list)
    sequence: int = 0
    keys: set[str] = field(default_factory=set)
    """Idempotency keys issued: one person in two audiences gets one copy of a statement."""
    contact_lists: dict[str, tuple[Contact, ...]] = field(default_factory=dict)
    """Audience id -> the contacts loaded for it during this incident (`contacts: at_release`)."""
    promises: dict[str, Promise] = field(default_factory=dict)
    """Audience -> the next update promised to it and not yet given."""
    promises_missed: list[PromiseMissed] = field(default_factory=list)
    went_stale: list[StatementWentStale] = field(default_factory=list)
    heard: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Audience -> the facts of the last version released to it: "nothing new" is none of
    an update's facts changed since."""
    update_asked: set[str] = field(default_factory=set)
    """Audiences a person asked to be updated now, whether or not anything is new."""
    promise_timers: int = 0
    keeps_promises: bool = True
    """False for an incident whose log was written before promises were kept: it replays
    the way it ran (see `events.Activated.keeps_promises`)."""
    excluded: frozenset[str] = frozenset()
    """Addresses (phone, e-mail) of the people some role's `exclude` names: no message of this
    incident goes to them, in any audience or page."""

    @property
    def open(self) -> bool:
        return self.state == IncidentPhase.ACTIVE

    def next_number(self) -> int:
        self.sequence += 1
        return self.sequence

    def holder(self, role: str) -> str | None:
        state = self.roles.get(role)
        return state.person if state else None
