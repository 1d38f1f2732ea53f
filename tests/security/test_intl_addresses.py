"""Internationalised addresses (issue 12): a valid ``To:`` through SMTPUTF8 where the server
offers it, the IDNA form for a non-ASCII domain everywhere, and a plain permanent refusal of
that one recipient (never a crash of the batch) where SMTPUTF8 is needed and not offered.
aiosmtpd on loopback, with and without ``enable_SMTPUTF8``."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from channels.mail import MailChannel
from koho.channel import AudienceContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import TransientDeliveryError, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT
from tests.mail_peers import Clock, Sink, start
from tests.peers import free_port
from tests.test_mail_smtp import IDENTITY, people
from tests.test_mail_web import SENT

UTF8_LOCAL = "太郎@example.jp"
IDN_DOMAIN = "hanako@例え.jp"
IDN_ASCII = "hanako@xn--r8jz45g.jp"


class RecordingSink(Sink):
    """Also notes whether each message came in an SMTPUTF8 transaction."""

    def __init__(self):
        super().__init__()
        self.utf8: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.utf8.append(envelope.smtp_utf8)
        return await super().handle_DATA(server, session, envelope)


def serve(utf8: bool):
    sink = RecordingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=utf8)
    controller.start()
    return sink, controller


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii-only"])
def smtp(request):
    sink, controller = serve(request.param)
    yield request.param, sink, controller
    controller.stop()


def mail_to(addresses: list[str], port: int, tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    channel = MailChannel(f"smtp://127.0.0.1:{port}", IDENTITY, Tokens(TEST_SECRET))
    ctx = AudienceContext(site=corpus.site, now=koho_now(), live={}, audience=people(addresses))
    planned, _ = plan_and_record(channel, article, ctx, ledger)
    try:
        deliver(channel, ledger, planned)
    except TransientDeliveryError:
        pass
    channel.close()
    rows = {r["target"]: r for r in ledger.rows(channel="mail")}
    ledger.close()
    return [rows[f"subscriber-{i}"] for i in range(1, len(addresses) + 1)]


def test_each_kind_of_address_gets_a_valid_to_or_a_plain_refusal(smtp, tmp_path):
    utf8, sink, controller = smtp
    utf8_local, idn, plain = mail_to([UTF8_LOCAL, IDN_DOMAIN, "jiro@example.jp"], controller.port, tmp_path)
    received = {tuple(to)[0]: message_from_bytes(raw, policy=default) for _f, to, raw in sink.messages}

    # A non-ASCII domain goes out in its IDNA form, which every server takes.
    assert idn["state"] == "sent" and received[IDN_ASCII]["To"] == IDN_ASCII
    assert plain["state"] == "sent"
    if utf8:
        assert utf8_local["state"] == "sent"
        raw = next(raw for _f, to, raw in sink.messages if to == [UTF8_LOCAL])
        assert "太郎@example.jp".encode() in raw.split(b"\r\n\r\n")[0]  # the header in UTF-8
        assert b"=?utf-8?" not in next(line for line in raw.split(b"\r\n") if line.startswith(b"To:"))
        assert received[UTF8_LOCAL]["To"] == UTF8_LOCAL and True in sink.utf8
    else:
        assert utf8_local["state"] == "failed" and UTF8_LOCAL not in received
        assert "needs SMTPUTF8" in utf8_local["detail"] and "does not offer it" in utf8_local["detail"]
        assert "太郎" not in utf8_local["detail"]  # subscribers are named by id, never by address


def test_the_confirmation_mail_to_an_internationalised_address(settings, tmp_path):
    sink, controller = serve(utf8=True)
    try:
        service, stop = start(
            settings.model_copy(update={"mail_url": f"smtp://127.0.0.1:{controller.port}"}), Clock(), sink
        )
        try:
            assert SENT in service.signup(UTF8_LOCAL, "bousai").text  # the form accepts it (documented)
            [mail] = service.mails(1)
            assert mail["To"] == UTF8_LOCAL and sink.messages[0][1] == [UTF8_LOCAL]
        finally:
            stop()
    finally:
        controller.stop()
