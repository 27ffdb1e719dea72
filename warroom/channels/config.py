"""Channel settings, from the environment or a settings file, with secrets masked.

Secrets are `SecretStr`: their repr is `'**********'`, so they never reach a log line, a
timeline or an error message by accident. Every problem names the variable to set and what
is expected, never the value given for a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from warroom.errors import UsageError


class ChannelConfigError(UsageError):
    """A channel cannot be used as configured (missing or malformed settings)."""


class TwilioSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_sid: str
    auth_token: SecretStr | None = None
    api_key: str | None = None
    api_secret: SecretStr | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    base_url: str | None = None
    """Where the Messages API is: Twilio's own by default; a local stand-in for drills."""
    status_callback_url: str | None = None
    concurrency: int = 8
    segments_per_second: float = 10.0
    timeout: float = 15.0


class SmtpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    reply_to: str | None = None
    timeout: float = 30.0
    html: bool = True


class ChannelSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    twilio: TwilioSettings | None = None
    smtp: SmtpSettings | None = None
    notices: tuple[str, ...] = ()
    """Deprecations and the like, for the operator to read at start."""


ENV = {
    "twilio": {
        "account_sid": "TWILIO_ACCOUNT_SID",
        "auth_token": "TWILIO_AUTH_TOKEN",
        "api_key": "TWILIO_API_KEY",
        "api_secret": "TWILIO_API_SECRET",
        "from_number": "TWILIO_FROM",
        "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
        "base_url": "TWILIO_BASE_URL",
        "concurrency": "TWILIO_CONCURRENCY",
        "segments_per_second": "TWILIO_SEGMENTS_PER_SECOND",
    },
    "smtp": {
        "host": "SMTP_HOST",
        "port": "SMTP_PORT",
        "security": "SMTP_SECURITY",
        "username": "SMTP_USER",
        "password": "SMTP_PASSWORD",
        "from_address": "SMTP_FROM",
        "reply_to": "SMTP_REPLY_TO",
    },
}
SECRETS = {"auth_token", "api_secret", "password"}
PUBLIC_URL_ENV = "WARROOM_PUBLIC_URL"


SECTIONS = ("twilio", "smtp", "server")
"""The settings file's sections; `server:` is read by `warroom.server.settings`."""


def read_settings_file(file: Path | None) -> dict[str, dict[str, object]]:
    """The sections of a settings file, each a mapping (empty when absent)."""
    sections: dict[str, dict[str, object]] = {name: {} for name in SECTIONS}
    if file is None:
        return sections
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ChannelConfigError(f"cannot read settings file {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        # never PyYAML's own text: it quotes the offending line, which may hold a secret
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ChannelConfigError(f"{file}{where}: not valid YAML") from None
    if not isinstance(loaded, dict) or set(loaded) - set(sections):
        raise ChannelConfigError(
            f"{file}: expected a mapping with `twilio:`, `smtp:` and/or `server:` sections"
        )
    for name, values in loaded.items():
        if values is not None and not isinstance(values, dict):
            raise ChannelConfigError(f"{file}: `{name}:` must be a mapping of settings")
        sections[name].update(values or {})
    return sections


def load_settings(
    environ: Mapping[str, str] | None = None, file: Path | None = None
) -> ChannelSettings:
    """Settings from a YAML file (`twilio:` and `smtp:` sections), overridden by the
    environment. A channel with none of its variables set is simply not configured."""
    environ = os.environ if environ is None else environ
    read = read_settings_file(file)
    server = read.pop("server")
    sections = read
    notices: list[str] = []
    if "status_callback_url" in sections["twilio"]:
        notices.append(
            f"{file}: `twilio.status_callback_url` is deprecated; "
            "set `server.public_url` (or WARROOM_PUBLIC_URL) instead"
        )
    elif server.get("public_url") and sections["twilio"]:
        sections["twilio"]["status_callback_url"] = server["public_url"]
    for section, names in ENV.items():
        for field, variable in names.items():
            if environ.get(variable):
                sections[section][field] = environ[variable]
    if environ.get(PUBLIC_URL_ENV) and sections["twilio"]:
        # the one public base URL: status callbacks go to its /twilio/status
        sections["twilio"]["status_callback_url"] = environ[PUBLIC_URL_ENV]
    result: dict[str, object] = {"notices": tuple(notices)}
    for section, values in sections.items():
        if not values:
            continue
        model = TwilioSettings if section == "twilio" else SmtpSettings
        try:
            result[section] = model.model_validate(values)
        except ValidationError as exc:
            raise ChannelConfigError(_explain(section, exc)) from None
    settings = ChannelSettings.model_validate(result)
    _check(settings)
    return settings


def _explain(section: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = ENV[section].get(field, field)
        if error["type"] == "missing":
            problems.append(f"{variable} is not set")
        elif error["type"] == "extra_forbidden":
            problems.append(f"unknown setting {field!r} in the {section} section")
        elif field in SECRETS:
            problems.append(f"{variable} is not valid ({error['msg']})")
        else:
            problems.append(f"{variable}={error.get('input')!r}: {error['msg']}")
    return f"{section} settings: " + "; ".join(problems)


def _check(settings: ChannelSettings) -> None:
    twilio = settings.twilio
    if twilio is not None:
        if not twilio.account_sid.startswith("AC") or len(twilio.account_sid) != 34:
            raise ChannelConfigError(
                "TWILIO_ACCOUNT_SID must be your account SID: AC followed by 32 characters"
            )
        key_pair = twilio.api_key is not None and twilio.api_secret is not None
        if twilio.auth_token is None and not key_pair:
            raise ChannelConfigError(
                "set TWILIO_AUTH_TOKEN, or the API key pair TWILIO_API_KEY and TWILIO_API_SECRET"
            )
        if not (twilio.from_number or twilio.messaging_service_sid):
            raise ChannelConfigError(
                "set TWILIO_FROM (a number in E.164, e.g. +48221234567) or "
                "TWILIO_MESSAGING_SERVICE_SID (MG...)"
            )
        if twilio.concurrency < 1 or twilio.segments_per_second <= 0:
            raise ChannelConfigError(
                "TWILIO_CONCURRENCY must be 1 or more and TWILIO_SEGMENTS_PER_SECOND above 0"
            )
    smtp = settings.smtp
    if smtp is not None and (smtp.username is None) != (smtp.password is None):
        raise ChannelConfigError("set both SMTP_USER and SMTP_PASSWORD, or neither")
