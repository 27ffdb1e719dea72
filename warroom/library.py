"""The playbook library on disk: finding files, telling them apart, checking them together.

A playbook alone can be consistent and still fail at 3 a.m. because nobody in the roster has
the `general-counsel` tag. So the library is validated as a whole: each playbook against the
roster, each exercise against its playbook and the roster.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.durations import format_duration
from warroom.engine.assignment import role_filter
from warroom.engine.sizing import oversized_texts
from warroom.errors import Diagnostic, InvalidInput, NotFound, Severity
from warroom.playbook.compile import compile_playbook
from warroom.playbook.facts import fact_problem, normal_value
from warroom.playbook.model import Action, Fact, Playbook
from warroom.roster.load import compile_roster, read_contact_list
from warroom.roster.model import Person, Roster
from warroom.specs import Findings, one_of, validate_source
from warroom.yamlsource import PathKey, Source, load_yaml

if TYPE_CHECKING:
    from warroom.exercise.schema import ContactsInjectSpec, ScenarioSpec

LIBRARY_ENV = "WARROOM_LIBRARY"
ROSTER_ENV = "WARROOM_ROSTER"
ROSTER_KEYS = {"people", "groups", "oncall"}


def default_library() -> Path:
    return Path(os.environ.get(LIBRARY_ENV) or "playbooks")


def default_roster(library: Path) -> Path:
    return Path(os.environ.get(ROSTER_ENV) or library / "roster.yaml")


@dataclass
class Library:
    playbooks: dict[str, tuple[Playbook, Source]] = field(default_factory=dict)
    roster: Roster | None = None
    scenarios: dict[str, tuple[ScenarioSpec, Source]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    """Ids of playbooks whose files have errors: their exercises are not checked against them."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def playbook(self, playbook_id: str) -> Playbook:
        if playbook_id in self.playbooks:
            return self.playbooks[playbook_id][0]
        broken = [d for d in self.errors if Path(d.file).stem == playbook_id]
        if broken:
            raise InvalidInput(broken)
        raise NotFound(
            f"unknown playbook {playbook_id!r} (the library has: {one_of(self.playbooks)})"
        )

    def require_roster(self) -> Roster:
        if self.roster is None:
            raise NotFound("no roster loaded; give --roster or set WARROOM_ROSTER")
        return self.roster


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = [*path.glob("*.yaml"), *path.glob("*.yml")]
        found += [*path.glob("exercises/*.yaml"), *path.glob("exercises/*.yml")]
        return sorted(found)
    return [path]


def load_library(paths: Sequence[Path], roster_path: Path | None = None) -> Library:
    """Load every playbook, exercise and roster under `paths`; never raises for file errors.

    Errors and warnings are collected in `diagnostics`, so `validate` can report all of them
    and `show` can still brief one good playbook while another file is broken.
    """
    library = Library()
    sources: list[Source] = []
    roster_source: Source | None = None
    roster_folder = Path(".")
    for path in paths:
        if not path.exists():
            library.diagnostics.append(Diagnostic(str(path), 0, 0, "", "no such file or folder"))
            continue
        files = _files(path)
        if path.is_dir() and not files:
            library.diagnostics.append(
                Diagnostic(str(path), 0, 0, "", "no playbooks here (expected *.yaml files)")
            )
        for file in files:
            library.files.append(str(file))
            try:
                source = load_yaml(file)
            except InvalidInput as exc:
                library.diagnostics.extend(exc.diagnostics)
                continue
            keys = set(source.data) if isinstance(source.data, dict) else set()
            if keys & ROSTER_KEYS and not keys & {"playbook", "exercise"}:
                if roster_source is not None and roster_path is None:
                    library.diagnostics.append(
                        source.diagnostic(
                            (),
                            f"a second roster in the library; using {roster_source.file}",
                            severity=Severity.WARNING,
                        )
                    )
                elif roster_path is None or file.resolve() == roster_path.resolve():
                    roster_source, roster_folder = source, file.parent
                continue
            sources.append(source)
    if roster_source is None and roster_path is not None:
        try:
            roster_source, roster_folder = load_yaml(roster_path), roster_path.parent
        except InvalidInput as exc:
            library.diagnostics.extend(exc.diagnostics)
    if roster_source is not None:
        try:
            library.roster, warnings = compile_roster(roster_source, roster_folder)
            library.diagnostics.extend(warnings)
        except InvalidInput as exc:
            library.diagnostics.extend(exc.diagnostics)
    for source in sources:
        library.diagnostics.extend(_load_one(library, source))
    if any(path.is_dir() for path in paths) and not library.playbooks and not library.errors:
        shown = ", ".join(str(p) for p in paths)
        library.diagnostics.append(
            Diagnostic(shown, 0, 0, "", "no playbooks found (a playbook has a `playbook:` key)")
        )
    for spec, source in library.scenarios.values():
        library.diagnostics.extend(check_scenario(spec, source, library))
    return library


