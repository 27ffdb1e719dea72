"""Automated triggers without the server: payloads, matching, facts, keys, and the dry run.

What a user wiring Alertmanager or PagerDuty notices: which playbook an alert starts, what
the crisis team reads in the facts, which alerts count as one, and what a wrong payload says.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warroom.cli import app, parse_facts
from warroom.errors import InvalidInput, MalformedPayload, PayloadError, PayloadRejected
from warroom.library import Library, load_library
from warroom.playbook.compile import compile_playbook
from warroom.playbook.model import Playbook
from warroom.triggers import TriggerMatch, alerts_from, match_alert, read_alerts
from warroom.yamlsource import parse_yaml

REPO = Path(__file__).parent.parent
LIBRARY = REPO / "playbooks"
EXAMPLES = REPO / "docs" / "examples"

HEAD = """\
playbook: {id}
title: Test {id}
languages: [en]
levels: [{{id: watch, title: Watch}}, {{id: incident, title: Incident}}]
default_level: incident
facts:
  summary: {{required: true, max_length: 60}}
  service: {{max_length: 20}}
  region: {{default: EU, max_length: 10}}
  owner: {{kind: person}}
  count: {{kind: number}}
roles:
  lead: {{title: Lead, candidates: [tag:lead]}}
audiences:
  team: {{roles: [lead]}}
steps:
  - id: assemble
    page: team
