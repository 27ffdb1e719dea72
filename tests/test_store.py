"""The incident database as an operator meets it: locked, read-only, damaged, from a newer
warroom, misplaced; refusals that write nothing; two terminals writing to one incident."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from warroom.cli import app
from warroom.engine.effects import SendMessage
from warroom.engine.events import Acknowledged, Approved, NoteAdded
from warroom.engine.state import Incident
from warroom.errors import StoreError
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SCHEMA_VERSION, SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
INCIDENT = "outage-20261116-1000"
FACTS = {"company": "Acme", "service": "Shop"}

runner = CliRunner()


# -- helpers ----------------------------------------------------------------------------------


def raw(db: Path) -> closing[sqlite3.Connection]:
    """A plain sqlite3 connection, closed when the `with` block ends."""
    return closing(sqlite3.connect(db, isolation_level=None))


def count(db: Path, table: str) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as db_:
        return int(db_.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def dump(db: Path) -> list[str]:
    """Every row of every table, as SQL: equal dumps mean nothing was written."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as db_:
        return list(db_.iterdump())


def activate(db: Path, mini: Path, at: datetime = T0) -> None:
    store = SqliteStore.open(db)
    try:
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        outcome = Runtime(store, VirtualClock(at)).activate(snapshot, facts=FACTS, by="anna")
        assert outcome.incident == INCIDENT
    finally:
        store.close()


def cli(db: Path, mini: Path, *args: str, at: datetime = T0 + timedelta(minutes=1)) -> Result:
    env: Mapping[str, str | None] = {
        "WARROOM_LIBRARY": str(mini),
        "WARROOM_CLOCK": at.isoformat(),
        "WARROOM_DB": None,
        "WARROOM_ROSTER": None,
        "WARROOM_FAULT": None,
    }
    return runner.invoke(app, [*args, "--db", str(db)], env=env)


