"""Personal data (issue 12): provider texts lose the address, erasure leaves it nowhere in the
database file, files holding addresses are private."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller

from channels.mail.channel import MailChannel
from koho.channel import PlanContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import TransientDeliveryError, deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.subscribers import NewSubscriber, SubscriberStore, normalise_address, redact_addresses
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT
from tests.peers import free_port
from tests.test_mail_smtp import IDENTITY

ADDRESS = "gone.taro+news@example.jp"


class QuotingSink:
    """An MTA that quotes the recipient in its refusal, as many do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown ({address.split('@')[0]})"


@pytest.fixture
def quoting_smtp():
    controller = Controller(QuotingSink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def test_redact_addresses():
    text = "550 <Taro@Example.JP> unknown; also taro, and hanako@example.jp (taro@example.jp)"
    out = redact_addresses(text, "taro@example.jp")
    assert "taro" not in out.lower() and "hanako" not in out and "550" in out


def test_smtp_refusal_detail_and_erasure_leave_no_address(quoting_smtp, tmp_path):
    db = tmp_path / "state" / "koho.db"
    ledger = Ledger(f"sqlite:///{db}")
    store = SubscriberStore(ledger.engine)
    shown, key = normalise_address(ADDRESS)
    store.upsert([NewSubscriber(shown, key, ("bousai",))], "confirmed", "test")
    # Confirmed long before the article appeared (the channel mails only those).
    subscriber = replace(store.find(ADDRESS), confirmed_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    channel = MailChannel(f"smtp://127.0.0.1:{quoting_smtp.port}", IDENTITY, Tokens(TEST_SECRET))
    ctx = PlanContext(site=corpus.site, now=koho_now(), live={}, audience=[subscriber])
    planned, _ = plan_and_record(channel, article, ctx, ledger)
    try:
        deliver(channel, ledger, planned)
    except TransientDeliveryError:
        pass
    channel.close()
    [row] = ledger.rows(channel="mail")
    assert row["state"] == "failed" and "550" in row["detail"]
    assert "gone.taro" not in row["detail"].lower(), row["detail"]

    store.set_state(subscriber.id, "unsubscribed")
    assert store.erase_expired(timedelta(days=30), now=koho_now() + timedelta(days=31)) == 1
    ledger.close()
    # Neither a table nor a freed page of the file (nor its WAL) keeps the address.
    for path in db.parent.iterdir():
        assert b"gone.taro" not in path.read_bytes().lower(), path.name


def test_state_folder_and_database_are_private(tmp_path):
    os.umask(0o000)  # the loosest umask a service could run under
    try:
        db = tmp_path / "state" / "koho.db"
        Ledger(f"sqlite:///{db}").close()
    finally:
        os.umask(0o022)
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    for path in db.parent.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


def test_outbox_mail_files_are_private(tmp_path):
    from channels.mail.transports import OutboxTransport

    transport = OutboxTransport(tmp_path / "outbox", "outbox://outbox")
    transport.send("a@example.jp", "taro@example.jp", b"To: taro@example.jp\r\n\r\nx\r\n", "a/1")
    [eml] = (tmp_path / "outbox").rglob("*.eml")
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600


def test_generated_secret_key_lives_in_a_private_folder(tmp_path):
    from koho.settings import Settings

    os.umask(0o000)
    try:
        Settings(state_dir=tmp_path / "fresh").secret()
    finally:
        os.umask(0o022)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh" / "secret_key").stat().st_mode) == 0o600
