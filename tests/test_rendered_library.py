"""Every text the shipped library can send, as its readers get it, pinned for review.

A template change is a change to what a journalist, a regulator or a neighbour reads. The
proofs in tests/fixtures/rendered/ hold every statement in both languages at typical facts
and at its longest; a change shows as a diff of prose, and this test says how to accept it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from warroom.library import load_library
from warroom.proofs import REGENERATE, library_proofs, over_budget

LIBRARY = Path(__file__).parent.parent / "playbooks"
PROOFS = Path(__file__).parent / "fixtures" / "rendered"


@pytest.fixture(scope="module")
def proofs() -> dict[str, str]:
    return library_proofs(LIBRARY, PROOFS / "scenarios.yaml")


def test_every_playbook_has_a_reviewed_proof(proofs: dict[str, str]) -> None:
    pinned = {path.stem for path in PROOFS.glob("*.txt")}
    assert pinned == set(proofs), f"run `{REGENERATE}` and commit the new proofs"


@pytest.mark.parametrize("playbook_id", sorted(p.stem for p in PROOFS.glob("*.txt")))
def test_the_texts_are_the_reviewed_ones(proofs: dict[str, str], playbook_id: str) -> None:
    pinned = (PROOFS / f"{playbook_id}.txt").read_text(encoding="utf-8")
    rendered = proofs[playbook_id]
    if rendered != pinned:
        diff = "".join(
            difflib.unified_diff(
                pinned.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                f"tests/fixtures/rendered/{playbook_id}.txt (reviewed)",
                f"{playbook_id} as the library renders it now",
            )
        )
        pytest.fail(
            f"the texts of {playbook_id} changed; if that is intended, run `{REGENERATE}` "
            f"and commit the proof with the change, so reviewers read it:\n{diff}"
        )


def test_no_sms_outgrows_its_budget_in_any_branch() -> None:
    """Validation sizes an SMS with every fact at its longest, which takes no `yes` branch;
    the proofs take every branch the templates test, so a sentence added for `yes` fits too."""
    library = load_library([LIBRARY], LIBRARY / "roster.yaml")
    found = [line for playbook, _ in library.playbooks.values() for line in over_budget(playbook)]
    assert found == []


def test_the_proof_shows_each_claim_only_where_the_team_set_it(proofs: dict[str, str]) -> None:
    first_hour, confirmed = proofs["data-breach"].split("TYPICAL: ")[1:3]
    assert "The incident has been contained." not in first_hour
    assert "We are working to contain it." in first_hour
    assert "The incident has been contained." in confirmed
    outage = proofs["it-outage"].split("TYPICAL: ")[1]
    assert "no indication that customer data has been affected" not in outage
    assert "We are checking whether customer data has been affected" in outage
