"""The readiness report: the same figures as Markdown, a self-contained HTML page, and JSON.

Written from `readiness.summarise`'s dictionary alone, so the three formats never disagree,
and the same seed gives byte-identical files whatever the number of workers.
"""

from __future__ import annotations

import html
import json
from typing import Any

from warroom.exercise.report import CSS


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _interval(row: dict[str, Any]) -> str:
    if row.get("probability") is None:
        return "n/a"
    return f"{_pct(row['probability'])} ({_pct(row['low'])}-{_pct(row['high'])})"


def tables(summary: dict[str, Any]) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(heading, a sentence on how to read it, rows) for every format but JSON."""
    spof = summary["single_points_of_failure"]
    return [
        (
            "Objectives",
            "How often each scenario objective was met, with its 95% (Wilson) interval, and "
            "whose silence most raises its failure rate.",
            [
                {
                    "objective": o["title"],
                    "met": f"{o['met']} of {o['runs']}",
                    "probability (95% interval)": _interval(o),
                    "most often the cause": o["most_often_silent"] or "-",
                }
                for o in summary["objectives"]
            ],
        ),
        (
            "Playbook SLAs",
            "Each step's `due`, over the runs in which the step started; `undecided` runs "
            "ended before the deadline with the step still open.",
            [
                {
                    "step": s["title"],
                    "due": s["due"],
                    "met / breached / undecided": (
                        f"{s['met']} / {s['breached']} / {s['undecided']}"
                    ),
                    "probability (95% interval)": _interval(s),
                    "most often the cause": s["most_often_silent"] or "-",
                }
                for s in summary["slas"]
            ],
        ),
        (
            "Time to first statement, per audience",
            "From activation to the first release to each audience, in the runs that reached it.",
            [
                {
                    "audience": f["title"],
                    "reached": f"{f['reached']} of {f['runs']}",
                    "p50": f["p50"],
                    "p90": f["p90"],
                    "p99": f["p99"],
                }
                for f in summary["first_statement"]
            ],
        ),
        (
            "Single points of failure: people",
            "Misses explained: the misses (one per target per run) that would not have happened "
            "had the person answered: the runs in which they were silent, times how much more "
            "often those runs missed than the runs in which they answered.",
            [
                {
                    "person": p["name"],
                    "usually paged as": p["role"] or "-",
                    "silent in": str(p["silent_in"]),
                    "misses explained": f"{p['misses_explained']:.1f}",
                    "share of misses": _pct(p["share_of_misses"]),
                    "a miss when silent / answering": (
                        f"{_pct(p['miss_rate_when_silent'])} / "
                        f"{_pct(p['miss_rate_when_answering'])}"
                    ),
                }
                for p in spof["people"]
            ],
        ),
        (
            "Single points of failure: roles",
            "The same, for whoever held the role.",
            [
                {
                    "role": r["title"],
                    "silent in": str(r["silent_in"]),
                    "misses explained": f"{r['misses_explained']:.1f}",
                    "share of misses": _pct(r["share_of_misses"]),
                    "a miss when silent / answering": (
                        f"{_pct(r['miss_rate_when_silent'])} / "
                        f"{_pct(r['miss_rate_when_answering'])}"
                    ),
                }
                for r in spof["roles"]
            ],
        ),
        (
            "Rota gaps",
            "Roles whose first choice had nobody free to step in (every other eligible "
            "candidate away, unqualified, or already holding another role), from the roster "
            "at each run's instant; worst 4-hour blocks of the week in the playbook's time zone.",
            [
                {
                    "role": g["title"],
                    "finding": g["text"],
                    "worst blocks": "; ".join(
                        f"{w['when']} {w['share']:.0%} of {w['runs']}" for w in g["worst"][:3]
                    ),
                }
                for g in summary["rota_gaps"]
            ],
        ),
    ]


def header(summary: dict[str, Any]) -> str:
    period = summary["period"]
    return (
        f"{summary['runs']:,} simulated activations of playbook `{summary['playbook']}` at "
        f"instants drawn uniformly from {period['from']} to {period['to']} ({period['length']}), "
        f"seed {summary['seed']}, scripted injects {summary['injects']}. "
        f"{summary['misses']} runs missed at least one target; "
        f"{summary['misses_with_everyone_answering']} of them although everyone answered and "
        "no channel failed."
    )


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def to_markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Readiness: {summary['title']}", "", header(summary), "", "## Actions", ""]
    lines += [f"{i}. {a}" for i, a in enumerate(summary["actions"], 1)] or ["None."]
    for heading, note, rows in tables(summary):
        lines += ["", f"## {heading}", "", note, ""]
        if rows:
            head = list(rows[0])
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += [
                "| " + " | ".join(str(v).replace("|", "\\|") for v in row.values()) + " |"
                for row in rows
            ]
        else:
            lines.append("None.")
    return "\n".join(lines) + "\n"


def to_html(summary: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Readiness: {e(summary['title'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Readiness: {e(summary['title'])}</h1>",
        f"<p>{e(header(summary))}</p>",
        "<h2>Actions</h2>",
        "<ol>" + "".join(f"<li>{e(a)}</li>" for a in summary["actions"]) + "</ol>"
        if summary["actions"]
        else "<p>None.</p>",
        "<h2>How likely each target is met</h2>",
        _probability_chart(summary),
    ]
    for heading, note, rows in tables(summary):
        parts += [f"<h2>{e(heading)}</h2>", f"<p>{e(note)}</p>", _table(rows)]
        if heading.startswith("Time to first statement"):
            parts += [
                f"<figure><figcaption>{e(f['title'])}: minutes to the first statement"
                f"</figcaption>{_histogram(f)}</figure>"
                for f in summary["first_statement"]
            ]
        if heading.endswith("roles"):
            parts.append(_role_bars(summary["single_points_of_failure"]["roles"]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(rows: list[dict[str, str]]) -> str:
    e = html.escape
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{e(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _probability_chart(summary: dict[str, Any]) -> str:
    """One bar per objective and SLA, with its 95% interval as a whisker."""
    e = html.escape
    rows = [(o["title"], o["probability"], o["low"], o["high"]) for o in summary["objectives"]]
    rows += [
        (f"SLA: {s['title']}", s["probability"], s["low"], s["high"])
        for s in summary["slas"]
        if s["probability"] is not None
    ]
    width, left, row = 900, 360, 22
    span = width - left - 60
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{row * len(rows) + 10}' "
        "role='img' aria-label='probability each target is met'>"
    ]
    for i, (label, p, low, high) in enumerate(rows):
        y = 5 + i * row
        colour = "#2e7d32" if p >= 0.9 else "#ef6c00" if p >= 0.7 else "#c62828"
        out.append(
            f"<text x='4' y='{y + 14}' font-size='12'>{e(label[:52])}</text>"
            f"<rect x='{left}' y='{y + 3}' width='{p * span:.1f}' height='14' fill='{colour}'>"
            f"<title>{e(label)}: {p:.1%} ({low:.1%}-{high:.1%})</title></rect>"
            f"<line x1='{left + low * span:.1f}' x2='{left + high * span:.1f}' y1='{y + 10}' "
            f"y2='{y + 10}' stroke='#222'/>"
            f"<text x='{left + span + 6}' y='{y + 14}' font-size='11'>{p:.0%}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _histogram(first: dict[str, Any]) -> str:
    bins = first["histogram"]
    width, height = 420, 110
    top = max(b["count"] for b in bins) or 1
    bar = (width - 20) / len(bins)
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 18}' "
        f"role='img' aria-label='histogram of minutes to the first statement'>"
    ]
    for i, b in enumerate(bins):
        h = b["count"] / top * height
        out.append(
            f"<rect x='{10 + i * bar:.1f}' y='{height - h:.1f}' width='{bar - 2:.1f}' "
            f"height='{h:.1f}' fill='#1565c0'><title>{b['from']:.0f}-{b['to']:.0f} min: "
            f"{b['count']} runs</title></rect>"
        )
    last = bins[-1]["to"]
    out.append(
        f"<text x='10' y='{height + 14}' font-size='10'>0</text>"
        f"<text x='{width - 10}' y='{height + 14}' font-size='10' text-anchor='end'>"
        f"{last:.0f} min</text></svg>"
    )
    return "".join(out)


def _role_bars(roles: list[dict[str, Any]]) -> str:
    e = html.escape
    width, left, row = 700, 200, 22
    top = max([r["share_of_misses"] for r in roles] + [0.01])
    span = width - left - 60
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{row * len(roles) + 10}' "
        "role='img' aria-label='share of misses explained, per role'>"
    ]
    for i, r in enumerate(roles):
        y = 5 + i * row
        w = r["share_of_misses"] / top * span
        out.append(
            f"<text x='4' y='{y + 14}' font-size='12'>{e(r['title'])}</text>"
            f"<rect x='{left}' y='{y + 3}' width='{w:.1f}' height='14' fill='#c62828'/>"
            f"<text x='{left + w + 6:.1f}' y='{y + 14}' font-size='11'>"
            f"{r['share_of_misses']:.1%}</text>"
        )
    out.append("</svg>")
    return "".join(out)
