"""Channels: the one-method port through which every message leaves warroom.

A channel turns a `SendMessage` into a `Receipt`. Partial failure is data (a receipt says
failed, and whether trying again could help); exceptions are for misconfiguration. Adapters
translate their library's errors at this boundary, so the runtime never sees a foreign one.

A channel whose library has an asyncio client also offers `send_async` (`AsyncChannel`): the
runtime's dispatcher then keeps hundreds of sends in flight on one thread instead of one
thread per send. Every other channel is driven from a small thread pool by the same
dispatcher, so the decisions taken on a receipt never depend on how it travelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from warroom.engine.effects import SendMessage


@dataclass(frozen=True)
class Receipt:
    status: str
    """sent | delivered | failed | undeliverable, unknown (no answer came), or printed (the
    terminal had it instead) | withheld (the exercise sandbox kept it back): never delivered."""
    provider_id: str | None = None
    detail: str = ""
    retryable: bool = False


class Channel(Protocol):
    name: str

    def send(self, message: SendMessage) -> Receipt: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncChannel(Protocol):
    """A channel that can send on the dispatcher's event loop. `aclose` releases what the
    loop holds (an HTTP session is bound to the loop that opened it), on that loop."""

    name: str

    async def send_async(self, message: SendMessage) -> Receipt: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class AsyncReconciler(Protocol):
    """`Reconciler` on the event loop: unknown outcomes are checked concurrently too."""

    async def reconcile_async(self, message: SendMessage, since: datetime) -> Receipt | None: ...


@runtime_checkable
class Reconciler(Protocol):
    """A channel that can say afterwards whether a send whose answer never came went through
    (Twilio: list Messages by To and date). Without it, an unknown send is simply resent."""

    def reconcile(self, message: SendMessage, since: datetime) -> Receipt | None:
        """The message's receipt if the provider has it, None if it was never accepted."""
        ...
