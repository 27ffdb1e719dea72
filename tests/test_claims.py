"""Claims belong in facts: a template that asserts "the incident has been contained" says it in
every incident; a fact the team sets says it only when it is true.

Facts may be yes-or-no (`kind: boolean`) or one of a few agreed wordings (`kind: choice`),
each with its words per language; validation warns, naming file, line and field, where a
template asserts a listed claim no fact controls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from warroom.library import load_library
from warroom.playbook.claims import CLAIMS, uncontrolled_claims

FACTS = """facts:
  contained:
    kind: boolean
    default: false
    choices:
      true: {en: "The outage has been contained.", pl: "Awaria została opanowana."}
      false: {en: "", pl: ""}
  customer_data:
    kind: choice
    default: unknown
    choices:
      unknown:
        en: "We do not yet know whether customer data is affected."
        pl: "Nie wiemy jeszcze, czy dotyczy to danych klientów."
      none:
        en: "There is no indication that customer data has been affected."
        pl: "Nic nie wskazuje, by dotyczyło to danych klientów."
"""


def messages(mini: Path, severity: str = "warning") -> list[str]:
    library = load_library([mini], mini / "roster.yaml")
    return [str(d).removeprefix(f"{mini}/") for d in library.diagnostics if d.severity == severity]


def test_a_claim_written_into_a_template_is_named_with_file_line_and_field(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    edit(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by\n",
        "        {{ service }} is unavailable. We are working on it and will update you by\n"
        "        noon. The outage HAS BEEN\n        contained.\n",
    )
    edit(
        "outage.yaml",
        '"{{ company }}: {{ service }} nie działa. Informacja',
        '"{{ company }}: {{ service }} nie działa, nic nie wskazuje na atak. Informacja',
    )

    warnings = messages(mini)

    assert (
        "outage.yaml:46:11: warning: statements.holding.text.en: asserts 'has been contained' on "
        "its line 2, which no fact controls: make it a fact the team sets (kind: boolean or "
        "choice, with words per language) or say it under {% if FACT %}"
    ) in warnings
    assert any(
        w.startswith(
            "outage.yaml:56:11: warning: statements.holding.sms.pl: asserts 'nic nie "
            "wskazuje', which no fact controls"
        )
        for w in warnings
    )


def test_a_claim_a_fact_decides_is_not_a_warning(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    edit("outage.yaml", "facts:\n", FACTS)
    edit(
        "outage.yaml",
        "        {{ service }} is unavailable. We are working on it and will update you by\n",
        "        {{ service }} is unavailable. {{ contained }} {{ customer_data }}\n"
        "        {% if contained %}It has been contained.{% else %}It is not yet contained."
        "{% endif %} We are working on it and will update you by\n",
    )
    edit(
        "outage.yaml",
        "        {{ service }} jest niedostępny.",
        "        {{ service }} jest niedostępny. {{ customer_data }}",
    )

    assert not [w for w in messages(mini) if "asserts" in w]
    assert not messages(mini, "error")


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        pytest.param(
            FACTS.replace("default: unknown", "default: maybe"),
            "outage.yaml:22:14: facts.customer_data.default: 'maybe' is not one of its choices "
            "(expected one of: unknown, none)",
            id="default-not-a-choice",
        ),
        pytest.param(
            FACTS.replace('pl: "Awaria została opanowana."', "de: Eingedämmt."),
            "outage.yaml:18:13: facts.contained.choices.True: missing language 'pl' (the "
            "playbook declares en, pl)",
            id="choice-missing-a-language",
        ),
        pytest.param(
            FACTS.replace("kind: boolean\n    default: false", "kind: boolean\n    default: yes"),
            "outage.yaml:16:14: facts.contained.default: 'yes' is not true or false",
            id="boolean-default",
        ),
        pytest.param(
            FACTS.replace("kind: choice\n", "kind: text\n"),
            "outage.yaml:24:7: facts.customer_data.choices: a text fact has no choices; give "
            "kind: choice",
            id="choices-on-text",
        ),
    ],
)
def test_a_bad_choice_is_an_error_naming_its_field(
    mini: Path, edit: Callable[[str, str, str], Path], facts: str, message: str
) -> None:
    edit("outage.yaml", "facts:\n", facts)
    assert message in messages(mini, "error")


def test_every_language_of_the_list_finds_its_own_claims() -> None:
    for language, phrases in CLAIMS.items():
        for phrase in phrases:
            found = uncontrolled_claims(f"Intro.\n{phrase.upper()} now.", language, ())
            assert [(c.phrase, c.line) for c in found] == [(phrase, 2)], language
    assert not uncontrolled_claims("The incident has been contained.", "de", ())
