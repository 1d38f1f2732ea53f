"""`koho publish` in nine languages with the tiny argos packages (ADR 0006, 0009, 0010).

`koho publish` on the whole sample set, as the README runs it: archive pages, feeds and one EPUB
per issue and language, all EPUBs valid for EPUBCheck, every page linked to its other language
versions (switcher, hreflang, sitemap alternates), glossary terms rendered as configured, URLs,
phone numbers and amounts untouched, and a second publish sends nothing. Then the ways a
translation joins later: published after its original, and kept by a full build.
"""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
from lxml import html
from typer.testing import CliRunner

from koho.bulletin import issues_of
from koho.clock import now as koho_now
from koho.i18n import tag
from koho.reader import read_corpus
from koho.site import load_site
from tests import epubcheck
from tests.channel_lists import WITHOUT_AUDIO
from tests.crawl import SITEMAP_NS, sitemap_text, sitemap_urls
from translations.glossary import load_glossary
from translations.translator import LANGUAGES

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

DAY = "2026-11-01"
ARTICLE = "sogo-bousai-kunren-2026"
ALL = ("ja", *LANGUAGES)
#: content/glossary.yaml's rendering of 練馬区 per language.
NERIMA = {
    "en": "Nerima City",
    "zh": "练马区",
    "ko": "네리마구",
    "th": "เขตเนริมะ",
    "pt": "Cidade de Nerima",
    "es": "Ciudad de Nerima",
    "id": "Kota Nerima",
    "vi": "Quận Nerima",
}


def issue_files(workspace: Path) -> tuple[list[str], list[str]]:
    """The sample articles of the 2026-11-01 issue (a whole issue: its e-books can be made)."""
    content = workspace / "content"
    corpus = read_corpus(content, load_site(content))
    now = koho_now()
    chosen = sorted(
        (a for a in corpus.articles.values() if a.bulletin and a.bulletin.isoformat() == DAY and a.is_due(now)),
        key=lambda a: a.id,
    )
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
def published(workspace, cli_env, monkeypatch):
    """`koho publish` (the command, every default channel but audio: tests/channel_lists.py) on
    the whole sample set, in nine languages."""
    from koho.cli import app

    monkeypatch.setenv("KOHO_CHANNELS", WITHOUT_AUDIO)
    result = CliRunner().invoke(app, ["publish"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    content = workspace / "content"
    corpus = read_corpus(content, load_site(content))
    return workspace / "public", corpus, result.output


#: What must pass through translation untouched: URLs, phone numbers, and amounts and counts
#: (the digits before 円, 人, 件, 歳; the tiny model copies the words, a real one translates them).
KEPT = re.compile(r"https?://[^\s)（）]+|0\d{1,4}-\d{1,4}-\d{4}|\d[\d,]*(?=円|人|件|歳)")


def test_publish_in_nine_languages(published, workspace):
    public, corpus, output = published
    now = koho_now()
    live = sorted((a for a in corpus.articles.values() if a.is_due(now)), key=lambda a: a.id)
    issues = issues_of(corpus.articles.values(), corpus.site, now)
    assert len(live) >= 10 and len(issues) >= 3, "the samples hold several issues that have appeared"
    tags = {tag(lang) for lang in ALL}
    glossary, errors = load_glossary(workspace / "content", LANGUAGES)
    assert errors == []

    # Archive: every live article and every issue page in every language, linked to the others.
    for language in ALL:
        for article in live:
            doc = page(public, language, f"articles/{article.id}/index.html")
            assert doc.get("lang") == tag(language)
            assert alternates(doc) == tags | {"x-default"}, (language, article.id)
            assert switcher(doc) == tags, (language, article.id)
        for issue in issues:
            day = issue.day.isoformat()
            doc = page(public, language, f"bulletin/{day}/index.html")
            assert alternates(doc) == tags | {"x-default"}
            epub_link = f"ebooks/{day}/kuho-{day}-{language}.epub"
            assert any(href.endswith(epub_link) for href in doc.xpath("//a/@href")), (language, day)
    held = [a.id for a in corpus.articles.values() if not a.is_due(now)]
    assert held and not any((public / lang / "articles" / i).exists() for lang in LANGUAGES for i in held)
    ns = SITEMAP_NS
    entry = next(
        u for u in sitemap_urls(public) if u.findtext("s:loc", namespaces=ns).endswith(f"/articles/{ARTICLE}/")
    )
    assert {link.get("hreflang") for link in entry.findall("x:link", ns)} == tags | {"x-default"}

    # Translated text: the machine wrote it and says so; every glossary term of the original in
    # its configured rendering; URLs, phone numbers and amounts as in the original.
    for language in LANGUAGES:
        terms = glossary.for_language(language)
        for article in live:
            doc = page(public, language, f"articles/{article.id}/index.html")
            text = doc.text_content() + " ".join(doc.xpath("//main//a/@href"))
            assert f"⟨{language}⟩" in text, (language, article.id)  # the tiny model's mark
            assert doc.xpath("//*[contains(@class, 'machine-translation')]"), (language, article.id)
            source = f"{article.title}\n{article.summary}\n{article.body}"
            for term in _terms_in(source, terms):
                assert terms[term] in text, (language, article.id, term)
            for kept in KEPT.findall(source):
                assert kept in text, (language, article.id, kept)
        assert NERIMA[language] in page(public, language, f"articles/{ARTICLE}/index.html").findtext(".//h1")

    # Feeds: one Atom and one RSS per language, with the newest articles of that language.
    newest = {a.id for a in sorted(live, key=lambda a: (a.publish_at, a.id), reverse=True)[: corpus.site.feed_entries]}
    for language in LANGUAGES:
        for fmt in ("atom", "rss"):
            feed = feedparser.parse((public / "feeds" / language / f"{fmt}.xml").read_bytes())
            assert not feed.bozo, feed.get("bozo_exception")
            assert feed.feed.get("language") == tag(language)
            linked = {e.link.rstrip("/").rsplit("/", 1)[-1] for e in feed.entries if f"/{language}/articles/" in e.link}
            assert linked == newest, (language, fmt)
    assert (public / "feeds" / "atom.xml").is_file()

    # E-books: nine per issue.
    books = sorted((public / "ebooks").glob("*/*.epub"))
    assert [b.name for b in books] == sorted(f"kuho-{i.day}-{lang}.epub" for i in issues for lang in ALL)

    # The same command again sends nothing.
    from koho.cli import app

    again = CliRunner().invoke(app, ["publish"], env={"COLUMNS": "250"})
    assert again.exit_code == 0 and "Nothing new was sent" in again.output, again.output

    # Every e-book valid for EPUBCheck without errors or warnings. Last, because without java
    # this skips (a failure unless KOHO_ALLOW_SKIPS=1, tests/skips.py) and the checks above
    # should still have run.
    found = epubcheck.check(books)
    assert {path.name: messages for path, messages in found.items() if messages} == {}


def _terms_in(text: str, terms: dict[str, str]) -> set[str]:
    """Glossary terms in ``text``, longest first: 区報 inside ねりま区報 is that longer term's."""
    found = set()
    for term in sorted(terms, key=len, reverse=True):
        if term in text:
            found.add(term)
            text = text.replace(term, "\0")
    return found


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
    assert 'hreflang="en"' in sitemap_text(public)
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
