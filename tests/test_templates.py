"""Statement templates: sandboxed, strict, and readable when rendered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warroom.playbook import templates


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
