"""Readiness: the scenario played many times, at random hours, by people who may not answer.

A tabletop exercise answers "did this scripted crisis go to plan?". A readiness run answers
the question a comms director has before the crisis: *if this happened at a random hour next
quarter, how likely are we to meet our own targets, and who is the single point of failure?*

Each run is the ordinary exercise (`Exercise`, the real runtime and engine, an in-memory
store) with two things drawn at random: the activation instant, uniformly in the period, so
that rotas, away periods and time zones are exercised as they will really be; and the
people, who answer late or never according to the scenario's `readiness:` model. All the
randomness lives here, never in the engine: run `i` draws from `random.Random(f"{seed}:{i}")`
(and one stream per person), so any run can be replayed alone, and the figures do not depend
on how many processes computed them.
"""

from __future__ import annotations

import math
import multiprocessing
import random
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from warroom.durations import format_duration
from warroom.engine.assignment import assign_roles
from warroom.engine.state import Incident
from warroom.exercise.report import _objective, offset
from warroom.exercise.runner import Exercise
from warroom.exercise.schema import DelaySpec, ProfileSpec, ResponderSpec, ScenarioSpec
from warroom.playbook.model import Playbook
from warroom.roster.model import Roster
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.memory import MemoryStore

MAX_RUNS = 100_000
Z90 = 1.2815515655446004
"""The standard normal's 90th percentile: a lognormal's p90 is median * exp(Z90 * sigma)."""

BUILT_IN = ProfileSpec(
    no_answer=0.05,
    ack=DelaySpec(median=timedelta(minutes=5), p90=timedelta(minutes=15)),
    approve=DelaySpec(median=timedelta(minutes=10), p90=timedelta(minutes=30)),
)
"""What a person does when the scenario says nothing: answers 19 times in 20, acknowledges
in 5 minutes (15 at p90) and approves in 10 (30 at p90)."""


@dataclass(frozen=True)
class Profile:
    """One person's behaviour in one run, every key resolved."""

    no_answer: float
    ack: DelaySpec
    approve: DelaySpec


def resolve(
    scenario: ScenarioSpec, person: str, role: str | None
) -> tuple[Profile, tuple[str, ...]]:
    """The person's profile: their own keys, then their role's, then `default`, then the
    built-in defaults. Also says which layers spoke, for `--only`."""
    model = scenario.readiness
    layers = [
        ("person", model.people.get(person)),
        (f"role {role}", model.roles.get(role) if role else None),
        ("default", model.default),
        ("built-in", BUILT_IN),
    ]

    def pick(name: str) -> Any:
        for _, layer in layers:
            value = getattr(layer, name) if layer is not None else None
            if value is not None:
                return value
        raise AssertionError(name)  # the built-in layer sets every key

    used = tuple(label for label, layer in layers[:2] if layer is not None)
    return Profile(pick("no_answer"), pick("ack"), pick("approve")), used


def draw_delay(delay: DelaySpec, rng: random.Random) -> timedelta:
    """A delay in whole seconds (at least one): fixed, or lognormal from median and p90."""
    if delay.fixed is not None:
        return delay.fixed
    assert delay.median is not None
    assert delay.p90 is not None
    median = delay.median.total_seconds()
    sigma = math.log(delay.p90.total_seconds() / median) / Z90
    seconds = median * math.exp(sigma * rng.gauss(0.0, 1.0))
    return timedelta(seconds=max(1, round(seconds)))


@dataclass(frozen=True)
class Draw:
    """What is random about run `index`, except the people (drawn as they are asked)."""

    index: int
    start: datetime
    outages: tuple[tuple[str, timedelta], ...]


def draw_run(
    scenario: ScenarioSpec, seed: int, index: int, begin: datetime, period: timedelta
) -> Draw:
    rng = random.Random(f"{seed}:{index}")
    offset = timedelta(seconds=int(rng.random() * period.total_seconds()))
    outages = tuple(
        (channel, model.lasting)
        for channel, model in sorted(scenario.readiness.channels.items())
        if rng.random() < model.outage
    )
    return Draw(index, begin + offset, outages)


