"""Markup and structure that must not escape its context (issue 12): feeds, sanitiser, one-line
fields, the mail skeleton."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from koho.markup import render_markdown, sanitize
from koho.reader import read_corpus
from koho.site import load_site

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def front(**fields) -> str:
    lines = ["---", "publish_at: 2026-11-01 09:00", "topics: [bousai]"]
    lines += [f"{k}: {v}" for k, v in fields.items()]
    return "\n".join(lines + ["---", "本文です。", ""])


def read_one(content: Path, text: str):
    (content / "articles" / "a.md").write_text(text, encoding="utf-8")
    return read_corpus(content, load_site(content))


# -- one-line fields -------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\\r", "\\n", "\\u2028", "\\u2029", "\\x85", "\\x0b", "\\x00"])
def test_title_with_a_line_break_or_control_is_refused_at_check(content, char):
    corpus = read_one(content, front(title=f'"防災{char}Bcc: x@example.com"'))
    assert "a" not in corpus.articles
    [error] = corpus.errors
    assert error.field == "title" and error.line == 4 and "one line" in error.message


@pytest.mark.parametrize("field", ["summary", "change_note"])
def test_summary_and_change_note_refuse_unicode_line_separators(content, field):
    corpus = read_one(content, front(title="防災", **{field: '"一行目\\u2028二行目"'}))
    assert [e.field for e in corpus.errors] == [field]


def test_image_alt_with_a_line_separator_is_refused(content):
    text = front(title="防災").replace(
        "topics: [bousai]",
        'topics: [bousai]\nimages:\n  - src: media/sogo-bousai-kunren-2026-map.png\n    alt: "地\\u2029図"',
    )
    corpus = read_one(content, text)
    assert [e.field for e in corpus.errors] == ["images[0].alt"]


def test_folded_summary_lines_still_join(content):
    corpus = read_one(content, front(title="防災", summary=">\n  一行目\n  二行目"))
    assert corpus.errors == [] and corpus.articles["a"].summary == "一行目 二行目"


# -- sanitiser -------------------------------------------------------------------------------


def test_abbr_does_not_make_a_link_swallow_the_page():
    html = sanitize('<p><abbr title="x">WHO</abbr> <a href="https://a.jp">a</a> tail</p><p>next</p>')
    assert html == (
        '<p><abbr title="x">WHO</abbr> <a href="https://a.jp" rel="noopener noreferrer">a</a> tail</p><p>next</p>'
    )


def test_link_whose_href_was_removed_keeps_only_its_text():
    html = render_markdown("[click](javascript:alert(1)) <abbr>A</abbr> [ok](https://a.jp) end")
    assert "javascript" not in html and "<a>" not in html and "click" in html
    assert '<abbr>A</abbr> <a href="https://a.jp" rel="noopener noreferrer">ok</a> end' in html


def test_nested_and_multiline_hrefless_links():
    html = sanitize('<a title="t\nu">one\ntwo</a><a href="https://b.jp">b</a><a>c</a>')
    assert html == 'one\ntwo<a href="https://b.jp" rel="noopener noreferrer">b</a>c'


# -- feeds -----------------------------------------------------------------------------------


def _feed_article(content):
    text = front(title="防災", summary=f"'{PAYLOAD}'", change_note=f"'{PAYLOAD}'")
    corpus = read_one(content, text)
    assert corpus.errors == []
    return corpus


def test_rss_description_is_html_escaped_text(content):
    from channels.feeds import FeedsChannel
    from koho.channel import PlanContext

    corpus = _feed_article(content)
    article = corpus.articles["a"]
    feeds = FeedsChannel(f"file://{content.parent / 'public'}")
    ctx = PlanContext(site=corpus.site, now=article.publish_at, live={"a": article}, updated={"a": article.publish_at})
    rss = next(d for d in feeds.plan(article, ctx) if d.target.endswith("rss.xml"))
    item = ElementTree.fromstring(rss.payload).find("channel/item")
    description = item.findtext("description")
    # What an RSS reader renders as HTML: the payload must come out as text, not as tags.
    assert "<script" not in description and "<img" not in description
    assert "&lt;script&gt;" in description
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert "<script" not in encoded and "<img src=x" not in encoded


# -- the mail skeleton -----------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["KOHOSLOTTOX", "KOHOSLOTUNSUBX", "KOHOSLOTTEXTX", "KOHOSLOTBOUNDARYX"])
def test_article_text_with_a_placeholder_cannot_move_recipient_values(planted):
    from channels.mail.message import Identity, Recipient, address, compose, render
    from tests.conftest import CONTENT

    corpus = read_corpus(CONTENT, load_site(CONTENT))
    base = corpus.articles["conbini-kofu-service"]
    article = replace(base, title=f"Notice {planted} now", html=f"<p>{planted}</p>", body=f"{planted}\n")
    identity = Identity(
        "ねりま情報メール",
        "info-mail@koho.example.city.lg.jp",
        "info-mail.koho.example.city.lg.jp",
        "https://koho.example.city.lg.jp/mail/",
    )
    who = Recipient(77, "secret-person@example.jp", "PREFS-PRIVATE", "UNSUB-PRIVATE")
    when = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    rendered = render(article, corpus.site, identity)
    raw = address(rendered, identity, who, when)
    assert raw == compose(rendered, identity, who, when)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == f"Notice {planted} now"
    assert message["To"] == "secret-person@example.jp"
    assert message.defects == []
