"""The issue digest: readers who chose it get one mail per 区報 issue with the issue's articles in
their topics, urgent news still at once, and nothing twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import update

from channels.mail import MailChannel
from channels.mail.message import Identity
from koho.bulletin import appears_at, in_digest, issues_of
from koho.channel import AudienceContext
from koho.ledger import Ledger
from koho.ledger_schema import subscribers
from koho.reader import read_corpus
from koho.settings import Settings
from koho.site import load_site
from koho.subscribers import Subscriber, SubscriberStore
from koho.tokens import Tokens
from tests.clock import TEST_SECRET
from tests.conftest import CONTENT

JST = timezone(timedelta(hours=9))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=JST)
SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)
IDENTITY = Identity(
    "ねりま情報メール",
    "info-mail@koho.example.city.lg.jp",
    "info-mail.koho.example.city.lg.jp",
    "https://koho.example.city.lg.jp/mail/",
)


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(CONTENT, load_site(CONTENT))


@pytest.fixture
def channel(tmp_path):
    chan = MailChannel(f"outbox://{tmp_path / 'outbox'}", IDENTITY, Tokens(TEST_SECRET), tmp_path)
    yield chan
    chan.close()


def reader(sid: int, topics: tuple[str, ...], delivery: str, confirmed: datetime = SEPTEMBER) -> Subscriber:
    return Subscriber(
        sid, f"r{sid}@example.jp", "ja", "confirmed", topics, "test", SEPTEMBER, confirmed, delivery=delivery
    )


def ctx_for(corpus, audience) -> AudienceContext:
    return AudienceContext(site=corpus.site, now=NOW, live={}, audience=audience)


def issue(corpus, day: str):
    return next(i for i in issues_of(corpus.articles.values(), corpus.site, NOW) if i.day.isoformat() == day)


def test_issues_that_have_appeared_hold_their_ready_articles(corpus):
    found = issues_of(corpus.articles.values(), corpus.site, NOW)
    assert [i.id for i in found] == ["issue-2026-11-01", "issue-2026-11-11", "issue-2026-11-21"]
    nov21 = found[-1]
    assert "gaikokujin-tsuyaku-service" not in {a.id for a in nov21.articles}, "a draft is not in the issue"
    assert nov21.appears_at == datetime(2026, 11, 21, 7, 0, tzinfo=corpus.site.tz)
    assert nov21.label == "区報 2026年11月21日号"
    edited = replace(nov21.articles[0], revision="0" * 12)
    assert replace(nov21, articles=(edited, *nov21.articles[1:])).revision != nov21.revision


def test_digest_readers_get_urgent_and_late_news_at_once_and_the_rest_in_the_digest(corpus, channel):
    audience = [reader(1, ("bousai",), "immediate"), reader(2, ("bousai",), "digest")]
    ctx = ctx_for(corpus, audience)
    drill = corpus.articles["sogo-bousai-kunren-2026"]
    assert [d.target for d in channel.plan(drill, ctx)] == ["subscriber-1"]
    urgent = corpus.articles["ooame-jishu-hinanjo-kaisetsu"]
    assert [d.target for d in channel.plan(urgent, ctx)] == ["subscriber-1", "subscriber-2"]
    # Published after its issue appeared: the digest is gone, so it cannot wait for it.
    late = replace(drill, publish_at=appears_at(drill.bulletin, corpus.site) + timedelta(minutes=1))
    assert not in_digest(late, corpus.site)
    assert [d.target for d in channel.plan(late, ctx)] == ["subscriber-1", "subscriber-2"]
    no_issue = replace(drill, bulletin=None)
    assert [d.target for d in channel.plan(no_issue, ctx)] == ["subscriber-1", "subscriber-2"]


def test_one_digest_per_reader_with_the_articles_in_their_topics(corpus, channel):
    nov11 = issue(corpus, "2026-11-11")
    audience = [
        reader(1, ("bousai", "kenkou"), "digest"),
        reader(2, ("event",), "digest"),
        reader(3, ("bousai",), "immediate"),
        reader(4, ("kosodate",), "digest", confirmed=NOW),
        reader(5, ("bousai",), "digest"),
    ]
    planned = {d.target: d for d in channel.plan_issue(nov11, ctx_for(corpus, audience))}
    assert sorted(planned) == ["subscriber-1", "subscriber-2", "subscriber-5"]
    assert [a.id for a in planned["subscriber-1"].payload.item.articles] == [
        "nerima-joho-mail-touroku",
        "tokutei-kenshin-kigen",
    ]
    assert [a.id for a in planned["subscriber-2"].payload.item.articles] == ["nerima-daikon-hikkonuki-2026"]
    # The urgent evacuation notice went to everyone at once; the digest does not repeat it.
    assert [a.id for a in planned["subscriber-5"].payload.item.articles] == ["nerima-joho-mail-touroku"]
    assert planned["subscriber-1"].key == "mail:subscriber-1:issue-2026-11-11:once:ja"
    assert channel.audience_for_issue(nov11) == ["bouhan", "bousai", "event", "kenkou", "kosodate", "kusei"]


def test_the_digest_message_lists_titles_summaries_and_links(corpus, channel, tmp_path):
    nov11 = issue(corpus, "2026-11-11")
    audience = [reader(7, ("bousai", "kenkou"), "digest")]
    planned = channel.plan_issue(nov11, ctx_for(corpus, audience))
    receipts = channel.deliver(planned)
    assert [r.state.value for r in receipts] == ["sent"]
    raw = (tmp_path / "outbox" / "issue-2026-11-11" / "7.eml").read_bytes()
    message = message_from_bytes(raw, policy=default)
    assert message["Subject"] == "区報 2026年11月11日号のお知らせ（2件）"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and message.defects == []
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for article_id in ("nerima-joho-mail-touroku", "tokutei-kenshin-kigen"):
        article = corpus.articles[article_id]
        url = f"https://koho.example.city.lg.jp/articles/{article_id}/"
        assert article.title in text and url in text and f'href="{url}"' in html
    assert "https://koho.example.city.lg.jp/bulletin/2026-11-11/" in text
    assert "配信停止" in text and "ooame" not in text


def test_readers_of_a_translation_get_the_digest_of_the_translated_issue(corpus, channel, tmp_path):
    from tests.translated import translate
    from translations.translator import translated_issue

    nov11 = issue(corpus, "2026-11-11")
    english = translated_issue(nov11, {a.id: translate(a, "en") for a in nov11.articles})
    audience = [
        reader(1, ("bousai", "kenkou"), "digest"),
        replace(reader(2, ("bousai", "kenkou"), "digest"), language="en"),
        replace(reader(3, ("bousai",), "digest"), language="th"),
        replace(reader(4, ("bousai",), "immediate"), language="en"),
    ]
    japanese = channel.plan_issue(nov11, ctx_for(corpus, audience))
    assert [d.key for d in japanese] == ["mail:subscriber-1:issue-2026-11-11:once:ja"]
    planned = channel.plan_issue(english, ctx_for(corpus, audience))
    assert [d.key for d in planned] == ["mail:subscriber-2:issue-2026-11-11:once:en"]
    assert [a.language for a in planned[0].payload.item.articles] == ["en", "en"]
    assert [r.state.value for r in channel.deliver(planned)] == ["sent"]
    message = message_from_bytes((tmp_path / "outbox" / "issue-2026-11-11" / "2.eml").read_bytes(), policy=default)
    assert message["Subject"] == "Nerima City News, 11 November 2026: 2 articles" and message.defects == []
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    for article_id in ("nerima-joho-mail-touroku", "tokutei-kenshin-kigen"):
        url = f"https://koho.example.city.lg.jp/en/articles/{article_id}/"
        assert url in text and f'href="{url}"' in html
    assert "All articles of this issue:\nhttps://koho.example.city.lg.jp/en/bulletin/2026-11-11/\n" in text
    assert (
        "Read the Japanese original: https://koho.example.city.lg.jp/bulletin/2026-11-11/" in text
        and '<html lang="en">' in html
    )
    assert "防災" not in text and "防災" not in html, "topic names are the Japanese site's only"
    assert "Unsubscribe: https://koho.example.city.lg.jp/mail/unsubscribe/" in text


@pytest.mark.usefixtures("prefect_harness")
def test_publish_due_sends_each_digest_once_and_immediate_mail_to_the_others(workspace):
    from typer.testing import CliRunner

    from flows.publish import publish_due
    from koho.cli import app

    (workspace / "subs.csv").write_text(
        "address,topics,delivery\nnow@example.jp,bousai kenkou,immediate\ndigest@example.jp,bousai kenkou,digest\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["subscribers", "import", "subs.csv", "--state", "confirmed"])
    assert result.exit_code == 0, result.output
    ledger = Ledger(Settings().db_url())
    with ledger.engine.begin() as conn:  # they subscribed in September, before any sample article
        conn.execute(update(subscribers).values(confirmed_at=SEPTEMBER))
    store = SubscriberStore(ledger.engine)
    now_id, digest_id = store.find("now@example.jp").id, store.find("digest@example.jp").id

    # The per-issue line is in the detailed table; the summary counts the digest with the rest.
    dry = CliRunner().invoke(app, ["publish", "--dry-run", "--details", "-c", "mail"], env={"COLUMNS": "250"})
    assert dry.exit_code == 0 and "区報 2026年11月11日号: would send 1" in dry.output, dry.output
    assert not (workspace / "outbox").exists()

    publish_due()
    outbox = workspace / "outbox"
    mailed = {(p.parent.name, p.stem) for p in outbox.rglob("*.eml")}
    immediate = {a for a, sid in mailed if sid == str(now_id)}
    digest = {a for a, sid in mailed if sid == str(digest_id)}
    assert immediate == {
        "influenza-teiki-sesshu",
        "sogo-bousai-kunren-2026",
        "nerima-joho-mail-touroku",
        "tokutei-kenshin-kigen",
        "ooame-jishu-hinanjo-kaisetsu",
    }
    assert digest == {"issue-2026-11-01", "issue-2026-11-11", "ooame-jishu-hinanjo-kaisetsu"}, (
        "11-21 has nothing in their topics; the urgent notice came at once"
    )
    rows = ledger.rows(article_id="issue-2026-11-01", channel="mail")
    assert [r["state"] for r in rows] == ["sent"] and rows[0]["target"] == f"subscriber-{digest_id}"

    stamps = {p: p.stat().st_mtime_ns for p in outbox.rglob("*.eml")}
    publish_due()
    assert {p: p.stat().st_mtime_ns for p in outbox.rglob("*.eml")} == stamps, "nothing is mailed twice"
