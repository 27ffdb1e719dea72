"""What every inbound request goes through before anyone believes it: a size limit, a content
type, one line in the inbound log, and errors that say which field was wrong.

A refused request writes that one line and nothing else. An unauthenticated request is
logged without its body (only its hash): a forger's payload is not worth keeping, and may
be large or hostile.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from warroom.errors import UsageError
from warroom.server.desk import Desk
from warroom.store import InboundEntry

MAX_BODY = 1 << 20
"""1 MiB: far above any real webhook (Twilio's largest is a few KiB), far below harm."""
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Problem(BaseModel):
    """Every error answer: what went wrong, and the HTTP field or value at fault."""

    error: str
    detail: str
    field: str | None = None


class RequestRefused(UsageError):
    """A request refused before it could act: its HTTP status, a short error and why."""

    def __init__(self, status: int, error: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field

    def response(self) -> JSONResponse:
        body = Problem(error=self.error, detail=self.detail, field=self.field)
        return JSONResponse(body.model_dump(), status_code=self.status)


def documented(*answers: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error answers, each a `Problem`: (status, when)."""
    return {status: {"model": Problem, "description": why} for status, why in answers}


UNAUTHENTICATED = RequestRefused(
    401, "unauthenticated", "missing or invalid credentials for this route"
)
"""One answer for every authentication failure: no hint which part was wrong."""


def not_configured(what: str) -> RequestRefused:
    return RequestRefused(503, "not configured", f"this route needs {what}, which is not set")


async def read_body(request: Request) -> bytes:
    """The raw body, or 413 past `MAX_BODY` without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestRefused(413, "too large", f"the body is over {MAX_BODY} bytes", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestRefused(413, "too large", f"the body is over {MAX_BODY} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_type(request: Request, *allowed: str) -> str:
    kind = media_type(request)
    if kind not in allowed:
        raise RequestRefused(
            415,
            "unsupported media type",
            f"Content-Type {kind or 'missing'!r}; expected {' or '.join(allowed)}",
            "Content-Type",
        )
    return kind


def parse_form(body: bytes) -> ImmutableMultiDict[str, str]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise RequestRefused(
            400, "malformed", "the body is not URL-encoded form data in UTF-8", "body"
        ) from None
    return ImmutableMultiDict(pairs)


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def log_request(
    desk: Desk,
    request: Request,
    channel: str,
    body: bytes,
    *,
    verdict: str,
    outcome: str = "",
    sender: str = "",
    delivery_id: str | None = None,
    keep_body: bool = True,
) -> int:
    """One line in the inbound log, written before the request acts."""
    entry = InboundEntry(
        at=desk.runtime.clock.now(),
        route=request.url.path,
        channel=channel,
        sender=sender,
        body=body.decode("utf-8", "replace") if keep_body else "",
        verdict=verdict,
        outcome=outcome,
        delivery_id=delivery_id,
        body_hash=digest(body),
    )
    return await run_in_threadpool(desk.call, lambda runtime: runtime.store.log_inbound(entry))


async def refuse(
    desk: Desk, request: Request, channel: str, body: bytes, refusal: RequestRefused
) -> JSONResponse:
    """Log a refused request (without its body) and answer with the refusal."""
    verdict = "unauthenticated" if refusal.status in (401, 503) else "malformed"
    await log_request(
        desk, request, channel, body, verdict=verdict, outcome=refusal.detail, keep_body=False
    )
    return refusal.response()
