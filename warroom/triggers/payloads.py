"""Webhook bodies -> alerts: Alertmanager (webhook payload version 4), PagerDuty v3, generic.

The HTTP routes and `warroom triggers test` both start here. The shape is checked with
pydantic, and a body of the wrong shape is refused with the field that is wrong and what was
expected, because the person reading the 422 is wiring a sender at 3 a.m. and cannot see our
code. Fields a sender adds in a later version are ignored, not refused: Alertmanager and
PagerDuty add fields without bumping their versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from warroom.errors import MalformedPayload, PayloadRejected
from warroom.triggers.alerts import SOURCES, Alert, Source

Labels = dict[str, str]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, strict=True)


class AlertmanagerAlert(_Body):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = {}
    starts_at: str = Field("", alias="startsAt")
    ends_at: str = Field("", alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = ""


class AlertmanagerGroup(_Body):
    """What Alertmanager's webhook_config POSTs: one notification for one group of alerts."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: Labels = Field({}, alias="groupLabels")
    common_labels: Labels = Field({}, alias="commonLabels")
    common_annotations: Labels = Field({}, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    alerts: Annotated[list[AlertmanagerAlert], Field(min_length=1)]


class PagerDutyEvent(_Body):
    id: str
    event_type: str
    resource_type: str
    occurred_at: str
    agent: dict[str, Any] | None = None
    client: dict[str, Any] | None = None
    data: dict[str, Any]


class PagerDutyWebhook(_Body):
    """A v3 webhook: exactly one event per delivery."""

    event: PagerDutyEvent


M = TypeVar("M", bound=BaseModel)


def read_alerts(source: str, body: bytes | str) -> list[Alert]:
    """The alerts in a raw webhook body, in the order the sender listed them.

    Raises `MalformedPayload` when the body is not JSON (400), `PayloadRejected` when it is
    JSON of the wrong shape for `source` (422), both naming what is wrong.
    """
    return alerts_from(source, decode_json(body))


def decode_json(body: bytes | str) -> Any:
    """JSON text -> data; the error names line and column, as an editor would show them."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except UnicodeDecodeError:
        raise MalformedPayload("not valid JSON: the body is not UTF-8 text") from None
    except RecursionError:
        raise MalformedPayload("not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise MalformedPayload(f"not valid JSON: {exc}") from None


def alerts_from(source: str, data: Any) -> list[Alert]:
    """The alerts in an already decoded body; raises `PayloadRejected` for a wrong shape."""
    parse = _PARSERS.get(source)
    if parse is None:
        raise PayloadRejected(
            f"unknown trigger source {source!r} (expected one of: {', '.join(SOURCES)})"
        )
    if not isinstance(data, dict):
        raise PayloadRejected(
            f"{source} payload: expected a JSON object at the top, got {_kind(data)}"
        )
    return parse(data)


def _alertmanager(data: dict[str, Any]) -> list[Alert]:
    group = _validated(AlertmanagerGroup, data, "alertmanager")
    group_context = {
        "groupLabels": group.group_labels,
        "commonLabels": group.common_labels,
        "commonAnnotations": group.common_annotations,
        "externalURL": group.external_url,
        "receiver": group.receiver,
    }
    return [
        Alert(
            source="alertmanager",
            status=alert.status,
            variables={
                "labels": alert.labels,
                "annotations": alert.annotations,
                "status": alert.status,
                "startsAt": alert.starts_at,
                "fingerprint": alert.fingerprint,
                "generatorURL": alert.generator_url,
                **group_context,
            },
            matched=(alert.labels, group.common_labels),
            fingerprint=alert.fingerprint or None,
            group_key=group.group_key,
            receiver=group.receiver,
        )
        for alert in group.alerts
    ]


def _pagerduty(data: dict[str, Any]) -> list[Alert]:
    webhook = _validated(PagerDutyWebhook, data, "pagerduty")
    event = data["event"]  # as sent, every field: templates may read what the model skips
    incident = event["data"] if webhook.event.data.get("type") == "incident" else None
    if incident is None and isinstance(webhook.event.data.get("incident"), dict):
        incident = webhook.event.data["incident"]  # notes, status updates, responders
    incident_id = incident.get("id") if incident is not None else None
    return [
        Alert(
            source="pagerduty",
            status="resolved" if webhook.event.event_type == "incident.resolved" else "firing",
            variables={"event": event},
            matched=(event,),
            event_type=webhook.event.event_type,
            incident_ref=incident_id if isinstance(incident_id, str) else None,
        )
    ]


def _generic(data: dict[str, Any]) -> list[Alert]:
    return [
        Alert(
            source="generic",
            status="resolved" if data.get("status") == "resolved" else "firing",
            variables=data,
            matched=(data,),
        )
    ]


_PARSERS: dict[str, Callable[[dict[str, Any]], list[Alert]]] = {
    "alertmanager": _alertmanager,
    "pagerduty": _pagerduty,
    "generic": _generic,
}


def _validated(model: type[M], data: dict[str, Any], source: Source) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        missing: dict[str, list[str]] = {}
        for e in errors:
            if e["type"] == "missing":
                missing.setdefault(_path(e["loc"][:-1]), []).append(repr(e["loc"][-1]))
        problems = [_problem(e) for e in errors if e["type"] != "missing"]
        problems += [
            f"{where + ': ' if where else ''}missing required "
            f"{'field' if len(names) == 1 else 'fields'} {', '.join(names)}"
            for where, names in missing.items()
        ]
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        first = errors[0]["loc"] if errors else ()
        raise PayloadRejected(f"{source} payload: {shown}{more}", _path(first) or None) from None


# -- pydantic's errors in a sender's words ---------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "dict_type": "an object",
    "model_type": "an object",
    "list_type": "a list",
}
_KIND = {str: "text", bool: "true/false", int: "a number", float: "a number", list: "a list"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return _KIND.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        return _kind(value)
    return f"{_kind(value)} {_short(repr(value))}"


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _problem(error: Any) -> str:
    loc: tuple[int | str, ...] = error["loc"]
    kind: str = error["type"]
    value = error.get("input")
    where = _path(loc) or "body"
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        return f"{where}: {_short(repr(value))} is not allowed (expected {expected})"
    if kind == "too_short":
        return f"{where}: expected at least one item, got none"
    if kind in _EXPECTED:
        return f"{where}: expected {_EXPECTED[kind]}, got {_shown(value)}"
    return f"{where}: {error['msg']} (got {_shown(value)})"
