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
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from warroom.errors import UsageError
from warroom.store.port import ViewLink

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

    def view_url(self, link: ViewLink) -> str:
        """The war-room page of one incident, for whoever holds this link, until it expires."""
        return f"{self.public_url}/incidents/{link.incident}?view={self.view_token(link)}"

    def view_token(self, link: ViewLink) -> str:
        return f"{link.id}.{self._sign(_view_claim(link))}"

    def view_link_id(self, token: str) -> str:
        """The link id a view token names (not yet proof of anything: see `check_view`)."""
        return token.partition(".")[0]

    def check_view(self, token: str, link: ViewLink, incident: str, now: datetime) -> None:
        """Raise `LinkRefused` unless `token` is this link's, for this incident, still live.
        The signature covers the link's row, so whoever reads the database still cannot
        build a working link from an id."""
        signature = token.partition(".")[2]
        if not hmac.compare_digest(self._sign(_view_claim(link)), signature):
            raise LinkRefused("this link is not valid: it was altered or cut short")
        if link.incident != incident:
            raise LinkRefused("this link is for another incident")
        if link.revoked_at is not None:
            raise LinkRefused("this link was revoked; ask the crisis lead for a new one")
        if link.expires_at <= now:
            raise LinkRefused(
                f"this link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC; "
                "ask the crisis lead for a new one"
            )

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _view_claim(link: ViewLink) -> str:
    return f"view|{link.id}|{link.incident}|{int(link.expires_at.timestamp())}"


def new_link_id() -> str:
    """Random, so that one link can be revoked without touching the others."""
    return secrets.token_hex(8)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
