"""The server's secrets: read from the environment or the settings file, masked everywhere,
refused when weak or malformed, with a message that names the variable and never the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.channels.config import ChannelConfigError, load_settings
from warroom.server.settings import load_server_settings, rate_window

SECRET = "s3cr3t-value-long-enough-0123"


def test_the_environment_wins_and_secrets_are_masked(tmp_path: Path) -> None:
    file = tmp_path / "settings.yaml"
    file.write_text(
        "server:\n  public_url: https://file.example\n  secret: file-secret-0123456789\n"
        "  pagerduty_secrets: [pd-secret-one-0123456, pd-secret-two-0123456]\n"
    )
    settings = load_server_settings(
        {"WARROOM_PUBLIC_URL": "https://warroom.acme.example", "WARROOM_API_TOKEN": SECRET}, file
    )
    assert settings.public_url == "https://warroom.acme.example"
    assert settings.secret is not None
    assert settings.secret.get_secret_value() == "file-secret-0123456789"
    assert len(settings.pagerduty_secrets) == 2
    shown = repr(settings) + str(settings)
    for secret in (SECRET, "file-secret", "pd-secret"):
        assert secret not in shown


def test_comma_separated_pagerduty_secrets_from_the_environment() -> None:
    environ = {"WARROOM_PAGERDUTY_SECRETS": "first-secret-0123456, second-secret-012345"}
    secrets = load_server_settings(environ).pagerduty_secrets
    assert [s.get_secret_value() for s in secrets] == [
        "first-secret-0123456",
        "second-secret-012345",
    ]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WARROOM_SECRET": "short"}, "WARROOM_SECRET must be at least 16 characters"),
        ({"WARROOM_API_TOKEN": "short"}, "WARROOM_API_TOKEN must be at least 16 characters"),
        (
            {"WARROOM_PAGERDUTY_SECRETS": "long-enough-secret-01,short"},
            "each of WARROOM_PAGERDUTY_SECRETS must be at least 16 characters",
        ),
        (
            {"WARROOM_PUBLIC_URL": "warroom.acme.example"},
            "WARROOM_PUBLIC_URL='warroom.acme.example' is not a base URL "
            "(expected e.g. https://warroom.acme.example or https://acme.example/warroom)",
        ),
        (
            {"WARROOM_PUBLIC_URL": "https://user:hunter2@warroom.acme.example"},
            "WARROOM_PUBLIC_URL must not carry a user name or password",
        ),
        (
            {"WARROOM_TRIGGER_RATE": "lots"},
            "WARROOM_TRIGGER_RATE='lots' is not a rate (expected e.g. 300/5m)",
        ),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ChannelConfigError) as raised:
        load_server_settings(environ)
    assert str(raised.value) == message
    assert "hunter2" not in str(raised.value)


def test_an_unknown_server_setting_is_named(tmp_path: Path) -> None:
    file = tmp_path / "settings.yaml"
    file.write_text("server:\n  public_ur: https://warroom.acme.example\n")
    with pytest.raises(ChannelConfigError, match="unknown setting 'public_ur' in the server"):
        load_server_settings({}, file)


def test_the_public_url_alone_does_not_half_configure_twilio() -> None:
    settings = load_settings({"WARROOM_PUBLIC_URL": "https://warroom.acme.example"})
    assert settings.twilio is None


def test_the_public_url_reaches_status_callbacks_from_the_file(tmp_path: Path) -> None:
    file = tmp_path / "settings.yaml"
    file.write_text(
        "server: {public_url: 'https://warroom.acme.example'}\n"
        "twilio: {account_sid: AC"
        + "0" * 32
        + ", auth_token: t0ken, from_number: '+48221234567'}\n"
    )
    twilio = load_settings({}, file).twilio
    assert twilio is not None
    assert twilio.status_callback_url == "https://warroom.acme.example"


def test_the_old_status_callback_setting_still_works_with_a_note(tmp_path: Path) -> None:
    file = tmp_path / "settings.yaml"
    file.write_text(
        "twilio: {account_sid: AC" + "0" * 32 + ", auth_token: t0ken, from_number: '+48221234567',"
        " status_callback_url: 'https://old.example'}\n"
    )
    settings = load_settings({}, file)
    assert settings.twilio is not None
    assert settings.twilio.status_callback_url == "https://old.example"
    assert settings.notices == (
        f"{file}: `twilio.status_callback_url` is deprecated; "
        "set `server.public_url` (or WARROOM_PUBLIC_URL) instead",
    )


def test_rates() -> None:
    assert rate_window("300/5m") == (300, 300.0)
    assert rate_window("10/1s") == (10, 1.0)
