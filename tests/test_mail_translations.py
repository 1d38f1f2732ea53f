"""The info mail in the subscriber's language, through the publish flow: subscribers reading
Japanese, English and Thai each get one message, in their language, over a real SMTP server
(aiosmtpd on loopback), translated by the session's tiny argos packages."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from koho.cli import app
from koho.i18n import words
from koho.ledger import Ledger
from koho.ledger_schema import subscribers
from koho.settings import Settings

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

ARTICLE = "articles/2026/sogo-bousai-kunren-2026.md"
SITE = "https://koho.example.city.lg.jp/"
SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)
SUBSCRIBERS = """address,topics,language
hanako@example.jp,bousai,ja
alice@example.jp,bousai,en
somchai@example.jp,bousai,th
minji@example.jp,bousai,ko
"""


def mailed(sink) -> dict[str, EmailMessage]:
    """What the sink accepted, by recipient (each recipient at most once)."""
    by_recipient: dict[str, EmailMessage] = {}
    for _sender, recipients, raw in sink.messages:
        [to] = recipients
        assert to not in by_recipient, f"{to} was mailed twice"
        by_recipient[to] = message_from_bytes(raw, policy=default)
    return by_recipient


def test_each_subscriber_gets_the_article_once_in_their_language(workspace, smtp_sink, monkeypatch):
    from flows.publish import publish_article

    sink, controller = smtp_sink
    monkeypatch.setenv("KOHO_CHANNELS", "mail")
    monkeypatch.setenv("KOHO_LANGUAGES", "en,th")  # this ward does not translate into Korean
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{controller.port}?connections=2")
    ledger = subscribe(workspace, SUBSCRIBERS)
    publish_article([str(workspace / "content" / ARTICLE)])
    got = mailed(sink)
    assert set(got) == {"hanako@example.jp", "alice@example.jp", "somchai@example.jp"}, (
        "nobody is mailed in a language the ward does not translate into"
    )

    original = f"{SITE}articles/sogo-bousai-kunren-2026/"
    ja = got["hanako@example.jp"]
    ja_text = ja.get_body(("plain",)).get_content()
    assert ja["Subject"].startswith("11月15日") and original in ja_text and "配信停止: " in ja_text
    assert "⟨" not in ja_text and "Machine-translated" not in ja_text
    # The signature separator mail clients know ("-- " with its space), the readers' language.
    assert "\n-- \n" in ja_text.replace("\r\n", "\n") and ja["Content-Language"] == "ja"

    for to, language, unsubscribe in [
        ("alice@example.jp", "en", "Unsubscribe: "),
        ("somchai@example.jp", "th", "ยกเลิกการรับอีเมล: "),
    ]:
        message = got[to]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert message["Subject"].startswith(f"⟨{language}⟩"), message["Subject"]  # what the tiny model writes
        assert message.defects == [] and f'<html lang="{language}">' in html
        assert f"{SITE}{language}/articles/sogo-bousai-kunren-2026/" in text
        # Wrapped like every paragraph of the text part: compare without the line breaks.
        assert "".join(words(language).machine.split()) in "".join(text.split())
        assert f"{words(language).original}: {original}" in text
        assert f'href="{original}" hreflang="ja"' in html
        assert unsubscribe in text and "配信停止" not in text
        assert message["Content-Language"] == language and "\n-- \n" in text.replace("\r\n", "\n")
        assert '<span lang="ja">ねりま情報メール</span>' in html  # the list's name, spoken in Japanese

    rows = ledger.rows(article_id="sogo-bousai-kunren-2026", channel="mail")
    assert sorted((r["key"].rsplit(":", 1)[1], r["state"]) for r in rows) == [
        ("en", "sent"),
        ("ja", "sent"),
        ("th", "sent"),
    ]

    # Publishing again sends nothing: the keys are the same, and sent.
    publish_article([str(workspace / "content" / ARTICLE)])
    assert len(sink.messages) == 3
    ledger.close()


def subscribe(workspace, csv: str) -> Ledger:
    (workspace / "subs.csv").write_text(csv, encoding="utf-8")
    result = CliRunner().invoke(app, ["subscribers", "import", "subs.csv", "--state", "confirmed"])
    assert result.exit_code == 0, result.output
    ledger = Ledger(Settings().db_url())
    with ledger.engine.begin() as conn:  # they subscribed before the article was published
        conn.execute(update(subscribers).values(confirmed_at=SEPTEMBER))
    return ledger


def test_a_translations_pending_mail_survives_the_originals_plan_and_is_retried(
    workspace, smtp_sink, monkeypatch, clock
):
    """A Thai reader's server refuses for now: the Japanese plan that follows in the same run
    must not close the Thai row, and publish-due must see the article as unfinished."""
    from flows import publish
    from flows.tasks import deliver_task

    sink, controller = smtp_sink
    monkeypatch.setenv("KOHO_CHANNELS", "mail")
    monkeypatch.setenv("KOHO_LANGUAGES", "th")
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{controller.port}")
    monkeypatch.setattr(publish, "deliver_task", deliver_task.with_options(retries=0))  # no minutes of waiting
    ledger = subscribe(workspace, "address,topics,language\nhanako@example.jp,bousai,ja\nbusy@example.jp,bousai,th\n")
    publish.publish_article([str(workspace / "content" / ARTICLE)])
    states = {r["language"]: r["state"] for r in ledger.rows(article_id="sogo-bousai-kunren-2026", channel="mail")}
    assert states == {"ja": "sent", "th": "pending"}

    sink.busy = False
    clock.advance(minutes=10)  # the next scheduled run, after the retry time
    publish.publish_due()  # every due article: other bousai news reaches them too
    about = sorted(
        to
        for _, [to], raw in sink.messages
        if "/articles/sogo-bousai-kunren-2026/"
        in message_from_bytes(raw, policy=default).get_body(("plain",)).get_content()
    )
    assert about == ["busy@example.jp", "hanako@example.jp"]  # each once
    states = {r["language"]: r["state"] for r in ledger.rows(article_id="sogo-bousai-kunren-2026", channel="mail")}
    assert states == {"ja": "sent", "th": "sent"}
    ledger.close()


def test_a_reader_who_switched_language_is_not_sent_the_same_news_again(workspace, smtp_sink, monkeypatch):
    from flows.publish import publish_article
    from koho.subscribers import SubscriberStore

    sink, controller = smtp_sink
    monkeypatch.setenv("KOHO_CHANNELS", "mail")
    monkeypatch.setenv("KOHO_LANGUAGES", "en")
    monkeypatch.setenv("KOHO_MAIL_URL", f"smtp://127.0.0.1:{controller.port}")
    ledger = subscribe(workspace, "address,topics,language\nalice@example.jp,bousai,en\nhanako@example.jp,bousai,ja\n")
    publish_article([str(workspace / "content" / ARTICLE)])
    assert sorted(mailed(sink)) == ["alice@example.jp", "hanako@example.jp"]

    store = SubscriberStore(ledger.engine)
    for s in [s for batch in store.confirmed_for(("bousai",)) for s in batch]:
        store.set_preferences(s.id, s.topics, "ja" if s.language == "en" else "en", s.delivery)
    source = workspace / "content" / ARTICLE  # a correction: every channel plans the article again
    source.write_text(
        source.read_text(encoding="utf-8").replace("荒天の場合は中止します。", "荒天の場合は訓練を中止します。"),
        encoding="utf-8",
    )
    publish_article([str(source)])
    assert len(sink.messages) == 2, "nobody is mailed the same article again in their new language"
    ledger.close()
