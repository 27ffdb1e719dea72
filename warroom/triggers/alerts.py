"""One alert, whatever sent it: what `match` reads, what templates see, how it is identified.

Alertmanager sends a group of alerts per request, PagerDuty one event, a generic sender one
JSON object. Matching, fact filling and deduplication work on one `Alert` at a time, so that
two alerts of one Alertmanager group can start two different playbooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["alertmanager", "pagerduty", "generic"]
SOURCES: tuple[Source, ...] = ("alertmanager", "pagerduty", "generic")
Status = Literal["firing", "resolved"]


class _Absent:
    """The result of a lookup that found nothing (distinct from a JSON `null`)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted `path` (`data.priority.summary`, `alerts.0.labels`), or `ABSENT`.

    A key that itself contains dots (`{"service.name": ...}`) is found too: at each level the
    whole remaining path is tried as a key before it is split.
    """
    node = data
    rest = path
    while True:
        if isinstance(node, Mapping):
            if rest in node:
                return node[rest]
            head, dot, tail = rest.partition(".")
            if not dot or head not in node:
                return ABSENT
            node, rest = node[head], tail
        elif isinstance(node, list):
            head, dot, tail = rest.partition(".")
            if not head.isdigit() or int(head) >= len(node):
                return ABSENT
            node = node[int(head)]
            if not dot:
                return node
            rest = tail
        else:
            return ABSENT


def as_match_text(value: Any) -> str | None:
    """A payload value as `match` compares it: text as is, numbers and booleans as JSON spells
    them; null, objects and lists never match anything."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


@dataclass(frozen=True)
class Alert:
    """One alert as warroom sees it; built by `warroom.triggers.payloads`, never by hand.

    `variables` are what trigger templates (`facts`, `dedupe`) may read; `matched` is what
    `match` keys are looked up in, in order (Alertmanager: the alert's labels, then the
    group's commonLabels; PagerDuty: the v3 `event`; generic: the body). `group_key` and
    `receiver` are Alertmanager's, for the default identity of an alert group.
    """

    source: Source
    status: Status
    variables: Mapping[str, Any]
    matched: tuple[Mapping[str, Any], ...]
    fingerprint: str | None = None
    group_key: str | None = None
    receiver: str | None = None
    event_type: str | None = None
    """PagerDuty's `event_type` (`incident.triggered`, `incident.resolved`, ...)."""
    incident_ref: str | None = None
    """PagerDuty's incident id, the default identity of a PagerDuty alert."""

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    def value(self, key: str) -> Any:
        """The value a `match` key reads, or `ABSENT`: first place that has it wins."""
        for data in self.matched:
            found = lookup(data, key)
            if found is not ABSENT:
                return found
        return ABSENT