@dataclass
class Answerer:
    """The simulated people of one run: whether each answers is drawn the first time they are
    asked (from their own stream, so one person's draws never shift another's)."""

    scenario: ScenarioSpec
    seed: int
    index: int
    streams: dict[str, random.Random] = field(default_factory=dict)
    absent: dict[str, bool] = field(default_factory=dict)
    roles: dict[str, str | None] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    why: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def delay(self, person: str, role: str | None, purpose: str) -> timedelta | None:
        """How long `person` takes to answer this request, or None: they never will."""
        stream = self.streams.get(person)
        if stream is None:
            stream = self.streams[person] = random.Random(f"{self.seed}:{self.index}:{person}")
            profile, used = resolve(self.scenario, person, role)
            self.profiles[person], self.why[person], self.roles[person] = profile, used, role
            self.absent[person] = stream.random() < profile.no_answer
        if self.absent[person]:
            return None
        profile = self.profiles[person]
        return draw_delay(profile.ack if purpose == "page" else profile.approve, stream)


class ReadinessExercise(Exercise):
    """The ordinary exercise, with the scripted responders replaced by the drawn ones."""

    def __init__(
        self,
        scenario: ScenarioSpec,
        snapshot: Snapshot,
        runtime: Runtime,
        answerer: Answerer,
        *,
        outages: dict[str, list[tuple[datetime, datetime]]],
    ) -> None:
        super().__init__(scenario, snapshot, runtime, outages=outages)
        self.answerer = answerer

    def _respond(
        self,
        person: str,
        responder: ResponderSpec,
        purpose: str,
        code: str,
        statement: str | None,
        now: datetime,
    ) -> None:
        incident = self.runtime.incident(self.incident)
        delay = self.answerer.delay(person, _role_of(incident, person), purpose)
        if delay is None:
            return
        if purpose == "page":
            drawn = ResponderSpec.model_construct(ack_after=delay)
        else:
            drawn = ResponderSpec.model_construct(approve_after=delay)
        super()._respond(person, drawn, purpose, code, statement, now)


def _role_of(incident: Incident, person: str) -> str | None:
    for role, state in incident.roles.items():
        if state.person == person:
            return role
    for step in incident.steps.values():
        paged_as = step.paged.get(person)
        if paged_as:
            return paged_as
    return None


# -- one run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What every run of one readiness study shares: built once per process."""

    scenario: ScenarioSpec
    snapshot: Snapshot
    seed: int
    begin: datetime
    period: timedelta

    def compiled(self) -> tuple[Playbook, Roster]:
        return self.snapshot.compile()


def run_one(setup: Setup, index: int) -> dict[str, Any]:
    """Play run `index` and measure it: a small record, everything the figures need."""
    return _play(setup, index)[0]


def replay(setup: Setup, index: int) -> tuple[dict[str, Any], list[str]]:
    """Run `index` alone, exactly as it ran among the others, with its whole timeline."""
    record, store, incident = _play(setup, index)
    start = datetime.fromisoformat(record["start"])
    timeline = [
        f"{offset(start, stored.at)}  {note}"
        for stored in store.events(incident)
        for note in stored.notes
    ]
    return record, timeline


def _play(setup: Setup, index: int) -> tuple[dict[str, Any], MemoryStore, str]:
    draw = draw_run(setup.scenario, setup.seed, index, setup.begin, setup.period)
    playbook, roster = setup.compiled()
    people = {p: ResponderSpec.model_construct() for p in roster.people}
    scenario = setup.scenario.model_copy(
        update={
            "start": draw.start,
            "responders": people,
            "participants": [],  # nobody is live: everyone is simulated
            "injects": [] if setup.scenario.readiness.injects == "drop" else setup.scenario.injects,
        }
    )
    outages: dict[str, list[tuple[datetime, datetime]]] = {
        channel: [(draw.start, draw.start + lasting)] for channel, lasting in draw.outages
    }
    store = MemoryStore()
    clock = VirtualClock(draw.start)
    runtime = Runtime(store, clock, Exercise.simulated_channels(outages, clock.now), concurrency=1)
    answerer = Answerer(setup.scenario, setup.seed, index)
    exercise = ReadinessExercise(scenario, setup.snapshot, runtime, answerer, outages=outages)
    result = exercise.run()
    incident = runtime.incident(result.incident)
    record = measure(scenario, incident, draw, answerer, playbook, roster, result.ended)
    return record, store, result.incident


