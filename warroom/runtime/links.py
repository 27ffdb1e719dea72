"""Signed links that act: `PUBLIC_URL/act/<token>` in a page or approval request by e-mail.

A link is worth only what its signature proves: an HMAC-SHA256, under the server's secret,
over the incident, the reply code of the message it came in, the action and an expiry. The
secret never leaves the process (links are added as the e-mail goes out, never stored in the
outbox or the log), so reading the database does not let anyone forge one. Opening a link
only shows what it would do; acting takes a POST, because mail scanners follow links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from warroom.errors import UsageError

LINK_LIFETIME = timedelta(hours=24)
ACTIONS = {"page": "ack", "approval": "approve"}
"""Which messages carry a link, and what it does: a page is acknowledged, an approval
request approved. Rejecting needs a reason, so it stays a reply or a command."""


class LinkRefused(UsageError):
    """A link that cannot act: altered, expired, or not a warroom link at all. The message is
    what the person who clicked it reads."""


@dataclass(frozen=True)
class LinkClaim:
    """What a verified token says: who may do what, until when."""

    incident: str
    code: str
    action: str
    expires: datetime

    @property
    def fingerprint(self) -> str:
        """Identifies one link in the inbound log without keeping the token itself."""
        text = f"{self.incident}|{self.code}|{self.action}|{int(self.expires.timestamp())}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class ActionLinks:
    def __init__(self, public_url: str, secret: SecretStr) -> None:
        self.public_url = public_url.rstrip("/")
        self._key = secret.get_secret_value().encode()

    def __repr__(self) -> str:
        return f"ActionLinks(public_url={self.public_url!r}, secret=***)"

    def url(self, incident: str, code: str, action: str, now: datetime) -> str:
        return f"{self.public_url}/act/{self.token(incident, code, action, now + LINK_LIFETIME)}"

    def token(self, incident: str, code: str, action: str, expires: datetime) -> str:
        claim = {"i": incident, "c": code, "a": action, "e": int(expires.timestamp())}
        payload = _b64(json.dumps(claim, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: datetime) -> LinkClaim:
        """The claim of an authentic, unexpired token; `LinkRefused` otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(self._sign(payload), signature):
            raise LinkRefused("this link is not valid: it was altered or cut short")
        try:
            claim = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            parsed = LinkClaim(
                incident=str(claim["i"]),
                code=str(claim["c"]),
                action=str(claim["a"]),
                expires=datetime.fromtimestamp(int(claim["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError):  # signed by us, so this is our own bug
            raise LinkRefused("this link is not valid") from None
        if parsed.action not in ACTIONS.values():
            raise LinkRefused("this link is not valid")
        if parsed.expires <= now:
            raise LinkRefused(
                f"this link expired at {parsed.expires:%Y-%m-%d %H:%M} UTC; "
                "reply to the SMS, or ask the crisis lead"
            )
        return parsed

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
