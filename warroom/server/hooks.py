"""Automated triggers: `/hooks/alertmanager`, `/hooks/pagerduty` and `/hooks/generic`.

Each route authenticates on the raw bytes (a bearer token, or an HMAC over the body compared
in constant time), logs the request, reads the alerts, matches each to the first trigger of
the library that takes it, and hands the result to the runtime, which opens the incident,
attaches a repeat to the open one with the same key, or records a resolution at source.
Everything an alert says is data: a label holding `{{ 7*7 }}` stays those characters.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, SecretStr
from starlette.concurrency import run_in_threadpool

from warroom.errors import MalformedPayload, PayloadRejected, UsageError
from warroom.playbook.model import Playbook
from warroom.runtime.runtime import AlertIntake, AlertOutcome, Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.desk import Desk
from warroom.server.intake import (
    JSON,
    UNAUTHENTICATED,
    RequestRefused,
    digest,
    documented,
    not_configured,
    read_body,
    refuse,
    require_type,
)
from warroom.server.settings import rate_window
from warroom.server.twilio_webhooks import DeskDep
from warroom.store import InboundEntry
from warroom.triggers import Alert, TriggerMatch, match_alert, read_alerts

router = APIRouter(prefix="/hooks", tags=["triggers"])
CLOCK_SKEW = 300
"""A generic signature's timestamp may be this many seconds off: enough for slow clocks,
too little to replay a captured request later."""


@dataclass
class TriggerLibrary:
    """The playbooks that have triggers, read and checked when the server starts, with the
    snapshot each activation runs on (edits to the YAML apply after a restart)."""

    playbooks: dict[str, Playbook]
    snapshots: dict[str, Snapshot]
    people: frozenset[str]


@dataclass
class RateLimit:
    """At most `limit` requests per `window` seconds per route, on the process's own clock."""

    limit: int
    window: float
    seen: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        limit, window = rate_window(text)
        return cls(limit, window)

    def admit(self, route: str) -> float:
        """0 when the request may go on; otherwise the seconds until it could."""
        now = time.monotonic()
        with self.lock:
            recent = self.seen.setdefault(route, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return recent[0] + self.window - now
            recent.append(now)
            return 0.0


class AlertResult(BaseModel):
    status: str
    playbook: str | None
    key: str | None
    verdict: str
    incident: str | None
    detail: str


class Intake(BaseModel):
    verdict: str
    """`accepted` if any alert acted, else `duplicate` or `no-effect`."""
    alerts: list[AlertResult]


ERRORS = documented(
    (400, "not valid JSON"),
    (401, "missing or invalid credentials"),
    (413, "body over 1 MiB"),
    (415, "not application/json"),
    (422, "JSON of the wrong shape; `field` names where"),
    (429, "over the route's rate (server.trigger_rate)"),
    (503, "the route's secret is not set"),
)
BODY = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


def _bearer(request: Request, token: SecretStr | None, name: str) -> None:
    if token is None:
        raise not_configured(name)
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), expected):
        raise UNAUTHENTICATED


def _pagerduty(request: Request, body: bytes, secrets: tuple[SecretStr, ...]) -> None:
    """`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`: any signature by any secret (a
    rotation signs with both), every comparison in constant time."""
    if not secrets:
        raise not_configured("WARROOM_PAGERDUTY_SECRETS")
    header = request.headers.get("x-pagerduty-signature", "")
    offered = [p.strip()[3:] for p in header.split(",") if p.strip().startswith("v1=")]
    good = False
    for secret in secrets:
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        for signature in offered:
            good |= hmac.compare_digest(signature.encode(), expected.encode())
    if not good:
        raise UNAUTHENTICATED


