"""The playbook file as written (docs/playbook-format.md); `compile.py` gives it meaning."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, PositiveInt, Tag

from warroom.playbook.model import DEFAULT_TRIGGER_COOLDOWN
from warroom.specs import (
    Duration,
    Email,
    Flag,
    Lang,
    Name,
    OneOrMany,
    Selector,
    Slug,
    Spec,
    Text,
    TimeZoneName,
    mapping_or,
)

Channel = Literal["sms", "email"]
FactKind = Literal["text", "person", "phone", "email", "url", "number", "boolean", "choice"]


class LevelSpec(Spec):
    id: Slug
    title: str
    description: str = ""


def _yes_no_text(value: Any) -> Any:
    """`default: false` for a boolean fact is the text `false`, as `--fact x=false` gives it."""
    return str(value).lower() if isinstance(value, bool) else value


class FactSpec(Spec):
    required: Flag = False
    max_length: PositiveInt | None = None
    default: Annotated[Text, BeforeValidator(_yes_no_text)] | None = None
    kind: FactKind = "text"
    description: str = ""
    choices: dict[Text, dict[Lang, str]] = {}


class CandidateTierSpec(Spec):
    from_level: Slug | None = None
    pick: Annotated[list[Selector], Field(min_length=1)]


Candidate = Annotated[
    Annotated[CandidateTierSpec, Tag("mapping")] | Annotated[Selector, Tag("selector")],
    Discriminator(mapping_or("selector")),
]


class RoleSpec(Spec):
    title: str
    description: str = ""
    candidates: Annotated[list[Candidate], Field(min_length=1)]
    require_tags: list[Slug] = []
    speaks: Annotated[list[str], OneOrMany] = []
    exclude: Annotated[list[str], OneOrMany] = []
    confirms_level: bool = False


class AudienceSpec(Spec):
    title: str = ""
    roles: list[Name] = []
    groups: list[Slug] = []
    people: list[Selector] = []
    channels: Annotated[list[Channel], Field(min_length=1)] = ["sms", "email"]
    language: Lang | None = None
    from_level: Slug | None = None
    internal: bool = False
    reply_to: Email | None = None
    contacts: Literal["at_release"] | None = None


class StatementSpec(Spec):
    title: str = ""
    owner: Name | None = None
    approve: Annotated[list[Name], OneOrMany] = []
    subject: dict[Lang, str] = {}
    text: Annotated[dict[Lang, str], Field(min_length=1)]
    sms: dict[Lang, str] = {}
    sms_max_segments: PositiveInt = 3


class EscalationSpec(Spec):
    after: Duration
    page: Annotated[list[Selector], OneOrMany] = []
    raise_level: Slug | None = None
    repeat: Duration | None = None


class PressConferenceSpec(Spec):
    at: Duration
    place: str = ""
    link: str = ""
    speakers: Annotated[list[Name], OneOrMany, Field(min_length=1)]


class StepSpec(Spec):
    id: Slug
    title: str = ""
    after: Annotated[list[Slug], OneOrMany] = []
    from_level: Slug | None = None
    page: Annotated[list[Slug], OneOrMany] = []
    ack_within: Duration | None = None
    escalate: list[EscalationSpec] = []
    approve: Slug | None = None
    send: Slug | None = None
    to: Annotated[list[Slug], OneOrMany] = []
    due: Duration | None = None
    every: Duration | None = None
    hold: Duration | None = None
    requires_facts: Annotated[list[Name], OneOrMany] = []
    on_resolve: Flag = False
    press_conference: PressConferenceSpec | None = None


class TriggerSpec(Spec):
    source: Literal["alertmanager", "pagerduty", "generic"]
    match: dict[str, Text] = {}
    level: Slug | None = None
    facts: dict[Name, str] = {}
    dedupe: str | None = None
    cooldown: Duration = DEFAULT_TRIGGER_COOLDOWN


class ApprovalsSpec(Spec):
    on_behalf: Literal["allowed", "not-allowed"] = "not-allowed"


class QASpec(Spec):
    id: Slug
    question: Annotated[dict[Lang, str], Field(min_length=1)]
    answer: Annotated[dict[Lang, str], Field(min_length=1)]
    facts: list[Name] = []


class PressContactSpec(Spec):
    name: str
    title: str = ""
    phone: str
    email: str


class MediaDeskSpec(Spec):
    owner: Name | None = None
    answer_within: Duration | None = None
    approve: Annotated[list[Name], OneOrMany] = []
    dateline: str = ""


class PlaybookSpec(Spec):
    playbook: Slug
    title: str
    version: PositiveInt = 1
    summary: str = ""
    timezone: TimeZoneName = "UTC"
    languages: Annotated[list[Lang], Field(min_length=1)]
    levels: Annotated[list[LevelSpec], Field(min_length=1)]
    default_level: Slug | None = None
    facts: dict[Name, FactSpec] = {}
    roles: dict[Name, RoleSpec] = {}
    audiences: dict[Slug, AudienceSpec] = {}
    statements: dict[Slug, StatementSpec] = {}
    steps: Annotated[list[StepSpec], Field(min_length=1)]
    triggers: list[TriggerSpec] = []
    approvals: ApprovalsSpec = ApprovalsSpec()
    media_desk: MediaDeskSpec = MediaDeskSpec()
    key_messages: dict[Lang, str] = {}
    qa: list[QASpec] = []
    do_not_say: dict[Lang, list[str]] = {}
    press_contacts: list[PressContactSpec] = []
