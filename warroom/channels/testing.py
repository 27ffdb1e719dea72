"""Test doubles for channels, shipped so that users' own tests can use them too.

Fakes, not mocks: a `RecordingChannel` really takes messages and answers with receipts, and
can be told to fail the way a provider does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warroom.channels import Receipt
from warroom.engine.effects import SendMessage


@dataclass
class RecordingChannel:
    """Keeps every message it is given; `failing` addresses get a permanent failure."""

    name: str
    sent: list[SendMessage] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def send(self, message: SendMessage) -> Receipt:
        self.sent.append(message)
        if message.address in self.failing:
            return Receipt("undeliverable", detail="recipient refused (test)")
        return Receipt("delivered", provider_id=f"test-{len(self.sent)}")

    def close(self) -> None:
        """Nothing to release."""

    def to(self, person_or_address: str) -> list[SendMessage]:
        return [m for m in self.sent if person_or_address in (m.person, m.address)]
