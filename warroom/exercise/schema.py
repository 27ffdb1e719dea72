"""The exercise scenario file as written: a Master Scenario Events List for one playbook."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from warroom.durations import format_duration
from warroom.specs import Duration, Flag, Instant, Lang, Name, Slug, Spec, Text


class ResponderSpec(Spec):
    """How a simulated person behaves; a person not listed here never answers."""

    ack_after: Duration | None = None
    approve_after: Duration | None = None
    reject_after: Duration | None = None
    reject_reason: str | None = None
    answer_after: Duration | None = None
    """As the media desk's owner: answer an inquiry from its suggested Q&A entry this long
    after it is both asked and approved (never with words not approved)."""
    silent: Flag = False

    @model_validator(mode="after")
    def _consistent(self) -> ResponderSpec:
        answers = self.ack_after or self.approve_after or self.reject_after or self.answer_after
        if self.silent and answers:
            raise ValueError("a silent responder cannot also answer; drop `silent` or the delays")
        if self.reject_after and not self.reject_reason:
            raise ValueError("`reject_after` needs a `reject_reason`: a rejection always has one")
        if self.approve_after and self.reject_after:
            raise ValueError("give either approve_after or reject_after, not both")
        return self


class MediaInquirySpec(Spec):
    """A journalist who calls; calling back or an editor escalating is another inquiry from
    the same outlet, which the desk links to the open one."""

    outlet: str
    question: str
    journalist: str = ""
    contact: list[str] = []
    """Phone and/or e-mail, where the answer goes."""
    language: Lang | None = None
    within: Duration | None = None


class ContactsInjectSpec(Spec):
    """The list of an audience declared `contacts: at_release`, as `warroom contacts load`
    gives it: the CSV is read relative to the scenario file."""

    audience: Slug
    csv: str


INJECT_ACTIONS = (
    "media_inquiry",
    "raise_level",
    "lower_level",
    "fact",
    "channel_outage",
    "silence",
    "restore",
    "note",
    "contacts",
)


class InjectSpec(Spec):
    at: Duration
    media_inquiry: MediaInquirySpec | None = None
    raise_level: Slug | None = None
    lower_level: Slug | None = None
    fact: dict[Name, Text] | None = None
    channel_outage: Literal["sms", "email"] | None = None
    lasting: Annotated[Duration | None, Field(alias="for")] = None
    silence: Slug | None = None
    restore: Slug | None = None
    note: str | None = None
    contacts: ContactsInjectSpec | None = None

    @model_validator(mode="after")
    def _one_action(self) -> InjectSpec:
        given = [name for name in INJECT_ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(f"an inject does one thing: one of {', '.join(INJECT_ACTIONS)}{found}")
        if (self.lasting is None) != (self.channel_outage is None):
            raise ValueError("`for` goes with `channel_outage`, and an outage needs `for`")
        return self


class ObjectiveSpec(Spec):
    id: Slug
    title: str = ""
    step: Slug | None = None
    done_within: Duration | None = None
    acked_within: Duration | None = None
    before: list[Slug] = []
    answer_inquiries_within: Duration | None = None
    """Every journalist's inquiry answered (with approved words) within this long."""
    capability: str = ""
    """The core capability it tests (HSEEP): the report groups its findings and actions by it."""
    owner: Name | None = None
    """The role answerable for improving it: its actions in the improvement plan are theirs."""

    @model_validator(mode="after")
    def _measurable(self) -> ObjectiveSpec:
        timed = self.done_within or self.acked_within
        if self.answer_inquiries_within is not None:
            if self.step or timed or self.before:
                raise ValueError(
                    "`answer_inquiries_within` is an objective of its own; no step, times or "
                    "`before` with it"
                )
            return self
        if self.before:
            if self.step or timed:
                raise ValueError("`before` is an objective of its own; no step or times with it")
            if len(self.before) < 2:
                raise ValueError("`before` needs two or more audiences, in the order expected")
        elif not (self.step and timed):
            raise ValueError(
                "an objective needs a step with done_within or acked_within, or `before:` "
                "audiences in the order they must hear"
            )
        return self


def _probability(value: object) -> float:
    """A share between 0 and 1, written as a number (0.05) or a percentage ("5%")."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = float(value.strip()[:-1]) / 100
        except ValueError:
            number = None
    if number is None:
        raise ValueError(
            f"{value!r} is not a probability (expected a number from 0 to 1, e.g. 0.05)"
        )
    if not 0 <= number <= 1:
        raise ValueError(f"{value!r} is outside 0..1 (expected e.g. 0.05 for one time in twenty)")
    return number


def _not_negative(value: object) -> object:
    if isinstance(value, str) and value.strip().startswith("-"):
        raise ValueError(f"{value!r} is negative; a delay is a duration after the request")
    return value


Probability = Annotated[float, BeforeValidator(_probability)]
Delay = Annotated[Duration, BeforeValidator(_not_negative)]


class DelaySpec(Spec):
    """How long a person takes to answer: lognormal (a median and a p90), or fixed.

    Lognormal because answer times are skewed: most people answer within minutes, a few take
    far longer (asleep, driving, phone in another room), and the p90 is what a reader knows.
    """

    median: Delay | None = None
    p90: Delay | None = None
    fixed: Delay | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> DelaySpec:
        if self.fixed is not None:
            if self.median is not None or self.p90 is not None:
                raise ValueError("give either `fixed`, or `median` with `p90`, not both")
            return self
        if self.median is None or self.p90 is None:
            raise ValueError("a delay needs `median` and `p90` (lognormal), or `fixed`")
        if self.p90 < self.median:
            raise ValueError(
                f"p90 {format_duration(self.p90)} is below the median "
                f"{format_duration(self.median)}; nine answers in ten cannot come sooner than half"
            )
        return self


class ProfileSpec(Spec):
    """How a person, or anyone holding a role, answers in a readiness run. Unset keys fall
    back to the role's, then to `default`'s, then to the built-in defaults."""

    no_answer: Probability | None = None
    ack: DelaySpec | None = None
    approve: DelaySpec | None = None


class ChannelModelSpec(Spec):
    outage: Probability = 0.0
    lasting: Annotated[Duration, Field(alias="for")] = timedelta(hours=1)


class ReadinessSpec(Spec):
    """The responder model of `warroom exercise readiness`: who answers, how fast, what fails."""

    default: ProfileSpec = ProfileSpec()
    roles: dict[Name, ProfileSpec] = {}
    people: dict[Slug, ProfileSpec] = {}
    channels: dict[Slug, ChannelModelSpec] = {}
    injects: Literal["keep", "drop"] = "keep"


class OverviewSpec(Spec):
    """The exercise overview an HSEEP after-action report opens with: what was exercised,
    in which mission areas, against which core capabilities, and why."""

    scope: str = ""
    mission_areas: list[str] = []
    core_capabilities: list[str] = []
    summary: str = ""


class ScenarioSpec(Spec):
    exercise: Slug
    title: str = ""
    playbook: Slug
    level: Slug | None = None
    start: Instant
    end: Duration = timedelta(days=3)
    seed: int = 0
    facts: dict[Name, Text] = {}
    participants: list[Slug] = []
    responders: dict[Slug, ResponderSpec] = {}
    injects: list[InjectSpec] = []
    objectives: list[ObjectiveSpec] = []
    readiness: ReadinessSpec = ReadinessSpec()
    overview: OverviewSpec = OverviewSpec()
    actions_due: Duration = timedelta(days=30)
    """How long after the exercise the improvement plan's corrective actions fall due."""
