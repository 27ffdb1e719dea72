"""Every bad input from the foundation issue: a precise file:line:column message, no traceback.

Each row breaks one thing in a copy of tests/fixtures/mini and names the first error the
library must report, exactly as a user would read it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from warroom.library import load_library

CASES = [
    pytest.param(
        "outage.yaml",
        "    ack_within: 10m",
        "    ack_whitin: 10m",
        "outage.yaml:60:5: steps[0].ack_whitin: unknown key 'ack_whitin'; did you mean 'ack_within'? (expected one of: id, title, after, from_level, page, ack_within, escalate, approve, send, to, due, every, hold, requires_facts, on_resolve, press_conference)",
        id="unknown-key",
    ),
    pytest.param(
        "outage.yaml",
        "version: 2",
        "version: two",
        "outage.yaml:3:10: version: expected a whole number, got text 'two'",
        id="wrong-type",
    ),
    pytest.param(
        "outage.yaml",
        "    ack_within: 10m",
        "    ack_within: 10 minutes",
        "outage.yaml:60:17: steps[0].ack_within: '10 minutes' is not a duration (expected e.g. 10m, 1h30m, 3d)",
        id="bad-duration",
    ),
    pytest.param(
        "outage.yaml",
        "  - id: approve-holding",
        "  - id: assemble",
        "outage.yaml:65:9: steps[1].id: duplicate step id 'assemble' (first used at steps[0])",
        id="duplicate-step-id",
    ),
    pytest.param(
        "outage.yaml",
        "    after: [assemble]",
        "    after: [asemble]",
        "outage.yaml:66:13: steps[1].after[0]: unknown step 'asemble'; did you mean 'assemble'? (expected one of: approve-holding, assemble, release-holding)",
        id="dangling-step",
    ),
    pytest.param(
        "outage.yaml",
        "    to: [employees, media]",
        "    to: [employees, press]",
        "outage.yaml:72:21: steps[2].to[1]: unknown audience 'press' (expected one of: crisis-team, employees, media)",
        id="dangling-audience",
    ),
    pytest.param(
        "outage.yaml",
        "    page: crisis-team",
        "    page: crisis-team\n    after: [release-holding]",
        "outage.yaml:60:12: steps[0].after: steps wait for each other in a cycle: assemble -> release-holding -> approve-holding -> assemble",
        id="cycle",
    ),
    pytest.param(
        "outage.yaml",
        '      pl: "{{ company }}: {{ service }} nie działa. Informacja o {{ next_update_at | time }}."\n',
        "",
        "outage.yaml:53:7: statements.holding.sms: missing language 'pl' (the playbook declares en, pl)",
        id="missing-language",
    ),
    pytest.param(
        "outage.yaml",
        'en: "{{ company }}: {{ service }} outage"',
        'en: "{{ company }: {{ service }} outage"',
        "outage.yaml:43:11: statements.holding.subject.en: template syntax error: unexpected '}'",
        id="template-syntax",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable.",
        "        {{ servce }} is unavailable.",
        "outage.yaml:46:11: statements.holding.text.en: uses {{ servce }}, which is not a declared fact, role or built-in; did you mean 'service'? (facts: company, implicated, service)",
        id="undeclared-variable",
    ),
    pytest.param(
        "outage.yaml",
        "    approve: [legal]\n",
        "    approve: [legal]\n    sms_max_segments: 1\n",
        "outage.yaml:54:11: statements.holding.sms.en: SMS needs up to 2 segments (UCS-2, 88 UTF-16 units) with every fact at its longest, over sms_max_segments 1; shorten it or write a shorter `sms:` version",
        id="sms-over-budget",
    ),
    pytest.param(
        "outage.yaml",
        "raise_level: major",
        "raise_level: critical",
        "outage.yaml:63:52: steps[0].escalate[1].raise_level: unknown level 'critical' (expected one of: major, minor)",
        id="unknown-level",
    ),
    pytest.param(
        "outage.yaml",
        "    approve: [legal]\n",
        "    approve: [lawyer]\n",
        "outage.yaml:41:15: statements.holding.approve[0]: unknown role 'lawyer' (expected one of: crisis_lead, legal, spokesperson)",
        id="unknown-role",
    ),
    pytest.param(
        "outage.yaml",
        "    page: crisis-team",
        "    page: crisis-team\n    send: holding",
        "outage.yaml:57:5: steps[0]: a step does one thing: page, approve or send (found page and send)",
        id="step-does-two-things",
    ),
    pytest.param(
        "outage.yaml",
        "languages: [en, pl]",
        "languages: en pl",
        "outage.yaml:6:12: languages: expected a list, got text 'en pl'",
        id="list-expected",
    ),
    pytest.param(
        "outage.yaml",
        "playbook: outage",
        "playbook: Outage Plan",
        "outage.yaml:1:11: playbook: 'Outage Plan' is not a valid id (expected e.g. data-breach: lowercase, digits, -)",
        id="bad-id",
    ),
    pytest.param(
        "outage.yaml",
        "title: Service outage\n",
        "",
        "outage.yaml:1:1: missing required key 'title'",
        id="missing-key",
    ),
    pytest.param(
        "outage.yaml",
        "    require_tags: [media-trained]",
        "    require_tags: [media-trained, astronaut]",
        "outage.yaml:23:5: roles.spokesperson: no one in the roster can fill 'Spokesperson' at level 'minor': no candidate who is media-trained, astronaut, speaks pl with a phone or e-mail",
        id="role-unfillable",
    ),
    pytest.param(
        "outage.yaml",
        "[tag:counsel]",
        "[tag:lawyer]",
        "outage.yaml:32:18: roles.legal.candidates[0]: no one in the roster has tag 'lawyer'",
        id="tag-nobody-has",
    ),
    pytest.param(
        "outage.yaml",
        "[oncall:press-rota, tag:comms-director]",
        "[oncall:press-rotaa, tag:comms-director]",
        "outage.yaml:26:17: roles.spokesperson.candidates[1].pick[0]: unknown on-call rota 'press-rotaa'; did you mean 'press-rota'? (expected one of: press-rota)",
        id="unknown-rota",
    ),
    pytest.param(
        "outage.yaml",
        "groups: [press]",
        "groups: [journalists]",
        "outage.yaml:37:20: audiences.media.groups[0]: unknown group 'journalists' (expected one of: press, staff)",
        id="unknown-group",
    ),
    pytest.param(
        "outage.yaml",
        "  implicated: {kind: person}",
        "  implicated: {kind: person}\n  level: {max_length: 3}",
        "outage.yaml:17:3: facts.level: fact 'level' would hide the built-in variable",
        id="fact-hides-builtin",
    ),
    pytest.param(
        "outage.yaml",
        "{from_level: major, pick: [tag:ceo]}",
        "{from_level: mayor, pick: [tag:ceo]}",
        "outage.yaml:25:22: roles.spokesperson.candidates[0].from_level: unknown level 'mayor'; did you mean 'major'? (expected one of: major, minor)",
        id="tier-unknown-level",
    ),
    pytest.param(
        "outage.yaml",
        "candidates: [tag:comms-director, tag:deputy]",
        "candidates: [tag:comms-director, {pick: [tag:deputy]}]",
        "outage.yaml:21:17: roles.crisis_lead.candidates: mixes person selectors and {from_level, pick} tiers; write either a list of selectors or a list of tiers",
        id="mixed-candidates",
    ),
    pytest.param(
        "roster.yaml",
        '"+48 601 234 567"',
        '"+48 601 234"',
        "roster.yaml:4:12: people[0].phone: '+48 601 234' is not a valid phone number",
        id="invalid-phone",
    ),
    pytest.param(
        "roster.yaml",
        '"+48 601 234 567"',
        "+48601234567",
        'roster.yaml:4:12: people[0].phone: phone number 48601234567 must be quoted text in international format, e.g. "+48 600 100 200"',
        id="unquoted-phone",
    ),
    pytest.param(
        "roster.yaml",
        "anna@acme.example",
        "anna(at)acme.example",
        "roster.yaml:5:12: people[0].email: 'anna(at)acme.example' is not a valid e-mail address: An email address must have an @-sign.",
        id="invalid-email",
    ),
    pytest.param(
        "roster.yaml",
        "staff: [anna, bartek,",
        "staff: [anna, bartk,",
        "roster.yaml:37:17: groups.staff[1]: unknown person 'bartk'; did you mean 'bartek'? (expected one of: anna, bartek, celina, dawid, ewa)",
        id="unknown-group-member",
    ),
    pytest.param(
        "roster.yaml",
        "{from: 2026-11-20, to: 2026-11-30}",
        "{from: 2026-11-30, to: 2026-11-20}",
        "roster.yaml:22:12: people[2].away[0]: `to` is before `from`",
        id="away-reversed",
    ),
    pytest.param(
        "roster.yaml",
        "handoff: 2026-01-05T09:00:00+01:00",
        "handoff: 2026-01-05T09:00:00",
        "roster.yaml:42:14: oncall.press-rota.handoff: 2026-01-05 09:00:00 needs a UTC offset (expected e.g. 2026-11-23T09:00:00+01:00)",
        id="naive-time",
    ),
    pytest.param(
        "roster.yaml",
        "timezone: Europe/Warsaw\n    members",
        "timezone: Europe/Warszawa\n    members",
        "roster.yaml:43:15: oncall.press-rota.timezone: 'Europe/Warszawa' is not a time zone (expected an IANA name, e.g. Europe/Warsaw)",
        id="bad-timezone",
    ),
    pytest.param(
        "contacts/press.csv",
        "Tomasz Reporter,tomasz@radio.example,,pl",
        "Tomasz Reporter,tomasz@radio.example,+48 12,pl",
        "contacts/press.csv:3:3: phone: '+48 12' is not a valid phone number",
        id="csv-bad-phone",
    ),
    pytest.param(
        "contacts/press.csv",
        "name,email,phone,language,outlet",
        "name,mail,phone,language,outlet",
        "contacts/press.csv:1:1: unknown column 'mail' (expected header name,email,phone,language,outlet)",
        id="csv-bad-header",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "playbook: outage",
        "playbook: outages",
        "exercises/outage-drill.yaml:2:11: playbook: unknown playbook 'outages'; did you mean 'outage'? (expected one of: outage)",
        id="exercise-unknown-playbook",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "  bartek: {silent: true}",
        "  bartosz: {silent: true}",
        "exercises/outage-drill.yaml:10:12: responders.bartosz: unknown person 'bartosz'; did you mean 'bartek'? (expected one of: anna, bartek, celina, dawid, ewa)",
        id="exercise-unknown-person",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "step: release-holding",
        "step: release",
        "exercises/outage-drill.yaml:16:30: objectives[0].step: unknown step 'release'; did you mean 'release-holding'? (expected one of: approve-holding, assemble, release-holding)",
        id="objective-unknown-step",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "raise_level: major",
        "raise_level: severe",
        "exercises/outage-drill.yaml:13:28: injects[1].raise_level: unknown level 'severe' (expected one of: major, minor)",
        id="inject-unknown-level",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "before: [employees, media]",
        "before: [employees, investors]",
        "exercises/outage-drill.yaml:17:43: objectives[1].before[1]: unknown audience 'investors' (expected one of: crisis-team, employees, media)",
        id="objective-unknown-audience",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "{at: 40m, raise_level: major}",
        "{at: 2d, raise_level: major}",
        "exercises/outage-drill.yaml:13:10: injects[1].at: is after the exercise ends (1d after start)",
        id="inject-after-end",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "  - {at: 50m, channel_outage: sms, for: 20m}",
        "  - {at: 50m, channel_outage: sms, for: 20m}\n  - {at: 60m, channel_outage: sms, for: 5m}",
        "exercises/outage-drill.yaml:15:31: injects[3].channel_outage: sms outage overlaps the one at injects[2]",
        id="overlapping-outages",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "step: assemble, acked_within",
        "step: approve-holding, acked_within",
        "exercises/outage-drill.yaml:18:58: objectives[2].acked_within: step 'approve-holding' pages nobody, so it has no acknowledgements to time; use done_within",
        id="acked-within-on-approve",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "facts: {company: Acme, service: the shop}",
        "facts: {company: Acme}",
        "exercises/outage-drill.yaml:6:8: facts: missing required fact 'service' of playbook 'outage'",
        id="missing-required-fact",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "{at: 40m, raise_level: major}",
        "{at: 40m, raise_level: major, for: 5m}",
        "exercises/outage-drill.yaml:13:5: injects[1]: `for` goes with `channel_outage`, and an outage needs `for`",
        id="for-without-outage",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "participants: [anna]",
        "participants: [zofia]",
        "exercises/outage-drill.yaml:7:16: participants[0]: unknown person 'zofia' (expected one of: anna, bartek, celina, dawid, ewa)",
        id="unknown-participant",
    ),
    pytest.param(
        "outage.yaml",
        "    approve: holding\n    due: 30m",
        "    approve: holding\n    due: 30m\n    escalate: [{after: 10m, page: [tag:ceo]}]",
        "outage.yaml:69:15: steps[1].escalate: 'escalate' does not apply to a step that does approve",
        id="escalate-on-approve",
    ),
    pytest.param(
        "outage.yaml",
        "    after: [assemble]\n    approve: holding",
        "    after: [assemble]\n    from_level: major\n    approve: holding",
        "outage.yaml:72:11: steps[2].send: statement 'holding' needs approval by legal, but it is approved only from level 'major'",
        id="approval-only-higher",
    ),
    pytest.param(
        "outage.yaml",
        "  company: {required: true, max_length: 30}",
        "  company: {required: yes, max_length: 30}",
        "outage.yaml:14:23: facts.company.required: expected true or false, got text 'yes'",
        id="yes-is-not-true",
    ),
    pytest.param(
        "outage.yaml",
        "    speaks: [pl]",
        "    speaks: [de]",
        "outage.yaml:28:14: roles.spokesperson.speaks[0]: 'de' is not one of the playbook's languages (en, pl)",
        id="speaks-unknown-language",
    ),
    pytest.param(
        "outage.yaml",
        "  media: {groups: [press], channels: [email], language: pl}",
        "  media: {groups: [press], people: ['role:legal'], channels: [email], language: pl}",
        "outage.yaml:37:37: audiences.media.people[0]: 'role:legal': list roles under `roles:`, not people",
        id="role-in-people",
    ),
    pytest.param(
        "exercises/outage-drill.yaml",
        "  - {at: 40m, raise_level: major}",
        "  - {at: 40m, raise_level: major}\n  - {at: 45m, fact: {service: the web shop and the mobile application}}",
        "exercises/outage-drill.yaml:14:31: injects[2].fact.service: is 39 characters, over max_length 30",
        id="inject-fact-too-long",
    ),
    pytest.param(
        "outage.yaml",
        "    after: [assemble]",
        "    after: [approve-holding]",
        "outage.yaml:66:13: steps[1].after[0]: a step cannot wait for itself",
        id="self-wait-only",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by",
        "        {{ 'x' * 1000000000 }} is unavailable. We are working on it and will update you by",
        "outage.yaml:46:11: statements.holding.text.en: the template builds a text of 1,000,000,000 characters (limit 10,000)",
        id="template-huge-text",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by",
        "        {% for i in range(100000000) %}x{% endfor %} is unavailable. We are working on it and will update you by",
        "outage.yaml:46:11: statements.holding.text.en: range() of 100,000,000 numbers (limit 1,000)",
        id="template-huge-range",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by",
        "        {% for a in company %}{% for b in company %}{% endfor %}{% endfor %} is unavailable. We are working on it and will update you by",
        "outage.yaml:46:11: statements.holding.text.en: template syntax error on its line 1: a loop inside a loop is not allowed in statement templates",
        id="template-nested-loop",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by",
        "        {% macro m() %}{{ m() }}{% endmacro %}{{ m() }} is unavailable. We are working on it and will update you by",
        "outage.yaml:46:11: statements.holding.text.en: template syntax error on its line 1: macros are not allowed in statement templates",
        id="template-recursive-macro",
    ),
    pytest.param(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by",
        "        {{ 9 ** 99999999 }} is unavailable. We are working on it and will update you by",
        "outage.yaml:46:11: statements.holding.text.en: a number in the template is over 1e+30",
        id="template-huge-number",
    ),
    pytest.param(
        "outage.yaml",
        "    to: [employees, media]",
        "    to: [employees, media]\n    hold: 15m",
        "outage.yaml:73:11: steps[2].hold: 15m is longer than the 10m the next audience waits at most; give at most that",
        id="hold-over-the-cap",
    ),
    pytest.param(
        "outage.yaml",
        "    ack_within: 10m",
        "    ack_within: 10m\n    hold: 5m",
        "outage.yaml:61:11: steps[0].hold: 'hold' does not apply to a step that does page",
        id="hold-on-a-page",
    ),
    pytest.param(
        "outage.yaml",
        "    to: [employees, media]",
        "    to: [employees, media]\n    requires_facts: [company, servise]",
        "outage.yaml:73:31: steps[2].requires_facts[1]: unknown fact 'servise'; did you mean 'service'? (expected one of: company, implicated, service)",
        id="requires-unknown-fact",
    ),
    pytest.param(
        "outage.yaml",
        "    to: [employees, media]",
        "    to: [employees, media]\n    on_resolve: true",
        "outage.yaml:70:12: steps[2].after: a closing message (on_resolve) goes when the incident is resolved; 'after' does not apply to it",
        id="closing-message-after",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), CASES)
def test_bad_input_is_reported_precisely(
    mini: Path, edit: Callable[[str, str, str], Path], name: str, old: str, new: str, expected: str
) -> None:
    edit(name, old, new)
    library = load_library([mini], mini / "roster.yaml")
    errors = [str(d).removeprefix(f"{mini}/") for d in library.errors]
    assert errors, "the broken file was accepted"
    assert expected in errors


def test_the_unbroken_fixture_has_no_errors(mini: Path) -> None:
    library = load_library([mini], mini / "roster.yaml")
    assert library.errors == []
    assert set(library.playbooks) == {"outage"}
    assert set(library.scenarios) == {"outage-drill"}


def test_all_errors_of_a_file_come_together(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    edit("outage.yaml", "version: 2", "version: two")
    edit("outage.yaml", "    ack_within: 10m", "    ack_within: soon")
    edit("outage.yaml", "    due: 30m", "    due: 30m\n    colour: red")
    library = load_library([mini], mini / "roster.yaml")
    paths = [d.path for d in library.errors if d.file.endswith("outage.yaml")]
    assert paths == ["version", "steps[0].ack_within", "steps[1].colour"]
