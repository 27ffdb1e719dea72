"""The three lifecycles (incident, step, message), declared once as data with `transitions`.

One `Machine` per lifecycle, built at import; objects keep their state in a plain `state`
attribute and are moved with `fire`. ARCHITECTURE.md measured this at 1.8 ms to build and
~6 us per trigger, against 13.9 s and 621 MB for a Machine per object. `auto_transitions` is
off: there is no back door such as `to_resolved()`, only the moves written here.
"""

from __future__ import annotations

from typing import Any, Protocol

from transitions import Machine, MachineError

from warroom.errors import TransitionError


class Stateful(Protocol):
    state: str


def _machine(name: str, states: list[str], initial: str, moves: list[dict[str, Any]]) -> Machine:
    return Machine(
        model=None,
        states=states,
        transitions=moves,
        initial=initial,
        auto_transitions=False,
        name=name,
    )


INCIDENT = _machine(
    "incident",
    ["new", "active", "contained", "resolved", "closed", "cancelled"],
    "new",
    [
        {"trigger": "activate", "source": "new", "dest": "active"},
        {"trigger": "contain", "source": "active", "dest": "contained"},
        {"trigger": "reopen", "source": ["contained", "resolved"], "dest": "active"},
        {"trigger": "resolve", "source": ["active", "contained"], "dest": "resolved"},
        {"trigger": "close", "source": "resolved", "dest": "closed"},
        {"trigger": "cancel", "source": ["new", "active", "contained"], "dest": "cancelled"},
    ],
)

STEP = _machine(
    "step",
    [
        "dormant",  # exists only from a higher level than the incident has reached
        "waiting",
        "ready",
        "paged",
        "escalated",
        "acknowledged",
        "awaiting_approval",
        "approved",
        "released",
        "done",
        "skipped",
        "failed",
        "cancelled",
    ],
    "waiting",
    [
        {"trigger": "wake", "source": "dormant", "dest": "waiting"},
        {"trigger": "ready", "source": "waiting", "dest": "ready"},
        {"trigger": "page", "source": "ready", "dest": "paged"},
        {"trigger": "escalate", "source": ["paged", "escalated"], "dest": "escalated"},
        {"trigger": "acknowledge", "source": ["paged", "escalated"], "dest": "acknowledged"},
        {"trigger": "request_approval", "source": "ready", "dest": "awaiting_approval"},
        {"trigger": "approve", "source": "awaiting_approval", "dest": "approved"},
        {"trigger": "release", "source": "ready", "dest": "released"},
        {
            "trigger": "finish",
            "source": ["acknowledged", "approved", "released"],
            "dest": "done",
        },
        {"trigger": "recur", "source": "done", "dest": "ready"},
        {"trigger": "skip", "source": ["dormant", "waiting", "ready"], "dest": "skipped"},
        {
            "trigger": "fail",
            "source": ["ready", "paged", "escalated", "released"],
            "dest": "failed",
        },
        {
            "trigger": "cancel",
            "source": [
                "dormant",
                "waiting",
                "ready",
                "paged",
                "escalated",
                "awaiting_approval",
                "released",
            ],
            "dest": "cancelled",
        },
    ],
)

MESSAGE = _machine(
    "message",
    ["queued", "sending", "sent", "delivered", "failed", "undeliverable"],
    "queued",
    [
        {"trigger": "claim", "source": ["queued", "sending"], "dest": "sending"},
        {"trigger": "sent", "source": ["queued", "sending"], "dest": "sent"},
        {"trigger": "delivered", "source": ["queued", "sending", "sent"], "dest": "delivered"},
        {"trigger": "failed", "source": ["queued", "sending", "sent"], "dest": "failed"},
        {
            "trigger": "undeliverable",
            "source": ["queued", "sending", "sent"],
            "dest": "undeliverable",
        },
        {"trigger": "retry", "source": "failed", "dest": "queued"},
    ],
)

STEP_OPEN = frozenset({"ready", "paged", "escalated", "awaiting_approval", "released"})
STEP_FINISHED = frozenset({"done", "skipped", "failed", "cancelled"})
MESSAGE_FINAL = frozenset({"delivered", "failed", "undeliverable"})
MESSAGE_SETTLED = frozenset({"sent", *MESSAGE_FINAL})


def fire(machine: Machine, trigger: str, obj: Stateful, what: str) -> None:
    """Move `obj` by `trigger`, or raise `TransitionError` naming what and from where."""
    try:
        event = machine.events[trigger]
    except KeyError:
        raise TransitionError(f"{what}: no such move {trigger!r}") from None
    try:
        event.trigger(obj)
    except MachineError:
        allowed = ", ".join(machine.get_triggers(obj.state)) or "none"
        raise TransitionError(
            f"{what} is {obj.state.replace('_', ' ')}; cannot {trigger.replace('_', ' ')} "
            f"(possible now: {allowed})"
        ) from None


def can(machine: Machine, trigger: str, obj: Stateful) -> bool:
    return trigger in machine.get_triggers(obj.state)
