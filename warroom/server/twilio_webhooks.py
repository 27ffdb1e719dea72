"""Twilio's two webhooks: status callbacks (`/twilio/status`) and inbound SMS (`/twilio/sms`).

Twilio signs each request over the URL it called plus every form field (or, for a JSON body,
the URL with the body's SHA-256 in `bodySHA256`). Behind a reverse proxy the URL this server
sees is not the one Twilio called, so it is rebuilt from `WARROOM_PUBLIC_URL`, never from
forwarded headers a client could set. Twilio retries a webhook it got no answer to; the
`I-Twilio-Idempotency-Token` header (or the message SID) makes a retry a `duplicate`.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from warroom.runtime.runtime import ReplyOutcome, Runtime
from warroom.server.desk import Desk
from warroom.server.intake import (
    FORM,
    JSON,
    UNAUTHENTICATED,
    RequestRefused,
    digest,
    documented,
    log_request,
    not_configured,
    parse_form,
    read_body,
    refuse,
    require_type,
)
from warroom.store import InboundEntry

router = APIRouter(tags=["twilio"])

STATUS_MOVES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}
"""Twilio's message statuses that move a message forward; `queued`, `sending` and the like
say nothing the dispatcher did not already record."""

FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
        },
    },
    "parameters": [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "Twilio's signature, checked with twilio's RequestValidator.",
        }
    ],
}
ERRORS = documented(
    (400, "malformed form data or a missing field"),
    (401, "missing or invalid X-Twilio-Signature"),
    (413, "body over 1 MiB"),
    (415, "not form data (or JSON with bodySHA256)"),
    (503, "TWILIO_AUTH_TOKEN or WARROOM_PUBLIC_URL is not set"),
)


def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]


async def authenticated_form(
    desk: Desk, request: Request, channel: str
) -> tuple[bytes, ImmutableMultiDict[str, str]] | JSONResponse:
    """The body and its form fields once Twilio's signature holds; else the logged refusal."""
    body = b""
    try:
        body = await read_body(request)
        if desk.twilio_token is None or not desk.settings.public_url:
            raise not_configured("TWILIO_AUTH_TOKEN and WARROOM_PUBLIC_URL")
        kind = require_type(request, FORM, JSON)
        url = desk.settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        validator = RequestValidator(desk.twilio_token.get_secret_value())
        signature = request.headers.get(SIGNATURE_HEADER, "")
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if kind == JSON:
            # JSON bodies are signed through their hash in the query: no hash, no proof
            if "bodySHA256" not in request.query_params:
                raise UNAUTHENTICATED
            text = body.decode("utf-8", "replace")
            if not signature or not validator.validate(url, text, signature, algorithm):
                raise UNAUTHENTICATED
            return body, json_fields(body)
        fields = parse_form(body)
        if not signature or not validator.validate(url, fields, signature, algorithm):
            raise UNAUTHENTICATED
    except RequestRefused as refusal:
        return await refuse(desk, request, channel, body, refusal)
    return body, fields


