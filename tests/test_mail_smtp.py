"""The SMTP transport against a real aiosmtpd server on loopback: parallel persistent
connections, permanent refusals recorded as failed, temporary ones left pending."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from channels.mail import MailChannel
from channels.mail.message import Identity
from koho.channel import AudienceContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import TransientDeliveryError, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.subscribers import Subscriber
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT
from tests.peers import free_port

IDENTITY = Identity(
    "ねりま情報メール",
    "info-mail@koho.example.city.lg.jp",
    "info-mail.koho.example.city.lg.jp",
    "https://koho.example.city.lg.jp/mail/",
)


def people(addresses: list[str]) -> list[Subscriber]:
    confirmed = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Subscriber(i, a, "ja", "confirmed", ("bousai",), "test", confirmed, confirmed_at=confirmed)
        for i, a in enumerate(addresses, start=1)
    ]


def test_fan_out_over_parallel_smtp_connections(smtp_sink, tmp_path, clock):
    sink, controller = smtp_sink
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    audience = people([f"user{i}@example.jp" for i in range(60)] + ["gone@example.jp", "busy@example.jp"])
    channel = MailChannel(f"smtp://127.0.0.1:{controller.port}?connections=4", IDENTITY, Tokens(TEST_SECRET))
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    ctx = AudienceContext(site=corpus.site, now=koho_now(), live={}, audience=audience)
    planned, recorded = plan_and_record(channel, article, ctx, ledger)
    assert len(recorded.to_deliver()) == 62

    with pytest.raises(TransientDeliveryError):  # busy@ is retried later, the rest is final
        deliver(channel, ledger, planned)
    channel.close()
    states = {r["target"]: (r["state"], r["detail"]) for r in ledger.rows(channel="mail")}
    assert sum(1 for s, _ in states.values() if s == "sent") == 60
    assert states["subscriber-61"][0] == "failed" and "550" in states["subscriber-61"][1]
    assert states["subscriber-62"][0] == "pending" and "451" in states["subscriber-62"][1]

    assert len(sink.messages) == 60
    assert 1 < len(sink.peers) <= 4, "several connections, each reused for many messages"
    to = sorted(rcpts[0] for _sender, rcpts, _raw in sink.messages)
    assert to == sorted(f"user{i}@example.jp" for i in range(60))
    parsed = message_from_bytes(sink.messages[0][2], policy=default)
    assert parsed["Subject"].startswith("【緊急】") and parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A later run (after the retry time) sends only what is still pending: one message, to busy@
    # (refused again).
    clock.advance(minutes=1)
    again = MailChannel(f"smtp://127.0.0.1:{controller.port}", IDENTITY, Tokens(TEST_SECRET))
    with pytest.raises(TransientDeliveryError):
        deliver(again, ledger, planned)
    again.close()
    assert len(sink.messages) == 60


def test_unreachable_server_is_transient_and_credentials_stay_out_of_urls(tmp_path, monkeypatch):
    from channels.mail.transports import open_transport
    from koho.errors import ConfigError

    with pytest.raises(ConfigError):
        open_transport("smtp://user:secret@127.0.0.1:25")
    monkeypatch.setenv("KOHO_SMTP_PASSWORD", "smtp-Secret-77")
    transport = open_transport(f"smtp://127.0.0.1:{free_port()}")
    assert "smtp-Secret-77" not in repr(transport)
    result = transport.send_batch([("a@example.jp", "b@example.jp", b"Subject: x\r\n\r\nx", "n")])[0]
    transport.close()
    assert getattr(result, "transient", False) and "smtp-Secret-77" not in str(result)
