"""SMS through Twilio's Messages API, with the real `twilio` client.

Twilio's Messages API has no idempotency key, so every send has one of four outcomes and the
dispatcher treats each differently (ARCHITECTURE.md):

- accepted: `sent`, with Twilio's SID;
- 429 / code 20429: not processed; `failed` and retryable after a back-off;
- a permanent refusal (21211 invalid number, 21610 unsubscribed, ...): `undeliverable`;
- a 5xx, a timeout or a dropped connection: `unknown`. The message may or may not exist; it
  is reconciled (listing Messages to that number) before any resend, never simply re-sent.

HTTP-level retries are off (a retried POST is a second SMS). Pacing keeps the account's
throughput: a token bucket in segments per second, shared by every sending thread and task.

Two transports, one set of answers: `send` uses the client over `requests` (one per thread),
`send_async` the client's own `AsyncTwilioHttpClient` and `create_async` on the dispatcher's
event loop, at a fraction of the CPU per request. Both map Twilio's answers with `_refused`;
on the async path an `aiohttp.ClientError` or a timeout is an unknown outcome, as a
`requests` exception is on the other.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

if TYPE_CHECKING:
    from twilio.http.async_http_client import AsyncTwilioHttpClient

from warroom.channels import Receipt
from warroom.channels.config import ChannelConfigError, TwilioSettings
from warroom.engine.effects import SendMessage
from warroom.playbook.segments import count_segments

PERMANENT = {
    21211: "invalid 'To' number",
    21408: "region not permitted",
    21610: "recipient unsubscribed (replied STOP)",
    21612: "cannot route to this number",
    21614: "not a mobile number",
    21617: "body over 1600 characters",
    30003: "unreachable handset",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
}
MISCONFIGURED = {20003: "authentication failed", 21606: "the From number cannot send here"}


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client, sending to another host: a local stand-in, or a proxy.

    This is the documented extension point (`Client(http_client=...)`); nothing inside the
    twilio package is patched. `max_retries` stays None: requests never re-sends a POST.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        rewritten = urlunsplit(
            (self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment)
        )
        return super().request(method, rewritten, *args, **kwargs)


class SegmentBucket:
    """At most `rate` segments per second, across threads; waits through `sleep`.

    It holds one segment at most: a fuller bucket would let a release start with a burst of
    a whole second's worth, and the first second would carry twice the configured rate.
    Each taker reserves its slot under the lock and waits its own debt, so concurrent
    senders are spaced evenly rather than woken together.
    """

    def __init__(
        self, rate: float, now: Callable[[], datetime], sleep: Callable[[float], object]
    ) -> None:
        self.rate = rate
        self.now = now
        self.sleep = sleep
        self.lock = threading.Lock()
        self.capacity = min(rate, 1.0)
        self.available = self.capacity
        self.updated = now()

    def reserve(self, segments: int) -> float:
        """Take `segments` now; the seconds the caller must wait before sending them."""
        with self.lock:
            current = self.now()
            self.available = min(
                self.capacity,
                self.available + (current - self.updated).total_seconds() * self.rate,
            )
            self.updated = current
            self.available -= segments
            debt = -self.available
        return debt / self.rate if debt > 0 else 0.0

    def take(self, segments: int) -> None:
        wait = self.reserve(segments)
        if wait > 0:
            self.sleep(wait)


class SecondWindow:
    """At most `rate` segments sent in any one second, on the event loop, checked as each
    send starts. The bucket spaces sends evenly; this keeps a stalled loop (a slow commit,
    a busy machine) from sending the delayed ones together with those on time."""

    def __init__(self, rate: float) -> None:
        self.limit = max(1, int(rate))
        self.sent: deque[tuple[float, int]] = deque()
        self.used = 0

    async def admit(self, segments: int) -> None:
        while True:
            now = time.monotonic()
            while self.sent and now - self.sent[0][0] >= 1.0:
                self.used -= self.sent.popleft()[1]
            if not self.sent or self.used + segments <= self.limit:
                self.sent.append((now, segments))
                self.used += segments
                return
            await asyncio.sleep(1.0 - (now - self.sent[0][0]))


class TwilioSms:
    name = "sms"

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings
        self._local = threading.local()
        self.bucket = SegmentBucket(
            settings.segments_per_second,
            now or (lambda: datetime.now(UTC)),
            sleep or time.sleep,
        )
        self._steered = sleep is not None
        """A given `sleep` moves a virtual clock: the async path calls it, never waits."""
        self._async: tuple[asyncio.AbstractEventLoop, Client, AsyncTwilioHttpClient] | None = None
        self._counted: dict[str, int] = {}
        self._window = SecondWindow(settings.segments_per_second)

    def __repr__(self) -> str:
        # settings hold SecretStr values, which print masked
        return f"TwilioSms(account_sid={self.settings.account_sid!r}, ...)"

    @property
    def client(self) -> Client:
        """One client per thread: requests sessions are not shared between senders."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            s = self.settings
            http = (
                BaseUrlHttpClient(s.base_url, s.timeout)
                if s.base_url
                else TwilioHttpClient(timeout=s.timeout)
            )
            if s.api_key and s.api_secret:
                client = Client(
                    s.api_key, s.api_secret.get_secret_value(), s.account_sid, http_client=http
                )
            else:
                token = s.auth_token.get_secret_value() if s.auth_token else None
                client = Client(s.account_sid, token, http_client=http)
            self._local.client = client
        return client

    def _options(self, message: SendMessage) -> dict[str, Any]:
        options: dict[str, Any] = {"to": message.address, "body": message.text}
        if self.settings.messaging_service_sid:
            options["messaging_service_sid"] = self.settings.messaging_service_sid
        if self.settings.from_number:
            options["from_"] = self.settings.from_number
        if self.settings.status_callback_url:
            base = self.settings.status_callback_url.rstrip("/")
            options["status_callback"] = f"{base}/twilio/status?outbox={message.message}"
        return options

    def send(self, message: SendMessage) -> Receipt:
        self.bucket.take(max(1, count_segments(message.text).segments))
        try:
            created = self.client.messages.create(**self._options(message))
        except TwilioRestException as exc:
            return self._refused(exc)
        except requests.RequestException as exc:
            return Receipt("unknown", detail=f"no answer from Twilio ({type(exc).__name__})")
        return Receipt("sent", provider_id=created.sid, detail=str(created.status))

    # -- on the dispatcher's event loop

    def _async_client(self) -> Client:
        """The async client of the running loop; an aiohttp session cannot change loops."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            from warroom.channels.twilio_async import async_http_client

            s = self.settings
            http = async_http_client(s.base_url, s.timeout)
            if s.api_key and s.api_secret:
                client = Client(
                    s.api_key, s.api_secret.get_secret_value(), s.account_sid, http_client=http
                )
            else:
                token = s.auth_token.get_secret_value() if s.auth_token else None
                client = Client(s.account_sid, token, http_client=http)
            self._async = (loop, client, http)
        return self._async[1]

    def _segments(self, text: str) -> int:
        """A release sends one text thousands of times: counted once."""
        found = self._counted.get(text)
        if found is None:
            if len(self._counted) > 256:
                self._counted.clear()
            found = self._counted[text] = max(1, count_segments(text).segments)
        return found

    async def _pace(self, message: SendMessage) -> None:
        segments = self._segments(message.text)
        wait = self.bucket.reserve(segments)
        if self._steered:  # a virtual clock: the bucket's schedule is exact
            if wait > 0:
                self.bucket.sleep(wait)
            return
        if wait > 0:
            await asyncio.sleep(wait)
        await self._window.admit(segments)

    async def send_async(self, message: SendMessage) -> Receipt:
        from warroom.channels.twilio_async import NO_ANSWER

        await self._pace(message)
        client = self._async_client()
        try:
            created = await client.messages.create_async(**self._options(message))
        except TwilioRestException as exc:
            return self._refused(exc)
        except NO_ANSWER as exc:
            return Receipt("unknown", detail=f"no answer from Twilio ({type(exc).__name__})")
        return Receipt("sent", provider_id=created.sid, detail=str(created.status))

    async def reconcile_async(self, message: SendMessage, since: datetime) -> Receipt | None:
        from warroom.channels.twilio_async import NO_ANSWER

        client = self._async_client()
        try:
            utc = since.astimezone(UTC)
            found = await client.messages.list_async(
                to=message.address, date_sent_after=utc, limit=50
            )
        except (TwilioRestException, *NO_ANSWER):
            return Receipt("unknown", detail="Twilio could not be asked yet")
        return _matching(found, message)

    async def aclose(self) -> None:
        """Close the loop's HTTP session; call on the loop that sent."""
        if self._async is not None and self._async[0] is asyncio.get_running_loop():
            http = self._async[2]
            self._async = None
            await http.close()

    def _refused(self, exc: TwilioRestException) -> Receipt:
        code = int(exc.code or 0)
        if code in MISCONFIGURED:
            raise ChannelConfigError(
                f"Twilio refused the request: {MISCONFIGURED[code]} (code {code}); "
                "check TWILIO_ACCOUNT_SID, the token or key pair, and TWILIO_FROM"
            ) from None
        if exc.status == 429 or code == 20429:
            return Receipt("failed", detail="rate limited by Twilio (20429)", retryable=True)
        if exc.status >= 500:
            return Receipt("unknown", detail=f"Twilio answered {exc.status} (code {code})")
        reason = PERMANENT.get(code, exc.msg)
        return Receipt("undeliverable", detail=f"{reason} (Twilio {code})")

    def reconcile(self, message: SendMessage, since: datetime) -> Receipt | None:
        """Did an unanswered send go through? Listing Messages to that number since the
        claim, with the same body, tells; `None` means it did not, and resending is safe."""
        try:
            # the client writes the time with a Z without converting it: give it UTC
            utc = since.astimezone(UTC)
            found = self.client.messages.list(to=message.address, date_sent_after=utc, limit=50)
        except (TwilioRestException, requests.RequestException):
            return Receipt("unknown", detail="Twilio could not be asked yet")
        return _matching(found, message)

    def close(self) -> None:
        """Sessions close with their threads; the async session with `aclose`."""


def _matching(found: list[Any], message: SendMessage) -> Receipt | None:
    for existing in found:
        if existing.body == message.text:
            return Receipt("sent", provider_id=existing.sid, detail="reconciled")
    return None
