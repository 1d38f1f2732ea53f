"""An SMTP server that takes the whole message and then drops the connection before answering:
the message may have been accepted, so koho records it uncertain and never resends it at once
on a new connection (that was a silent duplicate). A later run resends it (mail is
at-least-once) and the ledger keeps it counted as in doubt."""

from __future__ import annotations

import threading

from aiosmtpd.controller import Controller

from channels.mail import MailChannel
from koho.channel import AudienceContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT
from tests.peers import free_port
from tests.test_mail_smtp import IDENTITY, people


class DropsAfterData:
    """Keeps every message, then closes the connection instead of answering the first ``drops``."""

    def __init__(self, drops: int):
        self.drops = drops
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
            drop = self.drops > 0
            self.drops -= drop
        if drop:
            server.transport.close()  # the answer is lost: the client cannot know it was queued
        return "250 2.0.0 queued"


def test_a_reply_lost_after_data_is_uncertain_not_resent_on_reconnect(tmp_path, clock):
    sink = DropsAfterData(drops=5)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        corpus = read_corpus(CONTENT, load_site(CONTENT))
        article = next(a for a in corpus.articles.values() if a.urgent)
        audience = people([f"user{i}@example.jp" for i in range(40)])
        channel = MailChannel(f"smtp://127.0.0.1:{controller.port}?connections=2", IDENTITY, Tokens(TEST_SECRET))
        ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
        ctx = AudienceContext(site=corpus.site, now=koho_now(), live={}, audience=audience)
        planned, _ = plan_and_record(channel, article, ctx, ledger)
        deliver(channel, ledger, planned)
        rows = ledger.rows(channel="mail")
        uncertain = {r["target"] for r in rows if r["state"] == "uncertain"}
        assert len(uncertain) == 5 and sum(r["state"] == "sent" for r in rows) == 35
        assert len(sink.messages) == 40, "nothing was sent twice on reconnect"
        assert all("lost after the message was sent" in r["detail"] for r in rows if r["state"] == "uncertain")

        deliver(channel, ledger, planned)  # too soon: uncertain rows wait before anything is resent
        assert len(sink.messages) == 40
        clock.advance(minutes=5)  # a later run: at-least-once, each resend counted as in doubt
        deliver(channel, ledger, planned)
        channel.close()
        rows = ledger.rows(channel="mail")
        assert {r["state"] for r in rows} == {"sent"} and len(sink.messages) == 45
        assert {r["target"] for r in rows if r["in_doubt"]} == uncertain
        recipients = [to[0] for to, _ in sink.messages]
        twice = {a for a in recipients if recipients.count(a) > 1}
        assert len(twice) == 5, "the only duplicates are the five the ledger called uncertain"
        print(
            f"chaos[smtp lost answer]: recipients 40, faults 5, uncertain 5, lost 0, duplicated {len(twice)}, "
            f"all of them in doubt"
        )
    finally:
        controller.stop()
