"""Who can be reached, who is on call, and who may fill a role at a given instant. Pure.

Every choice carries its reasons, because at activation the timeline must say *why* Anna was
paged and not Piotr ("away until 2027-01-02"), and a comms director must be able to check it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from warroom.errors import NotFound


@dataclass(frozen=True)
class Away:
    start: datetime
    end: datetime  # exclusive
    note: str = ""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    title: str = ""
    phone: str | None = None
    email: str | None = None
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    timezone: str = "UTC"
    away: tuple[Away, ...] = ()
    textable: bool = True
    """False for a landline: the phone is kept (for calls) but gets no SMS."""
    logins: tuple[str, ...] = ()
    """Operating-system user names that are this person: a CLI command run under one of
    them is theirs, any other login acts on their behalf (and says so on the record)."""

    def away_at(self, at: datetime) -> Away | None:
        return next((a for a in self.away if a.start <= at < a.end), None)

    def channels(self) -> tuple[str, ...]:
        return self.contact().channels()

    def contact(self) -> Contact:
        language = self.languages[0] if self.languages else None
        return Contact(self.name, self.phone, self.email, language, "", self.id, self.textable)


@dataclass(frozen=True)
class Contact:
    """One recipient of an audience message: a roster person or an outside contact."""

    name: str
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    outlet: str = ""
    person_id: str | None = None
    textable: bool = True

    def channels(self) -> tuple[str, ...]:
        sms = self.phone if self.textable else None
        return tuple(c for c, v in (("sms", sms), ("email", self.email)) if v)


@dataclass(frozen=True)
class Override:
    start: datetime
    end: datetime
    person: str


@dataclass(frozen=True)
class Rota:
    id: str
    every: timedelta
    handoff: datetime
    members: tuple[str, ...]
    timezone: str | None = None
    overrides: tuple[Override, ...] = ()

    def on_call(self, at: datetime) -> str:
        """Who holds the rota at `at`: an override if one covers it, else the rotation.

        With a `timezone`, shifts follow the wall clock there, so a Monday-09:00 handoff
        stays at 09:00 across the change to and from summer time.
        """
        for override in reversed(self.overrides):  # a later-written override wins
            if override.start <= at < override.end:
                return override.person
        if self.timezone:
            zone = ZoneInfo(self.timezone)
            elapsed = at.astimezone(zone).replace(tzinfo=None) - self.handoff.astimezone(
                zone
            ).replace(tzinfo=None)
        else:
            elapsed = at - self.handoff
        return self.members[(elapsed // self.every) % len(self.members)]


@dataclass(frozen=True)
class Candidate:
    """A person a selector produced for a role, and what (if anything) rules them out."""

    person: Person
    selector: str
    problems: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Assignment:
    role: str
    person: Person | None
    candidates: tuple[Candidate, ...]
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        """One line for the timeline: "Anna Kowalska: first candidate for spokesperson; ..."."""
        who = self.person.name if self.person else "nobody"
        return f"{who}: {'; '.join(self.reasons)}"

    @property
    def backups(self) -> list[Person]:
        return [c.person for c in self.candidates if c.eligible and c.person != self.person]


@dataclass(frozen=True)
class Roster:
    people: Mapping[str, Person]
    groups: Mapping[str, tuple[Contact, ...]] = field(default_factory=dict)
    rotas: Mapping[str, Rota] = field(default_factory=dict)
    file: str = ""

    def person(self, person_id: str) -> Person:
        try:
            return self.people[person_id]
        except KeyError:
            raise NotFound(f"unknown person {person_id!r} in the roster {self.file}") from None

    def tagged(self, tag: str) -> list[Person]:
        return [p for p in self.people.values() if tag in p.tags]

    def select(self, selector: str, at: datetime) -> list[Person]:
        """The people a selector names at `at`, in roster order."""
        kind, _, name = selector.rpartition(":")
        if kind == "tag":
            return self.tagged(name)
        if kind == "oncall":
            rota = self.rotas.get(name)
            return [self.people[rota.on_call(at)]] if rota else []
        person = self.people.get(name)
        return [person] if person else []

    def could_select(self, selector: str) -> list[Person]:
        """Everyone a selector might ever name, whatever the time (for static checks)."""
        kind, _, name = selector.rpartition(":")
        if kind == "oncall" and name in self.rotas:
            rota = self.rotas[name]
            ids = dict.fromkeys([*rota.members, *(o.person for o in rota.overrides)])
            return [self.people[i] for i in ids if i in self.people]
        return self.select(selector, datetime.min)

    def candidates(
        self,
        selectors: Iterable[str],
        at: datetime,
        *,
        require_tags: Sequence[str] = (),
        languages: Sequence[str] = (),
        exclude: Iterable[str] = (),
    ) -> list[Candidate]:
        """Everyone the selectors name at `at`, in preference order, each with its problems."""
        excluded = set(exclude)
        out: list[Candidate] = []
        seen: set[str] = set()
        for selector in selectors:
            for person in self.select(selector, at):
                if person.id in seen:
                    continue
                seen.add(person.id)
                problems = [f"lacks tag {t}" for t in require_tags if t not in person.tags]
                problems += [f"does not speak {x}" for x in languages if x not in person.languages]
                if person.id in excluded:
                    problems.append("excluded: implicated in this incident")
                away = person.away_at(at)
                if away is not None:
                    until = away.end.astimezone(ZoneInfo(person.timezone))
                    problems.append(f"away until {until:%Y-%m-%d %H:%M}")
                if not person.channels():
                    problems.append("has no phone or e-mail")
                out.append(Candidate(person, selector, tuple(problems)))
        return out


def assign(
    requests: Sequence[tuple[str, Sequence[Candidate]]],
    qualities: Mapping[str, Sequence[str]] | None = None,
    apart: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Assignment]:
    """Fill roles in the order given, never giving one person two roles while someone else can.

    `qualities` names, per role, what to say about the chosen person (required tags,
    languages), so the explanation reads "first candidate for spokesperson; media-trained;
    speaks pl". `apart` names, per role, roles its holder must not also hold while anyone
    else can take it (two approvers of one statement): when everyone is already busy, a
    second role goes to someone whose first one does not clash.
    """
    holding: dict[str, str] = {}
    held: dict[str, set[str]] = {}
    out: dict[str, Assignment] = {}
    for role, candidates in requests:
        eligible = [c for c in candidates if c.eligible]
        free = [c for c in eligible if c.person.id not in holding]
        clash = set((apart or {}).get(role, ()))
        apart_ok = [c for c in eligible if not held.get(c.person.id, set()) & clash]
        pool = free or apart_ok or eligible
        if not pool:
            reasons = "; ".join(f"{c.person.name}: {', '.join(c.problems)}" for c in candidates)
            note = f"no one can fill {role}" + (f" ({reasons})" if reasons else "")
            out[role] = Assignment(role, None, tuple(candidates), (note,))
            continue
        chosen = pool[0]
        rank = list(candidates).index(chosen)
        position = "first candidate" if rank == 0 else f"candidate {rank + 1}"
        parts = [f"{position} for {role} ({chosen.selector})"]
        parts += list((qualities or {}).get(role, ()))
        parts += [
            f"{c.person.name} skipped: {', '.join(c.problems)}"
            for c in candidates[:rank]
            if c.problems
        ]
        if chosen.person.id in holding:
            parts.append(f"also {holding[chosen.person.id]}: no one else can")
        else:
            taken = [c for c in candidates[:rank] if c.eligible and c.person.id in holding]
            parts += [f"{c.person.name} already {holding[c.person.id]}" for c in taken]
        holding.setdefault(chosen.person.id, role)
        held.setdefault(chosen.person.id, set()).add(role)
        out[role] = Assignment(role, chosen.person, tuple(candidates), tuple(parts))
    return out
