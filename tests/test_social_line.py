"""LINE: broadcasts for urgent news and issues, within the month's quota, against a loopback fake."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from channels.common.textfit import utf16_units
from channels.line import TEXT_MAX, LineChannel, LineSettings, broadcast_text
from koho.channel import PlanContext
from koho.clock import now as koho_now
from koho.ledger import Ledger
from koho.settings import Settings
from tests.fakes.line_api import TOKEN, FakeLine
from tests.fakes.steps import corpus, publish, rows

URGENT = "ooame-jishu-hinanjo-kaisetsu"


@pytest.fixture
def line(workspace):
    fake = FakeLine().start()
    ledger = Ledger(Settings().db_url())
    yield fake, ledger
    ledger.close()
    fake.stop()


def channel(fake: FakeLine, token: str = TOKEN, **settings) -> LineChannel:
    return LineChannel(LineSettings(api_url=fake.url, channel_access_token=token, timeout=1.0, **settings))


def test_text_fits_5000_utf16_units_and_keeps_the_link():
    url = "https://koho.example.city.lg.jp/articles/a/"
    exact = "あ" * (TEXT_MAX - 2 - len(url) - 1)  # title, newline, summary "x", newline, url
    assert utf16_units(broadcast_text(exact, "x", url)) == TEXT_MAX
    emoji = broadcast_text("🌧" * 4000, "", url)  # an emoji is 2 units: the title is cut
    assert utf16_units(emoji) <= TEXT_MAX and emoji.endswith("…\n" + url)


def test_urgent_article_is_broadcast_once_with_line_request_id(line):
    fake, ledger = line
    receipts, transient = publish(channel(fake), URGENT, ledger)
    assert transient is None and receipts[0].state == "sent" and receipts[0].provider_ref == "line-request:req-0001"
    text = fake.broadcasts[0]["messages"][0]["text"]
    assert text.startswith("【緊急】大雨警報") and text.endswith(f"/articles/{URGENT}/")
    assert publish(channel(fake), URGENT, ledger)[0] == [] and len(fake.broadcasts) == 1
    assert publish(channel(fake), "sogo-bousai-kunren-2026", ledger)[0] == []  # normal news: no broadcast


def test_a_broadcast_over_the_monthly_quota_waits_for_next_month_before_sending(line):
    fake, ledger = line
    fake.quota, fake.used = 1000, 901  # a broadcast reaches 120 - 20 = 100 friends: 1001 > 1000
    receipts, transient = publish(channel(fake), URGENT, ledger)
    assert receipts[0].state == "pending" and transient is None and not fake.broadcasts
    assert receipts[0].until == datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert receipts[0].detail == (
        "waiting for LINE's monthly quota: the quota is 1,000 messages, 901 are used, and a "
        "broadcast reaches about 100 friends (1 too many); it goes out when the quota renews on 2026-12-01"
    )


def test_a_broadcast_no_month_could_hold_fails(line):
    fake, ledger = line
    fake.quota = 99  # a broadcast reaches 100 friends
    receipts, _ = publish(channel(fake), URGENT, ledger)
    assert receipts[0].state == "failed" and not fake.broadcasts
    assert receipts[0].detail == (
        "refused: a broadcast reaches about 100 friends and the LINE monthly quota is 99 messages"
    )


def test_exactly_at_the_quota_is_sent_and_unlimited_accounts_skip_the_count(line):
    fake, ledger = line
    fake.quota, fake.used = 1000, 900
    assert publish(channel(fake), URGENT, ledger)[0][0].state == "sent"
    fake2 = FakeLine(quota=None).start()
    try:
        chan = channel(fake2)
        chan.use_quota(ledger)  # as pipeline.deliver does
        receipts = chan.deliver(
            chan.plan(corpus().articles[URGENT], PlanContext(site=corpus().site, now=koho_now(), live={}))
        )
        assert receipts[0].state == "sent"
        assert not [s for s in fake2.seen if s.path.startswith("/v2/bot/insight")]
    finally:
        fake2.stop()


def test_no_follower_figure_refuses_unless_an_audience_is_configured(line):
    fake, ledger = line
    fake.insight_ready = False
    receipts, _ = publish(channel(fake), URGENT, ledger)
    assert receipts[0].state == "failed" and "KOHO_LINE_AUDIENCE" in receipts[0].detail
    chan = channel(fake, audience=50)
    chan.use_quota(ledger)  # as pipeline.deliver does
    receipts = chan.deliver(
        chan.plan(corpus().articles[URGENT], PlanContext(site=corpus().site, now=koho_now(), live={}))
    )
    assert receipts[0].state == "sent"


def test_a_timeout_retried_with_the_same_retry_key_is_not_sent_twice(line):
    fake, ledger = line
    chan = channel(fake)
    chan.use_quota(ledger)
    article = corpus().articles[URGENT]
    planned = chan.plan(article, PlanContext(site=corpus().site, now=koho_now(), live={}))
    assert chan.deliver(planned)[0].state == "sent"  # LINE accepted it, but suppose the answer was lost:
    again = chan.deliver(planned)[0]
    assert (again.state, again.provider_ref, again.detail) == ("sent", "line-request:req-0001", "accepted earlier")
    assert len(fake.broadcasts) == 1


@pytest.mark.parametrize(
    "fault, state",
    [
        (dict(status=429, body={"message": "Too many requests"}, headers={"Retry-After": "1"}), "pending"),
        (dict(status=500, body={"message": "Internal server error"}), "pending"),
        (dict(timeout=1.5), "pending"),
    ],
)
def test_transient_answers_stay_pending(line, fault, state, clock):
    fake, ledger = line
    fake.fail_share(0.0)
    fake.faults = []
    fake.fail_next(count=3, **fault)  # quota, consumption, followers: the first call fails
    _, transient = publish(channel(fake), URGENT, ledger)
    assert transient is not None and rows(ledger, "line")["broadcast"]["state"] == state
    fake.faults.clear()
    clock.advance(minutes=2)  # a later run, after the retry time
    receipts, _ = publish(channel(fake), URGENT, ledger)
    assert receipts[0].state == "sent" and len(fake.broadcasts) == 1


def test_a_bad_token_fails_with_lines_message_and_no_token_in_it(line):
    fake, ledger = line
    receipts, _ = publish(channel(fake, token="line-wrong-Secret"), URGENT, ledger)
    assert receipts[0].state == "failed" and receipts[0].detail.startswith("LINE 401: Authentication failed")
    assert "Secret" not in receipts[0].detail


def test_an_issue_is_broadcast_once_when_it_has_appeared(line):
    fake, ledger = line
    content = corpus()
    articles = tuple(a for a in content.articles.values() if a.bulletin == date(2026, 11, 11))
    issue = SimpleNamespace(
        id="issue-2026-11-11",
        day=date(2026, 11, 11),
        label="区報 2026年11月11日号",
        articles=articles,
        is_due=lambda now: now >= datetime(2026, 11, 10, 22, tzinfo=UTC),
    )
    chan = channel(fake)
    early = PlanContext(site=content.site, now=datetime(2026, 11, 10, 12, tzinfo=UTC), live={})
    assert chan.plan_issue(issue, early) == []
    planned = chan.plan_issue(issue, PlanContext(site=content.site, now=datetime(2026, 11, 11, 9, tzinfo=UTC), live={}))
    assert [d.key for d in planned] == ["line:broadcast:issue-2026-11-11:once:ja"]
    chan.use_quota(ledger)
    text = planned[0].payload.json_field("messages", 0, "text")
    assert text.startswith("区報 2026年11月11日号を発行しました。") and text.endswith("/bulletin/2026-11-11/")
    assert chan.deliver(planned)[0].state == "sent"
