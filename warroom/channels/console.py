"""Channels that need no provider: a terminal, and a transcript file.

They are what an incident lead sees before SMS and e-mail are configured, and what tests and
exercises read back. Their receipts say `printed`, never `delivered`: nobody received the
message, and the timeline and `status` must not say otherwise. The transcript remembers every
idempotency key it has written, so a message handed to it twice (a worker that died
mid-send) is written once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from warroom.channels import Receipt
from warroom.engine.effects import SendMessage


class ConsoleChannel:
    """Prints each message; `name` is the channel kind it stands in for (sms or email)."""

    def __init__(self, name: str, stream: IO[str]) -> None:
        self.name = name
        self.stream = stream

    def send(self, message: SendMessage) -> Receipt:
        head = f"--> {message.channel} to {message.recipient} <{message.address}>"
        if message.subject and message.channel == "email":
            head += f" | {message.subject}"
        self.stream.write(f"{head}\n    " + message.text.replace("\n", "\n    ") + "\n")
        self.stream.flush()
        return Receipt(
            "printed",
            provider_id=f"console-{message.message}",
            detail=f"{self.name} not configured: printed to the terminal",
        )

    def close(self) -> None:
        self.stream.flush()


class TranscriptChannel:
    """Appends one JSON line per message to a file, at most once per idempotency key."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self.keys: set[str] = set()
        if path.exists():
            with path.open(encoding="utf-8") as existing:
                self.keys = {json.loads(line)["key"] for line in existing if line.strip()}

    def send(self, message: SendMessage) -> Receipt:
        if message.key not in self.keys:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(message.to_json(), ensure_ascii=False) + "\n")
                out.flush()
            self.keys.add(message.key)
        return Receipt(
            "printed",
            provider_id=f"transcript-{message.message}",
            detail=f"written to the transcript {self.path.name}",
        )

    def close(self) -> None:
        """Nothing is held open between messages."""
