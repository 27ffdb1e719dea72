"""A local stand-in for Twilio's Messages API, for tests, benchmarks and offline drills.

It speaks the Messages API as Twilio's own OpenAPI document describes it (the subset shipped
in `twilio_messages.json`): it checks the required fields and their formats, answers with
Message resources, lists and fetches them, and answers errors in Twilio's shape
(`{"code": 21211, "message": ..., "more_info": ..., "status": 400}`). The real `twilio`
client talks to it over HTTP. It can be told to misbehave the ways Twilio and networks do:
rate limits, server errors, refused numbers, connections dropped after the message was
accepted, or failing the next N requests. Faults are drawn from a seeded generator, so a run
is repeatable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import random
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from warroom.playbook.segments import count_segments

SCHEMA: dict[str, Any] = json.loads(
    resources.files("warroom.channels").joinpath("twilio_messages.json").read_text("utf-8")
)
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MESSAGES = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages(?:/(SM[0-9a-f]{32}))?\.json$"
)


@dataclass
class Faults:
    """What the stand-in gets wrong, as probabilities per request and fixed rules."""

    rate_limited: float = 0.0
    """Answer 429 (code 20429) without processing: safe to retry."""
    server_error: float = 0.0
    """Answer 500; half of these were processed before failing (the outcome is unknown)."""
    drop_after_accept: float = 0.0
    """Record the message, then close the connection without answering."""
    fail_next: int = 0
    """Answer the next N requests with 503, processing nothing."""
    codes: dict[str, int] = field(default_factory=dict)
    """A Twilio error code for given To numbers, e.g. {"+48600000001": 21211}."""
    undelivered: dict[str, int] = field(default_factory=dict)
    """Accept messages to these To numbers, then report them `undelivered` with this
    ErrorCode in the status callback (e.g. 30003, unreachable handset)."""
    answer_after: float = 0.0
    """Seconds between taking a message and answering: a provider's latency, so that a test
    can hold sends on the wire (the message is recorded before the wait)."""
    seed: int = 1


ERRORS = {
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    21211: (400, "Invalid 'To' Phone Number"),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number",
    ),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21606: (
        400,
        "The 'From' phone number provided is not a valid message-capable Twilio phone number "
        "for this destination/account",
    ),
}


class TwilioStandIn:
    """Run with `with TwilioStandIn(...) as twilio:`; `twilio.base_url` is where it listens."""

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "standin-token",
        faults: Faults | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.faults = faults or Faults()
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.refused: list[tuple[int, str]] = []  # (status, To) answered with an error
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)
        ThreadingHTTPServer.request_queue_size = 128  # a worker opens many connections at once
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.callbacks: list[tuple[str, dict[str, str], int]] = []
        """(URL, form, HTTP status answered) of every status callback made, in order."""
        self._callbacks: queue.Queue[tuple[str, dict[str, str]] | None] = queue.Queue()
        self._caller = threading.Thread(target=self._call_back, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> TwilioStandIn:
        self._thread.start()
        self._caller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._callbacks.put(None)
        self._caller.join()

    # -- status callbacks ---------------------------------------------------------------

    def _queue_callbacks(self, message: dict[str, Any]) -> None:
        """`sent`, then `delivered` (or `undelivered` with an ErrorCode), as Twilio does."""
        url = message.get("_status_callback")
        if not url:
            return
        code = self.faults.undelivered.get(message["to"])
        for status in ("sent", "undelivered" if code else "delivered"):
            form = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message.get("from") or "",
                "MessageSid": message["sid"],
                "MessageStatus": status,
                "SmsSid": message["sid"],
                "SmsStatus": status,
                "To": message["to"],
            }
            if status == "undelivered":
                form["ErrorCode"] = str(code)
            self._callbacks.put((url, form))

    def _call_back(self) -> None:
        """One thread, so a message's callbacks arrive in order. Only loopback addresses are
        called: a test's public-looking URL must never become real traffic."""
        validator = RequestValidator(self.auth_token)
        while (item := self._callbacks.get()) is not None:
            url, form = item
            host = urlsplit(url).hostname or ""
            if host not in ("127.0.0.1", "localhost", "::1"):
                self.callbacks.append((url, form, 0))
                continue
            request = urllib.request.Request(
                url,
                data=urlencode(form).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": validator.compute_signature(url, form),
                    "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
                    "User-Agent": "TwilioProxy/1.1",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.callbacks.append((url, form, status))

    def to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["to"] == number]

    # -- the API ------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without this, Nagle's algorithm holds
            # the body for the client's delayed ACK, ~40 ms on every answer
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read the recorded messages, not a request log."""

            def do_POST(self) -> None:
                standin._dispatch(self, "POST")

            def do_GET(self) -> None:
                standin._dispatch(self, "GET")

        return Handler

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8") if length else ""
        match = MESSAGES.match(url.path)
        if match is None:
            return self._error(request, 404, 20404, "The requested resource was not found")
        if match.group(1) != self.account_sid or not self._authorised(request):
            return self._error(request, 401, 20003, ERRORS[20003][1])
        if method == "GET" and match.group(2):
            found = next((m for m in self.messages if m["sid"] == match.group(2)), None)
            if found is None:
                return self._error(request, 404, 20404, "The requested resource was not found")
            return self._json(request, 200, found)
        if method == "GET":
            return self._list(request, parse_qs(url.query))
        return self._create(request, {k: v[-1] for k, v in parse_qs(raw).items()})

    def _authorised(self, request: BaseHTTPRequestHandler) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid and password == self.auth_token

    def _create(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        with self._lock:
            self.requests += 1
            faults = self.faults
            if faults.fail_next > 0:
                faults.fail_next -= 1
                return self._error(request, 503, 20500, "Service Unavailable")
            draw = self._random.random()
            if draw < faults.rate_limited:
                return self._error(request, 429, 20429, ERRORS[20429][1])
            draw -= faults.rate_limited
            problem = self._invalid(form)
            if problem is not None:
                self.refused.append((problem, form.get("To", "")))
                return self._error(request, ERRORS[problem][0], problem, ERRORS[problem][1])
            if form["To"] in faults.codes:
                code = faults.codes[form["To"]]
                self.refused.append((code, form["To"]))
                status, text = ERRORS.get(code, (400, "Error"))
                return self._error(request, status, code, text)
            if draw < faults.server_error:
                if self._random.random() < 0.5:
                    self.messages.append(self._message(form))
                return self._error(request, 500, 20500, "Internal Server Error")
            draw -= faults.server_error
            message = self._message(form)
            self.messages.append(message)
            self._queue_callbacks(message)
            if draw < faults.drop_after_accept:
                request.close_connection = True
                request.connection.close()
                return None
        if self.faults.answer_after:
            time.sleep(self.faults.answer_after)  # the server's thread, as a slow network
        return self._json(request, 201, message)

    def _invalid(self, form: dict[str, str]) -> int | None:
        """The checks Twilio's OpenAPI document states for creating a Message."""
        create = SCHEMA["create"]
        for name in create["required"]:
            if not form.get(name):
                return 21604 if name == "To" else 21602
        if not E164.match(form["To"]):
            return 21211
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 21603
        if form.get("From") and not E164.match(form["From"]):
            return 21606
        service = form.get("MessagingServiceSid")
        pattern = create["properties"]["MessagingServiceSid"]["pattern"]
        if service and not re.match(pattern, service):
            return 21603
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return 21602
        if len(form.get("Body", "")) > 1600:
            return 21617
        return None

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        """A Message resource with exactly the fields Twilio's schema lists."""
        sid = "SM" + hashlib.sha256(f"{len(self.messages)}:{form}".encode()).hexdigest()[:32]
        now = format_datetime(datetime.now(UTC))
        body = form.get("Body", "")
        values: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(max(1, count_segments(body).segments)),
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{self._base(sid)}/Media.json"},
            "to": form["To"],
            "uri": f"{self._base(sid)}.json",
        }
        wanted = SCHEMA["message"]["properties"]
        message = {name: values.get(name) for name in wanted}
        message["_status_callback"] = form.get("StatusCallback")  # kept, never returned
        message["_sent_at"] = datetime.now(UTC)
        return message

    def _base(self, sid: str) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"

    def _list(self, request: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        found: Iterator[dict[str, Any]] = iter(self.messages)
        if "To" in query:
            to = query["To"][-1]
            found = (m for m in found if m["to"] == to)
        for key in ("DateSent>", "DateSent>="):
            if key in query:
                since = _moment(query[key][-1])
                found = (m for m in found if m["_sent_at"] >= since)
        page = [_public(m) for m in found]
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        self._json(
            request,
            200,
            {
                "messages": page,
                "end": max(len(page) - 1, 0),
                "first_page_uri": f"{path}?PageSize=50&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": max(len(page), 50),
                "previous_page_uri": None,
                "start": 0,
                "uri": path,
            },
        )

    def _json(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(_public(body)).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: int, text: str) -> None:
        self._json(
            request,
            status,
            {
                "code": code,
                "message": text,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )


def _moment(text: str) -> datetime:
    """A DateSent filter as the client sends it: a date, or a time with or without offset."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


__all__ = ["ERRORS", "Faults", "TwilioStandIn"]
