"""E-mail through an SMTP server, with the standard library's `smtplib` and `email`.

One connection per sending thread is kept open across a fan-out (a holding statement to
2,000 staff is one TLS handshake, not 2,000). A 4xx answer is worth retrying; a 5xx is not;
a refused recipient fails that recipient only. Every message says it was sent by a machine
(`Auto-Submitted`), so out-of-office replies do not flood the reply address.
"""

from __future__ import annotations

import contextlib
import html
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from warroom.channels import Receipt
from warroom.channels.config import ChannelConfigError, SmtpSettings
from warroom.engine.effects import SendMessage


class SmtpEmail:
    name = "email"

    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.tls = tls_context or ssl.create_default_context()
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpEmail(host={s.host!r}, port={s.port}, user={s.username!r}, password=***)"

    def compose(self, message: SendMessage) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.from_address
        mail["To"] = formataddr((message.recipient, message.address))
        mail["Subject"] = message.subject or "(no subject)"
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(
            idstring=message.message, domain=s.from_address.rpartition("@")[2] or None
        )
        if s.reply_to:
            mail["Reply-To"] = s.reply_to
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Warroom-Message"] = message.message
        mail.set_content(message.text)  # set_content resets Content-* headers: language after
        if message.language:
            mail["Content-Language"] = message.language
        if s.html:
            paragraphs = "".join(
                f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                for p in message.text.split("\n\n")
            )
            lang = html.escape(message.language or "en")
            mail.add_alternative(
                f'<!doctype html><html lang="{lang}"><body>{paragraphs}</body></html>',
                subtype="html",
            )
        return mail

    def _connection(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                if connection.noop()[0] == 250:
                    return connection
            except (smtplib.SMTPException, OSError):
                pass  # a server restarted since: closed or reset, it is stale either way
            self._drop()
        s = self.settings
        opened: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                opened = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.tls)
            else:
                opened = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    opened.starttls(context=self.tls)
            if s.username and s.password:
                opened.login(s.username, s.password.get_secret_value())
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
            ssl.SSLError,
        ) as exc:
            if opened is not None:
                opened.close()
            raise ChannelConfigError(_misconfigured(s, exc)) from None
        except BaseException:
            if opened is not None:
                opened.close()
            raise
        connection = opened
        self._local.connection = connection
        with self._lock:
            self._all.append(connection)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def send(self, message: SendMessage) -> Receipt:
        mail = self.compose(message)
        try:
            refused = self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return _answer(code, reply)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                self._drop()
            return _answer(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return Receipt("failed", detail=f"SMTP connection lost ({exc})", retryable=True)
        if refused:
            code, reply = next(iter(refused.values()))
            return _answer(code, reply)
        return Receipt("sent", provider_id=str(mail["Message-ID"]))

    def check(self) -> str:
        """Connect, greet and log in without sending: `warroom channels check`."""
        connection = self._connection()
        return f"{self.settings.host}:{self.settings.port} answered {connection.noop()[0]}"

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


def _answer(code: int, reply: bytes | str) -> Receipt:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    detail = f"SMTP {code} {text}".strip()
    if 400 <= code < 500:
        return Receipt("failed", detail=detail, retryable=True)
    return Receipt("undeliverable", detail=detail)


def _misconfigured(settings: SmtpSettings, exc: Exception) -> str:
    where = f"the SMTP server {settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login of SMTP_USER={settings.username!r}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} does not offer STARTTLS; set SMTP_SECURITY=tls or none"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where} presented a certificate this machine does not trust ({exc.verify_message})"
    return f"{where}: TLS failed ({exc})"
