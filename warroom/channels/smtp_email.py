"""E-mail through an SMTP server, with the standard library's `smtplib` and `email`.

One connection per sending thread is kept open across a fan-out (a holding statement to
2,000 staff is one TLS handshake, not 2,000). A 4xx answer is worth retrying; a 5xx is not;
a refused recipient fails that recipient only. Every message says it was sent by a machine
(`Auto-Submitted`), so out-of-office replies do not flood the reply address.
"""

from __future__ import annotations

import contextlib
import email.policy
import html
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from warroom.channels import Receipt
from warroom.channels.config import ChannelConfigError, SmtpSettings
from warroom.engine.effects import SendMessage

IDLE_CHECK = 5.0
"""Seconds a kept connection may sit unused before it is checked (NOOP) ahead of a send: a
server may have dropped it meanwhile. Within a fan-out it is never idle that long, so a
release costs no extra round trip per message."""


class SmtpEmail:
    name = "email"

    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.tls = tls_context or ssl.create_default_context()
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._parts: dict[tuple[str, ...], bytes] = {}
        """Encoded header blocks and MIME bodies by their text: a release to 5,000 people
        builds its body once, not 5,000 times (building one took most of a send's CPU)."""

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
            idstring=message.message, domain=parseaddr(s.from_address)[1].rpartition("@")[2] or None
        )
        if message.reply_to or s.reply_to:
            mail["Reply-To"] = message.reply_to or s.reply_to
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Warroom-Message"] = message.message
        self._content(mail, message)
        return mail

    def _part(self, key: tuple[str, ...], build: EmailMessage) -> bytes:
        found = self._parts.get(key)
        if found is None:
            if len(self._parts) > 64:
                self._parts.clear()
            found = self._parts[key] = build.as_bytes(policy=email.policy.SMTP)
        return found

    def raw(self, message: SendMessage) -> tuple[bytes, str] | None:
        """The message as `compose` would write it, as bytes on the wire, and its Message-ID;
        None for an address that is not ASCII (`compose` and SMTPUTF8 handle those)."""
        if not message.address.isascii():
            return None
        s = self.settings
        reply_to = message.reply_to or s.reply_to or ""
        fixed = (message.subject, s.from_address, reply_to)
        head = self._parts.get(("head", *fixed))
        if head is None:
            top = EmailMessage()
            top["From"] = s.from_address
            top["Subject"] = message.subject or "(no subject)"
            if reply_to:
                top["Reply-To"] = reply_to
            top["Auto-Submitted"] = "auto-generated"
            head = self._part(("head", *fixed), top).removesuffix(b"\r\n")
            self._parts[("head", *fixed)] = head
        content = (message.text, message.language, str(s.html))
        body = self._parts.get(("body", *content))
        if body is None:
            mail = EmailMessage()
            self._content(mail, message)
            body = self._part(("body", *content), mail)
        message_id = make_msgid(
            idstring=message.message, domain=parseaddr(s.from_address)[1].rpartition("@")[2] or None
        )
        to = formataddr((message.recipient, message.address), charset="utf-8")
        varying = (
            f"To: {to}\r\nDate: {formatdate(localtime=False, usegmt=True)}\r\n"
            f"Message-ID: {message_id}\r\nX-Warroom-Message: {message.message}\r\n"
        )
        return head + varying.encode("ascii") + body, message_id

    def _content(self, mail: EmailMessage, message: SendMessage) -> None:
        s = self.settings
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

    def _connection(self) -> smtplib.SMTP:
        return self._open()[0]

    def _open(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's connection, and whether it is one kept from an earlier send."""
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        used: float = getattr(self._local, "used", 0.0)
        self._local.used = now = time.monotonic()
        if connection is not None:
            if now - used < IDLE_CHECK:
                return connection, True
            try:
                if connection.noop()[0] == 250:
                    return connection, True
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
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def send(self, message: SendMessage) -> Receipt:
        wire = self.raw(message)
        mail = self.compose(message) if wire is None else None
        sender = parseaddr(self.settings.from_address)[1]
        for fresh in (False, True):
            reused = False
            try:
                connection, reused = self._open()
                if wire is not None:
                    refused = connection.sendmail(sender, [message.address], wire[0])
                else:
                    assert mail is not None
                    refused = connection.send_message(mail)
                break
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                return _answer(code, reply)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    self._drop()
                return _answer(exc.smtp_code, exc.smtp_error)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                if reused and not fresh:
                    # a kept connection the server closed meanwhile (a restart): once more
                    # on a new one, as the retry after a lost connection would anyway
                    continue
                return Receipt("failed", detail=f"SMTP connection lost ({exc})", retryable=True)
        if refused:
            code, reply = next(iter(refused.values()))
            return _answer(code, reply)
        sent_id = wire[1] if wire is not None else str(mail["Message-ID"] if mail else "")
        return Receipt("sent", provider_id=sent_id)

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
