"""Statement templates: sandboxed, strict, and readable when rendered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warroom.playbook import templates
from warroom.playbook.templates import TemplateProblem


def test_a_role_renders_as_the_persons_name() -> None:
    card = templates.ContactCard(name="Anna Kowalska", title="Spokesperson")
    assert templates.render("Contact: {{ spokesperson }}", {"spokesperson": card}) == (
        "Contact: Anna Kowalska"
    )


def test_time_filters_use_the_playbook_time_zone() -> None:
    moment = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    context = {"next_update_at": moment, "timezone": "Europe/Warsaw"}
    rendered = templates.render(
        "{{ next_update_at | time }} / {{ next_update_at | date }} / "
        "{{ next_update_at | datetime }}",
        context,
    )
    assert rendered == "09:00 / 2026-11-23 / 2026-11-23 09:00 CET"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ company.__class__.__subclasses__() }}",
        "{{ spokesperson.__init__.__globals__ }}",
    ],
)
def test_a_playbook_cannot_reach_python_internals(source: str) -> None:
    card = templates.ContactCard(name="x")
    with pytest.raises(templates.TemplateProblem, match="cannot render"):
        templates.render(source, {"company": "Acme", "spokesperson": card})


def test_undefined_attribute_is_an_error_not_an_empty_string() -> None:
    card = templates.ContactCard(name="x")
    with pytest.raises(templates.TemplateProblem, match="has no attribute 'mobile'"):
        templates.render("{{ spokesperson.mobile }}", {"spokesperson": card})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' * 1000000000 }}", "builds a text of 1,000,000,000 characters"),
        ("{{ [0] * 1000000000 }}", "builds a text of 1,000,000,000 characters"),
        ("{% for i in range(100000000) %}{% endfor %}", "range() of 100,000,000 numbers"),
        ("{{ 'x' | center(1000000000) }}", "a width of 1,000,000,000"),
        ("{{ ('ab' * 4000) | replace('a', 'x' * 5000) }}", "builds a text of"),
        ("{{ '%9999999s' % name }}", "`%` formatting is not allowed"),
        ("{{ '%s' | format(name) }}", "the `format` filter is not allowed"),
        ("{{ 10 ** 10 ** 10 }}", "a number in the template is over"),
        (
            "{% for i in range(1000) %}{{ 'x' * 9000 }}{% endfor %}",
            "the template writes over 50,000 characters",
        ),
    ],
)
def test_templates_cannot_exhaust_the_machine(source: str, message: str) -> None:
    """Validation renders every template with every fact at its longest: a template that
    costs gigabytes or minutes must be refused in milliseconds, with what it tried."""
    with pytest.raises(TemplateProblem) as refused:
        templates.render(source, {"name": "Anna"})
    assert message in str(refused.value)


def test_bounded_templates_still_render_real_statements() -> None:
    source = "{% for i in range(3) %}{{ i + 1 }}. {{ name * 2 }}{% endfor %} {{ 2 ** 10 }}"
    assert templates.render(source, {"name": "ab"}) == "1. abab2. abab3. abab 1024"


def test_times_known_at_release_are_left_for_it_and_marked_for_the_approver() -> None:
    source = "As of {{ now | time }}; next update by {{ next_update_at | datetime }}."
    drafted = templates.render(
        source, {"timezone": "Europe/Warsaw"} | templates.at_release_context()
    )
    assert templates.mark_at_release(drafted) == (
        "As of [time of release: filled in at release]; next update by "
        "[date and time of the next update: filled in at release]."
    )
    at = datetime(2026, 11, 23, 8, 39, tzinfo=UTC)
    moments = {"now": at, "next_update_at": datetime(2026, 11, 23, 9, 39, tzinfo=UTC)}
    assert templates.fill_at_release(drafted, moments, "Europe/Warsaw") == (
        "As of 09:39; next update by 2026-11-23 10:39 CET."
    )


def test_a_time_known_only_at_release_can_only_be_printed() -> None:
    with pytest.raises(TemplateProblem, match="now is filled in at release"):
        templates.render("{{ now.hour }}", templates.at_release_context())
