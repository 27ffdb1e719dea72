"""The war-room page: `/incidents` and `/incidents/{id}`, server-rendered, live over
server-sent events (`/incidents/{id}/events`), for the room and the executives on the phone.

Read-only, and careful about who sees what: a shared view link (signed, expiring, revocable,
one incident) shows the board; the API token (a login form sets it as a cookie, or a
`Bearer` header) shows a named person's contact details too. No script or style loads from
anywhere but this server, because the war room may be on a locked-down network.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from warroom.errors import NotFound
from warroom.runtime.links import LinkRefused
from warroom.runtime.runtime import Runtime
from warroom.server.board import WORDS, build, language
from warroom.server.desk import Desk
from warroom.server.intake import parse_form, read_body
from warroom.server.twilio_webhooks import DeskDep

router = APIRouter(include_in_schema=False)
pages = Environment(
    loader=PackageLoader("warroom.server", "templates"), autoescape=select_autoescape()
)
COOKIE = "warroom_token"
POLL = 0.25
"""How often a live stream looks for new events: a quarter second behind the log at most."""
KEEPALIVE = 15.0
STREAM_LIFETIME = 300.0
"""A stream ends after five minutes and the browser reconnects: no proxy or shutdown ever
waits on a stream that never ends."""
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Viewer:
    privileged: bool
    """Holds the API token: may see a named person's phone and e-mail."""
    view: str = ""
    """The view token this viewer came with, carried on to the live stream."""


def _api_token_matches(desk: Desk, given: str) -> bool:
    token = desk.settings.api_token
    return (
        token is not None
        and bool(given)
        and hmac.compare_digest(given.encode(), token.get_secret_value().encode())
    )


