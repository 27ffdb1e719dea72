"""The roster file as written. It is personal data, so it lives apart from the playbooks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Discriminator, Field, Tag, model_validator

from warroom.specs import (
    DayOrInstant,
    Duration,
    Email,
    Instant,
    Lang,
    Phone,
    Slug,
    Spec,
    TimeZoneName,
    mapping_or,
)


class AwaySpec(Spec):
    start: Annotated[DayOrInstant, Field(alias="from")]
    end: Annotated[DayOrInstant, Field(alias="to")]
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> AwaySpec:
        start, end = _sort_key(self.start), _sort_key(self.end)
        if end[0] < start[0] or (end[1] and start[1] and end[1] < start[1]):
            raise ValueError("`to` is before `from`")
        return self


def _sort_key(value: date | datetime) -> tuple[date, datetime | None]:
    """Compare dates by day; exact moments by the instant (offsets differ), day first."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC).date(), value)
    return (value, None)


Login = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@\\-]+$")]
"""An operating-system user name, as `whoami` prints it (`DOMAIN\\user` on Windows)."""


class PersonSpec(Spec):
    id: Slug
    name: str
    title: str = ""
    phone: Phone | None = None
    email: Email | None = None
    languages: list[Lang] = []
    tags: list[Slug] = []
    timezone: TimeZoneName = "UTC"
    away: list[AwaySpec] = []
    logins: list[Login] = []


class ContactSpec(Spec):
    """Someone outside the roster: a journalist, a regulator's desk, a staff mailing list."""

    name: str
    phone: Phone | None = None
    email: Email | None = None
    language: Lang | None = None
    outlet: str = ""

    @model_validator(mode="after")
    def _reachable(self) -> ContactSpec:
        if not (self.phone or self.email):
            raise ValueError(f"contact {self.name!r} needs a phone or an e-mail")
        return self


class CsvGroupSpec(Spec):
    csv: str


Member = Annotated[
    Annotated[ContactSpec, Tag("mapping")] | Annotated[Slug, Tag("person id")],
    Discriminator(mapping_or("person id")),
]

GroupSpec = Annotated[
    Annotated[CsvGroupSpec, Tag("mapping")] | Annotated[list[Member], Tag("member list")],
    Discriminator(mapping_or("member list")),
]


class OverrideSpec(Spec):
    start: Annotated[Instant, Field(alias="from")]
    end: Annotated[Instant, Field(alias="to")]
    person: Slug

    @model_validator(mode="after")
    def _ordered(self) -> OverrideSpec:
        if self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        return self


class RotaSpec(Spec):
    every: Duration
    handoff: Instant
    members: Annotated[list[Slug], Field(min_length=1)]
    timezone: TimeZoneName | None = None
    overrides: list[OverrideSpec] = []


class RosterSpec(Spec):
    people: list[PersonSpec] = []
    groups: dict[Slug, GroupSpec] = {}
    oncall: dict[Slug, RotaSpec] = {}
