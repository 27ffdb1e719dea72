"""Test doubles for channels, shipped so that users' own tests can use them too.

Fakes, not mocks: a `RecordingChannel` really takes messages and answers with receipts, and
can be told to fail the way a provider does.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.channels import Receipt
from warroom.engine.effects import SendMessage

if TYPE_CHECKING:  # aiosmtpd is a test dependency; the handler needs none of it at run time
    from aiosmtpd.smtp import SMTP, Envelope, Session


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


def free_port() -> int:
    """A loopback port nobody listens on, for a test server (aiosmtpd needs a fixed one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Mailbox:
    """An aiosmtpd handler keeping every envelope it accepts, for tests against a real SMTP
    server on loopback. `refuse` answers RCPT for an address with the given reply."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.peers: list[object] = []  # (host, port) of each delivering connection
        self.tls: list[bool] = []
        self.authenticated: list[bool] = []
        self.refuse: dict[str, str] = {}
        self.refused: Counter[str] = Counter()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            self.refused[address] += 1
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        self.tls.append(session.ssl is not None)
        self.authenticated.append(bool(session.authenticated))
        return "250 Message accepted for delivery"

    def received(self) -> Counter[str]:
        """How many messages each address received."""
        return Counter(address for e in self.envelopes for address in e.rcpt_tos)

    def bodies(self, address: str) -> list[bytes]:
        """The raw messages an address received, as they crossed the wire."""
        found = [e.content for e in self.envelopes if address in e.rcpt_tos]
        return [c for c in found if isinstance(c, bytes)]

    def messages(self) -> list[EmailMessage]:
        return [parse_envelope(e) for e in self.envelopes]

    def to(self, address: str) -> list[EmailMessage]:
        return [parse_envelope(e) for e in self.envelopes if address in e.rcpt_tos]


def parse_envelope(envelope: Envelope) -> EmailMessage:
    content = envelope.content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


BULK_PLAYBOOK = """\
playbook: bulk
title: Release to a large audience
languages: [pl]
levels: [{{id: high, title: High}}]
timezone: Europe/Warsaw
audiences:
  everyone: {{groups: [everyone], channels: [{channels}]}}
statements:
  notice:
    subject: {{pl: "Acme: awaria"}}
    text:
      pl: "Acme: awaria systemu płatności."
steps:
  - {{id: notify, send: notice, to: [everyone]}}
"""


def bulk_library(
    folder: Path, phones: Sequence[str], emails: Sequence[str] | None = None
) -> tuple[Path, Path]:
    """One statement released to everyone in a CSV group, by SMS (and e-mail, when given
    addresses): the shape of every fan-out test and benchmark. Returns the playbook and the
    roster to capture."""
    rows = [
        f"Osoba {i},{phone}" + (f",{emails[i]}" if emails else "") for i, phone in enumerate(phones)
    ]
    header = "name,phone,email" if emails else "name,phone"
    (folder / "everyone.csv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    channels = "sms, email" if emails else "sms"
    (folder / "bulk.yaml").write_text(BULK_PLAYBOOK.format(channels=channels), "utf-8")
    (folder / "roster.yaml").write_text(
        "people:\n  - {id: anna, name: Anna Kowalska, phone: '+48 601 234 567'}\n"
        "groups:\n  everyone: {csv: everyone.csv}\n",
        "utf-8",
    )
    return folder / "bulk.yaml", folder / "roster.yaml"