def _viewer(request: Request, desk: Desk, runtime: Runtime, incident: str | None) -> Viewer:
    """Who is looking, or `LinkRefused` saying why they may not."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _api_token_matches(desk, bearer.strip()):
        return Viewer(privileged=True)
    if _api_token_matches(desk, request.cookies.get(COOKIE, "")):
        return Viewer(privileged=True)
    token = request.query_params.get("view", "")
    links = runtime.links
    if not token or incident is None:
        raise LinkRefused("")
    if links is None:
        raise LinkRefused("view links are not configured on this server")
    link = runtime.store.view_link(links.view_link_id(token))
    if link is None:
        raise LinkRefused("this link is not valid: it was altered or cut short")
    links.check_view(token, link, incident, runtime.clock.now())
    return Viewer(privileged=False, view=token)


def _page(status: int, lang: str, heading: str, **values: Any) -> HTMLResponse:
    shown: dict[str, Any] = {"board": None, "incidents": None, **values}
    html = pages.get_template("page.html").render(
        lang=lang, heading=heading, words=WORDS[lang], **shown
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _refusal(request: Request, lang: str, exc: LinkRefused) -> HTMLResponse:
    if not str(exc):
        return _page(
            401,
            lang,
            "Sign in to the war-room page",
            login=True,
            next=request.url.path,
            root=request.scope.get("root_path", ""),
        )
    return _page(
        403,
        lang,
        "Link expired" if "expired" in str(exc) else "Link refused",
        message=str(exc),
        root=request.scope.get("root_path", ""),
    )


def board_html(runtime: Runtime, incident: str, lang: str, privileged: bool) -> tuple[str, int]:
    """The board fragment and the log position it shows (the live stream's event id)."""
    state = runtime.incident(incident)
    events = runtime.store.events(incident)
    board = build(
        state,
        runtime.store.outbox(incident),
        events,
        runtime.clock.now(),
        WORDS[lang],
        privileged=privileged,
    )
    html = pages.get_template("board.html").render(board=board, words=WORDS[lang])
    return html, board.last_n


@router.get("/incidents", response_class=HTMLResponse)
async def incidents(request: Request, desk: DeskDep) -> HTMLResponse:
    lang = language(request.headers.get("accept-language"))
    root = request.scope.get("root_path", "")

    def look(runtime: Runtime) -> HTMLResponse:
        try:
            viewer = _viewer(request, desk, runtime, None)
        except LinkRefused as exc:
            return _refusal(request, lang, exc)
        assert viewer.privileged
        rows = runtime.store.incidents(open_only=True)
        return _page(200, lang, "Open incidents", incidents=rows, root=root)

    return await run_in_threadpool(desk.call, look)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(incident_id: str, request: Request, desk: DeskDep) -> HTMLResponse:
    lang = language(request.headers.get("accept-language"))
    root = request.scope.get("root_path", "")

    def look(runtime: Runtime) -> HTMLResponse:
        try:
            viewer = _viewer(request, desk, runtime, incident_id)
            html, _ = board_html(runtime, incident_id, lang, viewer.privileged)
        except LinkRefused as exc:
            return _refusal(request, lang, exc)
        except NotFound:
            return _page(404, lang, "No such incident", message=incident_id, root=root)
        events = f"{root}/incidents/{quote(incident_id)}/events"
        if viewer.view:
            events += f"?view={quote(viewer.view)}"
        state = runtime.incident(incident_id)
        document = pages.get_template("page.html").render(
            lang=lang,
            heading=state.playbook.title,
            words=WORDS[lang],
            board=_Shown(state.exercise),
            board_html=html,
            events=events,
            root=root,
            incidents=None,
        )
        return HTMLResponse(document, headers=HEADERS)

    return await run_in_threadpool(desk.call, look)


@dataclass(frozen=True)
class _Shown:
    """What the page's frame needs of the board (the fragment itself is pre-rendered)."""

    exercise: bool


@router.get("/incidents/{incident_id}/events")
async def incident_events(incident_id: str, request: Request, desk: DeskDep) -> Response:
    """Server-sent events: `board` events carrying the board fragment, `id:` the log position,
    so that a reconnect with `Last-Event-ID` gets only what it missed."""
    lang = language(request.headers.get("accept-language"))

    def check(runtime: Runtime) -> Viewer | None:
        try:
            viewer = _viewer(request, desk, runtime, incident_id)
            runtime.store.incident(incident_id)
        except (LinkRefused, NotFound):
            return None
        return viewer

    viewer = await run_in_threadpool(desk.call, check)
    if viewer is None:
        return Response(
            "not authorised for this incident\n",
            status_code=401,
            media_type="text/plain",
            headers=HEADERS,
        )
    given = request.headers.get("last-event-id", "")
    seen = int(given) if given.isdigit() else -1

    def fresh(runtime: Runtime, latest: int) -> tuple[str, int]:
        key = (incident_id, latest, lang, viewer.privileged)
        return desk.rendered(key, lambda: board_html(runtime, incident_id, lang, viewer.privileged))

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        began = last_sent = time.monotonic()
        yield "retry: 2000\n\n"
        while not desk.closing.is_set() and time.monotonic() - began < STREAM_LIFETIME:
            latest = await run_in_threadpool(
                desk.call, lambda runtime: runtime.store.last_n(incident_id)
            )
            if latest != seen:
                html, shown = await run_in_threadpool(desk.call, partial(fresh, latest=latest))
                seen = shown
                last_sent = time.monotonic()
                data = "".join(f"data: {line}\n" for line in html.split("\n"))
                yield f"id: {shown}\nevent: board\n{data}\n"
            elif time.monotonic() - last_sent >= KEEPALIVE:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={**HEADERS, "X-Accel-Buffering": "no"},
    )


@router.post("/login")
async def login(request: Request, desk: DeskDep) -> Response:
    """The API token, typed once, kept as a cookie for this server only."""
    form = parse_form(await read_body(request))
    target = form.get("next", "/incidents")
    if not target.startswith("/") or target.startswith("//"):
        target = "/incidents"  # never redirect off this server
    if not _api_token_matches(desk, form.get("token", "")):
        lang = language(request.headers.get("accept-language"))
        return _page(
            401,
            lang,
            "Sign in to the war-room page",
            login=True,
            next=target,
            message="that is not this server's API token",
            root=request.scope.get("root_path", ""),
        )
    answer = RedirectResponse(target, status_code=303)
    secure = (desk.settings.public_url or "").startswith("https://")
    answer.set_cookie(
        COOKIE, form["token"], max_age=12 * 3600, httponly=True, samesite="strict", secure=secure
    )
    return answer
