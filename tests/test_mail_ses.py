"""The SES transport against a moto server process: raw MIME accepted with a MessageId, read
back from moto's data API; a rejected sender is a permanent failure; pacing follows the quota."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import boto3

from channels.mail import MailChannel
from channels.mail.message import Identity
from channels.mail.transports import RateLimiter
from koho.channel import AudienceContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.pipeline import deliver, plan_and_record
from koho.reader import read_corpus
from koho.site import load_site
from koho.subscribers import Subscriber
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT

DOMAIN = "koho.example.city.lg.jp"


def identity(address: str) -> Identity:
    return Identity("ねりま情報メール", address, f"info-mail.{DOMAIN}", f"https://{DOMAIN}/mail/")


def audience(n: int) -> list[Subscriber]:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Subscriber(i, f"user{i}@example.jp", "ja", "confirmed", ("bousai",), "test", t, confirmed_at=t)
        for i in range(1, n + 1)
    ]


def publish(channel: MailChannel, ledger: Ledger, n: int):
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    article = next(a for a in corpus.articles.values() if a.urgent)
    ctx = AudienceContext(site=corpus.site, now=koho_now(), live={}, audience=audience(n))
    planned, _ = plan_and_record(channel, article, ctx, ledger)
    receipts = deliver(channel, ledger, planned)
    channel.close()
    return receipts


def test_raw_mail_through_ses(s3_env, moto_endpoint, tmp_path):
    boto3.client("ses").verify_domain_identity(Domain=DOMAIN)
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    channel = MailChannel("ses://ap-northeast-1?rate=50", identity(f"info-mail@{DOMAIN}"), Tokens(TEST_SECRET))
    receipts = publish(channel, ledger, 3)
    assert [r.state for r in receipts] == ["sent"] * 3
    refs = {r["provider_ref"] for r in ledger.rows(channel="mail")}
    assert all(ref.startswith("ses:") for ref in refs) and len(refs) == 3

    data = json.load(urllib.request.urlopen(f"{moto_endpoint}/moto-api/data.json"))
    ours = [m for m in data["ses"]["RawMessage"] if m["source"] == f"info-mail@{DOMAIN}"]
    assert sorted(m["destinations"][0] for m in ours) == ["user1@example.jp", "user2@example.jp", "user3@example.jp"]
    assert {m["id"] for m in ours} == {ref.removeprefix("ses:") for ref in refs}
    parsed = message_from_bytes(ours[0]["raw_data"].encode(), policy=default)
    assert parsed["Subject"].startswith("【緊急】") and parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unverified_sender_is_a_permanent_failure(s3_env, tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'koho.db'}")
    channel = MailChannel(
        "ses://ap-northeast-1?rate=50", identity("noreply@unverified.example.jp"), Tokens(TEST_SECRET)
    )
    receipts = publish(channel, ledger, 1)
    assert receipts[0].state == "failed" and "MessageRejected" in receipts[0].detail


def test_rate_limiter_spaces_calls_evenly():
    limiter = RateLimiter(20.0, clock=lambda: 100.0)  # a frozen clock: every call at once
    assert [round(limiter.reserve(), 3) for _ in range(4)] == [0.0, 0.05, 0.1, 0.15]