def _load_one(library: Library, source: Source) -> list[Diagnostic]:
    data = source.data if isinstance(source.data, dict) else {}
    try:
        if "exercise" in data:
            from warroom.exercise.schema import ScenarioSpec  # only a library with exercises

            spec = validate_source(ScenarioSpec, source)
            if spec.exercise in library.scenarios:
                other = library.scenarios[spec.exercise][1].file
                return [source.diagnostic(("exercise",), f"exercise id also used in {other}")]
            library.scenarios[spec.exercise] = (spec, source)
            return []
        if "playbook" not in data:
            return [
                source.diagnostic(
                    (),
                    "not a warroom file: expected a top-level `playbook:` or `exercise:` key, "
                    "or roster keys `people:`, `groups:`, `oncall:`",
                )
            ]
        playbook, found = compile_playbook(source)
    except InvalidInput as exc:
        if isinstance(data.get("playbook"), str):
            library.broken.add(data["playbook"])
        return exc.diagnostics
    if playbook.id in library.playbooks:
        other = library.playbooks[playbook.id][1].file
        return [source.diagnostic(("playbook",), f"playbook id also used in {other}")]
    found += [
        source.diagnostic(path, message, severity=Severity.WARNING)
        for path, message in oversized_texts(playbook)
    ]
    if library.roster is not None:
        found += check_against_roster(playbook, source, library.roster)
    if any(d.severity is Severity.ERROR for d in found):
        library.broken.add(playbook.id)
    else:
        library.playbooks[playbook.id] = (playbook, source)
    return found


# -- a playbook against the roster ------------------------------------------------------------


def check_against_roster(playbook: Playbook, source: Source, roster: Roster) -> list[Diagnostic]:
    """Every person, tag, rota and group a playbook names exists, and every role can be filled."""
    found = Findings(source)

    def selector_ok(selector: str, path: PathKey) -> bool:
        kind, _, name = selector.rpartition(":")
        if kind == "tag" and not roster.tagged(name):
            found.error(path, f"no one in the roster has tag {name!r}")
            return False
        if kind == "oncall":
            return found.ref("on-call rota", name, roster.rotas, path)
        if kind in ("", "person"):
            return found.ref("person", name, roster.people, path)
        return True

    for role_id, role in playbook.roles.items():
        written_as_tiers = len(role.tiers) > 1 or role.tiers[0].from_level is not None
        for t, tier in enumerate(role.tiers):
            for s, selector in enumerate(tier.pick):
                where = ("candidates", t, "pick", s) if written_as_tiers else ("candidates", s)
                selector_ok(selector, ("roles", role_id, *where))
        _check_role_fill(playbook, roster, role_id, found)
    for aid, audience in playbook.audiences.items():
        for i, group in enumerate(audience.groups):
            found.ref("group", group, roster.groups, ("audiences", aid, "groups", i))
        for i, selector in enumerate(audience.people):
            selector_ok(selector, ("audiences", aid, "people", i))
    for index, step in enumerate(playbook.steps):
        for e, rung in enumerate(step.escalations):
            for s, selector in enumerate(rung.page):
                if not selector.startswith("role:"):
                    selector_ok(selector, ("steps", index, "escalate", e, "page", s))
    _check_reach(playbook, roster, found)
    _check_first_choices(playbook, roster, found)
    _check_four_eyes(playbook, roster, found)
    return found.items


def _static_pool(playbook: Playbook, roster: Roster, role_id: str, level: str) -> list[Person]:
    """Who could ever fill a role at a level, whatever the date: rota members, tag holders."""
    demands = role_filter(playbook, role_id, {})
    pool: dict[str, Person] = {}
    for selector in playbook.role_selectors(role_id, level):
        for person in roster.could_select(selector):
            fits = all(t in person.tags for t in demands.require_tags) and all(
                x in person.languages for x in demands.languages
            )
            if fits and person.channels():
                pool.setdefault(person.id, person)
    return list(pool.values())