def measure(
    scenario: ScenarioSpec,
    incident: Incident,
    draw: Draw,
    answerer: Answerer,
    playbook: Playbook,
    roster: Roster,
    ended: datetime,
) -> dict[str, Any]:
    start = draw.start
    first: dict[str, tuple[datetime, int]] = {}
    for statement in incident.statements.values():
        for release in statement.releases:
            key = (release.at, release.order)
            if release.audience not in first or key < first[release.audience]:
                first[release.audience] = key
    objectives = {
        o.id: _objective(o, scenario, incident, first, []).status == "met"
        for o in scenario.objectives
    }
    slas: dict[str, str] = {}
    for step in playbook.steps:
        state = incident.steps[step.id]
        if step.due is None or state.started_at is None:
            continue
        outcome = state.due_outcome
        if outcome is None and ended >= start + step.due:
            outcome = "breached"  # the run ended past its deadline with the step unfinished
        slas[step.id] = outcome or "open"
    silent = sorted(p for p, absent in answerer.absent.items() if absent)
    local = start.astimezone(ZoneInfo(playbook.timezone))
    return {
        "index": draw.index,
        "start": start.isoformat(),
        "weekday": local.weekday(),
        "hour": local.hour,
        "outages": [c for c, _ in draw.outages],
        "objectives": objectives,
        "slas": slas,
        "first": {a: (at - start).total_seconds() / 60 for a, (at, _) in first.items()},
        "silent": {p: answerer.roles.get(p) for p in silent},
        "asked": sorted(answerer.absent),
        "coverage": coverage(playbook, roster, scenario, start),
    }


def coverage(
    playbook: Playbook, roster: Roster, scenario: ScenarioSpec, at: datetime
) -> dict[str, int]:
    """Per role, how many people could step in for the first choice at `at` without leaving
    another role empty: 0 is a single point of failure written into the roster."""
    level = scenario.level or playbook.default_level
    facts = dict(scenario.facts)
    assignments = assign_roles(playbook, roster, at, level, facts)
    holders = {a.person.id for a in assignments.values() if a.person is not None}
    out: dict[str, int] = {}
    for role, assignment in assignments.items():
        if assignment.person is None:
            out[role] = -1  # nobody at all
            continue
        out[role] = sum(1 for p in assignment.backups if p.id not in holders)
    return out


