"""The outbox lifecycle, walked through the store: every operation the dispatcher uses moves a
message exactly as `OUTBOX_LIFECYCLE` declares, and every declared move is made by one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from warroom.engine.effects import SendMessage
from warroom.engine.events import NoteAdded
from warroom.engine.lifecycles import OUTBOX_LIFECYCLE, OutboxPhase
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
INCIDENT = "outage-20261116-1000"


def message(number: int) -> SendMessage:
    return SendMessage(
        message=f"{INCIDENT}-m{number}",
        key=f"{INCIDENT}/tell/notice-v1/desk{number}@acme.example/email",
        purpose="statement",
        step="tell",
        channel="email",
        address=f"desk{number}@acme.example",
        recipient="Front desk",
        person=None,
        text="Shop is down",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore.open(tmp_path / "warroom.db")
    with store.transaction():
        store.create_incident(INCIDENT, "outage", "Service outage", "minor", False, {}, T0)
        effects = [message(n) for n in (1, 2, 3, 4, 5)]
        store.append(INCIDENT, 1, NoteAdded(text="go"), T0, [], effects, state="active", level="")
    yield store
    store.close()


def test_every_store_operation_makes_a_declared_move_and_every_move_is_made(
    store: SqliteStore,
) -> None:
    now = T0 + timedelta(minutes=1)

    def claim() -> None:
        """The oldest queued message (the script claims them in order)."""
        store.claim("worker", now, limit=1)

    def reconcile() -> None:
        store.claim_unknown("worker", now)

    def abandon() -> None:
        store.requeue_abandoned(now)

    def postpone(number: int, state: OutboxPhase) -> Callable[[], object]:
        def run() -> None:
            with store.transaction():
                store.postpone(f"{INCIDENT}-m{number}", state, now, "", now)

        return run

    def settle(number: int, status: str) -> Callable[[], object]:
        def run() -> None:
            with store.transaction():
                store.settle(f"{INCIDENT}-m{number}", status, now)

        return run

    script: list[tuple[int, str, Callable[[], object]]] = [
        (1, "claim", claim),
        (1, "postpone", postpone(1, OutboxPhase.QUEUED)),  # a 429: back off, send again
        (1, "claim", claim),
        (1, "lose_track", postpone(1, OutboxPhase.UNKNOWN)),  # a 5xx: did it go?
        (1, "reconcile", reconcile),
        (1, "still_unknown", postpone(1, OutboxPhase.UNKNOWN)),
        (1, "reconcile", reconcile),
        (1, "postpone", postpone(1, OutboxPhase.QUEUED)),  # not found at the provider
        (1, "claim", claim),
        (1, "abandon", abandon),  # the worker died while sending
        (1, "reconcile", reconcile),
        (1, "sent", settle(1, "sent")),  # found: it went
        (1, "delivered", settle(1, "delivered")),  # and a status callback says delivered
        (2, "claim", claim),
        (2, "failed", settle(2, "failed")),
        (3, "claim", claim),
        (3, "undeliverable", settle(3, "undeliverable")),
        (4, "claim", claim),
        (4, "printed", settle(4, "printed")),  # no channel configured: the terminal had it
        (5, "claim", claim),
        (5, "withheld", settle(5, "withheld")),  # the exercise sandbox kept it back
    ]
    moves = {move.trigger: move for move in OUTBOX_LIFECYCLE.moves}
    made: set[str] = set()
    for number, trigger, operation in script:
        before = state_of(store, number)
        operation()
        after = state_of(store, number)
        move = moves[trigger]
        assert (before in move.sources, after) == (True, move.dest), (number, trigger)
        made.add(trigger)
    assert made == OUTBOX_LIFECYCLE.triggers


def state_of(store: SqliteStore, number: int) -> str:
    (row,) = [r for r in store.outbox(INCIDENT) if r.id == f"{INCIDENT}-m{number}"]
    return row.state
