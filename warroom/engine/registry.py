"""Which handler decides which event, and when an event is admitted at all.

Each concern module registers its handlers with `@handles(EventType)`. The decorator is
generic in the event type, so a handler is checked against the event it declares, and the
table needs no casts: the wrapper narrows the event with `isinstance` before calling it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from warroom.engine.context import Ctx
from warroom.engine.events import Event
from warroom.errors import EngineBug

E = TypeVar("E", bound=Event)


class Admit(Enum):
    """When an incident accepts an event."""

    WHILE_OPEN = "while open"
    AFTER_RESOLUTION = "also once resolved"
    """The record may still grow (a note, the closing) after the incident is resolved."""
    ALWAYS = "always"
    """Activation, wake-ups and receipts: their handlers decide what a closed incident does."""


@dataclass(frozen=True)
class Registered:
    handler: Callable[[Ctx, Event], None]
    admit: Admit


HANDLERS: dict[type[Event], Registered] = {}


def handles(
    kind: type[E], admit: Admit = Admit.WHILE_OPEN
) -> Callable[[Callable[[Ctx, E], None]], Callable[[Ctx, E], None]]:
    def register(handler: Callable[[Ctx, E], None]) -> Callable[[Ctx, E], None]:
        if kind in HANDLERS:
            raise EngineBug(f"two handlers for the event {kind.kind!r}")

        def run(ctx: Ctx, event: Event) -> None:
            if not isinstance(event, kind):
                raise EngineBug(f"{handler.__name__} was given a {event.kind!r} event")
            handler(ctx, event)

        HANDLERS[kind] = Registered(run, admit)
        return handler

    return register
