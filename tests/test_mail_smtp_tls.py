"""The SMTP transport's encryption and login against a real aiosmtpd server on loopback that
demands STARTTLS (or speaks TLS from the first byte) and AUTH, with a certificate made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels.mail.transports import transport_factory
from koho.errors import ConfigError
from tests.peers import free_port

USER, PASSWORD = "koho-mailer", "s3cret-smtp-passw0rd"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert path, key path)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "koho test mail server")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Handler:
    def __init__(self):
        self.received: list[tuple[str, list[str], bytes, bool]] = []
        self.logins: list[str] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == USER
            and auth_data.password.decode() == PASSWORD
        ):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server, session, envelope):
        encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, encrypted))
        return "250 2.0.0 queued"


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _serve(certificate, **options):
    """An aiosmtpd server that demands AUTH; ``options`` choose STARTTLS or implicit TLS."""
    handler = Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        auth_required=True,
        authenticator=handler.authenticate,
        **options,
    )
    controller.start()
    return handler, controller


@pytest.fixture
def starttls_server(certificate):
    handler, controller = _serve(certificate, tls_context=_server_context(certificate), require_starttls=True)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def smtps_server(certificate):
    # aiosmtpd only counts STARTTLS as TLS when offering AUTH; this is TLS too.
    handler, controller = _serve(certificate, ssl_context=_server_context(certificate), auth_require_tls=False)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("KOHO_SMTP_USER", USER)
    monkeypatch.setenv("KOHO_SMTP_PASSWORD", PASSWORD)


MESSAGE = b"Subject: test\r\nFrom: a@example.jp\r\nTo: b@example.jp\r\n\r\nhello\r\n"


def _send_all(url: str, count: int = 6) -> list:
    transport = transport_factory(url)()
    try:
        return transport.send_batch([("info@example.jp", f"r{i}@example.jp", MESSAGE, f"m{i}") for i in range(count)])
    finally:
        transport.close()


@pytest.mark.usefixtures("credentials")
def test_starttls_and_login_then_send_over_parallel_connections(starttls_server, certificate):
    handler, port = starttls_server
    results = _send_all(f"smtp://127.0.0.1:{port}?starttls=1&connections=3&cafile={certificate[0]}")
    assert all(isinstance(r, str) for r in results), results
    assert sorted(r[1][0] for r in handler.received) == sorted(f"r{i}@example.jp" for i in range(6))
    assert all(encrypted for *_, encrypted in handler.received)
    assert 1 <= len(handler.logins) <= 3  # one login per persistent connection, not per message


@pytest.mark.usefixtures("credentials")
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_smtps(smtps_server, certificate):
    handler, port = smtps_server
    results = _send_all(f"smtps://127.0.0.1:{port}?connections=2&cafile={certificate[0]}", count=3)
    assert all(isinstance(r, str) for r in results), results
    assert len(handler.received) == 3 and all(encrypted for *_, encrypted in handler.received)


def test_wrong_password_stops_the_run_as_a_configuration_error(starttls_server, certificate, monkeypatch):
    handler, port = starttls_server
    monkeypatch.setenv("KOHO_SMTP_USER", USER)
    monkeypatch.setenv("KOHO_SMTP_PASSWORD", "not-the-password")
    with pytest.raises(ConfigError) as caught:
        _send_all(f"smtp://127.0.0.1:{port}?starttls=1&cafile={certificate[0]}")
    assert "refused the login of KOHO_SMTP_USER: 535" in str(caught.value)
    assert "not-the-password" not in str(caught.value) and handler.received == []


@pytest.mark.usefixtures("credentials")
def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(starttls_server):
    handler, port = starttls_server
    with pytest.raises(ConfigError, match="TLS certificate is not trusted.*cafile"):
        _send_all(f"smtp://127.0.0.1:{port}?starttls=1")
    assert handler.logins == [] and handler.received == []


def test_a_server_that_requires_starttls_refuses_plain_mail(starttls_server):
    handler, port = starttls_server
    results = _send_all(f"smtp://127.0.0.1:{port}", count=2)
    assert all(not isinstance(r, str) and not r.transient for r in results), results
    assert "530" in str(results[0]) and handler.received == []


@pytest.mark.parametrize(
    "url, message",
    [
        ("smtp://mail.example.jp:587", "not encrypted; add ?starttls=1 or use smtps://"),
        ("smtp://127.0.0.1:25?starttls=1&cafile=/no/such/ca.pem", "cafile /no/such/ca.pem does not exist"),
    ],
)
@pytest.mark.usefixtures("credentials")
def test_unsafe_or_broken_tls_settings_are_refused_before_any_connection(url, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        transport_factory(url)


@pytest.mark.usefixtures("prefect_harness")
def test_publish_with_a_wrong_password_says_so_and_a_corrected_run_mails_everyone(
    workspace, starttls_server, certificate, monkeypatch, clock
):
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    from koho.ledger import Ledger
    from koho.settings import Settings
    from koho.subscribers import NewSubscriber, SubscriberStore

    handler, port = starttls_server
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{port}?starttls=1&cafile={certificate[0]}")
    monkeypatch.setenv("KOHO_SMTP_USER", USER)
    monkeypatch.setenv("KOHO_SMTP_PASSWORD", "wrong-password-123")
    ledger = Ledger(Settings().db_url())
    SubscriberStore(ledger.engine).upsert(
        [NewSubscriber(f"r{i}@example.jp", f"r{i}@example.jp", ("bousai",)) for i in range(5)], "confirmed", "test"
    )
    when = clock.now + dt.timedelta(minutes=1)  # after the subscribers confirmed
    article = workspace / "content" / "articles" / "teiden.md"
    article.write_text(
        f"---\ntitle: 停電のお知らせ\npublish_at: {when.isoformat()}\ntopics: [bousai]\n---\n本文。\n", encoding="utf-8"
    )
    clock.advance(minutes=2)

    def publish():
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "koho.cli", "publish", str(article), "-c", "mail"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    refused = publish()
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "configuration error: SMTP 127.0.0.1" in refused.stderr and "refused the login" in refused.stderr
    assert "Traceback" not in refused.stderr and "wrong-password-123" not in refused.stdout + refused.stderr
    rows = ledger.rows(article_id="teiden", channel="mail")
    assert len(rows) == 5 and {r["state"] for r in rows} == {"pending"}  # nobody marked failed

    monkeypatch.setenv("KOHO_SMTP_PASSWORD", PASSWORD)
    fixed = publish()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert sorted(r[1][0] for r in handler.received) == sorted(f"r{i}@example.jp" for i in range(5))
    assert {r["state"] for r in ledger.rows(article_id="teiden", channel="mail")} == {"sent"}
