"""Urgent news leaves the home page's 緊急のお知らせ box when it is no longer current.

`urgent_until` in the front matter (checked like every field), else site.yaml's `urgent_days`;
the decision is taken with the plan's clock (``PlanContext.now``), and the article stays in
the listings. Also: the archive's link to the info-mail sign-up page.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import html

from channels.archive import ArchiveChannel
from koho.channel import PlanContext
from koho.reader import read_corpus
from koho.site import load_site
from tests.conftest import CONTENT

JST = timezone(timedelta(hours=9))
URGENT = "ooame-jishu-hinanjo-kaisetsu"  # the sample shelter notice, published 2026-11-10 17:30 JST
PUBLISHED = datetime(2026, 11, 10, 17, 30, tzinfo=JST)

ARTICLE = """---
title: 避難所を開設しました
publish_at: 2026-11-10 17:30
priority: urgent
{extra}
---
本文です。
"""


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    (root / "articles").mkdir(parents=True)
    shutil.copy(CONTENT / "site.yaml", root / "site.yaml")
    return root


def read(content: Path, text: str):
    (content / "articles" / "x.md").write_text(text, encoding="utf-8")
    return read_corpus(content, load_site(content))


def messages(corpus) -> list[str]:
    return [f"{Path(e.path).name}:{e.line}: {e.field}: {e.message}" for e in corpus.errors]


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("urgent_until: 明日まで", "x.md:5: urgent_until: '明日まで' is not a date and time"),
        ("urgent_until: 2026-11-10 12:00", "x.md:5: urgent_until: 2026-11-10 12:00:00 is not after publish_at"),
        ("urgent_until: [2026-11-12]", "x.md:5: urgent_until: expected a date and time"),
    ],
)
def test_urgent_until_errors_name_line_and_field(content, extra, expected):
    corpus = read(content, ARTICLE.format(extra=extra))
    assert corpus.articles == {} and any(m.startswith(expected) for m in messages(corpus)), messages(corpus)


def test_urgent_until_needs_an_urgent_article(content):
    corpus = read(content, ARTICLE.format(extra="urgent_until: 2026-11-12 09:00").replace("urgent", "normal", 1))
    assert messages(corpus) == [
        "x.md:5: urgent_until: only an urgent article has an end of urgency; add 'priority: urgent' or remove this"
    ]


def test_urgent_until_is_read_in_the_site_time_zone(content):
    article = read(content, ARTICLE.format(extra="urgent_until: 2026-11-20 09:00")).articles["x"]
    assert article.urgent_until == datetime(2026, 11, 20, 9, 0, tzinfo=JST)
    site = load_site(content)
    assert article.urgent_at(datetime(2026, 11, 20, 8, 59, tzinfo=JST), site)
    assert not article.urgent_at(datetime(2026, 11, 20, 9, 0, tzinfo=JST), site)


def test_the_site_default_applies_without_urgent_until(content):
    (content / "site.yaml").write_text(
        (CONTENT / "site.yaml").read_text(encoding="utf-8") + "urgent_days: 1\n", encoding="utf-8"
    )
    site = load_site(content)
    article = read(content, ARTICLE.format(extra="")).articles["x"]
    assert article.urgent_at(PUBLISHED + timedelta(hours=23), site)
    assert not article.urgent_at(PUBLISHED + timedelta(days=1), site)


def home(tmp_path: Path, now: datetime, **channel) -> html.HtmlElement:
    """Plan the urgent sample article at ``now`` with every sample article live; the home page."""
    corpus = read_corpus(CONTENT, load_site(CONTENT))
    live = {a.id: a for a in corpus.articles.values() if a.is_due(now)}
    ctx = PlanContext(site=corpus.site, now=now, live=live, published=frozenset(live))
    planned = ArchiveChannel(f"file://{tmp_path}", CONTENT, **channel).plan(corpus.articles[URGENT], ctx)
    return html.fromstring(next(d for d in planned if d.target == "index.html").body())


def test_the_urgent_box_holds_current_news_only(tmp_path):
    fresh = home(tmp_path, PUBLISHED + timedelta(hours=1))
    assert [a.get("href") for a in fresh.xpath("//section[@class='urgent']//a")] == [f"articles/{URGENT}/index.html"]
    # The default (site.yaml's urgent_days, 3) has passed: no box, but the article is still listed.
    later = home(tmp_path, PUBLISHED + timedelta(days=3))
    assert later.xpath("//section[@class='urgent']") == [] and "緊急のお知らせ" not in later.text_content()
    assert f"articles/{URGENT}/index.html" in later.xpath("//section[@aria-labelledby='latest']//a/@href")


def test_pages_link_the_sign_up_page_when_mail_is_on(tmp_path):
    now = PUBLISHED + timedelta(days=1)
    assert home(tmp_path, now).xpath("//a[@class='signup']") == []
    default = home(tmp_path, now, signup="")
    assert default.xpath("//a[@class='signup']/@href") == ["https://koho.example.city.lg.jp/mail/"]
    own = home(tmp_path, now, signup="https://mail.example.jp/koho/")
    assert own.xpath("//a[@class='signup']/@href") == ["https://mail.example.jp/koho/"]


def test_the_archive_knows_when_its_pages_change_with_time_alone(tmp_path):
    """``moments``: the home page when an urgency ends, an issue page when its issue appears
    (only with e-books on: nothing else on it reads the clock); ``due_pages`` takes those in
    (since, now], so a moment already rendered past is never planned twice."""
    from koho.refresh import due_pages

    corpus = read_corpus(CONTENT, load_site(CONTENT))
    articles = list(corpus.articles.values())
    site = corpus.site
    ends = PUBLISHED + timedelta(days=3)  # site.yaml's urgent_days
    plain = ArchiveChannel(f"file://{tmp_path}", CONTENT)
    assert sorted(plain.moments([corpus.articles[URGENT]], site)) == [(ends, "index.html")]
    books = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)
    issue = datetime(2026, 11, 11, 7, 0, tzinfo=JST)
    assert sorted(books.moments([corpus.articles[URGENT]], site)) == [
        (issue, "bulletin/2026-11-11/index.html"),
        (ends, "index.html"),
    ]

    assert due_pages(plain, articles, site, ends - timedelta(minutes=1), ends) == ["index.html"]
    assert due_pages(plain, articles, site, ends, ends + timedelta(days=1)) == []
    assert due_pages(plain, articles, site, PUBLISHED, ends - timedelta(seconds=1)) == []
    assert due_pages(books, articles, site, PUBLISHED, ends) == ["bulletin/2026-11-11/index.html", "index.html"]
