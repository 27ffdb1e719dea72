"""The after-action report (HSEEP AAR/IP style), computed from an exercise's event log alone.

Everything is measured in exercise time (offsets from the scenario's start), so the same
scenario gives a byte-identical report, and `warroom exercise replay` of a facilitated
exercise is scored by exactly the same code.
"""

from __future__ import annotations

import html
import itertools
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from warroom.durations import format_duration
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import TimerFired
from warroom.engine.lifecycles import MESSAGE_NOT_RECEIVED, dormant
from warroom.engine.state import Incident, Inquiry
from warroom.exercise.findings import Evidence, Finding, Objective, find, plan
from warroom.exercise.ratings import RATINGS, rate
from warroom.exercise.schema import ObjectiveSpec, ScenarioSpec
from warroom.store import StoredEvent


def offset(start: datetime, moment: datetime | None) -> str:
    if moment is None:
        return "never"
    delta = moment - start
    return "+" + (format_duration(delta) if delta.total_seconds() > 0 else "0m")


@dataclass
class ObjectiveResult:
    id: str
    title: str
    status: str  # met | partially met | not met
    target: str
    measured: str
    cause: str = ""
    rating: str = ""
    """P, S, M or U (`ratings.rate`), beside the status, which stays."""
    rated: str = ""
    """Why it got that rating, from the measured values."""
    capability: str = ""
    owner: str = ""