triggers:
"""


def playbook(triggers: str, playbook_id: str = "outage") -> Playbook:
    """A small valid playbook with the given `triggers:` block (YAML, indented by 2)."""
    text = HEAD.format(id=playbook_id) + triggers
    book, _ = compile_playbook(parse_yaml(text, f"{playbook_id}.yaml"))
    return book


def problems(triggers: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        playbook(triggers)
    return [str(d) for d in caught.value.errors]


def am_alert(labels: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {
        "status": fields.pop("status", "firing"),
        "labels": labels,
        "annotations": fields.pop("annotations", {}),
        "startsAt": "2026-11-23T08:55:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fields.pop("fingerprint", "f" * 16),
    }


def am_group(*alerts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    common = fields.pop("commonLabels", {})
    return {
        "version": "4",
        "groupKey": fields.pop("groupKey", '{}:{alertname="ServiceDown"}'),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": fields.pop("receiver", "warroom"),
        "groupLabels": {"alertname": "ServiceDown"},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def only(book: Playbook | list[Playbook], source: str, body: dict[str, Any]) -> TriggerMatch:
    books = book if isinstance(book, list) else [book]
    (alert,) = alerts_from(source, body)
    found = match_alert(books, alert)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library([LIBRARY], LIBRARY / "roster.yaml")


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


# -- payloads ---------------------------------------------------------------------------------


def test_alertmanager_payload_without_alerts_names_the_field() -> None:
    body = am_group()
    del body["alerts"]
    with pytest.raises(PayloadRejected) as caught:
        alerts_from("alertmanager", body)
    assert str(caught.value) == "alertmanager payload: missing required field 'alerts'"


def test_alertmanager_payload_version_3_is_refused_naming_the_version() -> None:
    body = am_group(am_alert({"alertname": "ServiceDown"}))
    body["version"] = "3"
    with pytest.raises(PayloadRejected) as caught:
        alerts_from("alertmanager", body)
    assert str(caught.value) == "alertmanager payload: version: '3' is not allowed (expected '4')"


def test_wrong_types_deep_in_a_payload_name_their_place() -> None:
    body = am_group(am_alert({"alertname": "ServiceDown", "replicas": 3}))  # type: ignore[dict-item]
    body["alerts"][0]["status"] = "pending"
    with pytest.raises(PayloadRejected) as caught:
        alerts_from("alertmanager", body)
    assert str(caught.value) == (
        "alertmanager payload: alerts[0].status: 'pending' is not allowed "
        "(expected 'firing' or 'resolved'); alerts[0].labels.replicas: expected text, got a "
        "number 3"
    )


def test_pagerduty_event_without_data_and_a_top_level_list_are_refused() -> None:
    body = example("pagerduty")
    del body["event"]["data"]
    with pytest.raises(PayloadRejected, match=r"^pagerduty payload: event: missing required "):
        alerts_from("pagerduty", body)
    with pytest.raises(PayloadRejected) as caught:
        read_alerts("generic", b"[1, 2]")
    assert str(caught.value) == "generic payload: expected a JSON object at the top, got a list"


def test_malformed_json_is_told_apart_from_a_wrong_shape() -> None:
    with pytest.raises(MalformedPayload) as caught:
        read_alerts("alertmanager", b'{"version": "4",\n  "alerts": [}')
    assert str(caught.value) == "not valid JSON: Expecting value at line 2, column 14"
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        read_alerts("generic", b'{"a": "\xff"}')


def test_each_alert_of_a_group_is_its_own_alert() -> None:
    body = am_group(
        am_alert({"alertname": "ServiceDown", "service": "shop"}, fingerprint="1" * 16),
        am_alert({"alertname": "ServiceDown"}, status="resolved", fingerprint="2" * 16),
        commonLabels={"alertname": "ServiceDown", "severity": "critical"},
    )
    first, second = alerts_from("alertmanager", body)
    assert (first.status, first.fingerprint, first.group_key) == (
        "firing",
        "1" * 16,
        '{}:{alertname="ServiceDown"}',
    )
    assert second.resolved
    # match reads the alert's labels first, then the group's commonLabels
    assert first.value("service") == "shop"
    assert first.value("severity") == "critical"


def test_pagerduty_resolution_is_resolved_at_source() -> None:
    body = example("pagerduty")
    body["event"]["event_type"] = "incident.resolved"
    (alert,) = alerts_from("pagerduty", body)
    assert alert.resolved
    assert alert.incident_ref == "Q2KX7RPL0QJ4NZ"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
NEAR_ALERTMANAGER = st.fixed_dictionaries(
    {
        "version": st.sampled_from(["4", "3", 4]),
        "groupKey": st.text(),
        "status": st.sampled_from(["firing", "resolved", "pending"]),
        "receiver": st.text(),
        "alerts": st.lists(
            st.fixed_dictionaries(
                {
                    "status": st.sampled_from(["firing", "resolved"]),
                    "labels": st.dictionaries(
                        st.sampled_from(["alertname", "severity", "service", "cluster"]),
                        st.sampled_from(["CustomerFacingServiceDown", "critical", "{{ 7*7 }}"])
                        | st.text(),
                    ),
                    "annotations": st.dictionaries(st.text(max_size=5), st.text() | JSON),
                }
            ),
            max_size=3,
        ),
    },
    optional={"commonLabels": st.dictionaries(st.text(max_size=5), JSON)},
)


NEAR_GENERIC = st.fixed_dictionaries(
    {
        "system": st.sampled_from(["social-listening", "quality", "ethics-cases", "fire-alarm"]),
        "category": st.just("executive-conduct"),
        "event": st.sampled_from(["safety-signal", "alarm-confirmed"]),
        "site": st.just("lodz") | JSON,
    },
    optional={
        "alert": st.fixed_dictionaries(
            {"kind": st.just("volume-spike")}, optional={"hashtag": JSON}
        )
        | JSON,
        "case": st.dictionaries(
            st.sampled_from(["id", "product", "subject_person", "hazard", "batches"]), JSON
        ),
        "zone": JSON,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    source=st.sampled_from(["alertmanager", "pagerduty", "generic"]),
    body=JSON | NEAR_ALERTMANAGER | NEAR_GENERIC | st.builds(lambda e: {"event": e}, JSON),
)
def test_any_json_body_is_refused_only_with_a_payload_error(
    library: Library, source: str, body: Any
) -> None:
    playbooks = [p for p, _ in library.playbooks.values()]
    try:
        alerts = read_alerts(source, json.dumps(body))
    except PayloadError:
        return
    for alert in alerts:
        match_alert(playbooks, alert, people=set(library.require_roster().people))


# -- matching ---------------------------------------------------------------------------------

SERVICE_DOWN = """\
  - source: alertmanager
    match: {alertname: ServiceDown, severity: critical}
    facts: {summary: "{{ annotations.summary }}", service: "{{ labels.service }}"}
    dedupe: "{{ labels.cluster }}"
