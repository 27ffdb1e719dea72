"""Tracebacks and silent surprises a new user met: each is now one clear line, or the right
behaviour (issue: the timeline never lies and silence never speaks, finding 7)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from warroom.channels.twilio_standin import TwilioStandIn
from warroom.cli import app
from warroom.engine.events import NoteAdded
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
FACTS = {"company": "Acme", "service": "the shop"}
runner = CliRunner()


def activate(db: Path, mini: Path) -> str:
    store = SqliteStore.open(db)
    try:
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        return Runtime(store, VirtualClock(T0)).activate(snapshot, facts=FACTS).incident
    finally:
        store.close()


@pytest.mark.parametrize("clock", ["9999-12-31T23:59+00:00", "0001-01-01T00:00+00:00"])
def test_a_clock_far_off_is_refused_not_a_traceback(mini: Path, tmp_path: Path, clock: str) -> None:
    result = runner.invoke(
        app,
        ["activate", "outage", "--fact", "company=A", "--fact", "service=B"],
        env={
            "WARROOM_CLOCK": clock,
            "WARROOM_LIBRARY": str(mini),
            "WARROOM_DB": str(tmp_path / "w.db"),
        },
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"warroom: WARROOM_CLOCK '{clock}' is out of range "
        "(expected a time between 1970 and 2199)\n"
    )


def test_an_argument_that_is_not_utf8_is_named(mini: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "warroom.cli", "show", b"data-\xff\xfe", "--library", str(mini)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert done.returncode == 2
    assert done.stderr == (
        "warroom: argument 2 is not valid UTF-8 text (data-\\xff\\xfe); "
        "check the terminal's encoding\n"
    )


@pytest.mark.parametrize("command", [["status"], ["timeline"], ["incidents"], ["inbound", "list"]])
def test_a_mistyped_db_is_not_silently_created(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "warrom.db"
    result = runner.invoke(app, [*command, "--db", str(typo)])
    assert result.exit_code == 3
    assert result.stderr == (
        f"warroom: no such database {typo} (give --db or WARROOM_DB the file that "
        "`warroom activate` wrote)\n"
    )
    assert not typo.exists()


def test_a_database_on_read_only_storage_can_still_be_read(mini: Path, tmp_path: Path) -> None:
    """Root ignores file modes, so the folder and file are made immutable (`chattr +i`)."""
    folder = tmp_path / "backup"
    folder.mkdir()
    db = folder / "warroom.db"
    incident = activate(db, mini)
    SqliteStore.open(db).close()  # a clean close leaves no -wal file behind
    chattr = shutil.which("chattr")
    if os.geteuid() == 0 and chattr is None:
        pytest.skip("running as root, where file modes do not bind, and no chattr")
    locked: list[Path] = []
    try:
        for path in (db, folder):
            if os.geteuid() == 0:
                done = subprocess.run([str(chattr), "+i", str(path)], check=False)
                if done.returncode != 0:
                    pytest.skip("chattr +i does not work on this filesystem")
            else:
                path.chmod(0o555 if path.is_dir() else 0o444)
            locked.append(path)
        env = {"WARROOM_CLOCK": (T0 + timedelta(minutes=1)).isoformat()}
        status = runner.invoke(app, ["status", "--db", str(db)], env=env)
        assert status.exit_code == 0, status.stderr
        assert incident in status.stdout
        note = runner.invoke(app, ["note", "hello", "--db", str(db)], env=env)
        assert note.exit_code == 3
    finally:
        for path in reversed(locked):
            if os.geteuid() == 0:
                subprocess.run([str(chattr), "-i", str(path)], check=True)
            else:
                path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_hundred_commands_at_once_all_land(mini: Path, tmp_path: Path) -> None:
    """Each writer waits its turn (bounded at 60 s) instead of failing as locked."""
    db = tmp_path / "warroom.db"
    incident = activate(db, mini)
    failures: list[BaseException] = []
    start = threading.Barrier(100)

    def command(n: int) -> None:
        store = SqliteStore.open(db)
        try:
            start.wait()
            Runtime(store, VirtualClock(T0)).submit(incident, NoteAdded(text=f"note {n}", by="t"))
        except BaseException as exc:  # collected: a thread's failure must fail the test
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=command, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = SqliteStore.open(db)
    try:
        notes = [e.event for e in store.events(incident) if isinstance(e.event, NoteAdded)]
    finally:
        store.close()
    assert len(notes) == 100


def twilio_env(standin: TwilioStandIn, base_url: str | None = None) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": standin.account_sid,
        "TWILIO_AUTH_TOKEN": standin.auth_token,
        "TWILIO_FROM": "+48221234567",
        "TWILIO_BASE_URL": base_url or standin.base_url,
    }


def test_channels_check_masks_a_password_in_the_base_url() -> None:
    with TwilioStandIn() as standin:
        secret = "proxy-password-123"
        url = standin.base_url.replace("http://", f"http://user:{secret}@")
        result = runner.invoke(app, ["channels", "check"], env=twilio_env(standin, url))
    assert result.exit_code == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    assert "user:***@127.0.0.1" in result.stdout


def test_channels_test_fails_when_the_sms_fails(mini: Path) -> None:
    with TwilioStandIn(auth_token=SecretStr("t0ken").get_secret_value()) as standin:
        standin.faults.codes["+48601234567"] = 21610  # Anna unsubscribed
        result = runner.invoke(
            app,
            ["channels", "test", "--to", "anna", "--library", str(mini)],
            env=twilio_env(standin),
        )
    assert result.exit_code == 4
    assert "sms to +48601234567: undeliverable" in result.stdout
    assert result.stderr == "warroom: the test message failed on sms\n"


@pytest.mark.parametrize("speed", ["0", "-5", "nan", "inf"])
def test_a_live_exercise_needs_a_real_speed(mini: Path, speed: str) -> None:
    result = runner.invoke(
        app,
        ["exercise", "run", "outage-drill", "--live", "--participants", "anna", f"--speed={speed}"],
        env={"WARROOM_LIBRARY": str(mini)},
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"warroom: --speed {float(speed)} must be a number above 0")


def test_a_live_exercise_makes_its_folder_and_closes_its_incident(
    mini: Path, tmp_path: Path
) -> None:
    """Live at 100,000x real time: the two-hour drill takes a few real milliseconds."""
    env = {"WARROOM_LIBRARY": str(mini), "WARROOM_DB": str(tmp_path / "oncall.db")}
    out = tmp_path / "not" / "yet" / "there"
    result = runner.invoke(
        app,
        [
            "exercise", "run", "outage-drill", "--live", "--participants", "anna",
            "--speed", "100000", "--out", str(out), "--quiet",
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (out / "outage-drill.json").exists()
    listed = runner.invoke(app, ["incidents"], env=env)
    assert " closed " in listed.stdout
    status = runner.invoke(app, ["status"], env=env)  # no --incident needed, none is open
    assert status.exit_code == 2
    assert "no open incident" in status.stderr
