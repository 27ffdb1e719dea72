"""SMS through the real `twilio` client against the local Messages API stand-in.

Every test talks HTTP to a `TwilioStandIn` on loopback: what the stand-in records is what
Twilio would have been asked to send. Time is virtual: the pacing bucket sleeps by moving a
`VirtualClock`, so nothing here waits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from warroom.channels import Receipt
from warroom.channels.config import ChannelConfigError, TwilioSettings, load_settings
from warroom.channels.twilio_sms import BaseUrlHttpClient, TwilioSms
from warroom.channels.twilio_standin import Faults, TwilioStandIn
from warroom.engine.effects import SendMessage
from warroom.playbook.segments import count_segments
from warroom.runtime.clock import VirtualClock

FROM = "+48221234567"
SERVICE = "MG" + "0123456789abcdef" * 2
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
"""The token the stand-ins accept in these tests: it must never be printed anywhere."""
SID = "AC" + "5" * 32
MESSAGE_PROPERTIES = set(
    json.loads(
        resources.files("warroom.channels").joinpath("twilio_messages.json").read_text("utf-8")
    )["message"]["properties"]
)


# -- shared helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_standin() -> Iterator[TwilioStandIn]:
    """One server for the module: stopping one waits out its half-second poll."""
    with TwilioStandIn(account_sid=SID, auth_token=TOKEN) as server:
        yield server


@pytest.fixture
def standin(shared_standin: TwilioStandIn) -> TwilioStandIn:
    """The shared stand-in, well-behaved and empty; a test gives it `faults` to misbehave."""
    shared_standin.faults = Faults()
    shared_standin.messages.clear()
    shared_standin.refused.clear()
    return shared_standin


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


def settings(server: TwilioStandIn, **changes: Any) -> TwilioSettings:
    values: dict[str, Any] = {
        "account_sid": server.account_sid,
        "auth_token": TOKEN,
        "from_number": FROM,
        "base_url": server.base_url,
        "timeout": 5.0,
    }
    values.update(changes)
    return TwilioSettings.model_validate(values)


def sms_channel(server: TwilioStandIn, clock: VirtualClock, **changes: Any) -> TwilioSms:
    """A TwilioSms whose pacing sleeps by moving the virtual clock."""
    return TwilioSms(
        settings(server, **changes),
        now=clock.now,
        sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)),
    )


def client(server: TwilioStandIn) -> Client:
    """The twilio client itself, pointed at the stand-in, to say what the SDK lets us say."""
    return Client(
        server.account_sid, TOKEN, http_client=BaseUrlHttpClient(server.base_url, timeout=5.0)
    )


def sms(to: str, text: str = "Acme: the shop is down, we are on it.", n: int = 1) -> SendMessage:
    return SendMessage(
        message=f"outage-20260302-1000-m{n}",
        key=f"outage-20260302-1000/tell/notice-v1/{to}/sms/{n}",
        purpose="statement",
        step="tell",
        channel="sms",
        address=to,
        recipient="Ola Nowak",
        person=None,
        text=text,
    )


def public_resource(server: TwilioStandIn, sid: str) -> dict[str, Any]:
    """The Message resource as the API answers it for a fetch, read over plain HTTP."""
    url = f"{server.base_url}/2010-04-01/Accounts/{server.account_sid}/Messages/{sid}.json"
    with requests.Session() as session, session.get(url, auth=(SID, TOKEN), timeout=5) as got:
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
    return body


# -- sending ----------------------------------------------------------------------------------


def test_a_send_is_recorded_as_given_with_a_message_resource_of_twilios_schema(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    channel = sms_channel(standin, clock)
    text = "Acme: sklep nie działa. Kolejna informacja o 11:00."

    receipt = channel.send(sms("+48600100200", text))

    assert receipt.status == "sent"
    assert len(standin.messages) == 1
    recorded = standin.messages[0]
    assert (recorded["to"], recorded["from"], recorded["body"]) == ("+48600100200", FROM, text)
    assert receipt.provider_id == recorded["sid"]
    resource = public_resource(standin, recorded["sid"])
    assert set(resource) == MESSAGE_PROPERTIES
    assert resource["body"] == text
    assert resource["num_segments"] == str(count_segments(text).segments)


def test_a_messaging_service_can_send_instead_of_a_from_number(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    channel = sms_channel(standin, clock, from_number=None, messaging_service_sid=SERVICE)

    receipt = channel.send(sms("+48600100200"))

    assert receipt.status == "sent"
    [recorded] = standin.messages
    assert recorded["messaging_service_sid"] == SERVICE
    assert recorded["from"] is None
    assert recorded["to"] == "+48600100200"


def test_delivery_reports_are_asked_for_at_the_public_url_with_the_outbox_id(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    channel = sms_channel(standin, clock, status_callback_url="https://warroom.acme.example/")

    channel.send(sms("+48600100200", n=7))

    [recorded] = standin.messages
    callback = "https://warroom.acme.example/twilio/status?outbox=outage-20260302-1000-m7"
    assert recorded["_status_callback"] == callback


@pytest.mark.parametrize(
    ("options", "code"),
    [
        pytest.param({"to": "", "from_": FROM, "body": "x"}, 21604, id="missing-To"),
        pytest.param({"to": "+48600100200", "body": "x"}, 21603, id="no-From-nor-service"),
        pytest.param({"to": "+48600100200", "from_": FROM}, 21602, id="missing-Body"),
        pytest.param(
            {"to": "+48600100200", "messaging_service_sid": "MG123", "body": "x"},
            21603,
            id="malformed-MessagingServiceSid",
        ),
        pytest.param({"to": "600100200", "from_": FROM, "body": "x"}, 21211, id="To-not-E164"),
        pytest.param({"to": "+48600100200", "from_": FROM, "body": "x" * 1601}, 21617, id="long"),
    ],
)
def test_the_standin_refuses_what_twilios_openapi_requires(
    standin: TwilioStandIn, options: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client(standin).messages.create(**options)

    assert refused.value.status == 400
    assert refused.value.code == code
    assert standin.messages == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (21211, "invalid 'To' number"),
        (21610, "unsubscribed"),
        (21408, "region not permitted"),
        (21614, "not a mobile number"),
    ],
)
def test_a_permanent_refusal_is_undeliverable_with_a_readable_reason(
    standin: TwilioStandIn, clock: VirtualClock, code: int, reason: str
) -> None:
    standin.faults = Faults(codes={"+48600100200": code})

    receipt = sms_channel(standin, clock).send(sms("+48600100200"))

    assert receipt.status == "undeliverable"
    assert not receipt.retryable
    assert reason in receipt.detail
    assert str(code) in receipt.detail
    assert standin.messages == []
    assert standin.refused == [(code, "+48600100200")]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        pytest.param(Faults(rate_limited=1.0), Receipt("failed", retryable=True), id="429"),
        pytest.param(Faults(server_error=1.0), Receipt("unknown"), id="500"),
        pytest.param(Faults(fail_next=1), Receipt("unknown"), id="503"),
        pytest.param(Faults(drop_after_accept=1.0), Receipt("unknown"), id="dropped"),
    ],
)
def test_transient_trouble_is_retryable_or_unknown_never_final(
    standin: TwilioStandIn, clock: VirtualClock, faults: Faults, expected: Receipt
) -> None:
    standin.faults = faults

    receipt = sms_channel(standin, clock).send(sms("+48600100200"))

    assert (receipt.status, receipt.retryable) == (expected.status, expected.retryable)
    assert receipt.detail


def test_a_rate_limited_send_was_not_processed(standin: TwilioStandIn, clock: VirtualClock) -> None:
    standin.faults = Faults(rate_limited=1.0)
    sms_channel(standin, clock).send(sms("+48600100200"))
    assert standin.messages == []


def test_a_wrong_auth_token_is_a_configuration_error_that_hides_the_token(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    wrong = "0badc0de0badc0de0badc0de0badc0de"
    channel = sms_channel(standin, clock, auth_token=wrong)

    with pytest.raises(ChannelConfigError) as refused:
        channel.send(sms("+48600100200"))

    problem = f"{refused.value!s} {refused.value!r}"
    assert "authentication failed" in problem
    assert "TWILIO_ACCOUNT_SID" in problem
    assert wrong not in problem
    assert TOKEN not in problem
    assert standin.messages == []


# -- reconciling an unanswered send ------------------------------------------------------------


def test_reconcile_finds_a_message_accepted_before_the_connection_dropped(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    standin.faults = Faults(drop_after_accept=1.0)
    channel = sms_channel(standin, clock)
    message = sms("+48600100200")
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert channel.send(message).status == "unknown"

    found = channel.reconcile(message, since)

    assert found is not None
    assert found.status == "sent"
    assert found.provider_id == standin.messages[0]["sid"]
    assert len(standin.to("+48600100200")) == 1


def test_reconcile_says_none_for_a_message_never_sent(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    channel = sms_channel(standin, clock)
    since = datetime.now(UTC) - timedelta(minutes=1)
    channel.send(sms("+48600100200", "another text to the same number"))
    channel.send(sms("+48600999999"))

    assert channel.reconcile(sms("+48600100200"), since) is None


def test_reconcile_finds_the_message_whatever_the_time_zone_of_since(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    standin.faults = Faults(drop_after_accept=1.0)
    channel = sms_channel(standin, clock)
    message = sms("+48600100200")
    since = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Tokyo"))
    assert channel.send(message).status == "unknown"

    assert channel.reconcile(message, since) is not None


# -- pacing ------------------------------------------------------------------------------------


def test_pacing_keeps_to_the_segments_per_second_on_the_virtual_clock(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    channel = sms_channel(standin, clock, segments_per_second=2)
    started = clock.now()

    for n in range(10):
        channel.send(sms(f"+48600100{n:03d}", n=n))

    waited = clock.now() - started
    assert timedelta(seconds=4) <= waited < timedelta(seconds=6)
    assert len(standin.messages) == 10


def test_a_three_segment_text_costs_three_tokens(
    standin: TwilioStandIn, clock: VirtualClock
) -> None:
    long_text = "Acme: the shop is down. " * 17
    assert count_segments(long_text).segments == 3
    channel = sms_channel(standin, clock, segments_per_second=2)
    channel.send(sms("+48600100001", n=1))
    channel.send(sms("+48600100002", n=2))  # the bucket is empty now

    before = clock.now()
    channel.send(sms("+48600100003", long_text, n=3))
    three = clock.now() - before
    before = clock.now()
    channel.send(sms("+48600100004", n=4))
    one = clock.now() - before

    assert one == timedelta(seconds=0.5)
    assert three == 3 * one
    assert standin.to("+48600100003")[0]["num_segments"] == "3"


# -- settings and secrets ----------------------------------------------------------------------


def test_the_token_is_masked_in_every_repr(standin: TwilioStandIn, clock: VirtualClock) -> None:
    channel = sms_channel(standin, clock)
    shown = " ".join(
        [repr(channel), str(channel), repr(channel.settings), str(channel.settings)]
        + [str(v) for v in channel.settings.model_dump().values()]
    )
    assert TOKEN not in shown
    assert SID in repr(channel)


GOOD = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM": FROM}


def test_settings_from_the_environment() -> None:
    loaded = load_settings(GOOD).twilio
    assert loaded is not None
    assert loaded.account_sid == SID
    assert loaded.auth_token is not None
    assert loaded.auth_token.get_secret_value() == TOKEN
    assert loaded.from_number == FROM
    assert load_settings({}).twilio is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        pytest.param(
            {"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM": FROM}, "TWILIO_ACCOUNT_SID", id="no-sid"
        ),
        pytest.param(
            {"TWILIO_ACCOUNT_SID": SID, "TWILIO_FROM": FROM}, "TWILIO_AUTH_TOKEN", id="tok"
        ),
        pytest.param(
            {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_FROM", id="no-from"
        ),
        pytest.param({**GOOD, "TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID", id="short-sid"),
        pytest.param({**GOOD, "TWILIO_ACCOUNT_SID": "SK" + "0" * 32}, "AC followed", id="not-AC"),
        pytest.param({**GOOD, "TWILIO_CONCURRENCY": "many"}, "TWILIO_CONCURRENCY", id="conc"),
        pytest.param(
            {**GOOD, "TWILIO_SEGMENTS_PER_SECOND": "0"}, "TWILIO_SEGMENTS_PER_SECOND", id="rate"
        ),
    ],
)
def test_a_setting_problem_names_the_variable_and_never_the_token(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ChannelConfigError) as refused:
        load_settings(environ)

    assert named in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_a_settings_file_problem_never_shows_the_token(tmp_path: Path) -> None:
    file = tmp_path / "channels.yaml"
    file.write_text(
        f"twilio:\n  account_sid: {SID}\n  auth_token: [{TOKEN}]\n  from_number: '{FROM}'\n",
        encoding="utf-8",
    )
    with pytest.raises(ChannelConfigError) as refused:
        load_settings({}, file)

    assert "TWILIO_AUTH_TOKEN is not valid" in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_the_environment_overrides_the_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "channels.yaml"
    file.write_text(
        f"twilio:\n  account_sid: {SID}\n  auth_token: file-token\n  from_number: '{FROM}'\n",
        encoding="utf-8",
    )
    loaded = load_settings({"TWILIO_AUTH_TOKEN": TOKEN}, file).twilio
    assert loaded is not None
    assert loaded.auth_token is not None
    assert loaded.auth_token.get_secret_value() == TOKEN


def test_a_settings_file_syntax_error_never_shows_the_token(tmp_path: Path) -> None:
    file = tmp_path / "channels.yaml"
    file.write_text(  # a tab where two spaces belong: a slip any editor can make
        f"twilio:\n  account_sid: {SID}\n\tauth_token: {TOKEN}\n  from_number: '{FROM}'\n",
        encoding="utf-8",
    )
    with pytest.raises(ChannelConfigError) as refused:
        load_settings({}, file)

    assert str(file) in str(refused.value)
    assert TOKEN[:12] not in str(refused.value)


def test_a_twilio_section_that_is_not_a_mapping_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    file = tmp_path / "channels.yaml"
    file.write_text(f"twilio: {TOKEN}\n", encoding="utf-8")

    with pytest.raises(ChannelConfigError) as refused:
        load_settings({}, file)

    assert str(file) in str(refused.value)
    assert TOKEN not in str(refused.value)
