"""E-mail through `smtplib` to a real SMTP server (aiosmtpd) on loopback.

The server keeps every envelope it accepts and can refuse recipients the way mail servers do;
what it received is parsed back with the standard library, as a mail client would.
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import MIMEPart
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from warroom.channels import Receipt
from warroom.channels.config import ChannelConfigError, SmtpSettings, load_settings
from warroom.channels.smtp_email import SmtpEmail
from warroom.channels.testing import Mailbox, free_port, parse_envelope
from warroom.engine.effects import SendMessage

SENDER = "alerts@acme.example"
PASSWORD = "Kr0kus-w-ogrodzie-7"
TEXT = "Sklep nie działa od 9:40.\n\nNie klikajcie w <script>alert('x')</script> & czekajcie."
SUBJECT = "Acme: awaria sklepu \u2013 zażółć gęślą jaźń"


# -- a mail server on loopback ----------------------------------------------------------------


def body(part: MIMEPart | None) -> str:
    """A text part as a reader sees it: the wire's CRLF line ends read as newlines."""
    assert part is not None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


parse = parse_envelope


@dataclass
class MailServer:
    mailbox: Mailbox
    port: int
    options: dict[str, Any]
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[MailServer]:
    running = MailServer(Mailbox(), free_port(), {})
    running.start()
    yield running
    running.stop()


def check_password(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    good = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"alerts"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=good, handled=False)


@pytest.fixture
def auth_server() -> Iterator[MailServer]:
    """A server that wants a login, offered without TLS so the test needs no certificate."""
    running = MailServer(
        Mailbox(), free_port(), {"authenticator": check_password, "auth_require_tls": False}
    )
    running.start()
    yield running
    running.stop()


def settings(port: int, **changes: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": f"Acme Crisis Desk <{SENDER}>",
        "timeout": 10.0,
    }
    values.update(changes)
    return SmtpSettings.model_validate(values)


@pytest.fixture
def channel(server: MailServer) -> Iterator[SmtpEmail]:
    sending = SmtpEmail(settings(server.port, reply_to="press@acme.example"))
    yield sending
    sending.close()


def mail(
    address: str,
    n: int = 1,
    *,
    name: str = "Łukasz Żółć",
    text: str = TEXT,
    subject: str = SUBJECT,
) -> SendMessage:
    return SendMessage(
        message=f"outage-20260302-1000-m{n}",
        key=f"outage-20260302-1000/tell/notice-v1/{address}/email",
        purpose="statement",
        step="tell",
        channel="email",
        address=address,
        recipient=name,
        person=None,
        text=text,
        subject=subject,
        language="pl",
    )


