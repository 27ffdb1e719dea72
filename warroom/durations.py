"""Durations as people write them in playbooks: `30s`, `10m`, `2h`, `3d`, `1w`, `1h30m`.

A playbook is read by a comms director, not a programmer, so there is exactly one spelling
and the error says what it is.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(value: Any) -> timedelta:
    """`'1h30m'` -> 90 minutes. Zero and negative durations are refused: no SLA is instant."""
    if isinstance(value, timedelta):
        return value
    text = value.strip() if isinstance(value, str) else None
    match = _DURATION.fullmatch(text) if text else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (expected e.g. 10m, 1h30m, 3d)")
    seconds = sum(
        int(n) * unit for n, unit in zip(match.groups(), _UNITS.values(), strict=True) if n
    )
    if seconds == 0:
        raise ValueError(f"{value!r} is zero; a duration must be longer than 0s")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of `parse_duration`: 5400 s -> `1h30m`; negative durations get a minus."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue  # weeks read worse than days in timelines: 14d, not 2w
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")
