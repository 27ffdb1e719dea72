"""What a step waits for besides the steps before it: facts a person has to establish first.

A customer letter that names the data categories must not go out with the default "we are
still establishing this"; a step that `requires_facts` does not start until each of them holds
a value someone set. `status` and the timeline say what it waits for, from the same function.
"""

from __future__ import annotations

from warroom.engine.state import Incident
from warroom.playbook.facts import STAND_IN
from warroom.playbook.model import Step


def missing_facts(incident: Incident, step: Step) -> tuple[str, ...]:
    """The step's required facts still empty, at their default, or standing in for an alert."""
    missing = []
    for name in step.requires_facts:
        value = incident.facts.get(name, "")
        default = incident.playbook.facts[name].default
        if not value.strip() or value == default or value.startswith(STAND_IN):
            missing.append(name)
    return tuple(missing)


def facts_wait(names: tuple[str, ...]) -> str:
    """The words `status` and the timeline use for a step held by its facts."""
    return f"waits for facts {', '.join(names)} (`warroom fact NAME=VALUE`)"