def config_error(sending: SmtpEmail, message: SendMessage) -> tuple[str, list[str]]:
    """Send expecting a ChannelConfigError: its text, and every ResourceWarning seen meanwhile
    (an SMTP connection abandoned without being closed warns when it is collected)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            sending.send(message)
        except ChannelConfigError as exc:
            problem = str(exc)
        else:
            pytest.fail("no ChannelConfigError")
        gc.collect()
    leaked = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    return problem, leaked


# -- what arrives -----------------------------------------------------------------------------


def test_a_message_arrives_with_every_header_and_both_bodies(
    server: MailServer, channel: SmtpEmail
) -> None:
    receipt = channel.send(mail("lukasz@example.com"))

    assert receipt.status == "sent"
    [envelope] = server.mailbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["lukasz@example.com"]
    arrived = parse(envelope)
    assert arrived["From"].addresses[0].addr_spec == SENDER
    [to] = arrived["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Łukasz Żółć", "lukasz@example.com")
    assert arrived["Subject"] == SUBJECT
    message_id = arrived["Message-ID"].strip()  # a long id is folded onto its own line
    assert message_id == receipt.provider_id
    assert "outage-20260302-1000-m1" in message_id
    assert message_id.endswith("@acme.example>")
    assert parsedate_to_datetime(arrived["Date"]).tzinfo is not None
    assert arrived["Reply-To"] == "press@acme.example"
    assert arrived["Auto-Submitted"] == "auto-generated"
    plain, html = arrived.get_body(("plain",)), arrived.get_body(("html",))
    assert body(plain).removesuffix("\n") == TEXT
    markup = body(html)
    assert '<html lang="pl">' in markup
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    assert "zażółć" not in markup  # the subject is not the body
    assert "działa" in markup


@pytest.mark.parametrize("html", [True, False])
def test_the_message_declares_its_language(server: MailServer, html: bool) -> None:
    sending = SmtpEmail(settings(server.port, html=html))
    try:
        sending.send(mail("lukasz@example.com"))
    finally:
        sending.close()

    [arrived] = server.mailbox.messages()
    plain = arrived.get_body(("plain",))
    assert plain is not None
    assert "pl" in (arrived["Content-Language"], plain["Content-Language"])


def test_non_ascii_headers_travel_encoded(server: MailServer, channel: SmtpEmail) -> None:
    channel.send(mail("lukasz@example.com"))

    content = server.mailbox.envelopes[0].content
    assert isinstance(content, bytes)
    head = content.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # RFC 2047 words, not raw UTF-8, in the header section
    assert b"=?utf-8?" in head


def test_without_reply_to_and_html_the_message_is_plain_text(server: MailServer) -> None:
    sending = SmtpEmail(settings(server.port, html=False))
    try:
        sending.send(mail("lukasz@example.com"))
    finally:
        sending.close()

    [arrived] = server.mailbox.messages()
    assert arrived["Reply-To"] is None
    assert arrived.get_content_type() == "text/plain"
    assert body(arrived).removesuffix("\n") == TEXT


def test_several_sends_share_one_connection(server: MailServer, channel: SmtpEmail) -> None:
    for n in range(5):
        assert channel.send(mail(f"user{n}@example.com", n)).status == "sent"

    assert len(server.mailbox.envelopes) == 5
    assert len(set(server.mailbox.peers)) == 1


# -- refusals ---------------------------------------------------------------------------------


def test_a_refused_recipient_is_undeliverable_and_the_next_one_still_gets_theirs(
    server: MailServer, channel: SmtpEmail
) -> None:
    server.mailbox.refuse["gone@example.com"] = "550 5.1.1 no such user"

    refused = channel.send(mail("gone@example.com", 1))
    next_one = channel.send(mail("here@example.com", 2))

    assert refused.status == "undeliverable"
    assert not refused.retryable
    assert "550" in refused.detail
    assert "no such user" in refused.detail
    assert next_one.status == "sent"
    assert server.mailbox.to("gone@example.com") == []
    assert len(server.mailbox.to("here@example.com")) == 1


def test_a_temporary_refusal_is_a_retryable_failure(server: MailServer, channel: SmtpEmail) -> None:
    server.mailbox.refuse["busy@example.com"] = "451 4.3.0 mailbox busy, try again later"

    receipt = channel.send(mail("busy@example.com"))

    assert receipt == Receipt(
        "failed", detail="SMTP 451 4.3.0 mailbox busy, try again later", retryable=True
    )
    del server.mailbox.refuse["busy@example.com"]
    assert channel.send(mail("busy@example.com")).status == "sent"
    assert len(server.mailbox.to("busy@example.com")) == 1


def test_after_a_server_restart_the_next_send_reconnects(
    server: MailServer, channel: SmtpEmail
) -> None:
    assert channel.send(mail("first@example.com", 1)).status == "sent"
    server.stop()

    while_down = channel.send(mail("second@example.com", 2))
    server.start()  # a new server on the same port
    again = channel.send(mail("second@example.com", 2))
    after = channel.send(mail("third@example.com", 3))

    assert (while_down.status, while_down.retryable) == ("failed", True)
    assert "refused" in while_down.detail.lower()
    assert (again.status, after.status) == ("sent", "sent")
    assert [m["To"].addresses[0].addr_spec for m in server.mailbox.messages()] == [
        "first@example.com",
        "second@example.com",
        "third@example.com",
    ]
    assert len(set(server.mailbox.peers)) == 2


def test_a_server_restart_between_sends_costs_no_message(
    server: MailServer, channel: SmtpEmail
) -> None:
    assert channel.send(mail("first@example.com", 1)).status == "sent"
    server.stop()
    server.start()

    # the stale connection is noticed before the send (NOOP), whatever error it gives
    assert channel.send(mail("second@example.com", 2)).status == "sent"
    assert len(server.mailbox.to("second@example.com")) == 1


def test_an_unreachable_server_is_a_retryable_failure_saying_so() -> None:
    sending = SmtpEmail(settings(free_port()))  # nobody listens there
    try:
        receipt = sending.send(mail("lukasz@example.com"))
    finally:
        sending.close()

    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert "Connection refused" in receipt.detail


# -- login ------------------------------------------------------------------------------------


def test_a_login_is_used_when_configured(auth_server: MailServer) -> None:
    sending = SmtpEmail(settings(auth_server.port, username="alerts", password=PASSWORD))
    try:
        assert sending.send(mail("lukasz@example.com")).status == "sent"
    finally:
        sending.close()

    assert auth_server.mailbox.authenticated == [True]


def test_a_wrong_password_is_a_configuration_error_that_hides_the_password(
    auth_server: MailServer,
) -> None:
    wrong = "Zly-Kot-w-Kuchni-3"
    sending = SmtpEmail(settings(auth_server.port, username="alerts", password=wrong))
    try:
        problem, _ = config_error(sending, mail("lukasz@example.com"))
    finally:
        sending.close()

    assert "refused the login" in problem
    assert "SMTP_USER='alerts'" in problem
    assert wrong not in problem
    assert wrong not in repr(sending)
    assert auth_server.mailbox.envelopes == []


def test_a_refused_login_closes_its_connection(auth_server: MailServer) -> None:
    sending = SmtpEmail(settings(auth_server.port, username="alerts", password="wrong"))
    try:
        _, leaked = config_error(sending, mail("lukasz@example.com"))
    finally:
        sending.close()

    assert leaked == []


def test_smtp_settings_from_the_environment_never_show_the_password(tmp_path: Path) -> None:
    loaded = load_settings(
        {
            "SMTP_HOST": "mail.acme.example",
            "SMTP_PORT": "465",
            "SMTP_SECURITY": "tls",
            "SMTP_USER": "alerts",
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_FROM": SENDER,
        }
    ).smtp
    assert loaded is not None
    assert (loaded.port, loaded.security) == (465, "tls")
    assert PASSWORD not in repr(loaded)
    assert PASSWORD not in repr(SmtpEmail(loaded))
    with pytest.raises(ChannelConfigError) as half:
        load_settings({"SMTP_HOST": "h", "SMTP_FROM": SENDER, "SMTP_PASSWORD": PASSWORD})
    assert "SMTP_USER" in str(half.value)
    assert PASSWORD not in str(half.value)


def test_a_settings_file_syntax_error_never_shows_the_password(tmp_path: Path) -> None:
    file = tmp_path / "channels.yaml"
    secret = "@Lato2026!"  # unquoted, a leading @ is a YAML syntax error
    file.write_text(
        "smtp:\n  host: mail.acme.example\n  from_address: alerts@acme.example\n"
        f"  username: alerts\n  password: {secret}\n",
        encoding="utf-8",
    )
    with pytest.raises(ChannelConfigError) as refused:
        load_settings({}, file)

    assert str(file) in str(refused.value)
    assert secret not in str(refused.value)


# -- TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    made = Certificate(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(made.key),
            "-out",
            str(made.cert),
        ],
        check=True,
        capture_output=True,
    )
    return made


@pytest.fixture
def starttls_server(certificate: Certificate) -> Iterator[MailServer]:
    options = {"tls_context": certificate.server_context(), "require_starttls": True}
    running = MailServer(Mailbox(), free_port(), options)
    running.start()
    yield running
    running.stop()


def test_starttls_is_the_default_and_the_message_travels_encrypted(
    starttls_server: MailServer, certificate: Certificate
) -> None:
    config = settings(starttls_server.port)
    config = config.model_copy(update={"security": "starttls"})
    sending = SmtpEmail(config, tls_context=certificate.client_context())
    try:
        assert sending.send(mail("a@example.com", 1)).status == "sent"
        assert sending.send(mail("b@example.com", 2)).status == "sent"
    finally:
        sending.close()

    assert SmtpSettings(host="h", from_address=SENDER).security == "starttls"
    assert starttls_server.mailbox.tls == [True, True]
    assert len(set(starttls_server.mailbox.peers)) == 1


def test_implicit_tls(certificate: Certificate) -> None:
    running = MailServer(Mailbox(), free_port(), {"ssl_context": certificate.server_context()})
    running.start()
    sending = SmtpEmail(
        settings(running.port, security="tls"), tls_context=certificate.client_context()
    )
    try:
        assert sending.send(mail("a@example.com")).status == "sent"
    finally:
        sending.close()
        running.stop()

    assert len(running.mailbox.envelopes) == 1


def test_a_server_without_starttls_is_a_configuration_error(server: MailServer) -> None:
    sending = SmtpEmail(settings(server.port, security="starttls"))
    try:
        problem, _ = config_error(sending, mail("a@example.com"))
    finally:
        sending.close()

    assert "does not offer STARTTLS" in problem
    assert "SMTP_SECURITY" in problem
    assert server.mailbox.envelopes == []


def test_a_server_without_starttls_leaves_no_connection_open(server: MailServer) -> None:
    sending = SmtpEmail(settings(server.port, security="starttls"))
    try:
        _, leaked = config_error(sending, mail("a@example.com"))
    finally:
        sending.close()

    assert leaked == []


def test_an_untrusted_certificate_is_a_configuration_error(starttls_server: MailServer) -> None:
    sending = SmtpEmail(settings(starttls_server.port, security="starttls"))  # system CAs
    try:
        with pytest.raises(ChannelConfigError, match="certificate"):
            sending.send(mail("a@example.com"))
    finally:
        sending.close()

    assert starttls_server.mailbox.envelopes == []


def test_an_audience_reply_address_replaces_the_channel_s_own(
    server: MailServer, channel: SmtpEmail
) -> None:
    channel.send(dataclasses.replace(mail("lukasz@example.com"), reply_to="klienci@acme.example"))
    channel.send(mail("ewa@example.com", 2))

    to_customer, to_other = server.mailbox.messages()
    assert to_customer["Reply-To"] == "klienci@acme.example"
    assert to_other["Reply-To"] == "press@acme.example"  # the settings' SMTP_REPLY_TO
