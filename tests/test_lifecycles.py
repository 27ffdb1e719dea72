"""The lifecycle tables: every state reachable, moves refused as engine bugs, the drawings in
`docs/lifecycles.md` the same as the tables. (That every move is made: by the engine's
handlers in `test_decide.py`, which runs every scenario; by the store's operations in
`test_outbox_lifecycle.py`.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.engine import lifecycles as lc
from warroom.engine.state import StepState
from warroom.errors import EngineBug, TransitionError, UserError

DOCS = Path(__file__).parent.parent / "docs" / "lifecycles.md"


@pytest.mark.parametrize("lifecycle", lc.LIFECYCLES, ids=lambda c: c.name)
def test_every_state_is_reachable(lifecycle: lc.Lifecycle) -> None:
    assert lifecycle.reachable() == frozenset(lifecycle.states)


@pytest.mark.parametrize("lifecycle", lc.LIFECYCLES, ids=lambda c: c.name)
def test_every_move_names_states_of_its_lifecycle(lifecycle: lc.Lifecycle) -> None:
    for move in lifecycle.moves:
        assert {*move.sources, move.dest} <= set(lifecycle.states), move.trigger


@pytest.mark.parametrize("lifecycle", lc.LIFECYCLES, ids=lambda c: c.name)
def test_the_docs_draw_the_tables(lifecycle: lc.Lifecycle) -> None:
    assert f"```mermaid\n{lc.mermaid(lifecycle)}\n```" in DOCS.read_text(encoding="utf-8")


def test_a_move_the_table_does_not_allow_is_an_engine_bug() -> None:
    step = StepState("assemble", lc.StepPhase.DONE.value)
    with pytest.raises(TransitionError) as refused:
        lc.fire(lc.STEP, "page", step, "step assemble")
    assert str(refused.value) == "step assemble is done; cannot page (possible now: recur)"
    assert isinstance(refused.value, EngineBug)
    assert not isinstance(refused.value, UserError)
    with pytest.raises(TransitionError, match=r"^step assemble: no such move 'skip'$"):
        lc.fire(lc.STEP, "skip", step, "step assemble")
    assert step.state == "done"


def test_predicates_name_the_states_they_stand_for() -> None:
    paged = StepState("assemble", lc.StepPhase.ESCALATED.value)
    assert lc.awaits_acknowledgement(paged)
    assert not lc.finished(paged)
    assert lc.finished(StepState("assemble", lc.StepPhase.CANCELLED.value))
    assert lc.dormant(StepState("assemble", lc.StepPhase.DORMANT.value))
    assert [lc.settled(StepState("m", s)) for s in lc.MessagePhase] == [
        False,
        True,
        True,
        True,
        True,
        True,
        True,
    ]
    assert {"printed", "withheld"} == lc.MESSAGE_NOT_RECEIVED
    assert not lc.MESSAGE_NOT_RECEIVED & {"sent", "delivered"}
