"""`koho publish` in nine languages with the tiny argos packages (ADR 0006, 0009, 0010).

The sample issue of 2026-11-01 is published through the real flow: archive pages, feeds and one
EPUB per language, all EPUBs valid for EPUBCheck, every page linked to its other language
versions (switcher, hreflang, sitemap alternates), glossary terms rendered as configured, URLs
and phone numbers untouched, and a second publish sends nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

from koho.i18n import tag
from koho.reader import read_corpus
from koho.site import load_site
from tests import epubcheck
from tests.argos_home import argos_home  # noqa: F401  (the session fixture, by name)
from translations.translator import LANGUAGES

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

DAY = "2026-11-01"
ARTICLE = "sogo-bousai-kunren-2026"
ALL = ("ja", *LANGUAGES)
URL = "https://www.city.nerima.tokyo.jp/kurashi/bosai/index.html"
PHONE = "03-3993-1111"
#: Numbers (with units) in the issue's articles that every translation carries unchanged.
NUMBERS = {"influenza-teiki-sesshu": "2,500円", "nerimachi-reporter-boshu": "960件"}
#: content/glossary.yaml's rendering of 練馬区 per language.
NERIMA = {"en": "Nerima City", "zh": "练马区", "ko": "네리마구", "th": "เขตเนริมะ", "pt": "Cidade de Nerima",
          "es": "Ciudad de Nerima", "id": "Kota Nerima", "vi": "Quận Nerima"}


def issue_files(workspace: Path) -> tuple[list[str], list[str]]:
    """The sample articles of the 2026-11-01 issue (a whole issue: its e-books can be made)."""
    content = workspace / "content"
    corpus = read_corpus(content, load_site(content))
    now = datetime.now(timezone.utc)
    chosen = sorted((a for a in corpus.articles.values() if a.bulletin and a.bulletin.isoformat() == DAY
                     and a.is_due(now)), key=lambda a: a.id)
    assert any(a.id == ARTICLE for a in chosen)
    return [str(content / "articles" / "2026" / f"{a.id}.md") for a in chosen], [a.id for a in chosen]


def page(public: Path, language: str, rest: str) -> html.HtmlElement:
    prefix = "" if language == "ja" else f"{language}/"
    return html.fromstring((public / f"{prefix}{rest}").read_bytes())


def alternates(doc: html.HtmlElement) -> set[str]:
    return set(doc.xpath("//head/link[@rel='alternate'][@hreflang]/@hreflang"))


def switcher(doc: html.HtmlElement) -> set[str]:
    """Languages the switcher offers (links) plus the one it marks current."""
    return set(doc.xpath("//a[@hreflang][@lang]/@lang")) | set(doc.xpath("//span[@aria-current='page']/@lang"))


@pytest.fixture
def published(workspace, monkeypatch):
    """The issue published once in nine languages to archive, feeds and e-books."""
    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds,ebook")
    from flows.publish import publish_article

    files, ids = issue_files(workspace)
    outcomes = publish_article(files)
    return workspace / "public", files, ids, outcomes


def test_publish_in_nine_languages(published, workspace):
    from flows.publish import publish_article

    public, files, ids, outcomes = published
    tags = {tag(lang) for lang in ALL}

    # Archive: every article and the issue page in every language, linked to the others.
    for language in ALL:
        for article_id in ids:
            doc = page(public, language, f"articles/{article_id}/index.html")
            assert doc.get("lang") == tag(language)
            assert alternates(doc) == tags | {"x-default"}, (language, article_id)
            assert switcher(doc) == tags, (language, article_id)
        issue = page(public, language, f"bulletin/{DAY}/index.html")
        assert alternates(issue) == tags | {"x-default"}
        epub_link = f"ebooks/{DAY}/kuho-{DAY}-{language}.epub"
        assert any(href.endswith(epub_link) for href in issue.xpath("//a/@href")), language
    sitemap = etree.fromstring((public / "sitemap.xml").read_bytes())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    entry = next(u for u in sitemap.findall("s:url", ns) if u.findtext("s:loc", namespaces=ns).endswith(
        f"/articles/{ARTICLE}/"))
    assert {link.get("hreflang") for link in entry.findall("x:link", ns)} == tags | {"x-default"}

    # Translated text: the glossary's terms, URLs and phone numbers as in the original.
    for language in LANGUAGES:
        doc = page(public, language, f"articles/{ARTICLE}/index.html")
        text = doc.text_content()
        assert f"⟨{language}⟩" in text  # the tiny model's mark: a machine wrote it
        assert NERIMA[language] in text and "練馬区" not in doc.findtext(".//h1")
        assert PHONE in text
        assert URL in doc.xpath("//main//a/@href") or URL in doc.xpath("//a/@href")
        assert doc.xpath("//*[contains(@class, 'machine-translation')]"), language
        for article_id, number in NUMBERS.items():
            assert number in page(public, language, f"articles/{article_id}/index.html").text_content(), language

    # Feeds: one Atom and one RSS per language, with the issue's articles.
    for language in LANGUAGES:
        for fmt in ("atom", "rss"):
            feed = feedparser.parse((public / "feeds" / language / f"{fmt}.xml").read_bytes())
            assert not feed.bozo, feed.get("bozo_exception")
            assert feed.feed.get("language") == tag(language)
            links = {e.link for e in feed.entries}
            assert {i for i in ids if any(link.endswith(f"/{language}/articles/{i}/") for link in links)} == set(ids)
    assert (public / "feeds" / "atom.xml").is_file()

    # E-books: nine, every one valid for EPUBCheck without errors or warnings.
    books = sorted((public / "ebooks" / DAY).glob("*.epub"))
    assert [b.name for b in books] == sorted(f"kuho-{DAY}-{lang}.epub" for lang in ALL)
    if epubcheck.java() is not None:
        found = epubcheck.check(books)
        assert all(messages == [] for messages in found.values()), found

    # A second publish sends nothing.
    again = publish_article(files)
    assert sum(len(o.receipts) for o in again) == 0, [(o.channel, o.article_id, o.note) for o in again if o.receipts]


def test_a_translation_published_later_relinks_the_japanese_pages(workspace, monkeypatch):
    """Published in Japanese only first; when the translations follow, the Japanese article page
    and the sitemap are rewritten with the switcher and alternates (their plans hold every language)."""
    from flows.publish import publish_article

    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
    files, _ = issue_files(workspace)
    one = [f for f in files if f.endswith(f"{ARTICLE}.md")]
    public = workspace / "public"
    monkeypatch.setenv("KOHO_LANGUAGES", "")
    publish_article(one)
    assert alternates(page(public, "ja", f"articles/{ARTICLE}/index.html")) == set()

    monkeypatch.setenv("KOHO_LANGUAGES", "en")
    publish_article(one)
    doc = page(public, "ja", f"articles/{ARTICLE}/index.html")
    assert alternates(doc) == {"ja", "en", "x-default"} and switcher(doc) == {"ja", "en"}
    assert 'hreflang="en"' in (public / "sitemap.xml").read_text(encoding="utf-8")
    english = page(public, "en", f"articles/{ARTICLE}/index.html")
    assert switcher(english) == {"ja", "en"} and "Nerima City" in english.text_content()


def test_full_build_keeps_the_translated_editions(workspace, monkeypatch):
    """`koho build` (the build-archive flow) renders the translations already published, with
    the same bytes incremental publishing wrote: the Japanese pages keep their switcher and
    alternates. It never publishes a translation by itself."""
    from flows.publish import build_site, publish_article

    monkeypatch.setenv("KOHO_CHANNELS", "archive,feeds")
    monkeypatch.setenv("KOHO_LANGUAGES", "en,th")
    public = workspace / "public"
    build_site(channels=["archive", "feeds"])
    assert not (public / "en").exists()  # nothing translated yet: a build publishes no translation
    files, _ = issue_files(workspace)
    publish_article([f for f in files if f.endswith(f"{ARTICLE}.md")])

    again = build_site(channels=["archive", "feeds"])
    assert all(o.receipts for o in again)  # a new build (its pages differ from the first), compared byte for byte
    written = [r.key for o in again for r in o.receipts if r.state == "sent"]
    assert written == [], written  # every page, in every language, as publishing left it
    assert sorted(p.name for p in (public / "en" / "articles").iterdir()) == [ARTICLE]
    doc = page(public, "ja", f"articles/{ARTICLE}/index.html")
    assert alternates(doc) == {"ja", "en", "th", "x-default"} and switcher(doc) == {"ja", "en", "th"}

