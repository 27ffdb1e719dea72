"""The exercise interlock: during an exercise, only named participants receive anything, and
every text (and every e-mail subject) begins `EXERCISE EXERCISE EXERCISE`.

The runtime wraps every channel in this for an exercise incident, whoever runs the worker and
whatever the playbook's audiences say, so a drill can never reach the press, a regulator or
the staff list. Messages to anyone else are kept back: recorded as `withheld`, never sent, and
never counted as delivered. Inside a simulated exercise (the wrapped channel is itself a
simulation, `simulated = True`) nothing is real anyway: the message goes to the simulation,
which reports it delivered so that simulated responders act on it.
"""

from __future__ import annotations

from dataclasses import replace

from warroom.channels import Channel, Receipt
from warroom.engine.effects import SendMessage

EXERCISE_MARK = "EXERCISE EXERCISE EXERCISE"


class SandboxChannel:
    def __init__(self, inner: Channel, allowed_addresses: frozenset[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.allowed = allowed_addresses

    def admit(self, message: SendMessage) -> Receipt | SendMessage:
        """The receipt for anyone else (withheld; delivered inside a simulation), or the marked
        message a participant gets.
        The dispatcher's async transport asks this, then sends through `inner` itself."""
        if message.address not in self.allowed:
            if getattr(self.inner, "simulated", False):
                return Receipt(
                    "delivered", detail="exercise: simulated, not sent (not a participant)"
                )
            return Receipt("withheld", detail="exercise: not a participant, not sent")
        return replace(
            message,
            text=f"{EXERCISE_MARK}\n{message.text}",
            subject=f"{EXERCISE_MARK} {message.subject}".strip(),
        )

    def send(self, message: SendMessage) -> Receipt:
        admitted = self.admit(message)
        if isinstance(admitted, Receipt):
            return admitted
        return self.inner.send(admitted)

    def close(self) -> None:
        """The wrapped channel is closed by whoever opened it."""