def _check_role_fill(playbook: Playbook, roster: Roster, role_id: str, found: Findings) -> None:
    role = playbook.roles[role_id]
    pools = {
        level.id: _static_pool(playbook, roster, role_id, level.id) for level in playbook.levels
    }
    for level_id, pool in pools.items():
        if not pool:
            demands = role_filter(playbook, role_id, {}).qualities()
            needs = f" who is {', '.join(demands)}" if demands else ""
            found.error(
                ("roles", role_id),
                f"no one in the roster can fill {role.title!r} at level {level_id!r}: "
                f"no candidate{needs} with a phone or e-mail",
            )
            return
    lowest = pools[playbook.levels[0].id]
    if len(lowest) == 1:
        found.warn(
            ("roles", role_id),
            f"only {lowest[0].name} can fill {role.title!r}: no backup if they are away",
        )


def _check_reach(playbook: Playbook, roster: Roster, found: Findings) -> None:
    """Audiences nobody can be reached in, and steps nobody can be paged for."""
    unreachable: set[str] = set()
    for aid, audience in playbook.audiences.items():
        if audience.contacts_at_release:
            continue  # its list comes with `warroom contacts load`, checked then
        reachable = any(
            set(audience.channels) & set(c.channels())
            for g in audience.groups
            for c in roster.groups.get(g, ())
        ) or any(
            set(audience.channels) & set(p.channels())
            for r in audience.roles
            for level in playbook.levels
            for p in _static_pool(playbook, roster, r, level.id)
        )
        reachable = reachable or any(
            set(audience.channels) & set(p.channels())
            for s in audience.people
            for p in roster.could_select(s)
        )
        if not reachable:
            unreachable.add(aid)
            found.warn(
                ("audiences", aid),
                f"no contact in this audience has {' or '.join(audience.channels)}",
            )
    for index, step in enumerate(playbook.steps):
        if step.action is Action.PAGE and all(a in unreachable for a in step.page):
            found.error(
                ("steps", index, "page"),
                "nobody can be paged for this step: no contact in "
                f"{', '.join(step.page)} can be reached on its channels",
            )


def _check_first_choices(playbook: Playbook, roster: Roster, found: Findings) -> None:
    firsts: dict[str, list[str]] = {}
    level = playbook.default_level
    for role_id in playbook.roles:
        pool = _static_pool(playbook, roster, role_id, level)
        if pool:
            firsts.setdefault(pool[0].id, []).append(role_id)
    for person_id, roles in firsts.items():
        if len(roles) > 1:
            found.warn(
                ("roles", roles[1]),
                f"{roster.people[person_id].name} is first choice for {', '.join(roles)}; "
                "one of these roles goes to the next candidate at activation",
            )


def _check_four_eyes(playbook: Playbook, roster: Roster, found: Findings) -> None:
    """A statement whose approver roles cannot go to as many different people as there are
    roles can never be released: one person's approval counts for one role only."""
    for level in playbook.levels:
        for sid, statement in playbook.statements.items():
            if len(statement.approvers) < 2:
                continue
            pools = {
                r: [p.id for p in _static_pool(playbook, roster, r, level.id)]
                for r in statement.approvers
            }
            if _distinct_people(pools) < len(statement.approvers):
                found.warn(
                    ("statements", sid, "approve"),
                    f"at level {level.id!r} no {len(statement.approvers)} different people in "
                    f"the roster can hold {', '.join(statement.approvers)}: {statement.title!r} "
                    "cannot be released until a second person is assigned (four eyes)",
                )
                return


def _distinct_people(pools: dict[str, list[str]]) -> int:
    """How many roles can go to different people at once (a maximum bipartite matching)."""
    holder: dict[str, str] = {}

    def place(role: str, seen: set[str]) -> bool:
        for person in pools[role]:
            if person in seen:
                continue
            seen.add(person)
            if person not in holder or place(holder[person], seen):
                holder[person] = role
                return True
        return False

    return sum(place(role, set()) for role in pools)


# -- an exercise against its playbook and the roster -----------------------------------------