def run_many(
    setup: Setup, indices: Iterable[int], on_done: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    out = []
    for index in indices:
        out.append(run_one(setup, index))
        if on_done is not None:
            on_done()
    return out


# -- the figures ----------------------------------------------------------------------------


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval: honest at 0 %, 100 % and small n, unlike p +- z*se."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values: always one of the measured times."""
    rank = max(1, math.ceil(q * len(values)))
    return values[rank - 1]


DAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _r(value: float) -> float:
    return round(value, 4)


def summarise(
    setup: Setup, records: list[dict[str, Any]], people: Mapping[str, str]
) -> dict[str, Any]:
    """Every figure of the report, from the runs' records in index order."""
    scenario = setup.scenario
    playbook, roster = setup.compiled()
    records = sorted(records, key=lambda r: r["index"])
    n = len(records)
    titles = {o.id: o.title or o.id for o in scenario.objectives}

    objectives: list[dict[str, Any]] = []
    for objective in scenario.objectives:
        met = sum(1 for r in records if r["objectives"][objective.id])
        low, high = wilson(met, n)
        objectives.append(
            {
                "id": objective.id,
                "title": titles[objective.id],
                "met": met,
                "runs": n,
                "probability": _r(met / n),
                "low": _r(low),
                "high": _r(high),
            }
        )

    slas: list[dict[str, Any]] = []
    for step in playbook.steps:
        if step.due is None:
            continue
        outcomes = [r["slas"][step.id] for r in records if step.id in r["slas"]]
        decided = [o for o in outcomes if o != "open"]
        met = sum(1 for o in decided if o == "met")
        low, high = wilson(met, len(decided))
        slas.append(
            {
                "step": step.id,
                "title": step.title,
                "due": _duration(step.due),
                "started": len(outcomes),
                "met": met,
                "breached": len(decided) - met,
                "undecided": len(outcomes) - len(decided),
                "probability": _r(met / len(decided)) if decided else None,
                "low": _r(low) if decided else None,
                "high": _r(high) if decided else None,
            }
        )

    first_statement = []
    for audience_id, audience in playbook.audiences.items():
        times = sorted(r["first"][audience_id] for r in records if audience_id in r["first"])
        if not times:
            continue
        first_statement.append(
            {
                "audience": audience_id,
                "title": audience.title,
                "reached": len(times),
                "runs": n,
                "p50": _minutes(percentile(times, 0.5)),
                "p90": _minutes(percentile(times, 0.9)),
                "p99": _minutes(percentile(times, 0.99)),
                "histogram": _histogram(times),
            }
        )

    # a run misses when an objective is not met or an SLA is breached
    missed = [
        r for r in records if not all(r["objectives"].values()) or "breached" in r["slas"].values()
    ]
    targets = [o.id for o in scenario.objectives] + [
        f"sla:{step.id}" for step in playbook.steps if step.due is not None
    ]
    failed_by_run = [_failed(r) for r in records]
    failures = {
        t: frozenset(r["index"] for r, f in zip(records, failed_by_run, strict=True) if t in f)
        for t in targets
    }
    target_misses = sum(len(f) for f in failures.values())
    missed_set = frozenset(r["index"] for r in missed)
    spof_people: list[dict[str, Any]] = []
    for person in sorted({p for r in records for p in r["silent"]}):
        silent_runs = [r for r in records if person in r["silent"]]
        answered = [r for r in records if person in r["asked"] and person not in r["silent"]]
        explained = sum(_attributable(silent_runs, answered, f) for f in failures.values())
        spof_people.append(
            {
                "person": person,
                "name": people.get(person, person),
                "role": _most_common(r["silent"][person] for r in silent_runs),
                "silent_in": len(silent_runs),
                "misses_explained": _r(explained),
                "share_of_misses": _r(explained / target_misses) if target_misses else 0.0,
                "miss_rate_when_silent": _r(_miss_rate(silent_runs, missed_set)),
                "miss_rate_when_answering": _r(_miss_rate(answered, missed_set)),
            }
        )
    spof_people.sort(key=lambda s: (-s["misses_explained"], s["person"]))
    spof_roles: list[dict[str, Any]] = []
    for role_id, role in playbook.roles.items():
        silent_runs = [r for r in records if role_id in r["silent"].values()]
        answered = [r for r in records if role_id not in r["silent"].values()]
        explained = sum(_attributable(silent_runs, answered, f) for f in failures.values())
        spof_roles.append(
            {
                "role": role_id,
                "title": role.title,
                "silent_in": len(silent_runs),
                "misses_explained": _r(explained),
                "share_of_misses": _r(explained / target_misses) if target_misses else 0.0,
                "miss_rate_when_silent": _r(_miss_rate(silent_runs, missed_set)),
                "miss_rate_when_answering": _r(_miss_rate(answered, missed_set)),
            }
        )
    spof_roles.sort(key=lambda s: (-s["misses_explained"], s["role"]))
    for entry in objectives:
        entry["most_often_silent"], entry["cause_share"] = _culprit(
            records, failures[entry["id"]], people
        )
    for entry in slas:
        entry["most_often_silent"], entry["cause_share"] = _culprit(
            records, failures[f"sla:{entry['step']}"], people
        )
    everyone = [r for r in missed if not r["silent"] and not r["outages"]]

    gaps = rota_gaps(playbook, records)
    summary = {
        "scenario": scenario.exercise,
        "title": scenario.title or scenario.exercise,
        "playbook": playbook.id,
        "seed": setup.seed,
        "runs": n,
        "period": {
            "from": setup.begin.isoformat(),
            "to": (setup.begin + setup.period).isoformat(),
            "length": _duration(setup.period),
        },
        "injects": scenario.readiness.injects,
        "objectives": objectives,
        "slas": slas,
        "first_statement": first_statement,
        "misses": len(missed),
        "target_misses": target_misses,
        "misses_with_everyone_answering": len(everyone),
        "single_points_of_failure": {"people": spof_people[:10], "roles": spof_roles},
        "rota_gaps": gaps,
    }
    summary["actions"] = actions(summary, playbook, roster)
    return summary


def rota_gaps(playbook: Playbook, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per role, the hours of the week (4-hour blocks, the playbook's time zone) at which
    nobody could step in for the first choice, as a share of the runs drawn then."""
    out: list[dict[str, Any]] = []
    for role_id, role in playbook.roles.items():
        cells: dict[tuple[int, int], list[int]] = {}
        for r in records:
            cells.setdefault((r["weekday"], r["hour"] // 4), []).append(r["coverage"][role_id])
        thin = sum(1 for r in records if r["coverage"][role_id] <= 0)
        if not thin:
            continue
        worst: list[dict[str, Any]] = []
        for (day, block), values in sorted(cells.items()):
            bad = sum(1 for v in values if v <= 0)
            if bad:
                nobody = sum(1 for v in values if v < 0)
                worst.append(
                    {
                        "when": f"{DAYS[day]} {block * 4:02d}:00-{block * 4 + 4:02d}:00",
                        "share": _r(bad / len(values)),
                        "runs": len(values),
                        "nobody": nobody,
                    }
                )
        worst.sort(key=lambda w: (-w["share"], -w["runs"], w["when"]))
        share = thin / len(records)
        enough = max(5, len(records) // 84)  # half the runs of an average 4-hour block
        telling = [w for w in worst if w["runs"] >= enough and w["share"] < 1] or worst
        if share >= 0.995:
            when = ", at every hour of the week"
        elif telling:
            when = f", worst on {telling[0]['when']} ({telling[0]['share']:.0%} of the runs then)"
        else:
            when = ""
        out.append(
            {
                "role": role_id,
                "title": role.title,
                "share": _r(share),
                "text": f"no free backup for {role.title.lower()} in {share:.0%} of the runs{when}",
                "worst": worst[:5],
            }
        )
    out.sort(key=lambda g: (-g["share"], g["role"]))
    return out


def actions(summary: dict[str, Any], playbook: Playbook, roster: Roster) -> list[str]:
    """A short list of concrete things to change, most telling first."""
    out: list[str] = []
    misses = summary["misses"]
    for spof in summary["single_points_of_failure"]["people"][:3]:
        if not misses or spof["share_of_misses"] < 0.1:
            continue
        role = spof["role"]
        title = playbook.roles[role].title.lower() if role in playbook.roles else "their page"
        out.append(
            f"{spof['name']} not answering explains {spof['share_of_misses']:.0%} of the misses "
            f"(a miss in {spof['miss_rate_when_silent']:.0%} of the runs when they are silent, "
            f"{spof['miss_rate_when_answering']:.0%} when they answer): add a second "
            f"{title} who is paged at once, or shorten that role's first escalation rung"
        )
    for target in [*summary["objectives"], *summary["slas"]]:
        if target["cause_share"] >= 0.25:
            name = target["most_often_silent"].split(" (")[0]
            out.append(
                f"{name} not answering explains {target['cause_share']:.0%} of the misses of "
                f"'{target['title']}': when they are silent nobody else takes their place in "
                "time; give their role a second candidate who is free when they are paged"
            )
    for gap in summary["rota_gaps"][:3]:
        out.append(
            f"{gap['text'][0].upper()}{gap['text'][1:]}: add another eligible person "
            f"to the {gap['title'].lower()} candidates (a rota member, or a tag the role picks)"
        )
    if misses and summary["misses_with_everyone_answering"]:
        share = summary["misses_with_everyone_answering"] / summary["runs"]
        out.append(
            f"{share:.0%} of the runs miss a target although everyone answered and no channel "
            "failed: the answer times alone are too slow for it; agree faster acknowledgement "
            "and approval, pre-approve the holding language, or revisit the target"
        )
    for objective in summary["objectives"]:
        if objective["high"] < 0.9:
            out.append(
                f"Objective '{objective['title']}' is met in only {objective['probability']:.0%} "
                f"of the runs (95% interval {objective['low']:.0%}-{objective['high']:.0%})"
            )
    return out[:8]


def _failed(record: dict[str, Any]) -> set[str]:
    """The targets a run missed: objectives not met, SLAs breached (`sla:STEP`)."""
    failed = {o for o, met in record["objectives"].items() if not met}
    return failed | {f"sla:{s}" for s, outcome in record["slas"].items() if outcome == "breached"}


def _attributable(
    silent: list[dict[str, Any]], answering: list[dict[str, Any]], missed: frozenset[int]
) -> float:
    """Misses that would not have happened had they answered: the runs in which they were
    silent, times how much more often those runs missed than the runs in which they
    answered (the attributable fraction). A miss that happens anyway is not theirs."""
    excess = _miss_rate(silent, missed) - _miss_rate(answering, missed)
    return max(0.0, excess) * len(silent)


def _culprit(
    records: list[dict[str, Any]], failed: frozenset[int], people: Mapping[str, str]
) -> tuple[str, float]:
    """The person whose silence most raises this target's failure rate, and the share of
    its misses that explains, for its row."""
    best, name = 0.0, ""
    for person in sorted({p for r in records for p in r["silent"]}):
        silent = [r for r in records if person in r["silent"]]
        answering = [r for r in records if person in r["asked"] and person not in r["silent"]]
        explained = _attributable(silent, answering, failed)
        if explained > best + 1e-9:
            best, name = explained, people.get(person, person)
    if not failed or not name:
        return "", 0.0
    share = best / len(failed)
    return f"{name} ({share:.0%} of its misses)", _r(share)


def _miss_rate(runs: list[dict[str, Any]], missed: frozenset[int]) -> float:
    if not runs:
        return 0.0
    return sum(1 for r in runs if r["index"] in missed) / len(runs)


def _most_common(values: Iterable[str | None]) -> str | None:
    counts: dict[str | None, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))[0][0]


def _duration(delta: timedelta) -> str:
    return format_duration(delta)


def _minutes(value: float) -> str:
    seconds = round(value * 60)
    if seconds < 60:
        return f"{seconds}s"
    return _duration(timedelta(seconds=seconds - seconds % 60))


def _histogram(times: list[float], bins: int = 12) -> list[dict[str, Any]]:
    """Counts in equal bins from 0 to the longest time, for the HTML's small charts."""
    top = max(times[-1], 1.0)
    width = top / bins
    counts = [0] * bins
    for t in times:
        counts[min(int(t / width), bins - 1)] += 1
    return [
        {"from": _r(i * width), "to": _r((i + 1) * width), "count": c} for i, c in enumerate(counts)
    ]


# -- many runs, in several processes ------------------------------------------------------

_SETUP: Setup | None = None
"""The study a worker process serves, set once by `_start_worker`."""


def _start_worker(setup: Setup) -> None:
    global _SETUP
    _SETUP = setup
    setup.compiled()  # compile the playbook and roster once per process, not once per run


def _run_chunk(indices: list[int]) -> list[dict[str, Any]]:
    assert _SETUP is not None, "worker started without its study"
    return run_many(_SETUP, indices)


def simulate(
    setup: Setup,
    runs: int,
    workers: int,
    on_advance: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs 0..runs-1, in `workers` processes (1: this one), as records in index order.

    Each run draws only from the seed and its own index, so the records, and the report
    made from them, are the same for any number of workers.
    """
    advance = on_advance or (lambda n: None)
    if workers <= 1 or runs < 2:
        setup.compiled()
        return run_many(setup, range(runs), lambda: advance(1))
    size = max(1, min(50, runs // (workers * 8) or 1))
    chunks = [list(range(i, min(i + size, runs))) for i in range(0, runs, size)]
    records: list[dict[str, Any]] = []
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(setup,)
    ) as pool:
        futures = [pool.submit(_run_chunk, chunk) for chunk in chunks]
        for future in as_completed(futures):
            done = future.result()
            records.extend(done)
            advance(len(done))
    records.sort(key=lambda r: r["index"])
    return records