def refused(result: Result, code: int, message: str) -> None:
    """The command failed with `code`, one readable line on stderr and no traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr == f"warroom: {message}\n"
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stdout + result.stderr


# -- a database another process is writing to -----------------------------------------------


def test_locked_database_is_reported_with_its_path_and_nothing_is_written(
    tmp_path: Path, mini: Path
) -> None:
    db = tmp_path / "warroom.db"
    SqliteStore.open(db).close()  # a warroom database, in WAL mode
    snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
    with raw(db) as holder:
        holder.execute("BEGIN IMMEDIATE")  # another terminal in the middle of a write
        store = SqliteStore.open(db, busy_timeout=0.05)  # reading the schema is not blocked
        try:
            runtime = Runtime(store, VirtualClock(T0))
            with pytest.raises(StoreError) as raised:
                runtime.activate(snapshot, facts=FACTS, by="anna")
            assert str(raised.value) == (
                f"database {db} is locked by another warroom process; try again"
            )
            holder.execute("ROLLBACK")
            assert count(db, "incidents") == 0
            assert count(db, "events") == 0
            # "try again" is honest: once the other writer is done, the same runtime works
            assert runtime.activate(snapshot, facts=FACTS, by="anna").incident == INCIDENT
        finally:
            store.close()
    assert count(db, "events") == 1


def test_locked_database_refuses_a_command_on_an_incident(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    before = dump(db)
    with raw(db) as holder:
        holder.execute("BEGIN IMMEDIATE")
        store = SqliteStore.open(db, busy_timeout=0.05)
        try:
            runtime = Runtime(store, VirtualClock(T0 + timedelta(minutes=1)))
            with pytest.raises(StoreError, match=r"is locked by another warroom process") as e:
                runtime.submit(INCIDENT, Acknowledged(person="anna", by="anna"))
            assert str(db) in str(e.value)
        finally:
            store.close()
            holder.execute("ROLLBACK")
    assert dump(db) == before


# -- a database warroom may not write --------------------------------------------------------


@pytest.fixture
def make_read_only() -> Iterator[Callable[[Path], str]]:
    """Make a file unwritable for this process, and writable again afterwards.

    Not root: chmod 0o444. Root ignores file permissions, so as root the file is made
    immutable with `chattr +i` (which binds root too); where that is impossible (no chattr,
    a filesystem without the flag, no CAP_LINUX_IMMUTABLE) the test is skipped.
    """
    undo: list[Callable[[], object]] = []

    def make(path: Path) -> str:
        if os.geteuid() != 0:
            path.chmod(0o444)
            undo.append(lambda: path.chmod(0o644))
            return "chmod 0o444"
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("running as root, where file permissions do not apply, and no chattr")
        done = subprocess.run(
            [chattr, "+i", str(path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            pytest.skip(
                "running as root, where file permissions do not apply, and chattr +i "
                f"does not work here: {done.stderr.strip()}"
            )
        undo.append(lambda: subprocess.run([chattr, "-i", str(path)], check=True))
        return "chattr +i"

    yield make
    for step in undo:
        step()


def test_read_only_database_refuses_writes_but_can_still_be_read(
    tmp_path: Path, mini: Path, make_read_only: Callable[[Path], str]
) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    before = dump(db)
    make_read_only(db)
    with pytest.raises(PermissionError):
        db.open("ab").close()  # the mechanism really binds this process

    result = cli(db, mini, "note", "the CEO is on her way")
    refused(result, 3, f"database {db} is read-only; warroom needs to write to it")

    status = cli(db, mini, "status")  # looking at the incident still works
    assert status.exit_code == 0, status.stderr
    assert "Messages: 5 queued" in status.stdout
    assert dump(db) == before


# -- files that are not (this version's) warroom databases -----------------------------------


def look(db: Path) -> str:
    """What `warroom status` does first: open the database and find the open incident."""
    store = SqliteStore.open(db)
    try:
        return Runtime(store, VirtualClock(T0)).open_incident()
    finally:
        store.close()


def garbage(db: Path, mini: Path) -> None:
    db.write_bytes(b"this is a spreadsheet, honestly\n" * 200)


def damaged(db: Path, mini: Path) -> None:
    """A real warroom database whose pages after the first were overwritten."""
    activate(db, mini)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 2 * page
    data[page:] = b"\xde\xad\xbe\xef" * ((len(data) - page) // 4)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [(garbage, "file is not a database"), (damaged, "database disk image is malformed")],
    ids=["garbage", "damaged"],
)
def test_corrupt_database_is_named_and_left_alone(
    tmp_path: Path, mini: Path, spoil: Callable[[Path, Path], None], reason: str
) -> None:
    db = tmp_path / "warroom.db"
    spoil(db, mini)
    content = db.read_bytes()
    message = f"{db} is not a warroom database, or it is damaged ({reason})"

    with pytest.raises(StoreError) as raised:
        look(db)
    assert str(raised.value) == message

    refused(cli(db, mini, "status"), 3, message)
    refused(cli(db, mini, "ack", "--as", "anna"), 3, message)
    assert db.read_bytes() == content


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "crm.sqlite"
    with raw(db) as other:
        other.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        other.execute("INSERT INTO customers VALUES (1, 'Acme Polska')")
    before = dump(db)

    result = cli(db, mini, "incidents")

    assert dump(db) == before, "warroom changed another program's database"
    with raw(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert result.exit_code == 3
    assert "is not a warroom database" in result.stderr


def test_database_from_a_newer_warroom_says_to_upgrade(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    with raw(db) as newer:
        newer.execute("PRAGMA user_version = 99")
    message = (
        f"database {db} has schema version 99, written by a newer warroom; this one knows up "
        f"to version {SCHEMA_VERSION}: upgrade warroom"
    )

    with pytest.raises(StoreError) as raised:
        SqliteStore.open(db).close()
    assert str(raised.value) == message

    refused(cli(db, mini, "status"), 3, message)
    with raw(db) as newer:  # warroom did not "migrate" it back
        assert newer.execute("PRAGMA user_version").fetchone()[0] == 99


def test_folder_given_as_the_database(tmp_path: Path, mini: Path) -> None:
    folder = tmp_path / "incidents"
    folder.mkdir()
    message = f"database {folder} is a folder; expected a file (--db / WARROOM_DB)"
    with pytest.raises(StoreError) as raised:
        SqliteStore.open(folder)
    assert str(raised.value) == message
    refused(cli(folder, mini, "status"), 3, message)
    assert list(folder.iterdir()) == []


def test_database_in_a_folder_that_does_not_exist(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "nowhere" / "warroom.db"
    message = f"database folder {db.parent} does not exist"
    with pytest.raises(StoreError) as raised:
        SqliteStore.open(db)
    assert str(raised.value) == message
    refused(cli(db, mini, "activate", "outage", "--fact", "company=Acme"), 3, message)
    assert not db.parent.exists()


# -- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["no-file", "empty-file"])
def test_new_database_gets_the_current_schema_in_wal_mode(tmp_path: Path, existing: bool) -> None:
    db = tmp_path / "warroom.db"
    if existing:
        db.touch()  # e.g. made by `touch` or by a deployment tool
    SqliteStore.open(db).close()
    with raw(db) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"incidents", "events", "outbox", "timers"} <= tables
    # opening again is harmless: nothing is migrated twice
    SqliteStore.open(db).close()
    with raw(db) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# -- the outbox --------------------------------------------------------------------------------


def message(number: int, key: str) -> SendMessage:
    return SendMessage(
        message=f"{INCIDENT}-m{number}",
        key=key,
        purpose="statement",
        step="release-holding",
        channel="email",
        address="desk@acme.example",
        recipient="Front desk",
        person=None,
        text=f"Shop is down (copy {number})",
    )


def test_outbox_keeps_one_message_per_idempotency_key(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "warroom.db"
    key = f"{INCIDENT}/release-holding/holding-v1/desk@acme.example/email"
    store = SqliteStore.open(db)
    try:
        with store.transaction():
            store.create_incident(INCIDENT, "outage", "Service outage", "minor", False, {}, T0)
            for n in (1, 2):
                event = NoteAdded(text=f"attempt {n}", by="anna")
                effects = [message(n, key)]
                store.append(INCIDENT, n, event, T0, [], effects, state="active", level="minor")
        rows = store.outbox(INCIDENT)
        assert [(r.key, r.id) for r in rows] == [(key, f"{INCIDENT}-m1")]
        assert rows[0].message.text == "Shop is down (copy 1)"
        assert [e.n for e in store.events(INCIDENT)] == [1, 2]  # both events are in the log
    finally:
        store.close()


# -- a refused command writes nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ack", "--as", "celina"), "Celina Wójcik was not paged, or has already acknowledged"),
        (("ack", "--as", "anna"), "Anna Kowalska was not paged, or has already acknowledged"),
        (("ack", "--as", "zofia"), "unknown person 'zofia' (not in this incident's roster)"),
        (
            ("approve", "holding", "--as", "bartek"),
            "Bartek Nowak is not an approver of Holding (legal: Dawid Lis)",
        ),
        (("raise", "tiny"), "unknown level 'tiny' for outage (expected one of: minor, major)"),
        (
            ("assign", "nobody-role", "anna"),
            "unknown role 'nobody-role' (expected one of: crisis_lead, legal, spokesperson)",
        ),
        (
            ("fact", "colour=red"),
            "unknown fact 'colour' for outage (expected one of: company, implicated, service)",
        ),
    ],
    ids=["not-paged", "acked-twice", "unknown-person", "not-approver", "level", "role", "fact"],
)
def test_refused_command_writes_nothing(
    tmp_path: Path, mini: Path, args: tuple[str, ...], message: str
) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    for person in ("anna", "bartek", "dawid"):  # the team assembles; holding awaits Dawid
        assert cli(db, mini, "ack", "--as", person).exit_code == 0
    events, outbox, before = count(db, "events"), count(db, "outbox"), dump(db)

    refused(cli(db, mini, *args), 2, message)

    assert (count(db, "events"), count(db, "outbox")) == (events, outbox)
    assert dump(db) == before
    # and the incident carries on: the refusal left no half-made change behind
    approved = cli(db, mini, "approve", "holding", "--as", "dawid")
    assert approved.exit_code == 0, approved.stderr
    assert "Holding v1: approved by Dawid Lis (Legal approver)" in approved.stdout


# -- two terminals at once ---------------------------------------------------------------------


def assert_log_is_whole(db: Path, expected_notes: list[str]) -> None:
    store = SqliteStore.open(db)
    try:
        stored = store.events(INCIDENT)
    finally:
        store.close()
    assert [s.n for s in stored] == list(range(1, len(stored) + 1))
    texts = [s.event.text for s in stored if isinstance(s.event, NoteAdded)]
    assert sorted(texts) == sorted(expected_notes)  # each exactly once


def replayed(db: Path) -> Incident:
    store = SqliteStore.open(db)
    try:
        return Runtime(store, VirtualClock(T0)).replay(INCIDENT)
    finally:
        store.close()


def test_two_terminals_interleaving_on_one_incident_lose_nothing(
    tmp_path: Path, mini: Path
) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    now = T0 + timedelta(minutes=2)
    first, second = SqliteStore.open(db), SqliteStore.open(db)
    try:
        one, two = Runtime(first, VirtualClock(now)), Runtime(second, VirtualClock(now))
        one.incident(INCIDENT), two.incident(INCIDENT)  # both have the incident cached

        one.submit(INCIDENT, Acknowledged(person="anna", by="anna"))
        two.submit(INCIDENT, Acknowledged(person="dawid", by="dawid"))
        # the first terminal must see the second's acknowledgement to finish the step
        done = one.submit(INCIDENT, Acknowledged(person="bartek", by="bartek"))
        assert "Assemble the crisis team: done" in done.notes
        assert any("approval requested from Dawid Lis" in n for n in done.notes)
        # and the second must see the approval request the first one's event made
        approved = two.submit(INCIDENT, Approved(statement="holding", person="dawid", by="dawid"))
        assert "Holding v1: approved by Dawid Lis (Legal approver)" in approved.notes

        notes = []
        for i in range(25):
            for name, runtime in (("one", one), ("two", two)):
                notes.append(f"{name} {i}")
                runtime.submit(INCIDENT, NoteAdded(text=f"{name} {i}", by=name))

        assert_log_is_whole(db, notes)
        fresh = replayed(db)
        assert one.incident(INCIDENT) == fresh
        assert two.incident(INCIDENT) == fresh
        assert fresh.steps["release-holding"].state != "waiting"
    finally:
        first.close()
        second.close()


def test_two_threads_each_adding_fifty_notes_lose_none(tmp_path: Path, mini: Path) -> None:
    db = tmp_path / "warroom.db"
    activate(db, mini)
    start, end = threading.Barrier(2), threading.Barrier(2)

    def terminal(name: str) -> tuple[list[int], Incident]:
        store = SqliteStore.open(db)  # a connection of its own, in its own thread
        try:
            runtime = Runtime(store, VirtualClock(T0 + timedelta(minutes=1)))
            runtime.incident(INCIDENT)
            start.wait(timeout=30)
            numbers = [
                runtime.submit(INCIDENT, NoteAdded(text=f"{name} {i}", by=name)).n
                for i in range(50)
            ]
            end.wait(timeout=30)  # the other terminal is done too
            return numbers, runtime.incident(INCIDENT)
        except BaseException:
            start.abort()  # the other thread fails at once instead of waiting for this one
            end.abort()
            raise
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(terminal, name) for name in ("left", "right")]
        (left_numbers, left), (right_numbers, right) = [f.result(timeout=60) for f in futures]

    assert sorted(left_numbers + right_numbers) == list(range(2, 102))  # no number twice
    assert_log_is_whole(db, [f"{name} {i}" for name in ("left", "right") for i in range(50)])
    fresh = replayed(db)
    assert left == fresh
    assert right == fresh
