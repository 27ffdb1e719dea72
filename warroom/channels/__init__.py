"""Channels: the one-method port through which every message leaves warroom.

A channel turns a `SendMessage` into a `Receipt`. Partial failure is data (a receipt says
failed, and whether trying again could help); exceptions are for misconfiguration. Adapters
translate their library's errors at this boundary, so the runtime never sees a foreign one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from warroom.engine.effects import SendMessage


@dataclass(frozen=True)
class Receipt:
    status: str  # sent | delivered | failed | undeliverable
    provider_id: str | None = None
    detail: str = ""
    retryable: bool = False


class Channel(Protocol):
    name: str

    def send(self, message: SendMessage) -> Receipt: ...

    def close(self) -> None: ...
