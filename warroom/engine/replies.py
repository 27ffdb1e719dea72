"""Replies by SMS, as people actually type them at 3 a.m.: `ok`, `ACK 4821`, `tak`,
`APPROVE 4821`, `reject 4821 the date is wrong`, `CONFIRM 4821` (a proposed level; also
`CONFIRM LEVEL 4821`, `POTWIERDZAM POZIOM 4821`). Pure: text in, a `Reply` or a refusal out."""

from __future__ import annotations

from dataclasses import dataclass

from warroom.errors import CommandRejected

MAX_REPLY = 1600
"""Twilio's longest SMS body; anything longer is not a reply, and is not parsed."""

WORDS = {
    "ack": {"ACK", "OK", "1", "YES", "TAK", "POTWIERDZAM", "JESTEM"},
    "approve": {"APPROVE", "APPROVED", "ZATWIERDZAM", "AKCEPTUJĘ", "AKCEPTUJE"},
    "reject": {"REJECT", "REJECTED", "ODRZUCAM", "NIE"},
    "confirm": {"CONFIRM", "CONFIRMED"},
}
LEVEL_WORDS = {"LEVEL", "POZIOM"}
"""After an acknowledging word (`POTWIERDZAM POZIOM`) or CONFIRM: a level is confirmed, which
speaks for the organisation, never a mere acknowledgement."""


@dataclass(frozen=True)
class Reply:
    verb: str  # ack | approve | reject | confirm
    code: str | None
    reason: str = ""


def parse_reply(body: str) -> Reply:
    """Understand a reply or say why not; the reason goes to the inbound log."""
    text = body.strip()
    if not text:
        raise CommandRejected("empty reply; ignored")
    if len(text) > MAX_REPLY:
        raise CommandRejected(f"reply of {len(text)} characters is not a command; ignored")
    words = text.split()
    first = words[0].strip(".,!:").upper()
    verb = next((v for v, spellings in WORDS.items() if first in spellings), None)
    if verb is None:
        expected = "ACK, APPROVE, REJECT or CONFIRM, with the code from the message"
        raise CommandRejected(f"{first[:20]!r} is not understood (expected {expected})")
    rest = words[1:]
    if rest and rest[0].strip(".,!:").upper() in LEVEL_WORDS and verb in ("ack", "confirm"):
        verb, rest = "confirm", rest[1:]
    code = None
    if rest and rest[0].strip(".,:").isdigit() and len(rest[0].strip(".,:")) == 4:
        code = rest[0].strip(".,:")
        rest = rest[1:]
    reason = " ".join(rest).strip()
    if verb == "reject" and not reason:
        raise CommandRejected("a rejection needs a reason: REJECT <code> <reason>")
    return Reply(verb, code, reason)
