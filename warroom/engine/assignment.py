"""Who fills each role and who hears each audience, at one instant and level. Pure.

Activation, `warroom show` and a dry run all call these same functions, so the brief a comms
director reads before the crisis is exactly what happens during it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from warroom.playbook import templates
from warroom.playbook.model import Action, Playbook
from warroom.roster.model import Assignment, Candidate, Contact, Roster, assign


@dataclass(frozen=True)
class RoleFilter:
    """What a role demands of a person, with the playbook's templates already rendered."""

    require_tags: tuple[str, ...]
    languages: tuple[str, ...]
    exclude: tuple[str, ...]

    def qualities(self) -> list[str]:
        return [*self.require_tags, *(f"speaks {lang}" for lang in self.languages)]


def addressed_languages(playbook: Playbook, role_id: str) -> tuple[str, ...]:
    """Every language the role speaks to the outside in: its statements' audiences (an
    audience's own `language`, else every language of the playbook, since each recipient is
    written to in theirs), and, for the media desk's owner, every language of the playbook
    (a journalist's inquiry comes in any of them). Empty for a role that addresses nobody."""
    found: dict[str, None] = {}
    everything = dict.fromkeys(playbook.languages)
    if playbook.media_desk.owner == role_id or _speaks_for_us(playbook, role_id):
        found.update(everything)
    for sid, statement in playbook.statements.items():
        if statement.owner != role_id:
            continue
        if statement.media:
            found.update(everything)
        for step in playbook.steps:
            if step.statement != sid or step.action is not Action.SEND:
                continue
            for aid in step.to:
                language = playbook.audiences[aid].language
                found.update({language: None} if language else everything)
    return tuple(lang for lang in playbook.languages if lang in found)


def _speaks_for_us(playbook: Playbook, role_id: str) -> bool:
    """A role that owns no words but must speak the audiences' language (`speaks: "{{
    language }}"`, the spokesperson beside a media-relations desk) faces all of them: the
    press conference and the interview are in whichever language the journalist asks."""
    return any("language" in value for value in playbook.roles[role_id].speaks)


def role_filter(playbook: Playbook, role_id: str, facts: Mapping[str, str]) -> RoleFilter:
    """Render a role's `speaks` and `exclude` against the incident's facts.

    Facts not given yet render as empty, so `exclude: ["{{ implicated }}"]` excludes nobody
    until someone is named, and an empty language requirement is dropped. `{{ language }}`
    stands for each language the role addresses (the playbook's first, if it addresses none):
    a spokesperson fronting a Polish press audience must speak Polish.
    """
    role = playbook.roles[role_id]
    context: dict[str, object] = dict.fromkeys(playbook.facts, "")
    context.update({k: v for k, v in facts.items() if k in playbook.facts})
    languages = addressed_languages(playbook, role_id) or playbook.languages[:1]

    def rendered(values: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for value in values:
            if "{" not in value:
                out.append(value)
                continue
            for language in languages:
                out.append(templates.render(value, {**context, "language": language}))
        return tuple(dict.fromkeys(v for v in out if v))

    return RoleFilter(tuple(role.require_tags), rendered(role.speaks), rendered(role.exclude))


def excluded_people(playbook: Playbook, facts: Mapping[str, str]) -> dict[str, list[str]]:
    """Everyone some role's `exclude` names (the person implicated), with the roles that
    exclude them. They are kept out of every audience and page of the incident too: an
    implicated board member must not receive the confidential notice about themself."""
    out: dict[str, list[str]] = {}
    for role_id in playbook.roles:
        for person in role_filter(playbook, role_id, facts).exclude:
            out.setdefault(person, []).append(role_id)
    return out


def role_candidates(
    playbook: Playbook,
    roster: Roster,
    role_id: str,
    at: datetime,
    level: str,
    facts: Mapping[str, str],
) -> list[Candidate]:
    return _candidates(playbook, roster, role_id, at, level, role_filter(playbook, role_id, facts))


def _candidates(
    playbook: Playbook,
    roster: Roster,
    role_id: str,
    at: datetime,
    level: str,
    demands: RoleFilter,
) -> list[Candidate]:
    return roster.candidates(
        playbook.role_selectors(role_id, level),
        at,
        require_tags=demands.require_tags,
        languages=demands.languages,
        exclude=demands.exclude,
    )


def assign_roles(
    playbook: Playbook,
    roster: Roster,
    at: datetime,
    level: str,
    facts: Mapping[str, str],
) -> dict[str, Assignment]:
    """Fill every role in the order the playbook declares them."""
    demands = {role_id: role_filter(playbook, role_id, facts) for role_id in playbook.roles}
    requests = [
        (role_id, _candidates(playbook, roster, role_id, at, level, demands[role_id]))
        for role_id in playbook.roles
    ]
    return assign(
        requests, {r: d.qualities() for r, d in demands.items()}, approvers_apart(playbook)
    )


def approvers_apart(playbook: Playbook) -> dict[str, set[str]]:
    """For each role, the roles that approve some statement with it: four eyes keeps their
    holders apart whenever the roster allows."""
    apart: dict[str, set[str]] = {}
    for statement in playbook.statements.values():
        for role in statement.approvers:
            apart.setdefault(role, set()).update(r for r in statement.approvers if r != role)
    return apart


@dataclass(frozen=True)
class Recipient:
    """One contact of an audience, on the channels both the audience and the contact have."""

    contact: Contact
    channels: tuple[str, ...]
    language: str


def audience_recipients(
    playbook: Playbook,
    roster: Roster,
    audience_id: str,
    assignments: Mapping[str, Assignment],
    at: datetime,
    loaded: Sequence[Contact] = (),
) -> list[Recipient]:
    """Everyone an audience reaches, once each, in the order written (roles, groups, people).

    The same person listed twice (a group member who also holds a role) gets one message.
    """
    audience = playbook.audiences[audience_id]
    contacts: list[Contact] = []
    for role_id in audience.roles:
        person = assignments[role_id].person if role_id in assignments else None
        if person is not None:
            contacts.append(person.contact())
    for group in audience.groups:
        contacts.extend(roster.groups.get(group, ()))
    for selector in audience.people:
        contacts.extend(p.contact() for p in roster.select(selector, at))
    contacts.extend(loaded)  # `contacts: at_release`: the list loaded for this incident
    seen: set[tuple[str | None, str | None]] = set()
    out: list[Recipient] = []
    for contact in contacts:
        key = (contact.phone, contact.email)
        if key in seen:
            continue
        seen.add(key)
        language = audience.language or contact.language
        if language not in playbook.languages:
            language = playbook.languages[0]
        channels = tuple(c for c in audience.channels if c in contact.channels())
        out.append(Recipient(contact, channels, language))
    return out
