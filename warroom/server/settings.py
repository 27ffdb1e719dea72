"""The server's secrets and public address, from the environment or the settings file's
`server:` section (the environment wins).

Every secret is a `SecretStr`, masked in every repr, log line and error. A route whose secret
is not set answers 503 "not configured": an unset secret never means "open".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from warroom.channels.config import ChannelConfigError, read_settings_file
from warroom.durations import parse_duration
from warroom.errors import masked_url

MIN_SECRET = 16
"""A shorter secret can be guessed or brute-forced offline from one signed link."""

ENV = {
    "public_url": "WARROOM_PUBLIC_URL",
    "secret": "WARROOM_SECRET",
    "api_token": "WARROOM_API_TOKEN",
    "alertmanager_token": "WARROOM_ALERTMANAGER_TOKEN",
    "pagerduty_secrets": "WARROOM_PAGERDUTY_SECRETS",
    "generic_secret": "WARROOM_GENERIC_SECRET",
    "generic_token": "WARROOM_GENERIC_TOKEN",
    "trigger_rate": "WARROOM_TRIGGER_RATE",
}
SECRETS = ("secret", "api_token", "alertmanager_token", "generic_secret", "generic_token")


class ServerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    public_url: str | None = None
    """The one address the world uses for this server, e.g. `https://warroom.acme.example`.
    Twilio signs the URL it called; behind a proxy only this can rebuild it."""
    secret: SecretStr | None = None
    """Signs e-mail links."""
    api_token: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    pagerduty_secrets: tuple[SecretStr, ...] = ()
    """Several during a secret rotation: a signature by any of them is accepted."""
    generic_secret: SecretStr | None = None
    generic_token: SecretStr | None = None
    trigger_rate: str = "300/5m"
    """Requests per window per trigger route, past which it answers 429."""


def load_server_settings(
    environ: Mapping[str, str] | None = None, file: Path | None = None
) -> ServerSettings:
    environ = os.environ if environ is None else environ
    values: dict[str, object] = dict(read_settings_file(file)["server"])
    for field, variable in ENV.items():
        if environ.get(variable):
            values[field] = environ[variable]
    secrets = values.get("pagerduty_secrets")
    if isinstance(secrets, str):
        values["pagerduty_secrets"] = tuple(s.strip() for s in secrets.split(",") if s.strip())
    elif isinstance(secrets, list):
        values["pagerduty_secrets"] = tuple(str(s) for s in secrets)
    for field in ("trigger_rate", "public_url"):
        if isinstance(values.get(field), int):
            values[field] = str(values[field])
    try:
        settings = ServerSettings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            name = ENV.get(field, field)
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown setting {field!r} in the server section")
            else:  # never the value: it may be a secret
                problems.append(f"{name} is not valid ({error['msg']})")
        raise ChannelConfigError("server settings: " + "; ".join(problems)) from None
    _check(settings)
    return settings


def _check(settings: ServerSettings) -> None:
    if settings.public_url is not None:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ChannelConfigError(
                f"WARROOM_PUBLIC_URL={masked_url(settings.public_url)!r} is not a base URL "
                "(expected e.g. https://warroom.acme.example or https://acme.example/warroom)"
            )
        if parts.username or parts.password:
            raise ChannelConfigError("WARROOM_PUBLIC_URL must not carry a user name or password")
    for field in SECRETS:
        value = getattr(settings, field)
        if value is not None and len(value.get_secret_value()) < MIN_SECRET:
            raise ChannelConfigError(f"{ENV[field]} must be at least {MIN_SECRET} characters")
    for value in settings.pagerduty_secrets:
        if len(value.get_secret_value()) < MIN_SECRET:
            raise ChannelConfigError(
                f"each of WARROOM_PAGERDUTY_SECRETS must be at least {MIN_SECRET} characters"
            )
    rate_window(settings.trigger_rate)


def rate_window(text: str) -> tuple[int, float]:
    """`300/5m` -> (300, 300.0): so many requests per so many seconds."""
    count, slash, window = text.partition("/")
    try:
        requests = int(count)
        seconds = parse_duration(window).total_seconds() if slash else 0.0
    except ValueError:
        requests, seconds = 0, 0.0
    if requests < 1 or seconds <= 0:
        raise ChannelConfigError(
            f"WARROOM_TRIGGER_RATE={text!r} is not a rate (expected e.g. 300/5m)"
        )
    return requests, seconds
