"""The ASGI application: the routers, the error answers, and the health checks.

`create_app(desk)` builds it around a `Desk` (the runtime and settings); `warroom serve`
runs it under uvicorn, and the end-to-end tests run it the same way on a loopback port.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from warroom import __version__
from warroom.errors import NotFound, StoreError, UsageError
from warroom.server import api, hooks, links, page, twilio_webhooks
from warroom.server.desk import Desk
from warroom.server.intake import Problem, RequestRefused

WORKER_STALE = timedelta(seconds=30)
"""A worker whose last pass is older than this is stuck: pages and timers are not going out."""


class Health(BaseModel):
    status: str
    database: str
    worker: str
    """`in process`, `--no-worker`, or why it is not ready."""
    last_pass: str | None = None
    freshest_heartbeat: str | None = None
    channels_failing: dict[str, str] = {}
    """Channels that cannot send now, and why: the node is up, these messages wait."""


def create_app(desk: Desk) -> FastAPI:
    app = FastAPI(
        title="warroom",
        version=__version__,
        summary="Crisis communication playbooks: webhooks, signed links and a read API.",
    )
    app.state.desk = desk
    app.include_router(hooks.router)
    app.include_router(twilio_webhooks.router)
    app.include_router(links.router)
    app.include_router(api.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(packages=[("warroom.server", "static")]), name="static")

    @app.exception_handler(RequestRefused)
    async def refused(request: Request, exc: RequestRefused) -> JSONResponse:
        return exc.response()

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        body = Problem(error="not found", detail=str(exc))
        return JSONResponse(body.model_dump(), status_code=404)

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> JSONResponse:
        body = Problem(error="database unavailable", detail=str(exc))
        return JSONResponse(body.model_dump(), status_code=503)

    @app.exception_handler(UsageError)
    async def refused_command(request: Request, exc: UsageError) -> JSONResponse:
        body = Problem(error="refused", detail=str(exc))
        return JSONResponse(body.model_dump(), status_code=409)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Ready to take requests and send",
        responses={503: {"model": Health, "description": "not ready, and why"}},
    )
    async def readyz() -> JSONResponse:
        health = await run_in_threadpool(desk.call, lambda runtime: _readiness(desk))
        return JSONResponse(
            health.model_dump(), status_code=200 if health.status == "ready" else 503
        )

    return app


def _readiness(desk: Desk) -> Health:
    runtime = desk.runtime
    try:
        runtime.store.ping()
        beat = runtime.store.last_heartbeat()
    except StoreError as exc:
        return Health(status="not ready", database=str(exc), worker="unknown")
    freshest = f"{beat[0]} at {beat[1].isoformat()}" if beat else None
    pulse = desk.pulse
    if pulse is None:
        return Health(
            status="ready", database="ok", worker="--no-worker", freshest_heartbeat=freshest
        )
    now = runtime.clock.now()
    if pulse.error:
        worker, ready = f"stopped: {pulse.error}", False
    elif pulse.last_pass is None:
        worker, ready = "starting", False
    elif now - pulse.last_pass > WORKER_STALE:
        worker, ready = f"no pass since {pulse.last_pass.isoformat()}", False
    else:
        worker, ready = "in process", True
    return Health(
        status="ready" if ready else "not ready",
        database="ok",
        worker=worker,
        last_pass=pulse.last_pass.isoformat() if pulse.last_pass else None,
        freshest_heartbeat=freshest,
        channels_failing=dict(pulse.trouble),
    )
