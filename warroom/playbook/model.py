"""The compiled playbook the engine runs: references resolved, defaults filled, graph checked.

Plain frozen data, so that an incident can snapshot it at activation and replay it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

NEXT_CANDIDATE = "next_candidate"
NEXT_AUDIENCE_WAITS_AT_MOST = timedelta(minutes=10)
"""How long the next audience of a send step waits for the previous one's messages before it
goes anyway: staff should hear first, but an SMS outage must not hold the press statement
forever. A step's `hold` is at most this."""
DEFAULT_TRIGGER_COOLDOWN = timedelta(minutes=30)
"""How long after a triggered incident is closed a new alert with the same key stays quiet:
a flapping alert must not page the crisis team every time it flaps."""


class Action(StrEnum):
    PAGE = "page"
    APPROVE = "approve"
    SEND = "send"


@dataclass(frozen=True)
class Level:
    id: str
    title: str
    rank: int
    description: str = ""


@dataclass(frozen=True)
class Fact:
    id: str
    required: bool
    max_length: int | None
    default: str | None
    kind: str
    description: str = ""
    choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """`boolean` and `choice` facts: value -> the words each language says for it. A claim
    ("the incident has been contained") is said only when the team set the fact to it."""

    def text(self, value: str, language: str) -> str:
        """What a template prints for `value`: the agreed words where the fact has them."""
        if value in self.choices:
            return self.choices[value].get(language, "")
        return value


@dataclass(frozen=True)
class CandidateTier:
    """A preference list that applies from `from_level` up (always, when None)."""

    from_level: str | None
    pick: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    id: str
    title: str
    tiers: tuple[CandidateTier, ...]
    require_tags: tuple[str, ...] = ()
    speaks: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    description: str = ""
    confirms_level: bool = False
    """Its holder confirms a level an escalation rung raised (`warroom confirm-level`, or the
    SMS reply): until a person does, the new level does not speak to outside audiences."""


@dataclass(frozen=True)
class Audience:
    id: str
    title: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    people: tuple[str, ...]
    channels: tuple[str, ...]
    language: str | None
    from_level: str | None
    internal: bool = False
    """Inside the organisation (staff, the crisis team). An outside audience (the default) is
    not drafted for or released to at a level that is only proposed."""
    reply_to: str = ""
    contacts_at_release: bool = False
    """`contacts: at_release`: who is in it is known only during the incident (the customers
    affected) and given with `warroom contacts load`; a release to it waits for that list."""
    """Where this audience's answers to a statement e-mail go (`Reply-To`), so that customers'
    replies reach a desk that reads them, not the acknowledgement mailbox."""


@dataclass(frozen=True)
class Statement:
    id: str
    title: str
    owner: str | None
    approvers: tuple[str, ...]
    subject: Mapping[str, str]
    text: Mapping[str, str]
    sms: Mapping[str, str]
    sms_max_segments: int
    media: bool = False
    """A Q&A entry (`qa:<id>`) or the key messages (`key-messages`): approved and frozen per
    version like any statement, but never sent by a step; the media desk answers with it."""

    def sms_text(self, language: str) -> str:
        """The SMS rendering source: the short `sms` version where written, else the text."""
        return self.sms.get(language) or self.text[language]


@dataclass(frozen=True)
class QA:
    """One prepared question and its answer. The answer is compiled into the statement
    `qa:<id>` so that it is approved, frozen and redrafted exactly as statements are."""

    id: str
    question: Mapping[str, str]
    facts: tuple[str, ...] = ()

    @property
    def statement(self) -> str:
        return f"qa:{self.id}"


@dataclass(frozen=True)
class PressContact:
    name: str
    phone: str
    email: str
    title: str = ""


KEY_MESSAGES = "key-messages"
"""The statement id the playbook's `key_messages:` compile to."""

DEFAULT_ANSWER_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class MediaDesk:
    """Who owns journalists' inquiries, how fast they are answered, who approves the words."""

    owner: str | None = None
    answer_within: timedelta = DEFAULT_ANSWER_WITHIN
    approve: tuple[str, ...] = ()
    qa: Mapping[str, QA] = field(default_factory=dict)
    do_not_say: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    press_contacts: tuple[PressContact, ...] = ()
    dateline: str = ""
    """The place a press release is dated from (`Warszawa`)."""


@dataclass(frozen=True)
class Escalation:
    after: timedelta
    page: tuple[str, ...] = ()
    next_candidate: bool = False
    raise_level: str | None = None
    repeat: timedelta | None = None


@dataclass(frozen=True)
class PressConference:
    """Scheduled by a page step: `at` after the step starts, the speakers briefed at once."""

    at: timedelta
    speakers: tuple[str, ...]
    place: str = ""
    link: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    action: Action
    after: tuple[str, ...] = ()
    from_level: str | None = None
    page: tuple[str, ...] = ()
    ack_within: timedelta | None = None
    escalations: tuple[Escalation, ...] = ()
    statement: str | None = None
    to: tuple[str, ...] = ()
    due: timedelta | None = None
    every: timedelta | None = None
    press_conference: PressConference | None = None
    hold: timedelta | None = None
    """A send step's least gap between one audience and the next: staff hear it strictly
    before the press, even when every message to them is reported sent at once."""
    requires_facts: tuple[str, ...] = ()
    on_resolve: bool = False
    """A closing message ("all clear", "service restored"): released when the incident is
    resolved, in the version approved by then; never before."""
    """Facts that must hold a value other than their default before the step starts: a letter
    that names the data categories waits until someone has set them."""


@dataclass(frozen=True)
class Trigger:
    source: str
    match: Mapping[str, str]
    level: str | None
    facts: Mapping[str, str]
    dedupe: str | None
    cooldown: timedelta = DEFAULT_TRIGGER_COOLDOWN


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    version: int
    summary: str
    timezone: str
    languages: tuple[str, ...]
    levels: tuple[Level, ...]
    default_level: str
    facts: Mapping[str, Fact]
    roles: Mapping[str, Role]
    audiences: Mapping[str, Audience]
    statements: Mapping[str, Statement]
    steps: tuple[Step, ...]
    triggers: tuple[Trigger, ...] = ()
    file: str = ""
    on_behalf: bool = False
    media_desk: MediaDesk = MediaDesk()
    """`approvals: {on_behalf: allowed}`: an approval typed by someone else for an approver
    (phoned in) counts. Off by default: then only the approver's own login, SMS or link does."""
    _ranks: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ranks", {level.id: level.rank for level in self.levels})

    def rank(self, level: str | None) -> int:
        """A level's place in the order; `None` (no `from_level`) is below every level."""
        return -1 if level is None else self._ranks[level]

    def level(self, level_id: str) -> Level:
        return self.levels[self._ranks[level_id]]

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def applies(self, from_level: str | None, level: str) -> bool:
        """Whether something that exists `from_level` up exists at `level`."""
        return self.rank(from_level) <= self.rank(level)

    def role_selectors(self, role_id: str, level: str) -> tuple[str, ...]:
        """The role's candidates at `level`: the applicable tiers in order, duplicates dropped.

        A crisis-only tier written first puts the CEO ahead at crisis level, while the
        everyday tier below it still supplies the backups.
        """
        seen: dict[str, None] = {}
        for tier in self.roles[role_id].tiers:
            if self.applies(tier.from_level, level):
                seen.update(dict.fromkeys(tier.pick))
        return tuple(seen)