def json_fields(body: bytes) -> ImmutableMultiDict[str, str]:
    """A JSON object's top-level values as fields, the way a form's would be read."""
    try:
        loaded = json.loads(body)
    except ValueError:
        raise RequestRefused(400, "malformed", "the body is not valid JSON", "body") from None
    if not isinstance(loaded, dict):
        raise RequestRefused(400, "malformed", "the body must be a JSON object", "body")
    return ImmutableMultiDict(
        (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in loaded.items()
    )


def _required(fields: ImmutableMultiDict[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise RequestRefused(400, "malformed", f"the form field {name} is missing", name)
    return value


@router.post(
    "/twilio/status",
    summary="Twilio status callback",
    response_model=None,
    responses={200: {"description": "recorded, or nothing to do"}, **ERRORS},
    openapi_extra={
        **FORM_BODY,
        "parameters": [
            *FORM_BODY["parameters"],
            {"name": "outbox", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
    },
)
async def status_callback(request: Request, desk: DeskDep) -> Response:
    """A message's progress at Twilio: moves it forward only, once."""
    checked = await authenticated_form(desk, request, "twilio-status")
    if isinstance(checked, JSONResponse):
        return checked
    body, fields = checked
    try:
        message_id = request.query_params.get("outbox") or ""
        if not message_id:
            raise RequestRefused(
                400, "malformed", "the query parameter outbox is missing", "outbox"
            )
        status = _required(fields, "MessageStatus")
    except RequestRefused as refusal:
        await log_request(
            desk, request, "twilio-status", body, verdict="malformed", outcome=refusal.detail
        )
        return refusal.response()
    sid = fields.get("MessageSid", "")
    delivery = request.headers.get("I-Twilio-Idempotency-Token") or f"{message_id}:{sid}:{status}"

    def record(runtime: Runtime) -> tuple[str, str]:
        entry = _log(runtime, request, "twilio-status", body, fields.get("To", ""), delivery)
        if runtime.store.delivered_before(request.url.path, delivery, entry):
            return _judge(runtime, entry, "duplicate", "the same callback was taken before")
        move = STATUS_MOVES.get(status.lower())
        if move is None:
            return _judge(runtime, entry, "no-effect", f"status {status!r} changes nothing")
        code = fields.get("ErrorCode", "")
        detail = f"Twilio: {status}" + (f", ErrorCode {code}" if code else "")
        return runtime.report_status(
            message_id, move, detail=detail if move == "failed" else "", inbound=entry
        )

    verdict, outcome = await run_in_threadpool(desk.call, record)
    if verdict == "accepted":
        desk.nudge()  # a failure may have queued a fail-over message
    return JSONResponse({"verdict": verdict, "detail": outcome})


@router.post(
    "/twilio/sms",
    summary="Twilio inbound SMS",
    response_model=None,
    responses={
        200: {"description": "TwiML confirming what the reply did", "content": {"text/xml": {}}},
        **ERRORS,
    },
    openapi_extra=FORM_BODY,
)
async def inbound_sms(request: Request, desk: DeskDep) -> Response:
    """A reply to a page or an approval request: ACK, APPROVE or REJECT, with the code."""
    checked = await authenticated_form(desk, request, "sms")
    if isinstance(checked, JSONResponse):
        return checked
    body, fields = checked
    sender = fields.get("From", "")
    text = fields.get("Body", "")
    delivery = request.headers.get("I-Twilio-Idempotency-Token") or fields.get("MessageSid")

    def receive(runtime: Runtime) -> ReplyOutcome | None:
        entry = _log(runtime, request, "sms", body, sender, delivery)
        if delivery and runtime.store.delivered_before(request.url.path, delivery, entry):
            _judge(runtime, entry, "duplicate", "the same reply was taken before")
            return None
        return runtime.receive_sms(sender, text, inbound=entry)

    outcome = await run_in_threadpool(desk.call, receive)
    answer = MessagingResponse()
    if outcome is not None:
        answer.message(confirmation(outcome))
        if outcome.accepted:
            desk.nudge()
    return Response(str(answer), media_type="text/xml")


def _log(
    runtime: Runtime,
    request: Request,
    channel: str,
    body: bytes,
    sender: str,
    delivery: str | None,
) -> int:
    entry = InboundEntry(
        at=runtime.clock.now(),
        route=request.url.path,
        channel=channel,
        sender=sender,
        body=body.decode("utf-8", "replace"),
        verdict="received",
        delivery_id=delivery,
        body_hash=digest(body),
    )
    return runtime.store.log_inbound(entry)


def _judge(runtime: Runtime, entry: int, verdict: str, outcome: str) -> tuple[str, str]:
    with runtime.store.transaction():
        runtime.store.judge_inbound(entry, verdict, outcome)
    return verdict, outcome


DONE = {
    "en": {
        "ack": "Acknowledged",
        "approve": "Approved",
        "reject": "Rejected",
        "confirm": "Confirmed level",
    },
    "pl": {
        "ack": "Potwierdzono",
        "approve": "Zatwierdzono",
        "reject": "Odrzucono",
        "confirm": "Potwierdzono poziom",
    },
}
NOT_DONE = {
    "en": {
        "prefix": "Nothing was done",
        "unknown-sender": "this number is not on the crisis team of any open incident",
        "not-understood": "reply ACK, APPROVE, REJECT or CONFIRM with the code from the message",
        "nothing-waiting": "nothing is waiting for this answer from you",
        "ambiguous": "several requests are open; reply with the code from the message",
        "needs-code": "an approval needs its code: reply APPROVE or REJECT with the code "
        "from the request",
    },
    "pl": {
        "prefix": "Nic nie zrobiono",
        "unknown-sender": "ten numer nie należy do zespołu kryzysowego otwartego incydentu",
        "not-understood": "odpowiedz ACK, APPROVE, REJECT lub POTWIERDZAM POZIOM z kodem z "
        "wiadomości",
        "nothing-waiting": "nic nie czeka na tę odpowiedź od Ciebie",
        "ambiguous": "otwartych jest kilka próśb; odpowiedz z kodem z wiadomości",
        "needs-code": "zatwierdzenie wymaga kodu: odpowiedz APPROVE lub REJECT z kodem z prośby",
    },
}


def confirmation(outcome: ReplyOutcome) -> str:
    """What the reply did, in the sender's language (Polish or English)."""
    language = outcome.language if outcome.language in DONE else "en"
    if outcome.accepted:
        return f"{DONE[language][outcome.verb]}: {outcome.subject}"
    words = NOT_DONE[language]
    why = words.get(outcome.refusal, outcome.reason)
    return f"{words['prefix']}: {why}"
