"""What 10,000 open incidents cost in one process: memory, and the time per decision.

An incident is plain data over a playbook and roster shared by every incident, moved by one
`transitions` machine per lifecycle (ARCHITECTURE.md chose that for what 10,000 objects cost).
This measures what an incident and each kind of decision really cost, against a baseline run
in the same process (one trigger fired by `lifecycles.fire` on a plain object, and a plain
dict update), so the ratios stay comparable across noisy shared machines.

Every incident of the shipped `data-breach` playbook lives the same first 25 minutes: it is
activated, three of the four paged role holders acknowledge, the escalation timer moves the
silent role to the next candidate, who acknowledges (the holding statement is drafted), both
approvers approve (the last approval releases it to all staff), a few delivery reports come
in, and the staff-first timer releases it to the media. Who stays silent, the order of the
answers and which messages report back come from `--seed`; the clock is virtual, so apart
from the timings every run makes the same decisions.

Five passes, in this order:

1. engine: `--incidents` incidents activated and held in memory together; the first
   `--driven` of them live the whole script, round by round. Untraced, so the times are real.
2. memory: `--traced` incidents the same way under `tracemalloc` (which slows allocation
   several times over, hence a pass of its own, run warm so only the incidents are counted).
3. baseline: `--fires` triggers and as many dict updates.
4. store: `--persisted` incidents through `Runtime.activate` and `Runtime.submit` on a
   SQLite file (WAL, synchronous=NORMAL), each decision its own transaction.
5. release: one incident whose all-staff group has 5,000, 10,000 and 20,000 people
   (`--release-sizes`): the holding statement goes to all of them, every staff message is
   reported delivered, and the cost of a receipt is printed per size. A receipt is counted,
   not scanned, so it should cost the same at every size.

The defaults finish in about half a minute on two cores: a decision costs up to a few
milliseconds, so only `--driven` of the 10,000 live the whole script, and `--persisted` is
small. Figures are printed, never asserted.

    .venv/bin/python bench/incidents.py [--incidents N] [--driven N] [--traced N]
        [--persisted N] [--fires N] [--seed N] [--release-sizes 5000,10000,20000]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.engine import lifecycles as lc
from warroom.engine.decide import decide, new_incident
from warroom.engine.effects import SendMessage, Timer, TimerKind
from warroom.engine.events import (
    Acknowledged,
    Activated,
    Approved,
    DeliveryReported,
    Event,
    TimerFired,
)
from warroom.engine.state import Incident
from warroom.library import load_library
from warroom.playbook.model import Playbook
from warroom.roster.model import Contact, Roster
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
PLAYBOOK = "data-breach"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SPACING = timedelta(minutes=30)
"""Incident i starts at START + i * SPACING: its script spans 25 minutes, and the store's
incident ids (playbook and minute) never collide."""
MINUTE = timedelta(minutes=1)
REPORTS = 4
"""Delivery reports per incident, out of the 32 messages of the release to all staff."""

ACTIVATE = "activate"
ACK_OPEN = "acknowledge, page still open"
ESCALATE = "timer: escalate to next candidate"
ACK_LAST = "acknowledge, completes page + draft"
APPROVE_ONE = "approve, one of two"
APPROVE_LAST = "approve, last: release to staff"
REPORT = "delivery report"
RELEASE = "timer: to media, drafts update"
KINDS = (ACTIVATE, ACK_OPEN, ESCALATE, ACK_LAST, APPROVE_ONE, APPROVE_LAST, REPORT, RELEASE)

ESCALATION = Timer(TimerKind.ESCALATION, "assemble")
NEXT_AUDIENCE = Timer(TimerKind.NEXT_AUDIENCE, "release-holding")
RELEASE_SIZES = (5_000, 10_000, 20_000)
"""All-staff sizes for the release pass: a receipt should cost the same at each."""

Times = dict[str, list[float]]
Script = Iterator[tuple[str, Event, datetime]]


def script(number: int, current: Callable[[], Incident], seed: int) -> Script:
    """The events of incident `number`, each chosen after the previous one was decided.

    `current` returns the incident as it stands, so the script reads who was paged, who holds
    a role now and which messages went out, rather than assuming the roster's answers.
    """
    rng = random.Random(f"{seed}:{number}")
    start = START + number * SPACING
    facts = {"company": "Acme Polska", "what_happened": f"unauthorised access, case {number}"}
    yield ACTIVATE, Activated(level="incident", facts=facts, by="cli"), start

    paged = [(p, r) for p, r in current().steps["assemble"].paged.items() if r is not None]
    silent_person, silent_role = rng.choice(paged)
    answering = [p for p, _ in paged if p != silent_person]
    rng.shuffle(answering)
    for k, person in enumerate(dict.fromkeys(answering), start=2):
        yield ACK_OPEN, Acknowledged(person=person, by=person), start + k * MINUTE

    event: Event
    token = current().timers.get(ESCALATION)
    if token is not None:
        event = TimerFired(timer=str(ESCALATION), token=token, by="timer")
        yield ESCALATE, event, start + 10 * MINUTE

    person = current().holder(silent_role) or silent_person
    yield ACK_LAST, Acknowledged(person=person, by=person), start + 12 * MINUTE

    incident = current()
    roles = incident.playbook.statements["holding"].approvers
    approvers = list(dict.fromkeys(incident.holder(r) or "" for r in roles))
    rng.shuffle(approvers)
    for k, approver in enumerate(approvers):
        what = APPROVE_LAST if k == len(approvers) - 1 else APPROVE_ONE
        event = Approved(statement="holding", person=approver, by=approver)
        yield what, event, start + (15 + k) * MINUTE

    pending = sorted(current().steps["release-holding"].pending)
    for message in rng.sample(pending, min(REPORTS, len(pending))):
        status = "failed" if rng.random() < 0.25 else "delivered"
        event = DeliveryReported(message=message, status=status, by="dispatcher")
        yield REPORT, event, start + 17 * MINUTE

    token = current().timers.get(NEXT_AUDIENCE)
    if token is not None:
        event = TimerFired(timer=str(NEXT_AUDIENCE), token=token, by="timer")
        yield RELEASE, event, start + 25 * MINUTE


def released(incident: Incident) -> bool:
    """Did the script take the path it measures: the holding statement out to both audiences?"""
    return incident.steps["release-holding"].state == "done"


# -- one release, at several sizes ----------------------------------------------------------


def release_receipts(book: Playbook, roster: Roster, size: int) -> tuple[int, float, float]:
    """Release the holding statement to an all-staff group of `size` people, then report
    every staff message delivered; the last report lets the media release go.

    Returns the number of receipts, the seconds the engine spent on all but the last, and on
    the last (which releases to the media).
    """
    staff = tuple(
        Contact(f"Staff {i}", phone=f"+48600{i:06d}", email=f"staff{i}@acme.example")
        for i in range(size)
    )
    big = dataclasses.replace(roster, groups={**roster.groups, "all-staff": staff})
    incident = new_incident(f"release-{size}", book, big)
    facts = {"what_happened": "unauthorised access"}
    decide(incident, Activated(level="incident", facts=facts), START)
    for person, role in list(incident.steps["assemble"].paged.items()):
        if role is not None and person not in incident.steps["assemble"].acked:
            decide(incident, Acknowledged(person=person), START + MINUTE)
    released: list[SendMessage] = []
    for role in book.statements["holding"].approvers:
        person = incident.holder(role) or ""
        decision = decide(incident, Approved(statement="holding", person=person), START + MINUTE)
        released += [e for e in decision.effects if isinstance(e, SendMessage)]
    staff_messages = [m.message for m in released if m.audience == "employees"]
    receipts = [DeliveryReported(message=m, status="delivered") for m in staff_messages]
    at = START + 2 * MINUTE
    gc.collect()
    started = time.perf_counter()
    for receipt in receipts[:-1]:
        decide(incident, receipt, at)
    middle = time.perf_counter()
    decide(incident, receipts[-1], at)
    last = time.perf_counter() - middle
    if not released_to_media(incident):
        raise SystemExit(f"release of {size}: the media release did not follow the receipts")
    return len(receipts), middle - started, last


def released_to_media(incident: Incident) -> bool:
    return any(r.audience == "media" for r in incident.statements["holding"].releases) and released(
        incident
    )


# -- the engine alone -----------------------------------------------------------------------


def run_engine(
    book: Playbook,
    roster: Roster,
    count: int,
    driven: int,
    seed: int,
    record: Callable[[str, float], None],
    opened: Callable[[], None] = lambda: None,
) -> list[Incident]:
    """Open `count` incidents, call `opened`, then drive the first `driven` round by round
    (every incident's next event before anyone's following one); `record` gets the kind and
    wall time of each `decide`."""
    incidents: list[Incident] = []
    running: list[tuple[Incident, Script]] = []
    for number in range(count):
        incident = new_incident(f"INC-{number:05d}", book, roster)
        steps = script(number, constant(incident), seed)
        _, event, at = next(steps)
        started = time.perf_counter()
        decide(incident, event, at)
        record(ACTIVATE, time.perf_counter() - started)
        incidents.append(incident)
        if number < driven:
            running.append((incident, steps))
    opened()
    while running:
        following = []
        for incident, steps in running:
            item = next(steps, None)
            if item is None:
                continue
            kind, event, at = item
            started = time.perf_counter()
            decide(incident, event, at)
            record(kind, time.perf_counter() - started)
            following.append((incident, steps))
        running = following
    unreleased = [i.id for i in incidents[:driven] if not released(i)]
    if unreleased:
        raise SystemExit(f"{len(unreleased)} incidents did not release, e.g. {unreleased[0]}")
    return incidents


def constant(incident: Incident) -> Callable[[], Incident]:
    return lambda: incident


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- through the runtime and the store ------------------------------------------------------


def run_store(snapshot: Snapshot, count: int, seed: int, folder: Path) -> tuple[Times, int]:
    """Each incident lives its script in turn on one virtual clock; returns times, db bytes."""
    times: Times = {kind: [] for kind in KINDS}
    store = SqliteStore.open(folder / "warroom.db")
    clock = VirtualClock(START)
    runtime = Runtime(store, clock)
    try:
        ids: list[str] = []
        for number in range(count):
            steps = script(number, lambda: runtime.incident(ids[-1]), seed)
            _, event, at = next(steps)
            assert isinstance(event, Activated)
            clock.set(at)
            started = time.perf_counter()
            outcome = runtime.activate(snapshot, level=event.level, facts=event.facts, by=event.by)
            times[ACTIVATE].append(time.perf_counter() - started)
            incident_id = outcome.incident
            ids.append(incident_id)
            for kind, event, at in steps:
                clock.set(at)
                started = time.perf_counter()
                runtime.submit(incident_id, event)
                times[kind].append(time.perf_counter() - started)
            if not released(runtime.incident(incident_id)):
                raise SystemExit(f"store: {incident_id} did not release its holding statement")
    finally:
        store.close()
    size = sum(f.stat().st_size for f in folder.iterdir() if f.name.startswith("warroom.db"))
    return times, size


# -- baselines ------------------------------------------------------------------------------


class Plain:
    def __init__(self) -> None:
        self.state = "queued"


def per_call(action: Callable[[int], object], calls: int, repeat: int = 5) -> float:
    """Median over `repeat` runs of the wall time per call, `calls` calls in all."""
    each = max(calls // repeat, 2)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action(each)
        runs.append((time.perf_counter() - started) / each)
    return statistics.median(runs)


def fire_triggers(n: int) -> None:
    message = Plain()
    for _ in range(n):
        lc.fire(lc.MESSAGE, "sent", message, "message")
        message.state = "queued"  # no move leads back: reset by hand, as cheap as a dict update


def update_dicts(n: int) -> None:
    message = {"state": "queued"}
    states = ("failed", "queued")
    for i in range(n):
        message["state"] = states[i & 1]


# -- printing -------------------------------------------------------------------------------


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def table(
    rows: dict[str, list[float]], against: Callable[[str], float], ratio: str, legend: str
) -> None:
    """One line per kind of decision: count, median, p95, mean (us), median / `against`."""
    print(f"  times in us; {ratio} is the median over {legend}")
    print(f"  {'decision':<38}{'n':>7}{'median':>10}{'p95':>10}{'mean':>10}{ratio:>10}")
    for kind, values in rows.items():
        if values:
            median = statistics.median(values)
            print(
                f"  {kind:<38}{len(values):>7}{us(median):>10}{us(p95(values)):>10}"
                f"{us(statistics.fmean(values)):>10}{median / against(kind):>9.1f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000, help="opened and held together")
    parser.add_argument("--driven", type=int, default=1_000, help="of those, living the script")
    parser.add_argument("--traced", type=int, default=200, help="incidents under tracemalloc")
    parser.add_argument("--persisted", type=int, default=100, help="incidents through the store")
    parser.add_argument("--fires", type=int, default=100_000, help="baseline triggers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--release-sizes",
        default=",".join(map(str, RELEASE_SIZES)),
        help="all-staff sizes for the staff-first release pass (comma-separated)",
    )
    args = parser.parse_args()
    args.driven = min(args.driven, args.incidents)
    if args.incidents < 2 or args.traced < 1 or args.persisted < 1:
        parser.error("needs --incidents >= 2, --traced >= 1 and --persisted >= 1")
    began = time.perf_counter()

    library = load_library([PLAYBOOKS], PLAYBOOKS / "roster.yaml")
    if library.errors:
        raise SystemExit("\n".join(str(d) for d in library.errors))
    book, roster = library.playbook(PLAYBOOK), library.require_roster()
    loaded = time.perf_counter() - began

    # 1. the engine, untraced
    times: Times = {kind: [] for kind in KINDS}
    rss = [max_rss_mib()]
    started = time.perf_counter()
    incidents = run_engine(
        book,
        roster,
        args.incidents,
        args.driven,
        args.seed,
        lambda kind, seconds: times[kind].append(seconds),
        lambda: rss.append(max_rss_mib()),
    )
    engine_s = time.perf_counter() - started
    rss.append(max_rss_mib())
    del incidents
    gc.collect()

    # 2. memory, traced and warm: what activation leaves, then what the whole script leaves
    tracemalloc.start()
    traced: list[tuple[float, float]] = []
    for driven in (0, args.traced):
        floor = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = run_engine(book, roster, args.traced, driven, args.seed, lambda k, s: None)
        current, peak = tracemalloc.get_traced_memory()
        traced.append(((current - floor) / args.traced, (peak - floor) / args.traced))
        del kept
        gc.collect()
    tracemalloc.stop()

    # 3. baselines
    trigger = per_call(fire_triggers, args.fires)
    update = per_call(update_dicts, args.fires)

    # 5 (printed last). one staff-first release, per receipt, at several sizes
    sizes = [int(s) for s in args.release_sizes.split(",") if s]
    release_receipts(book, roster, 500)  # warm up: the first release pays for imports
    releases = [(size, *release_receipts(book, roster, size)) for size in sizes]

    # 4. runtime and store
    snapshot = Snapshot.capture(PLAYBOOKS / f"{PLAYBOOK}.yaml", PLAYBOOKS / "roster.yaml")
    recompile = per_call(lambda n: [snapshot.compile() for _ in range(n)], 25)
    with tempfile.TemporaryDirectory() as tmp:
        stored, db_bytes = run_store(snapshot, args.persisted, args.seed, Path(tmp))

    print(f"warroom incidents bench: playbook {PLAYBOOK}, seed {args.seed}; times in us")
    print(f"baseline, median of 5 runs of {args.fires // 5:,} calls:")
    print(f"  one trigger, lifecycles.fire on a plain object  {trigger * 1e6:>8.3f} us")
    print(f"  one plain dict update                           {update * 1e6:>8.3f} us")

    follow = [t for kind in KINDS[1:] for t in times[kind]]
    every = times[ACTIVATE] + follow
    print()
    print(
        f"engine: {args.incidents:,} incidents opened and held, the first {args.driven:,} "
        f"driven through the script"
    )
    print(f"  {len(every):,} decisions in {engine_s:.1f} s")
    rows = {**times, "every decision after activation": follow, "every decision": every}
    table(rows, lambda kind: trigger, "/trigger", "one trigger")
    first, rest = times[ACTIVATE][0], statistics.median(times[ACTIVATE][1:])
    print(
        f"  first activation {us(first)} us, the rest {us(rest)} median; the playbook and "
        f"roster\n  they share were built once, by load_library in {loaded * 1000:,.0f} ms"
    )
    window = min(1_000, args.incidents // 2)
    early = statistics.median(times[ACTIVATE][:window])
    late = statistics.median(times[ACTIVATE][-window:])
    print(
        f"  activation, first {window:,} opened {us(early)} us median, last {window:,} "
        f"{us(late)} ({late / early:.2f}x)"
    )
    print(
        f"  max RSS {rss[0]:.0f} MiB before, {rss[1]:.0f} with {args.incidents:,} open "
        f"({(rss[1] - rss[0]) * 1024 / args.incidents:.1f} KiB each), {rss[2]:.0f} after driving"
    )

    print()
    print(f"memory: tracemalloc over {args.traced:,} more incidents (caches warm), per incident")
    for name, (held, most) in zip(("after activation", "after the script"), traced, strict=True):
        print(f"  {name:<18}{held / 1024:>8.1f} KiB  (peak {most / 1024:.1f} KiB)")

    submits = [t for kind in KINDS[1:] for t in stored[kind]]
    print()
    print(
        f"store: {args.persisted:,} incidents through Runtime on SQLite (WAL, synchronous=NORMAL)"
    )
    print(
        f"  each decision its own transaction; the database holds "
        f"{db_bytes / args.persisted / 1024:.0f} KiB per incident"
    )
    pure = {**times, "every decision after activation": follow}
    table(
        {**stored, "every decision after activation": submits},
        lambda kind: statistics.median(pure[kind]),
        "/engine",
        "the engine's median for the same decision",
    )
    print(
        f"  activate includes Snapshot.compile(): {us(recompile)} us once the snapshot's "
        "texts\n  have been compiled in this process (the first compile costs tens of ms)"
    )
    print()
    print("release: the holding statement to all staff, every staff message then reported")
    print("  delivered (the last report releases it to the media); the engine alone")
    print(
        f"  {'staff':>7} {'receipts':>9} {'all but the last':>17} {'per receipt':>12} {'last':>9}"
    )
    base = releases[0][2] / max(releases[0][1] - 1, 1) if releases else 0.0
    for size, count, most, last in releases:
        each = most / max(count - 1, 1)
        print(
            f"  {size:>7,} {count:>9,} {most:>15.3f} s {each * 1e6:>9.1f} us {last * 1e3:>6.1f} ms"
            f"  ({each / base:.2f}x the first size)"
        )
    print()
    print(f"total {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