def _generic(request: Request, body: bytes, desk: Desk, now: float) -> None:
    """`X-Warroom-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>` with
    `X-Warroom-Timestamp` (unix seconds, at most 5 minutes off); or a bearer token."""
    settings = desk.settings
    signature = request.headers.get("x-warroom-signature")
    if signature is None and request.headers.get("authorization"):
        return _bearer(request, settings.generic_token, "WARROOM_GENERIC_TOKEN")
    if settings.generic_secret is None:
        if settings.generic_token is None:
            raise not_configured("WARROOM_GENERIC_SECRET or WARROOM_GENERIC_TOKEN")
        raise UNAUTHENTICATED
    stamp = request.headers.get("x-warroom-timestamp", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > CLOCK_SKEW:
        raise UNAUTHENTICATED
    key = settings.generic_secret.get_secret_value().encode()
    expected = "sha256=" + hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest((signature or "").encode(), expected.encode()):
        raise UNAUTHENTICATED
    return None


async def _take(request: Request, desk: Desk, source: str) -> JSONResponse:
    """The one path of every trigger route."""
    body = b""
    channel = f"hook-{source}"
    try:
        limits: RateLimit | None = getattr(request.app.state, "rate_limit", None)
        wait = limits.admit(request.url.path) if limits is not None else 0.0
        if wait:
            refusal = RequestRefused(429, "too many requests", "over this route's rate")
            await _log(desk, request, channel, body, "rate-limited", refusal.detail, None)
            limited = refusal.response()
            limited.headers["Retry-After"] = str(max(1, round(wait)))
            return limited
        body = await read_body(request)
        settings = desk.settings
        if source == "alertmanager":
            _bearer(request, settings.alertmanager_token, "WARROOM_ALERTMANAGER_TOKEN")
        elif source == "pagerduty":
            _pagerduty(request, body, settings.pagerduty_secrets)
        else:
            _generic(request, body, desk, time.time())
        require_type(request, JSON)
    except RequestRefused as refusal:
        return await refuse(desk, request, channel, body, refusal)
    delivery = request.headers.get("x-webhook-id") if source == "pagerduty" else None
    library: TriggerLibrary = request.app.state.triggers

    def take(runtime: Runtime) -> Intake | RequestRefused:
        # reading and matching act on nothing: a request that ends there is logged once,
        # with its verdict; one that acts is logged first and judged with what it did
        def logged(verdict: str, outcome: str, incident: str | None = None) -> int:
            return _entry(runtime, request, channel, body, delivery, verdict, outcome, incident)

        if delivery and runtime.store.delivered_before(request.url.path, delivery):
            logged("duplicate", "the same delivery was taken before")
            return Intake(verdict="duplicate", alerts=[])
        try:
            alerts = read_alerts(source, body)
        except MalformedPayload as exc:
            logged("malformed", str(exc))
            return RequestRefused(400, "malformed", str(exc), "body")
        except PayloadRejected as exc:
            logged("malformed", str(exc))
            return RequestRefused(422, "wrong shape", str(exc), exc.field)
        matched = [(alert, _match(library, alert)) for alert in alerts]
        if not any(isinstance(found, TriggerMatch) for _, found in matched):
            quiet = [found for _, found in matched if isinstance(found, AlertResult)]
            logged("no-effect", _summary(quiet))
            return Intake(verdict="no-effect", alerts=quiet)
        entry = logged("received", "")
        results = [_act(runtime, library, found) for _, found in matched]
        verdict = next(
            (v for v in ("accepted", "duplicate") if any(r.verdict == v for r in results)),
            "no-effect",
        )
        touched = next((r.incident for r in results if r.incident), None)
        with runtime.store.transaction():
            runtime.store.judge_inbound(entry, verdict, _summary(results), touched)
        return Intake(verdict=verdict, alerts=results)

    answer: Intake | RequestRefused = await run_in_threadpool(desk.call, take)
    if isinstance(answer, RequestRefused):
        return answer.response()
    if answer.verdict == "accepted":
        desk.nudge()
    return JSONResponse(answer.model_dump(), status_code=202)


def _match(library: TriggerLibrary, alert: Alert) -> TriggerMatch | AlertResult:
    """The trigger that takes `alert`, or why none will act on it."""
    found = match_alert(library.playbooks.values(), alert, people=library.people)
    if found is None:
        return AlertResult(
            status=alert.status,
            playbook=None,
            key=None,
            verdict="no-effect",
            incident=None,
            detail="matches no trigger",
        )
    if found.unset_required and not found.resolved:
        missing = ", ".join(found.unset_required)
        return AlertResult(
            status=alert.status,
            playbook=found.playbook,
            key=str(found.key),
            verdict="no-effect",
            incident=None,
            detail=f"cannot activate: required facts not in the alert: {missing}",
        )
    return found


def _act(
    runtime: Runtime, library: TriggerLibrary, found: TriggerMatch | AlertResult
) -> AlertResult:
    if isinstance(found, AlertResult):
        return found
    try:
        outcome = runtime.take_alert(library.snapshots[found.playbook], intake(found))
    except UsageError as exc:  # the engine refused the activation (e.g. a bad fact)
        outcome = AlertOutcome("no-effect", None, f"refused: {exc}")
    return AlertResult(
        status=found.alert.status,
        playbook=found.playbook,
        key=str(found.key),
        verdict=outcome.verdict,
        incident=outcome.incident,
        detail=outcome.detail,
    )


def _summary(results: list[AlertResult]) -> str:
    return "; ".join(f"{r.verdict}: {r.detail}" for r in results) or "no alerts"


def intake(found: TriggerMatch) -> AlertIntake:
    alert = found.alert
    name = (
        alert.variables.get("labels", {}).get("alertname")
        if alert.source == "alertmanager"
        else None
    )
    summary = f"{alert.source}" + (f" {name}" if isinstance(name, str) else "")
    if alert.fingerprint:
        summary += f", fingerprint {alert.fingerprint}"
    return AlertIntake(
        source=alert.source,
        key=str(found.key),
        level=found.level,
        facts=dict(found.facts),
        cooldown=found.cooldown,
        resolved=found.resolved,
        fingerprint=found.fingerprint,
        flagged=tuple(str(f) for f in found.flagged),
        summary=summary,
    )


def _entry(
    runtime: Runtime,
    request: Request,
    channel: str,
    body: bytes,
    delivery: str | None,
    verdict: str,
    outcome: str,
    incident: str | None = None,
) -> int:
    return runtime.store.log_inbound(
        InboundEntry(
            at=runtime.clock.now(),
            route=request.url.path,
            channel=channel,
            sender=request.headers.get("user-agent", "")[:100],
            body=body.decode("utf-8", "replace"),
            verdict=verdict,
            outcome=outcome,
            incident=incident,
            delivery_id=delivery,
            body_hash=digest(body),
        )
    )


async def _log(
    desk: Desk,
    request: Request,
    channel: str,
    body: bytes,
    verdict: str,
    outcome: str,
    delivery: str | None,
) -> None:
    entry = InboundEntry(
        at=desk.runtime.clock.now(),
        route=request.url.path,
        channel=channel,
        sender="",
        body="",
        verdict=verdict,
        outcome=outcome,
        delivery_id=delivery,
        body_hash=digest(body),
    )
    await run_in_threadpool(desk.call, lambda runtime: runtime.store.log_inbound(entry))


def _route(source: str, summary: str) -> Any:
    async def route(request: Request, desk: DeskDep) -> JSONResponse:
        return await _take(request, desk, source)

    route.__name__ = f"hook_{source}"
    route.__doc__ = summary
    return router.post(
        f"/{source}",
        summary=summary,
        status_code=202,
        response_model=Intake,
        responses=ERRORS,
        openapi_extra=BODY,
    )(route)


_route("alertmanager", "Alertmanager webhook (payload version 4), bearer token")
_route("pagerduty", "PagerDuty v3 webhook, X-PagerDuty-Signature")
_route("generic", "Any JSON, X-Warroom-Signature over timestamp.body, or a bearer token")