@dataclass
class Report:
    exercise: str
    title: str
    playbook: str
    incident: str
    date: str
    start: str
    duration: str
    final_level: str
    overview: dict[str, Any]
    participants: list[dict[str, str]]
    """Who took part, by role: every person tried for it, and how they answered."""
    objectives: list[ObjectiveResult]
    strengths: list[dict[str, str]]
    areas_for_improvement: list[dict[str, str]]
    first_statements: list[dict[str, str]]
    acknowledgements: list[dict[str, str]]
    escalations: list[dict[str, str]]
    slas: list[dict[str, str]]
    statements: list[dict[str, str]]
    inquiries: list[dict[str, str]]
    timeline: list[dict[str, str]]
    improvements: list[dict[str, str]] = field(default_factory=list)
    """The improvement plan: one row per area for improvement."""
    chart: dict[str, Any] = field(default_factory=dict)
    promises_missed: list[dict[str, str]] = field(default_factory=list)
    """Updates promised to an audience ("next update by 11:00") that did not come in time."""
    stale: list[dict[str, str]] = field(default_factory=list)
    """Released statements that a changed fact made out of date, and for whom."""
    not_received: list[dict[str, str]] = field(default_factory=list)
    """Messages printed or withheld (a live exercise's sandbox kept them from non-participants):
    shown, never counted as delivered. A simulated exercise delivers everything, so it has
    none, and its report reads as before."""

    @property
    def summary(self) -> str:
        counts = {
            s: sum(o.status == s for o in self.objectives)
            for s in ("met", "partially met", "not met")
        }
        return (
            f"{self.title}: {counts['met']} of {len(self.objectives)} objectives met, "
            f"{counts['partially met']} partially, {counts['not met']} not met"
        )

    def sections(self) -> list[tuple[str, list[dict[str, str]]]]:
        """The report's tables after the objectives, in order, for every format."""
        return [
            ("Time to first statement, per audience", self.first_statements),
            ("Acknowledgements", self.acknowledgements),
            ("Escalations", self.escalations),
            ("SLAs", self.slas),
            ("Media inquiries", self.inquiries),
            ("Statements released", self.statements),
            ("Promised updates missed", self.promises_missed),
            ("Statements gone stale", self.stale),
            *([("Messages nobody received", self.not_received)] if self.not_received else []),
            ("Timeline", self.timeline),
        ]

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("chart")
        if not self.not_received:
            data.pop("not_received")
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def heading(self) -> list[tuple[str, str]]:
        """What the report opens with, as HSEEP asks: the exercise, its date and overview."""
        overview = self.overview
        rows = [
            ("Exercise", f"{self.exercise} (playbook {self.playbook}, incident {self.incident})"),
            ("Date", self.date),
            ("Scope", overview.get("scope", "")),
            ("Mission areas", ", ".join(overview.get("mission_areas", []))),
            ("Core capabilities", ", ".join(overview.get("core_capabilities", []))),
            ("Summary", overview.get("summary", "")),
            (
                "Run",
                f"started {self.start}, ran {self.duration} of exercise time, ended at level "
                f"{self.final_level}",
            ),
        ]
        return [(label, value) for label, value in rows if value]

    def objective_rows(self) -> list[dict[str, str]]:
        return [
            {
                "objective": o.title,
                "capability": o.capability,
                "owner": o.owner,
                "rating": o.rating,
                "status": o.status,
                "target": o.target,
                "measured": o.measured,
                "rated": o.rated,
                "observed": o.cause,
            }
            for o in self.objectives
        ]

    def to_markdown(self) -> str:
        lines = [f"# After-action report: {self.title}", ""]
        lines += [f"- **{label}:** {value}" for label, value in self.heading()]
        lines += ["", f"**{self.summary}.**", "", "## Participants, by role", ""]
        lines.append(_table(["role", "people"], [list(r.values()) for r in self.participants]))
        rows = self.objective_rows()
        lines += ["", "## Objectives", "", _table(list(rows[0]), [list(r.values()) for r in rows])]
        lines += ["", RATING_KEY]
        for heading, findings in (
            ("Strengths", self.strengths),
            ("Areas for improvement", self.areas_for_improvement),
        ):
            lines += ["", f"## {heading}"]
            if not findings:
                lines += ["", "None."]
            for finding in findings:
                lines += ["", f"### {finding['title']}", ""]
                lines += [
                    f"- **{key.capitalize()}:** {value}"
                    for key, value in finding.items()
                    if key != "title" and value
                ]
        lines += ["", "## Improvement plan", ""]
        if self.improvements:
            rows = self.improvements
            lines.append(_table(list(rows[0]), [list(r.values()) for r in rows]))
        else:
            lines.append("None.")
        for heading, rows in self.sections():
            lines += ["", f"## {heading}", ""]
            if rows:
                lines.append(_table(list(rows[0]), [list(r.values()) for r in rows]))
            else:
                lines.append("None.")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        e = html.escape

        def table(rows: list[dict[str, str]]) -> str:
            if not rows:
                return "<p>None.</p>"
            head = "".join(f"<th>{e(k)}</th>" for k in rows[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row.values()) + "</tr>"
                for row in rows
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        def findings(rows: list[dict[str, str]]) -> str:
            if not rows:
                return "<p>None.</p>"
            return "".join(
                f"<section class='finding'><h3>{e(row['title'])}</h3><dl>"
                + "".join(
                    f"<dt>{e(key)}</dt><dd>{e(value)}</dd>"
                    for key, value in row.items()
                    if key != "title" and value
                )
                + "</dl></section>"
                for row in rows
            )

        heading = "".join(
            f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in self.heading()
        )
        objectives = table(self.objective_rows())
        for rating in RATINGS:
            objectives = objectives.replace(
                f"<td>{rating}</td>", f"<td class='rating r{rating}'>{rating}</td>"
            )
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>After-action report: {e(self.title)}</title><style>{CSS}</style></head><body>",
            f"<h1>After-action report: {e(self.title)}</h1>",
            f"<dl class='overview'>{heading}</dl>",
            f"<p class='summary'>{e(self.summary)}.</p>",
            "<h2>Participants, by role</h2>",
            table(self.participants),
            "<h2>Objectives</h2>",
            objectives.replace("<td>not met</td>", "<td class='bad'>not met</td>")
            .replace("<td>met</td>", "<td class='good'>met</td>")
            .replace("<td>partially met</td>", "<td class='warn'>partially met</td>"),
            f"<p class='key'>{e(RATING_KEY)}</p>",
            "<h2>Strengths</h2>",
            findings(self.strengths),
            "<h2>Areas for improvement</h2>",
            findings(self.areas_for_improvement),
            "<h2>Improvement plan</h2>",
            table(self.improvements),
            "<h2>Timeline at a glance</h2>",
            self._svg(),
            LEGEND,
        ]
        for heading_text, rows in self.sections():
            parts += [f"<h2>{e(heading_text)}</h2>", table(rows)]
        parts.append("</body></html>\n")
        return "\n".join(parts)

    def _svg(self) -> str:
        """Steps as bars on exercise time, with escalations and injects marked. No script."""
        e = html.escape
        bars = self.chart.get("bars", [])
        marks = self.chart.get("marks", [])
        span = max(self.chart.get("span", 1.0), 1.0)
        width, left, row = 1000, 310, 26
        height = row * (len(bars) + 2) + 20
        scale = (width - left - 20) / span
        out = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"role='img' aria-label='timeline of the exercise'>",
        ]
        for i, bar in enumerate(bars):
            y = 10 + i * row
            x = left + bar["from"] * scale
            w = max(2.0, (bar["to"] - bar["from"]) * scale)
            colour = {"met": "#2e7d32", "breached": "#c62828"}.get(bar["sla"], "#1565c0")
            out.append(
                f"<text x='4' y='{y + 15}' font-size='12'>{e(_short(bar['label'], 46))}</text>"
                f"<rect x='{x:.1f}' y='{y + 3}' width='{w:.1f}' height='16' fill='{colour}'>"
                f"<title>{e(bar['label'])}: {e(bar['text'])}</title></rect>"
            )
        axis_y = 10 + len(bars) * row + 8
        out.append(
            f"<line x1='{left}' y1='{axis_y}' x2='{width - 20}' y2='{axis_y}' stroke='#555'/>"
        )
        for mark in marks:
            x = left + mark["at"] * scale
            colour = MARKS[mark["kind"]][0]
            out.append(
                f"<circle cx='{x:.1f}' cy='{axis_y}' r='5' fill='{colour}'>"
                f"<title>{e(mark['text'])}</title></circle>"
            )
        for tick in range(0, int(span) + 1, max(1, int(span) // 8 or 1)):
            x = left + tick * scale
            out.append(
                f"<text x='{x:.1f}' y='{axis_y + 18}' font-size='10' text-anchor='middle'>"
                f"+{format_duration(timedelta(minutes=tick)) if tick else '0m'}</text>"
            )
        out.append("</svg>")
        return "".join(out)


RATING_KEY = "Ratings: " + "; ".join(f"{r}: {meaning}" for r, meaning in RATINGS.items()) + "."

MARKS = {
    "escalation": ("#c62828", "escalation"),
    "inject": ("#ef6c00", "inject"),
    "release": ("#2e7d32", "statement released"),
    "inquiry": ("#6a1b9a", "media inquiry"),
}
"""The timeline's marks: colour and the legend's words, one place for both."""

LEGEND = (
    "<p class='legend'>"
    + "".join(
        f"<span><svg width='12' height='12' aria-hidden='true'><circle cx='6' cy='6' r='5' "
        f"fill='{colour}'/></svg> {words}</span>"
        for colour, words in MARKS.values()
    )
    + "<span><svg width='18' height='12' aria-hidden='true'><rect width='18' height='12' "
    "fill='#1565c0'/></svg> step</span>"
    "<span><svg width='18' height='12' aria-hidden='true'><rect width='18' height='12' "
    "fill='#2e7d32'/></svg> step, SLA met</span>"
    "<span><svg width='18' height='12' aria-hidden='true'><rect width='18' height='12' "
    "fill='#c62828'/></svg> step, SLA breached</span></p>"
)

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}.good{color:#2e7d32;font-weight:bold}
.bad{color:#c62828;font-weight:bold}.warn{color:#ef6c00;font-weight:bold}
.summary{font-size:1.15rem;font-weight:bold}svg[role=img]{border:1px solid #ddd;background:#fafafa}
.overview{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
.overview dt,.finding dt{font-weight:bold}.overview dd{margin:0}
.finding{border-left:4px solid #ccc;padding:.1rem 1rem;margin:0 0 1rem}
.finding dd{margin:0 0 .4rem 1rem}.rating{font-weight:bold;text-align:center}
.rP{color:#2e7d32}.rS{color:#9e7700}.rM{color:#ef6c00}.rU{color:#c62828}
.legend span{margin-right:1.2rem;white-space:nowrap}.key{font-size:.9rem;color:#555}
@media print{
body{margin:0;max-width:none;font-size:10pt;color:#000}
h2{break-after:avoid}tr,.finding{break-inside:avoid}
svg[role=img]{max-width:100%;height:auto;background:none}
th{background:none}a{color:inherit;text-decoration:none}
}
""".strip()


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _table(head: list[str], rows: list[list[str]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# -- scoring --------------------------------------------------------------------------------


def score(
    scenario: ScenarioSpec, incident: Incident, events: list[StoredEvent], ended: datetime
) -> Report:
    start = scenario.start
    book = incident.playbook
    first_release: dict[str, datetime] = {}
    first_order: dict[str, tuple[datetime, int]] = {}
    for statement in incident.statements.values():
        for release in statement.releases:
            key = (release.at, release.order)
            if release.audience not in first_order or key < first_order[release.audience]:
                first_order[release.audience] = key
                first_release[release.audience] = release.at
    escalations = [
        {"at": offset(start, s.at), "step": timer.step, "what": note}
        for s in events
        if isinstance(s.event, TimerFired)
        and (timer := Timer.parse(s.event.timer)) is not None
        and timer.kind is TimerKind.ESCALATION
        for note in s.notes
        if "stale" not in note
    ]
    objectives = [
        _objective(o, scenario, incident, first_order, escalations) for o in scenario.objectives
    ]
    acknowledgements = []
    for role_id, role in incident.roles.items():
        for person_id in role.tried or [role.person or ""]:
            person = incident.roster.people.get(person_id)
            answers = [
                step.acked[person_id]
                for step in incident.steps.values()
                if person_id in step.acked and person_id in step.paged
            ]
            acknowledgements.append(
                {
                    "role": book.roles[role_id].title,
                    "person": person.name if person else "nobody",
                    "acknowledged": offset(start, min(answers) if answers else None),
                    "holds the role now": "yes" if person_id == role.person else "no",
                }
            )
    slas = []
    for step in book.steps:
        state = incident.steps[step.id]
        if step.due is None or dormant(state):
            continue
        slas.append(
            {
                "step": step.title,
                "due": "+" + format_duration(step.due),
                "done": offset(start, state.finished_at),
                "outcome": state.due_outcome or ("open" if state.finished_at is None else "met"),
            }
        )
    released: list[tuple[tuple[datetime, int, str, str], dict[str, str]]] = []
    for statement in incident.statements.values():
        for release in statement.releases:
            row = {
                "statement": f"{book.statements[statement.id].title} v{release.version}"
                + (" (correction)" if release.correction else ""),
                "audience": book.audiences[release.audience].title,
                "language": release.language,
                "released": offset(start, release.at),
                "approved by": ", ".join(
                    f"{incident.roster.people[p].name} ({r})" if p in incident.roster.people else p
                    for r, p in release.approved_by
                )
                or "no approval needed",
                "text": release.text,
            }
            released.append(((release.at, release.order, row["statement"], row["audience"]), row))
    # by when it went out, not as text: "+4m" before "+39m"
    statements = [row for key, row in sorted(released, key=lambda pair: pair[0])]
    inquiries = [_inquiry_row(incident, inquiry, start) for inquiry in incident.inquiries]
    timeline = [
        {"at": offset(start, s.at), "event": s.event.kind, "by": s.event.by, "what": note}
        for s in events
        for note in s.notes
    ]
    first_statements = [
        {
            "audience": book.audiences[a].title,
            "first statement": offset(start, first_release.get(a)),
        }
        for a in book.audiences
        if a in first_release
    ]
    evidence = Evidence(
        scenario, incident, events, [_as_evidence(o, scenario) for o in objectives], ended
    )
    strengths, areas = find(evidence)
    lead = next(iter(book.roles))  # the playbook's first role leads it
    improvements = plan(areas, evidence, lead, ended + scenario.actions_due)
    return Report(
        exercise=scenario.exercise,
        title=scenario.title or scenario.exercise,
        playbook=book.id,
        incident=incident.id,
        date=start.date().isoformat(),
        start=start.isoformat(),
        duration=format_duration(max(ended - start, timedelta(seconds=60))),
        final_level=incident.level,
        overview=scenario.overview.model_dump(),
        participants=_participants(incident, start),
        objectives=objectives,
        strengths=[_finding_row(f) for f in strengths],
        areas_for_improvement=[_finding_row(f) for f in areas],
        first_statements=first_statements,
        acknowledgements=acknowledgements,
        escalations=escalations,
        slas=slas,
        statements=statements,
        inquiries=inquiries,
        timeline=timeline,
        improvements=improvements,
        chart=_chart(incident, events, start, ended),
        not_received=_not_received(incident),
        promises_missed=[
            {
                "audience": book.audiences[m.audience].title,
                "promised at": offset(start, m.made_at),
                "promised by": offset(start, m.promised_by),
                "promised in": f"{book.statements[m.statement].title} v{m.version}",
                "update came": offset(start, m.released_at),
                "update": m.released or "none",
            }
            for m in incident.promises_missed
        ],
        stale=[
            {
                "at": offset(start, s.at),
                "statement": f"{book.statements[s.statement].title} v{s.version}",
                "audiences": ", ".join(book.audiences[a].title for a in s.audiences),
                "changed": "; ".join(f"{n}: {was!r} -> {now!r}" for n, was, now in s.changes),
            }
            for s in incident.went_stale
        ],
    )


def _as_evidence(result: ObjectiveResult, scenario: ScenarioSpec) -> Objective:
    spec = next(o for o in scenario.objectives if o.id == result.id)
    return Objective(
        id=result.id,
        title=result.title,
        status=result.status,
        rating=result.rating,
        rated=result.rated,
        target=result.target,
        measured=result.measured,
        cause=result.cause,
        step=spec.step,
        inquiries=spec.answer_inquiries_within is not None,
        before=tuple(spec.before),
        capability=result.capability,
        owner=result.owner,
    )


def _finding_row(finding: Finding) -> dict[str, str]:
    row = {
        "title": finding.title,
        "capability": finding.capability,
        "observation": finding.observation,
        "analysis": finding.analysis,
        "root cause": finding.root_cause,
        "objectives": ", ".join(finding.objectives),
    }
    if not finding.strength:
        row["corrective action"] = finding.action
    return row


def _participants(incident: Incident, start: datetime) -> list[dict[str, str]]:
    """Everyone tried for each role, in order, with how they answered."""
    rows = []
    for role_id, role in incident.roles.items():
        people = []
        for person_id in role.tried or [role.person or ""]:
            person = incident.roster.people.get(person_id)
            answers = [
                step.acked[person_id] for step in incident.steps.values() if person_id in step.acked
            ]
            acked = (
                f"acknowledged {offset(start, min(answers))}" if answers else "never acknowledged"
            )
            holds = "; holds it at the end" if person_id == role.person else ""
            people.append(f"{person.name if person else 'nobody'} ({acked}{holds})")
        rows.append({"role": incident.playbook.roles[role_id].title, "people": ", ".join(people)})
    if incident.participants:
        live = ", ".join(
            p.name if (p := incident.roster.people.get(i)) else i for i in incident.participants
        )
        rows.append({"role": "Live participants", "people": live})
    return rows


def _journalist(inquiry: Inquiry) -> str:
    return f"{inquiry.journalist}, {inquiry.outlet}" if inquiry.journalist else inquiry.outlet


def why_unanswered(incident: Incident, inquiry: Inquiry) -> str:
    """Why the desk never answered: what a press officer would fix before the next drill."""
    if not inquiry.suggestion:
        return "no Q&A entry matches its question, and no words were drafted for it"
    statement = incident.statements[inquiry.suggestion]
    spec = incident.playbook.statements[inquiry.suggestion]
    draft = statement.draft
    if draft is None:
        return f"{inquiry.suggestion} was never prepared for approval"
    if not statement.approved(spec.approvers):
        waiting = [r for r in spec.approvers if r not in draft.approvals]
        return (
            f"{inquiry.suggestion} v{draft.version} was never approved "
            f"(waiting for {', '.join(waiting) or 'a second person'})"
        )
    holder = incident.holder(inquiry.owner) if inquiry.owner else None
    person = incident.roster.people.get(holder or "")
    owner = f"{inquiry.owner}, {person.name if person else 'nobody'}"
    return (
        f"{inquiry.suggestion} v{draft.version} was approved, but its owner ({owner}) never sent it"
    )


def _inquiry_row(incident: Incident, inquiry: Inquiry, start: datetime) -> dict[str, str]:
    """Time to answer is measured per inquiry, to this journalist with these words; a
    release to anyone else is not an answer."""
    waited = ""
    if inquiry.status == "answered" and inquiry.closed_at is not None:
        waited = format_duration(max(inquiry.closed_at - inquiry.at, timedelta(0)))
    deadline = inquiry.deadline
    on_time = (
        "yes"
        if inquiry.status == "answered"
        and deadline
        and inquiry.closed_at
        and inquiry.closed_at <= deadline
        else "no"
    )
    outcome = {
        "answered": inquiry.answer,
        "declined": f"declined: {inquiry.reason}",
        "referred": f"referred to {inquiry.owner}: {inquiry.reason}",
    }.get(inquiry.status, f"unanswered: {why_unanswered(incident, inquiry)}")
    return {
        "#": str(inquiry.number),
        "at": offset(start, inquiry.at),
        "journalist": _journalist(inquiry),
        "question": inquiry.question,
        "deadline": offset(start, deadline),
        "status": inquiry.status + (f", repeats #{inquiry.repeat_of}" if inquiry.repeat_of else ""),
        "answer": outcome,
        "time to answer": waited or "-",
        "within deadline": on_time,
    }


def _inquiries_objective(objective: ObjectiveSpec, incident: Incident, start: datetime) -> Measured:
    target_delta = objective.answer_inquiries_within or timedelta()
    target = f"every inquiry answered within {format_duration(target_delta)}"
    title = objective.title or objective.id
    inquiries = [i for i in incident.inquiries if not i.repeat_of]  # a call-back is one inquiry
    if not inquiries:
        return Measured(ObjectiveResult(objective.id, title, "met", target, "no inquiries"))
    late, missed = [], []
    slowest = timedelta()
    for i in inquiries:
        answered = i.status == "answered" and i.closed_at is not None
        if not answered:
            missed.append(f"#{i.number} {_journalist(i)} {i.status}")
        elif i.closed_at is not None:
            slowest = max(slowest, i.closed_at - i.at)
            if i.closed_at - i.at > target_delta:
                late.append(
                    f"#{i.number} {_journalist(i)} after {format_duration(i.closed_at - i.at)}"
                )
    good = len(inquiries) - len(late) - len(missed)
    measured = f"{good} of {len(inquiries)} in time"
    if not late and not missed:
        result = ObjectiveResult(objective.id, title, "met", target, measured)
        return Measured(result, slowest, target_delta)
    status = "partially met" if good else "not met"
    return Measured(
        ObjectiveResult(objective.id, title, status, target, measured, "; ".join([*missed, *late]))
    )


def _not_received(incident: Incident) -> list[dict[str, str]]:
    """How many messages of each kind nobody received, and why, by state and channel."""
    counts: dict[tuple[str, str, str], int] = {}
    for message in incident.messages.values():
        if message.state in MESSAGE_NOT_RECEIVED:
            what = message.audience or message.purpose
            key = (message.state, what, message.channel)
            counts[key] = counts.get(key, 0) + 1
    return [
        {"state": state, "for": what, "channel": channel, "messages": str(n)}
        for (state, what, channel), n in sorted(counts.items())
    ]


@dataclass(frozen=True)
class Measured:
    """An objective scored, with the values its rating is derived from."""

    result: ObjectiveResult
    used: timedelta | None = None
    target: timedelta | None = None
    escalated: bool = False


def _objective(
    objective: ObjectiveSpec,
    scenario: ScenarioSpec,
    incident: Incident,
    first_order: dict[str, tuple[datetime, int]],
    escalations: list[dict[str, str]],
) -> ObjectiveResult:
    measured = _measure(objective, scenario, incident, first_order, escalations)
    rating, rated = rate(
        measured.result.status,
        used=measured.used,
        target=measured.target,
        escalated=measured.escalated,
    )
    return replace(
        measured.result,
        rating=rating,
        rated=rated,
        capability=objective.capability,
        owner=objective.owner or "",
    )


def _measure(
    objective: ObjectiveSpec,
    scenario: ScenarioSpec,
    incident: Incident,
    first_order: dict[str, tuple[datetime, int]],
    escalations: list[dict[str, str]],
) -> Measured:
    start = scenario.start
    title = objective.title or objective.id
    if objective.answer_inquiries_within is not None:
        return _inquiries_objective(objective, incident, start)
    if objective.before:
        return Measured(_order_objective(objective, title, first_order, start))
    step_id = objective.step or ""
    state = incident.steps.get(step_id)
    target_delta = objective.done_within or objective.acked_within or timedelta()
    what = "done" if objective.done_within else "acknowledged"
    target = f"{what} within {format_duration(target_delta)}"
    moment = state.finished_at if state is not None else None
    if objective.acked_within and state is not None and state.acked:
        moment = max(state.acked.values()) if state.finished_at is None else state.finished_at
    measured = offset(start, moment)
    ladder = [e["what"] for e in escalations if e["step"] == step_id]
    used = moment - start if moment is not None else None
    if used is not None and used <= target_delta:
        result = ObjectiveResult(objective.id, title, "met", target, measured)
        return Measured(result, used, target_delta, escalated=bool(ladder))
    cause = "; ".join(ladder[:3]) if ladder else ""
    if state is not None and state.due_outcome == "breached":
        cause = (cause + "; " if cause else "") + "its SLA was breached"
    if moment is None:
        never = f"step {step_id} never finished (state: {state.state if state else 'absent'})"
        return Measured(
            ObjectiveResult(objective.id, title, "not met", target, measured, cause or never)
        )
    # late: still inside the playbook's own SLA for the step is partial success, past it not
    late = format_duration(moment - start - target_delta)
    due = incident.playbook.step(step_id).due if step_id in incident.steps else None
    within_sla = due is not None and moment - start <= due
    return Measured(
        ObjectiveResult(
            objective.id,
            title,
            "partially met" if within_sla else "not met",
            target,
            measured,
            (cause + "; " if cause else "")
            + f"{late} late"
            + (f", within the step's SLA of {format_duration(due)}" if within_sla and due else ""),
        )
    )


def _order_objective(
    objective: ObjectiveSpec,
    title: str,
    first_order: dict[str, tuple[datetime, int]],
    start: datetime,
) -> ObjectiveResult:
    keys = [first_order.get(a) for a in objective.before]
    shown = ", ".join(
        f"{a} {offset(start, k[0] if k else None)}"
        for a, k in zip(objective.before, keys, strict=True)
    )
    released = [k for k in keys if k is not None]
    # strictly earlier in time: the same minute is "at once", whatever order the log has
    ordered = all(a[0] < b[0] for a, b in itertools.pairwise(released))
    if len(released) == len(keys) and ordered:
        return ObjectiveResult(objective.id, title, "met", " before ".join(objective.before), shown)
    if ordered and released:
        cause = "not every audience received a statement"
        return ObjectiveResult(
            objective.id,
            title,
            "partially met",
            " before ".join(objective.before),
            shown,
            cause,
        )
    return ObjectiveResult(
        objective.id,
        title,
        "not met",
        " before ".join(objective.before),
        shown,
        "an audience heard at the same moment as the one that should hear first"
        if all(a[0] <= b[0] for a, b in itertools.pairwise(released))
        else "an audience heard before the one that should hear first",
    )


def _chart(
    incident: Incident, events: list[StoredEvent], start: datetime, ended: datetime
) -> dict[str, Any]:
    def minutes(moment: datetime) -> float:
        return (moment - start).total_seconds() / 60

    bars = []
    for step in incident.playbook.steps:
        state = incident.steps[step.id]
        if state.started_at is None:
            continue
        end = state.finished_at or ended
        bars.append(
            {
                "label": step.title,
                "from": minutes(state.started_at),
                "to": minutes(end),
                "sla": state.due_outcome or "",
                "text": f"{offset(start, state.started_at)} to {offset(start, state.finished_at)}",
            }
        )
    marks = []
    for stored in events:
        kind = stored.event.kind
        is_escalation = kind == "timer-fired" and getattr(stored.event, "timer", "").startswith(
            "esc:"
        )
        is_inject = stored.event.by.startswith("inject:")
        is_inquiry = kind == "media-inquiry"
        released = [n for n in stored.notes if " released to " in n]
        if is_inquiry and stored.notes:
            mark = "inquiry"
        elif (is_escalation or is_inject) and stored.notes:
            mark = "escalation" if is_escalation else "inject"
        elif released:
            mark = "release"
        else:
            continue
        text = released[0] if mark == "release" else stored.notes[0]
        marks.append(
            {"at": minutes(stored.at), "kind": mark, "text": f"{offset(start, stored.at)} {text}"}
        )
    return {"bars": bars, "marks": marks, "span": max(minutes(ended), 1.0)}
