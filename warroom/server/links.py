"""`/act/<token>`: the signed links in e-mailed pages and approval requests.

GET shows what the link would do (for an approval, the exact text to be approved) and a
button; only POST acts, because mail scanners and link previews follow every link in an
e-mail. A link acts once: a second POST of a used token is a `duplicate` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from warroom.errors import NotFound
from warroom.runtime.links import LinkClaim, LinkRefused
from warroom.runtime.runtime import LinkRequest, ReplyOutcome, Runtime
from warroom.server.desk import Desk
from warroom.server.intake import digest
from warroom.server.twilio_webhooks import DeskDep
from warroom.store import InboundEntry

router = APIRouter(tags=["links"])
pages = Environment(
    loader=PackageLoader("warroom.server", "templates"), autoescape=select_autoescape()
)
ROUTE = "/act/"
"""One route in the inbound log for every link: the token itself is never kept."""
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The token is the authority: keep it out of caches and other sites' logs."""
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": why, "content": {"text/html": {}}}
    for code, why in (
        (200, "what the link does, or what it did"),
        (403, "the link was altered or is not a warroom link"),
        (404, "the link matches no request"),
        (409, "already used, or no longer open"),
        (410, "expired"),
        (503, "WARROOM_SECRET or WARROOM_PUBLIC_URL is not set"),
    )
}


def page(status: int, heading: str, **values: Any) -> HTMLResponse:
    html = pages.get_template("act.html").render(heading=heading, **values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _verify(desk: Desk, token: str) -> LinkClaim | HTMLResponse:
    links = desk.runtime.links
    if links is None:
        return page(503, "Links are not configured", message="This server cannot check links.")
    try:
        return links.verify(token, desk.runtime.clock.now())
    except LinkRefused as exc:
        status = 410 if "expired" in str(exc) else 403
        return page(status, "This link cannot be used", message=str(exc))


def _log(runtime: Runtime, request: Request, claim: LinkClaim | None, verdict: str) -> int:
    entry = InboundEntry(
        at=runtime.clock.now(),
        route=ROUTE,
        channel="link",
        sender="",
        body="",
        verdict=verdict,
        outcome=f"{request.method} {claim.action}" if claim else request.method,
        incident=claim.incident if claim else None,
        delivery_id=claim.fingerprint if claim and request.method == "POST" else None,
        body_hash=digest(request.url.path.encode()),
    )
    return runtime.store.log_inbound(entry)


def _checked(
    desk: Desk, runtime: Runtime, request: Request, token: str, verdict: str
) -> tuple[LinkClaim, int] | HTMLResponse:
    """The token's claim and its inbound log line, or the page refusing it (logged too)."""
    claim = _verify(desk, token)
    if isinstance(claim, HTMLResponse):
        _log(runtime, request, None, "unauthenticated")
        return claim
    return claim, _log(runtime, request, claim, verdict)


@router.get(
    "/act/{token}",
    summary="What a signed link would do",
    response_class=HTMLResponse,
    responses=RESPONSES,
)
async def show(token: str, request: Request, desk: DeskDep) -> HTMLResponse:
    def look(runtime: Runtime) -> HTMLResponse:
        claim = _checked(desk, runtime, request, token, "no-effect")  # looking acts on nothing
        if isinstance(claim, HTMLResponse):
            return claim
        try:
            found: LinkRequest = runtime.link(claim[0])
        except NotFound as exc:
            return page(404, "This link matches nothing", message=str(exc))
        verb = "Approve" if found.verb == "approve" else "Acknowledge"
        return page(200, f"{verb}: {found.subject}", request=found)

    return await run_in_threadpool(desk.call, look)


@router.post(
    "/act/{token}",
    summary="Act on a signed link",
    response_class=HTMLResponse,
    responses=RESPONSES,
)
async def act(token: str, request: Request, desk: DeskDep) -> HTMLResponse:
    def follow(runtime: Runtime) -> HTMLResponse:
        checked = _checked(desk, runtime, request, token, "received")
        if isinstance(checked, HTMLResponse):
            return checked
        claim, entry = checked
        if runtime.store.delivered_before(ROUTE, claim.fingerprint, entry):
            with runtime.store.transaction():
                runtime.store.judge_inbound(entry, "duplicate", "link already used")
            return page(409, "This link was already used", message="Nothing more was done.")
        outcome: ReplyOutcome = runtime.follow_link(claim, inbound=entry)
        if not outcome.accepted:
            return page(409, "Nothing was done", message=outcome.reason)
        desk.nudge()
        return page(200, "Done", message=outcome.summary.capitalize(), done=True)

    return await run_in_threadpool(desk.call, follow)
