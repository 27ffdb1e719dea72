"""The ports, as the runtime sees them: what a steerable clock and a reconciling channel are,
and that the SQLite store is a `Store` (checked by mypy on this file as much as at run time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from warroom.channels import Reconciler
from warroom.channels.config import SmtpSettings, TwilioSettings
from warroom.channels.smtp_email import SmtpEmail
from warroom.channels.testing import RecordingChannel
from warroom.channels.twilio_sms import TwilioSms
from warroom.errors import UsageError
from warroom.runtime.clock import AcceleratedClock, SteerableClock, SystemClock, VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.store import Store
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")


def test_only_a_virtual_clock_can_be_steered(tmp_path: Path) -> None:
    assert isinstance(VirtualClock(T0), SteerableClock)
    assert not isinstance(SystemClock(), SteerableClock)
    assert not isinstance(AcceleratedClock(T0, 60), SteerableClock)
    store: Store = SqliteStore.open(tmp_path / "warroom.db")
    try:
        with pytest.raises(UsageError, match="run_until needs a virtual clock"):
            Runtime(store, SystemClock()).run_until(T0 + timedelta(hours=1))
        steered = Runtime(store, VirtualClock(T0))
        steered.run_until(T0 + timedelta(hours=1))
        assert steered.clock.now() == T0 + timedelta(hours=1)
    finally:
        store.close()


def test_only_twilio_can_say_what_became_of_an_unanswered_send() -> None:
    twilio = TwilioSms(
        TwilioSettings(
            account_sid="AC" + "0" * 32,
            auth_token="secret",
            from_number="+48221234567",
            base_url="http://127.0.0.1:9",
        )
    )
    smtp = SmtpEmail(
        SmtpSettings(host="127.0.0.1", port=9, security="none", from_address="w@acme.example")
    )
    try:
        assert isinstance(twilio, Reconciler)
        assert not isinstance(smtp, Reconciler)
        assert not isinstance(RecordingChannel("sms"), Reconciler)
    finally:
        twilio.close()
        smtp.close()


def test_a_clock_needs_a_time_zone_and_a_speed() -> None:
    with pytest.raises(UsageError, match="UTC offset"):
        VirtualClock(datetime(2026, 11, 16, 10))
    with pytest.raises(UsageError, match="speed must be above 0"):
        AcceleratedClock(T0, 0)