def check_scenario(spec: ScenarioSpec, source: Source, library: Library) -> list[Diagnostic]:
    found = Findings(source)
    if spec.playbook in library.broken:
        found.warn(("playbook",), f"not checked: playbook {spec.playbook!r} has errors")
        return found.items
    if not found.ref("playbook", spec.playbook, library.playbooks, ("playbook",)):
        return found.items
    playbook = library.playbooks[spec.playbook][0]
    levels = [level.id for level in playbook.levels]
    steps = {step.id: step for step in playbook.steps}
    found.ref("level", spec.level, levels, ("level",))
    for name, value in spec.facts.items():
        if found.ref("fact", name, playbook.facts, ("facts", name)):
            _check_choice(playbook.facts[name], value, ("facts", name), found)
            limit = playbook.facts[name].max_length
            if limit is not None and len(value) > limit:
                found.error(("facts", name), f"is {len(value)} characters, over max_length {limit}")
    for name, fact in playbook.facts.items():
        if fact.required and fact.default is None and name not in spec.facts:
            found.error(("facts",), f"missing required fact {name!r} of playbook {playbook.id!r}")
    people = library.roster.people if library.roster is not None else None
    if people is not None:
        for i, person in enumerate(spec.participants):
            found.ref("person", person, people, ("participants", i))
        for person in spec.responders:
            found.ref("person", person, people, ("responders", person))
        for person in spec.readiness.people:
            found.ref("person", person, people, ("readiness", "people", person))
    for role in spec.readiness.roles:
        found.ref("role", role, playbook.roles, ("readiness", "roles", role))
    for channel in spec.readiness.channels:
        found.ref("channel", channel, ("sms", "email"), ("readiness", "channels", channel))
    outages: dict[str, list[tuple[datetime, datetime, int]]] = {}
    for i, inject in enumerate(spec.injects):
        path: PathKey = ("injects", i)
        if inject.at > spec.end:
            found.error(
                (*path, "at"),
                f"is after the exercise ends ({format_duration(spec.end)} after start)",
            )
        found.ref("level", inject.raise_level, levels, (*path, "raise_level"))
        found.ref("level", inject.lower_level, levels, (*path, "lower_level"))
        for name, value in (inject.fact or {}).items():
            if found.ref("fact", name, playbook.facts, (*path, "fact", name)):
                _check_choice(playbook.facts[name], value, (*path, "fact", name), found)
                limit = playbook.facts[name].max_length
                if limit is not None and len(value) > limit:
                    found.error(
                        (*path, "fact", name),
                        f"is {len(value)} characters, over max_length {limit}",
                    )
        if inject.contacts is not None:
            _check_contacts_inject(playbook, inject.contacts, source, (*path, "contacts"), found)
        if people is not None:
            found.ref("person", inject.silence, people, (*path, "silence"))
            found.ref("person", inject.restore, people, (*path, "restore"))
        if inject.channel_outage and inject.lasting:
            begin = spec.start + inject.at
            end = begin + inject.lasting
            for other_begin, other_end, j in outages.get(inject.channel_outage, []):
                if begin < other_end and other_begin < end:
                    found.error(
                        (*path, "channel_outage"),
                        f"{inject.channel_outage} outage overlaps the one at injects[{j}]",
                    )
            outages.setdefault(inject.channel_outage, []).append((begin, end, i))
    for i, objective in enumerate(spec.objectives):
        path = ("objectives", i)
        if objective.step and found.ref("step", objective.step, steps, (*path, "step")):
            step = steps[objective.step]
            if objective.acked_within and step.action is not Action.PAGE:
                found.error(
                    (*path, "acked_within"),
                    f"step {step.id!r} pages nobody, so it has no acknowledgements to time; "
                    "use done_within",
                )
        for j, aid in enumerate(objective.before):
            found.ref("audience", aid, playbook.audiences, (*path, "before", j))
        found.ref("role", objective.owner, playbook.roles, (*path, "owner"))
        declared = spec.overview.core_capabilities
        if objective.capability and declared and objective.capability not in declared:
            found.error(
                (*path, "capability"),
                f"{objective.capability!r} is not one of overview.core_capabilities "
                f"({', '.join(declared)})",
            )
    return found.items


def _check_contacts_inject(
    playbook: Playbook,
    given: ContactsInjectSpec,
    source: Source,
    path: PathKey,
    found: Findings,
) -> None:
    """What `warroom contacts load` would refuse, found before the drill instead of in it."""
    if not found.ref("audience", given.audience, playbook.audiences, (*path, "audience")):
        return
    if not playbook.audiences[given.audience].contacts_at_release:
        found.error(
            (*path, "audience"),
            f"audience {given.audience!r} takes its contacts from the roster; only an audience "
            "declared `contacts: at_release` is loaded during an incident",
        )
    try:
        read_contact_list(Path(os.path.normpath(Path(source.file).parent / given.csv)))
    except InvalidInput as exc:
        found.items.extend(exc.diagnostics)


def _check_choice(fact: Fact, value: str, path: PathKey, found: Findings) -> None:
    """A yes-or-no or a choice fact in a drill holds one of its values, as at activation."""
    if fact.kind in ("boolean", "choice"):
        problem = fact_problem(fact, normal_value(fact, value))
        if problem is not None:
            found.error(path, problem)
