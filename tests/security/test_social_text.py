"""Social text (issue 12, ADR 0013): what koho posts from an article's text notifies and links
nobody it did not mean to. @names (unless listed in the front matter's ``mentions``), $cashtags
and URLs in the title, summary, change note or hand-written X text reach the fake X and LINE
APIs inert; #hashtags stay; the only link X would make is the article's own page."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from channels.line import LineChannel, LineSettings
from channels.x import XChannel, XSettings
from koho.cli import app
from koho.ledger import Ledger
from koho.settings import Settings
from koho.social_text import ZWSP, inert, urls
from tests.fakes.line_api import TOKEN, FakeLine
from tests.fakes.steps import edit_front_matter, publish
from tests.fakes.x_api import CREDENTIALS, FakeX

URGENT = "ooame-jishu-hinanjo-kaisetsu"
TITLE = '"【緊急】@stranger さんも $AAPL も #大雨 に注意"'
SUMMARY = (
    '"@nerima_koho と ＠other が案内。詳細は https://evil.example.com/login?x=1 か www.phish.example.jp へ。'
    '問い合わせは info@city.example.jp"'
)


@pytest.fixture
def peers(workspace):
    x, line = FakeX().start(), FakeLine().start()
    ledger = Ledger(Settings().db_url())
    edit_front_matter(workspace, URGENT, title=TITLE, summary=SUMMARY, mentions="[nerima_koho]")
    yield x, line, ledger
    ledger.close()
    x.stop()
    line.stop()


def assert_inert(text: str, article_url: str) -> None:
    assert f"@{ZWSP}stranger" in text and f"＠{ZWSP}other" in text and f"${ZWSP}AAPL" in text
    assert "@nerima_koho" in text  # listed in mentions: meant, so live
    assert "#大雨" in text  # hashtags notify nobody
    assert f"https{ZWSP}://evil{ZWSP}.example{ZWSP}.com/login?x=1" in text  # readable, not a link
    assert "info@city.example.jp" in text  # an e-mail address is neither a mention nor a URL
    assert urls(text) == [article_url]


def test_x_and_line_receive_inert_text_with_the_article_link_only(peers):
    x, line, ledger = peers
    url = f"https://koho.example.city.lg.jp/articles/{URGENT}/"
    settings = XSettings(url=x.url, timeout=1.0, **CREDENTIALS)
    receipts, transient = publish(XChannel(settings), URGENT, ledger)
    assert transient is None and [r.state for r in receipts] == ["sent"]
    [post] = x.posts.values()
    assert_inert(post["text"], url)

    receipts, _ = publish(
        LineChannel(LineSettings(api_url=line.url, channel_access_token=TOKEN, timeout=1.0)), URGENT, ledger
    )
    assert [r.state for r in receipts] == ["sent"]
    assert_inert(line.broadcasts[0]["messages"][0]["text"], url)


def test_a_change_note_reply_and_a_hand_written_x_text_are_inert_too(peers, workspace):
    x, _, ledger = peers
    settings = XSettings(url=x.url, timeout=1.0, **CREDENTIALS)
    edit_front_matter(workspace, URGENT, x='{text: "@stranger へ $AAPL https://evil.example.com/"}')
    publish(XChannel(settings), URGENT, ledger)
    edit_front_matter(workspace, URGENT, change_note='"@stranger の指摘で訂正 evil.example.com"')
    publish(XChannel(settings), URGENT, ledger)
    post, reply = (p["text"] for p in x.posts.values())
    url = f"https://koho.example.city.lg.jp/articles/{URGENT}/"
    assert post.startswith(f"@{ZWSP}stranger へ ${ZWSP}AAPL https{ZWSP}://evil{ZWSP}.example{ZWSP}.com/")
    assert f"@{ZWSP}stranger の指摘で訂正 evil{ZWSP}.example{ZWSP}.com" in reply
    assert urls(post) == urls(reply) == [url]


def test_inert_is_idempotent_and_keeps_meant_mentions():
    text = "@A_b $x http://a.example/b @keep RT:@c"
    once = inert(text, ["@Keep"])
    assert inert(once, ["keep"]) == once and "@keep" in once and urls(once) == []


def test_check_refuses_a_mention_that_is_not_an_x_account_name(workspace):
    edit_front_matter(workspace, URGENT, mentions='["nerima koho"]')
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code != 0 and "mentions" in result.output and "not an X account name" in result.output
