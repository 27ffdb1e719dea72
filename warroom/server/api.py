"""The read API (`/api/*`): incidents, one incident's state, its timeline. Bearer token only.

Reply codes are what make an SMS `ACK 4821` or `APPROVE 4821` count, so they never appear in
an answer: not in events, not in notes. Nor does any secret.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from warroom.engine.events import shown
from warroom.engine.lifecycles import dormant
from warroom.engine.state import Incident
from warroom.playbook.facts import to_fill_in
from warroom.runtime.runtime import Runtime
from warroom.server.board import redactor
from warroom.server.desk import Desk
from warroom.server.intake import UNAUTHENTICATED, documented, not_configured
from warroom.server.twilio_webhooks import DeskDep
from warroom.store import IncidentRow, StoredEvent

bearer = HTTPBearer(auto_error=False, description="WARROOM_API_TOKEN")


def authorised(
    desk: DeskDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Desk:
    token = desk.settings.api_token
    if token is None:
        raise not_configured("WARROOM_API_TOKEN")
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise UNAUTHENTICATED
    return desk


ERRORS = documented(
    (401, "missing or wrong bearer token"),
    (404, "no such incident"),
    (503, "WARROOM_API_TOKEN is not set, or the database"),
)
router = APIRouter(prefix="/api", tags=["read API"], responses=ERRORS)
Authorised = Annotated[Desk, Depends(authorised)]


class IncidentSummary(BaseModel):
    id: str
    playbook: str
    title: str
    state: str
    level: str
    exercise: bool
    opened_at: datetime
    updated_at: datetime


class RoleView(BaseModel):
    role: str
    title: str
    person: str | None
    name: str | None
    acknowledged_at: datetime | None


class StepView(BaseModel):
    id: str
    title: str
    state: str
    due_at: datetime | None
    sla: str | None
    """`met`/`breached` once known; null while open or without a `due`."""


class ApprovalView(BaseModel):
    statement: str
    version: int
    role: str
    person: str | None
    approved_by: str | None


class ReleaseView(BaseModel):
    audience: str
    language: str
    version: int
    at: datetime
    correction: bool


class StatementView(BaseModel):
    id: str
    title: str
    version: int
    releases: list[ReleaseView]


class IncidentDetail(IncidentSummary):
    started_at: datetime | None
    facts: dict[str, str]
    facts_to_fill_in: list[str]
    """Facts an alert could not fill, standing in until a person sets them."""
    roles: list[RoleView]
    steps: list[StepView]
    pending_approvals: list[ApprovalView]
    statements: list[StatementView]
    messages: dict[str, int]
    """Outbox messages per state: queued, sending, sent, delivered, failed, ..."""


class TimelineEntry(BaseModel):
    n: int
    at: datetime
    kind: str
    by: str
    notes: list[str]
    event: dict[str, Any]


class Timeline(BaseModel):
    incident: str
    timeline: list[TimelineEntry]


@router.get("/incidents", summary="Every incident, oldest first")
async def incidents(desk: Authorised) -> list[IncidentSummary]:
    rows = await run_in_threadpool(desk.call, lambda runtime: runtime.store.incidents())
    return [_summary(row) for row in rows]


@router.get("/incidents/{incident_id}", summary="One incident as it stands")
async def incident(incident_id: str, desk: Authorised) -> IncidentDetail:
    def read(runtime: Runtime) -> IncidentDetail:
        row = runtime.store.incident(incident_id)
        state = runtime.incident(incident_id)
        counts: dict[str, int] = {}
        for message in runtime.store.outbox(incident_id):
            counts[message.state] = counts.get(message.state, 0) + 1
        return _detail(row, state, counts)

    return await run_in_threadpool(desk.call, read)


@router.get("/incidents/{incident_id}/timeline", summary="Every event, with what it decided")
async def timeline(incident_id: str, desk: Authorised) -> Timeline:
    def read(runtime: Runtime) -> Timeline:
        runtime.store.incident(incident_id)  # 404 before anything else
        state = runtime.incident(incident_id)
        hide = redactor(state)
        return Timeline(
            incident=incident_id,
            timeline=[_entry(stored, hide) for stored in runtime.store.events(incident_id)],
        )

    return await run_in_threadpool(desk.call, read)


def _summary(row: IncidentRow) -> IncidentSummary:
    return IncidentSummary.model_validate(row, from_attributes=True)


def _detail(row: IncidentRow, state: Incident, counts: dict[str, int]) -> IncidentDetail:
    book = state.playbook
    people = state.roster.people

    def name(person: str | None) -> str | None:
        found = people.get(person or "")
        return found.name if found else None

    started = state.started_at
    steps = []
    for step in book.steps:
        current = state.steps[step.id]
        if dormant(current):
            continue
        due = started + step.due if started and step.due else None
        steps.append(
            StepView(
                id=step.id,
                title=step.title,
                state=current.state,
                due_at=due,
                sla=current.due_outcome,
            )
        )
    pending = []
    for statement_id, statement in state.statements.items():
        draft = statement.draft
        released = {r.version for r in statement.releases}
        if draft is None or not draft.requested or draft.version in released:
            continue
        for role in book.statements[statement_id].approvers:
            pending.append(
                ApprovalView(
                    statement=statement_id,
                    version=draft.version,
                    role=role,
                    person=state.holder(role),
                    approved_by=draft.approvals.get(role),
                )
            )
    return IncidentDetail(
        **_summary(row).model_dump(),
        started_at=started,
        facts=dict(state.facts),
        facts_to_fill_in=sorted(to_fill_in(state.facts)),
        roles=[
            RoleView(
                role=role_id,
                title=book.roles[role_id].title,
                person=role.person,
                name=name(role.person),
                acknowledged_at=role.acked_at,
            )
            for role_id, role in state.roles.items()
        ],
        steps=steps,
        pending_approvals=pending,
        statements=[
            StatementView(
                id=sid,
                title=book.statements[sid].title,
                version=s.version,
                releases=[
                    ReleaseView(
                        audience=r.audience,
                        language=r.language,
                        version=r.version,
                        at=r.at,
                        correction=r.correction,
                    )
                    for r in s.releases
                ],
            )
            for sid, s in state.statements.items()
        ],
        messages=counts,
    )


def _entry(stored: StoredEvent, hide: re.Pattern[str] | None) -> TimelineEntry:
    event = {k: v for k, v in shown(stored.event).items() if k != "code"}
    notes = [hide.sub("····", n) if hide else n for n in stored.notes]
    return TimelineEntry(
        n=stored.n,
        at=stored.at,
        kind=stored.event.kind,
        by=stored.event.by,
        notes=notes,
        event=event,
    )
