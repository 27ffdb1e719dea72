"""Which channel carries which kind of message, from the settings: Twilio for SMS and SMTP
for e-mail where configured, and the terminal otherwise, so nothing is ever silently lost."""

from __future__ import annotations

from typing import IO

from warroom.channels import Channel
from warroom.channels.config import ChannelSettings
from warroom.channels.console import ConsoleChannel
from warroom.channels.smtp_email import SmtpEmail
from warroom.channels.twilio_sms import TwilioSms
from warroom.errors import masked_url


def build_channels(settings: ChannelSettings, console: IO[str]) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "sms": TwilioSms(settings.twilio) if settings.twilio else ConsoleChannel("sms", console),
        "email": SmtpEmail(settings.smtp) if settings.smtp else ConsoleChannel("email", console),
    }
    return channels


def printing(settings: ChannelSettings) -> list[str]:
    """The channels with no provider configured: their messages are printed to the terminal,
    recorded `printed`, and reach nobody. Said loudly at the start of `run` and `serve`."""
    return [
        kind for kind, ready in (("sms", settings.twilio), ("email", settings.smtp)) if not ready
    ]


def printing_warning(kinds: list[str], where: str = "the terminal") -> str:
    """One line naming what will be printed instead of sent, or "" when everything sends."""
    if not kinds:
        return ""
    names = " and ".join(kinds)
    return (
        f"NOT SENDING {names.upper()}: no {names} channel is configured; those messages are "
        f"printed to {where} (recorded `printed`) and reach nobody. "
        "`warroom channels check` shows what to set."
    )


def describe(settings: ChannelSettings) -> dict[str, str]:
    """One line per channel for `warroom channels check`; secrets never appear."""
    twilio, smtp = settings.twilio, settings.smtp
    sms = "terminal (Twilio not configured: set TWILIO_ACCOUNT_SID, ...)"
    if twilio is not None:
        sender = twilio.messaging_service_sid or twilio.from_number
        where = masked_url(twilio.base_url) if twilio.base_url else "api.twilio.com"
        auth = "API key " + twilio.api_key if twilio.api_key else "auth token ****"
        sms = f"Twilio {twilio.account_sid} via {where}, from {sender}, {auth}"
    email = "terminal (SMTP not configured: set SMTP_HOST, SMTP_FROM, ...)"
    if smtp is not None:
        user = f", user {smtp.username}" if smtp.username else ""
        email = f"SMTP {smtp.host}:{smtp.port} ({smtp.security}){user}, from {smtp.from_address}"
    return {"sms": sms, "email": email}