"""


def test_an_alert_that_no_trigger_takes_matches_nothing() -> None:
    book = playbook(SERVICE_DOWN)
    body = am_group(am_alert({"alertname": "ServiceDown", "severity": "warning"}))
    (alert,) = alerts_from("alertmanager", body)
    assert match_alert([book], alert) is None
    (generic,) = alerts_from("generic", {"alertname": "ServiceDown", "severity": "critical"})
    assert match_alert([book], generic) is None  # the right labels, from the wrong source


def test_a_missing_annotation_fills_a_placeholder_and_is_flagged() -> None:
    book = playbook(SERVICE_DOWN)
    labels = {"alertname": "ServiceDown", "severity": "critical", "service": "shop"}
    found = only(book, "alertmanager", am_group(am_alert(labels)))
    assert found.facts == {"summary": "(not in alert: annotations.summary)", "service": "shop"}
    assert [str(f) for f in found.flagged] == ["summary: not in alert: annotations.summary"]
    assert found.flagged[0].missing == ("annotations.summary",)
    # the key still renders, naming what it lacked
    assert found.key.dedupe == "(not in alert: labels.cluster)"


def test_a_placeholder_longer_than_max_length_is_shortened() -> None:
    book = playbook(SERVICE_DOWN)
    labels = {"alertname": "ServiceDown", "severity": "critical"}
    found = only(book, "alertmanager", am_group(am_alert(labels)))
    assert found.facts["service"] == "(not in alert)"  # max_length 20
    assert "service: not in alert: labels.service" in [str(f) for f in found.flagged]


def test_a_template_in_a_label_is_rendered_literally() -> None:
    book = playbook(SERVICE_DOWN)
    labels = {
        "alertname": "ServiceDown",
        "severity": "critical",
        "service": "{{ 7*7 }}",
        "cluster": "{% for x in range(9) %}x{% endfor %}",
    }
    annotations = {"summary": "{{ lipsum() }} {{ ''.__class__ }}"}
    found = only(book, "alertmanager", am_group(am_alert(labels, annotations=annotations)))
    assert found.facts == {"summary": annotations["summary"], "service": "{{ 7*7 }}"}
    assert found.key.dedupe == "{% for x in range(9) %}x{% endfor %}"
    assert found.flagged == ()


def test_dedupe_keys_are_computed_per_alert() -> None:
    book = playbook(SERVICE_DOWN)
    base = {"alertname": "ServiceDown", "severity": "critical"}
    body = am_group(
        am_alert({**base, "cluster": "eu-1", "service": "shop"}),
        am_alert({**base, "cluster": "eu-2", "service": "shop"}),
        am_alert({**base, "cluster": "eu-1", "service": "api"}),
    )
    keys = [match_alert([book], a) for a in alerts_from("alertmanager", body)]
    assert [str(k.key) for k in keys if k] == [
        "alertmanager / outage / eu-1",
        "alertmanager / outage / eu-2",
        "alertmanager / outage / eu-1",
    ]


def test_alertmanager_without_dedupe_keys_by_receiver_and_group() -> None:
    book = playbook("  - source: alertmanager\n    match: {alertname: ServiceDown}\n")
    body = am_group(
        am_alert({"alertname": "ServiceDown", "cluster": "eu-1"}),
        am_alert({"alertname": "ServiceDown", "cluster": "eu-2"}),
        receiver="crisis",
        groupKey='{}/{severity="critical"}:{alertname="ServiceDown"}',
    )
    found = [match_alert([book], a) for a in alerts_from("alertmanager", body)]
    assert {(f.key.source, f.key.playbook, f.key.dedupe) for f in found if f} == {
        ("alertmanager", "outage", 'crisis/{}/{severity="critical"}:{alertname="ServiceDown"}')
    }


def test_very_long_keys_stay_distinct() -> None:
    book = playbook(SERVICE_DOWN)
    base = {"alertname": "ServiceDown", "severity": "critical"}
    first, second = (
        only(book, "alertmanager", am_group(am_alert({**base, "cluster": "x" * 500 + end})))
        for end in "ab"
    )
    assert len(first.key.dedupe) <= 200
    assert first.key != second.key


def test_pagerduty_matches_dotted_paths_into_the_event(library: Library) -> None:
    playbooks = [p for p, _ in library.playbooks.values()]
    body = example("pagerduty")
    found = only(playbooks, "pagerduty", body)
    assert (found.playbook, found.trigger_index, found.level) == ("it-outage", 1, "outage")
    assert found.facts == {"service": "Online shop", "service_pl": "Online shop"}
    assert str(found.key) == "pagerduty / it-outage / Q2KX7RPL0QJ4NZ"

    p2 = copy.deepcopy(body)
    p2["event"]["data"]["priority"]["summary"] = "P2"
    (alert,) = alerts_from("pagerduty", p2)
    assert match_alert(playbooks, alert) is None

    acknowledged = copy.deepcopy(body)
    acknowledged["event"]["event_type"] = "incident.acknowledged"
    (alert,) = alerts_from("pagerduty", acknowledged)
    assert match_alert(playbooks, alert) is None


def test_pagerduty_resolution_reaches_the_trigger_that_opened_the_incident(
    library: Library,
) -> None:
    playbooks = [p for p, _ in library.playbooks.values()]
    body = example("pagerduty")
    body["event"]["event_type"] = "incident.resolved"
    found = only(playbooks, "pagerduty", body)
    assert found.resolved
    assert str(found.key) == "pagerduty / it-outage / Q2KX7RPL0QJ4NZ"


def test_generic_matches_dotted_paths_and_list_indexes() -> None:
    book = playbook(
        "  - source: generic\n"
        "    match: {system: siem, alert.kind: exfiltration, hosts.1.zone: dmz, count: 3,"
        " confirmed: 'true'}\n"
        "    facts: {summary: '{{ alert.summary }} on {{ hosts | length }} hosts'}\n"
        "    dedupe: '{{ alert.id }}'\n"
    )
    hosts = [{"zone": "lan"}, {"zone": "dmz"}]
    body = {
        "system": "siem",
        "alert": {"kind": "exfiltration", "summary": "data leaving the network", "id": 7},
        "hosts": hosts,
        "count": 3,
        "confirmed": True,
    }
    found = only(book, "generic", body)
    assert found.facts == {"summary": "data leaving the network on 2 hosts"}
    assert str(found.key) == "generic / outage / 7"
    hosts[1]["zone"] = "lan"
    (alert,) = alerts_from("generic", body)
    assert match_alert([book], alert) is None


def test_first_match_wins_by_playbook_id_then_file_order() -> None:
    broad = "  - source: generic\n    match: {system: siem}\n    level: watch\n"
    narrow = "  - source: generic\n    match: {system: siem, severity: high}\n"
    zulu = playbook(narrow + broad, "zulu")
    alpha = playbook(broad, "alpha")
    body = {"system": "siem", "severity": "high"}
    found = only([zulu, alpha], "generic", body)
    assert (found.playbook, found.trigger_index, found.level) == ("alpha", 0, "watch")
    found = only([zulu], "generic", body)
    assert (found.playbook, found.trigger_index, found.level) == ("zulu", 0, "incident")


def test_facts_are_checked_like_facts_on_the_command_line() -> None:
    book = playbook(
        "  - source: generic\n"
        "    facts: {summary: '{{ text }}', service: '{{ name }}', region: '{{ zone }}',"
        " owner: '{{ who }}', count: '{{ n }}'}\n"
    )
    body = {
        "text": "line one\nline two\x1b[31m red\x07",
        "name": "a service name far over twenty",
        "who": "nobody-we-know",
        "n": "twelve",
    }
    (alert,) = alerts_from("generic", body)
    found = match_alert([book], alert, people={"anna-kowalska"})
    assert found is not None
    assert found.facts == {"summary": "line one line two[31m red", "service": "a service name far…"}
    assert [str(f) for f in found.flagged] == [
        "service: cut to 20 characters (max_length); the alert gave 30",
        "region: not in alert: zone; the default stays",
        "owner: 'nobody-we-know' is not a person in the roster (expected a person id); left unset",
        "count: 'twelve' is not a number; left unset",
    ]
    body |= {"who": "anna-kowalska", "n": "12", "zone": "PL", "text": "   "}
    (alert,) = alerts_from("generic", body)
    found = match_alert([book], alert, people={"anna-kowalska"})
    assert found is not None
    assert found.facts["owner"] == "anna-kowalska"
    assert (found.facts["count"], found.facts["region"]) == ("12", "PL")
    assert found.facts["summary"] == "(empty in alert)"


def test_missing_fields_never_raise_whatever_the_template_does() -> None:
    book = playbook(
        "  - source: generic\n"
        "    facts: {summary: '{{ a.b.c }} {{ a.b.c | upper }} {{ list[3].x }}'}\n"
        "    dedupe: '{{ a | default(\"none\") }}-{{ gone }}'\n"
    )
    found = only(book, "generic", {"list": [], "other": None})
    assert found.facts == {"summary": "(not in alert: a.b.c, list.3.x)"}
    assert found.key.dedupe == "none-(not in alert: gone)"


def test_cooldown_defaults_to_30m_and_is_read_as_a_duration() -> None:
    book = playbook(
        "  - source: generic\n    match: {a: b}\n"
        "  - source: generic\n    match: {a: c}\n    cooldown: 2h\n"
    )
    assert [t.cooldown for t in book.triggers] == [timedelta(minutes=30), timedelta(hours=2)]
    assert only(book, "generic", {"a": "c"}).cooldown == timedelta(hours=2)
    assert problems("  - source: generic\n    cooldown: 30 minutes\n") == [
        "outage.yaml:21:15: triggers[0].cooldown: '30 minutes' is not a duration "
        "(expected e.g. 10m, 1h30m, 3d)"
    ]


def test_validation_refuses_keys_and_variables_the_source_never_sends() -> None:
    assert problems(
        "  - source: alertmanager\n"
        "    match: {labels.severity: critical}\n"
        "    facts: {summary: '{{ annotation.summary }}'}\n"
        "  - source: pagerduty\n"
        "    match: {priority: P1}\n"
        "    dedupe: '{{ data.id }}'\n"
    ) == [
        "outage.yaml:21:13: triggers[0].match.labels.severity: 'labels.severity' is not an "
        "Alertmanager label name (expected a label such as alertname or severity: match reads "
        "the alert's labels, then commonLabels)",
        "outage.yaml:22:22: triggers[0].facts.summary: uses {{ annotation }}, which an "
        "Alertmanager alert does not carry; did you mean 'annotations'? (expected one of: "
        "annotations, commonAnnotations, commonLabels, externalURL, fingerprint, generatorURL, "
        "groupLabels, labels, receiver, startsAt, status)",
        "outage.yaml:24:13: triggers[1].match.priority: 'priority' is not in a PagerDuty v3 "
        "event; match keys are dotted paths into the event, e.g. data.priority.summary "
        "(starting with one of: agent, client, data, event_type, id, occurred_at, "
        "resource_type)",
        "outage.yaml:25:13: triggers[1].dedupe: uses {{ data }}, which a PagerDuty event does "
        "not carry; it is a field of the event: write event.data (expected one of: event)",
    ]


# -- the shipped library and its example payloads ---------------------------------------------


def test_the_library_has_an_example_trigger_for_every_source(library: Library) -> None:
    sources = {t.source for p, _ in library.playbooks.values() for t in p.triggers}
    assert sources == {"alertmanager", "pagerduty", "generic"}


@pytest.mark.parametrize(
    ("source", "playbook_id"),
    [
        ("alertmanager", "it-outage"),
        ("pagerduty", "it-outage"),
        ("generic", "social-media-firestorm"),
    ],
)
def test_example_payloads_start_the_shipped_playbooks(
    library: Library, source: str, playbook_id: str
) -> None:
    playbooks = [p for p, _ in library.playbooks.values()]
    people = set(library.require_roster().people)
    alerts = read_alerts(source, (EXAMPLES / f"{source}.json").read_bytes())
    found = [match_alert(playbooks, a, people=people) for a in alerts]
    assert [f.playbook if f else None for f in found] == [playbook_id] * len(alerts)


# -- warroom triggers test --------------------------------------------------------------------

runner = CliRunner()


def triggers_test(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["triggers", "test", *args, "--library", str(LIBRARY)], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_dry_run_shows_trigger_facts_flags_key_and_level() -> None:
    code, out, _ = triggers_test(
        "it-outage", "--source", "alertmanager", "--payload", str(EXAMPLES / "alertmanager.json")
    )
    assert code == 0
    assert "2 alertmanager alerts in" in out
    assert "nothing is activated" in out
    second = out[out.index("alert 2 of 2") :]
    assert "alert 2 of 2: firing, fingerprint a07c3e51b2d94f18" in second
    assert (
        "  matches  triggers[0] (alertmanager: alertname=CustomerFacingServiceDown, "
        "severity=critical)" in second
    )
    assert "  level    outage" in second
    assert "  key      alertmanager / it-outage / mobile-api" in second
    assert "  cooldown 1h" in second
    assert "  facts    service = our mobile app" in second
    assert (
        "service_pl = (not in alert)  flagged: not in alert: annotations.public_name_pl" in second
    )


def test_dry_run_explains_why_nothing_matches_and_who_would() -> None:
    code, out, _ = triggers_test(
        "data-breach", "--source", "alertmanager", "--payload", str(EXAMPLES / "alertmanager.json")
    )
    assert code == 0
    assert "no trigger of data-breach takes this alert" in out
    assert (
        "triggers[0] (alertmanager: alertname=CustomerDataExfiltration): alertname is "
        "'CustomerFacingServiceDown' (expected 'CustomerDataExfiltration')" in out
    )
    assert "note: in the library it-outage triggers[0] takes this alert" in out


def test_dry_run_as_json(tmp_path: Path) -> None:
    body = example("pagerduty")
    body["event"]["event_type"] = "incident.resolved"
    payload = tmp_path / "resolved.json"
    payload.write_text(json.dumps(body), encoding="utf-8")
    code, out, _ = triggers_test(
        "it-outage", "--source", "pagerduty", "--payload", str(payload), "--format", "json"
    )
    assert code == 0
    (result,) = json.loads(out)
    assert result["match"]["would"] == "record resolved at source"
    assert result["match"]["key"] == {
        "source": "pagerduty",
        "playbook": "it-outage",
        "dedupe": "Q2KX7RPL0QJ4NZ",
    }


@pytest.mark.parametrize(
    ("playbook_id", "source", "content", "message"),
    [
        ("it-outage", "alertmanager", None, "warroom: payload file '{path}' not found"),
        (
            "it-outage",
            "alertmanager",
            '{"version": "4",\n "alerts": [}',
            "warroom: {path}: not valid JSON: Expecting value at line 2, column 13",
        ),
        (
            "it-outage",
            "alertmanager",
            '{"version": "3", "groupKey": "g", "status": "firing", "receiver": "r",'
            ' "alerts": [{"status": "firing", "labels": {}}]}',
            "warroom: {path}: alertmanager payload: version: '3' is not allowed (expected '4')",
        ),
        (
            "it-outage",
            "alertmanager",
            '{"version": "4", "groupKey": "g", "status": "firing", "receiver": "r"}',
            "warroom: {path}: alertmanager payload: missing required field 'alerts'",
        ),
        (
            "it-outag",
            "generic",
            "{}",
            "warroom: unknown playbook 'it-outag' (the library has: data-breach, "
            "executive-misconduct, facility-emergency, it-outage, product-recall, "
            "social-media-firestorm)",
        ),
        (
            "it-outage",
            "grafana",
            "{}",
            "warroom: --source 'grafana' is not one of: alertmanager, pagerduty, generic",
        ),
    ],
    ids=["missing file", "malformed", "version 3", "no alerts", "playbook", "source"],
)
def test_dry_run_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, playbook_id: str, source: str, content: str | None, message: str
) -> None:
    path = tmp_path / "payload.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = triggers_test(playbook_id, "--source", source, "--payload", str(path))
    assert code == 2
    assert out == ""
    assert err.rstrip("\n") == message.format(path=path)


def test_command_line_facts_lose_control_characters_like_alert_facts() -> None:
    assert parse_facts(["what_happened=data\x1b[2J leak\r\nconfirmed\x00"]) == {
        "what_happened": "data[2J leak  confirmed"
    }


def test_body_keys_that_look_like_python_are_data_too() -> None:
    book = playbook("  - source: generic\n    facts: {summary: '{{ range }} {{ source }}'}\n")
    found = only(book, "generic", {"self": "a", "range": "b", "source": "c", "__class__": "d"})
    assert (found.facts, found.flagged) == ({"summary": "b c"}, ())


def test_a_required_fact_the_trigger_does_not_mention_never_blocks_it() -> None:
    text = HEAD.format(id="outage") + "  - source: generic\n    match: {system: siem}\n"
    text = text.replace("owner: {kind: person}", "owner: {kind: person, required: true}")
    book, warnings = compile_playbook(parse_yaml(text, "outage.yaml"))
    assert [str(w) for w in warnings] == [
        "outage.yaml:20:5: warning: triggers[0]: does not fill required fact 'summary', so "
        "every alert starts the incident with it as '(not in alert)' for a person to fill in; "
        "add it to `facts:`",
        "outage.yaml:20:5: warning: triggers[0]: does not fill required fact 'owner', so an "
        "alert cannot start the incident (a person fact has no stand-in); add it to `facts:`",
    ]
    found = only(book, "generic", {"system": "siem"})
    assert found.facts == {"summary": "(not in alert)"}
    assert [str(f) for f in found.flagged] == [
        "summary: not filled by the trigger",
        "owner: not filled by the trigger; left unset",
    ]
    assert found.unset_required == ("owner",)


def test_dry_run_says_when_a_required_person_cannot_be_filled(tmp_path: Path) -> None:
    payload = tmp_path / "case.json"
    case = {"id": "EC-2026-014", "subject_person": "jan-nowak"}
    payload.write_text(
        json.dumps({"system": "ethics-cases", "category": "executive-conduct", "case": case}),
        encoding="utf-8",
    )
    code, out, _ = triggers_test(
        "executive-misconduct", "--source", "generic", "--payload", str(payload)
    )
    assert code == 0
    assert (
        "implicated not set  flagged: 'jan-nowak' is not a person in the roster (expected a "
        "person id); left unset" in out
    )
    assert "  would    not start: required implicated left unset; only logged" in out


def test_deeply_nested_bodies_are_refused_or_rendered_never_crash(library: Library) -> None:
    """Around Python's recursion limit a body can decode and still be too deep to show
    again as JSON: every depth there is refused as malformed or rendered, nothing escapes."""
    playbooks = [p for p, _ in library.playbooks.values()]
    outcomes = set()
    for depth in range(sys.getrecursionlimit() + 20, sys.getrecursionlimit() - 100, -1):
        nested = "[" * depth + "]" * depth
        alert_text = f'{{"kind": "volume-spike", "hashtag": {nested}}}'
        try:
            (alert,) = read_alerts(
                "generic", f'{{"system": "social-listening", "alert": {alert_text}}}'
            )
        except MalformedPayload:
            outcomes.add("refused")
            continue
        found = match_alert(playbooks, alert)
        assert found is not None
        assert found.playbook == "social-media-firestorm"
        outcomes.add("rendered" if found.facts["topic"].startswith("posts under [[") else "flagged")
    assert outcomes == {"refused", "flagged", "rendered"}


def test_time_filters_read_payload_times_in_utc() -> None:
    book = playbook(
        "  - source: alertmanager\n"
        "    facts: {summary: 'down since {{ startsAt | datetime }}',"
        " service: '{{ annotations.since | time }}'}\n"
    )
    body = am_group(am_alert({"alertname": "ServiceDown"}))
    body["alerts"][0]["startsAt"] = "2026-11-23T09:55:00.365069705+01:00"  # as Alertmanager writes
    found = only(book, "alertmanager", body)
    assert found.facts == {
        "summary": "down since 2026-11-23 08:55 UTC",
        "service": "(not in alert)",
    }
    assert [str(f) for f in found.flagged] == ["service: not in alert: annotations.since"]
