"""The exercise scenario file as written: a Master Scenario Events List for one playbook."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from warroom.durations import Duration
from warroom.specs import Flag, Instant, Name, Slug, Spec, Text


class ResponderSpec(Spec):
    """How a simulated person behaves; a person not listed here never answers."""

    ack_after: Duration | None = None
    approve_after: Duration | None = None
    reject_after: Duration | None = None
    reject_reason: str | None = None
    silent: Flag = False

    @model_validator(mode="after")
    def _consistent(self) -> ResponderSpec:
        answers = self.ack_after or self.approve_after or self.reject_after
        if self.silent and answers:
            raise ValueError("a silent responder cannot also answer; drop `silent` or the delays")
        if self.reject_after and not self.reject_reason:
            raise ValueError("`reject_after` needs a `reject_reason`: a rejection always has one")
        if self.approve_after and self.reject_after:
            raise ValueError("give either approve_after or reject_after, not both")
        return self


class MediaInquirySpec(Spec):
    outlet: str
    question: str
    journalist: str = ""


INJECT_ACTIONS = (
    "media_inquiry",
    "raise_level",
    "lower_level",
    "fact",
    "channel_outage",
    "silence",
    "restore",
    "note",
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

    @model_validator(mode="after")
    def _measurable(self) -> ObjectiveSpec:
        timed = self.done_within or self.acked_within
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
