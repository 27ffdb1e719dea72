"""Contract fuzzing: schemathesis drives `warroom serve` (uvicorn on loopback) from its own
`/openapi.json`. No request it can make gets a 5xx, and every answer matches the schema."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from support.serving import API_TOKEN, serving

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_request_breaks_the_contract(tmp_path: Path) -> None:
    """Every operation, fuzzed; derandomised so that a failure reproduces on the next run."""
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        schema = schemathesis.openapi.from_url(served.base + "/openapi.json")
        operations = [
            result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)
        ]
        assert len(operations) == 12
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=30,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: Case[APIOperation[Any, Any, Any, Any]]) -> None:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {API_TOKEN}"}, checks=CHECKS
                )

            fuzz()


def test_the_schema_names_every_public_route(tmp_path: Path) -> None:
    import httpx

    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        paths = set(httpx.get(served.base + "/openapi.json", timeout=10).json()["paths"])
    assert paths == {
        "/hooks/alertmanager",
        "/hooks/pagerduty",
        "/hooks/generic",
        "/twilio/status",
        "/twilio/sms",
        "/act/{token}",
        "/api/incidents",
        "/api/incidents/{incident_id}",
        "/api/incidents/{incident_id}/timeline",
        "/healthz",
        "/readyz",
    }
