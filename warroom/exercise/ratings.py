"""HSEEP performance ratings (P, S, M, U), derived from an objective's measured values alone.

An exercise director compares ratings across drills and years, so the rule has to be the
same every time and visible in the report: each rating carries the reason it was given.
"""

from __future__ import annotations

from datetime import timedelta

from warroom.durations import format_duration

RATINGS = {
    "P": "performed without challenges",
    "S": "performed with some challenges",
    "M": "performed with major challenges",
    "U": "unable to be performed",
}

CLOSE_TO_TARGET = 0.8
"""Met, but after more than this share of the time allowed: one more delay and it is missed."""

WEIGHT = {"U": 3, "M": 2, "S": 1, "P": 0}
"""How much an objective's rating weighs when areas for improvement are ranked."""


def rate(
    status: str, *, used: timedelta | None, target: timedelta | None, escalated: bool
) -> tuple[str, str]:
    """The rating and the measured reason for it.

    met, with no escalation and inside 80% of the target: P; met after an escalation in its
    step, or within the last 20% of the target: S; partially met: M; not met: U.
    """
    if status == "not met":
        return "U", "not met"
    if status == "partially met":
        return "M", "partially met"
    share = ""
    if used is not None and target:
        share = f"{format_duration(used) if used else '0m'} of {format_duration(target)}"
    if escalated:
        return "S", "met after an escalation" + (f" ({share})" if share else "")
    if used is not None and target and used > target * CLOSE_TO_TARGET:
        return "S", f"met within 20% of the target ({share})"
    return "P", "met with no escalation" + (f" ({share})" if share else "")
