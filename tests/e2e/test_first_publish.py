"""The README's first command on a fresh clone gives a complete, working site (ADR 0014).

`koho publish` with nothing configured (every default channel, nine languages with the tiny
argos packages, the sample content, koho's clock pinned) in an empty folder, once per module:
every reference in the output resolves (pages, stylesheet, icons, images, feeds, sitemap,
robots.txt, e-book links, in every language), the site is styled and navigable opened from disk
in a real Chromium, and the 404 page works at any missing path of a real HTTP server. Then the
nine language editions themselves (ADR 0006, 0009, 0010): every page linked to its other
language versions (switcher, hreflang, sitemap alternates), glossary terms rendered as
configured, URLs, phone numbers and amounts untouched, feeds and one EPUB per issue and language,
all valid for EPUBCheck, and the same command again sends nothing.

This is the suite's one whole nine-language publish: every check of it reads this module's
publish, made once (it takes minutes; tests/e2e/test_translations_e2e.py once made a second, the
same command in another folder). The same command to an S3 bucket with no model installed is
tests/e2e/test_first_publish_s3.py, so that xdist can run it beside this file.
"""

from __future__ import annotations

import http.server
import re
import shutil
import struct
import threading
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import feedparser
import pytest
from lxml import html
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from koho import prefect_env
from koho.bulletin import issues_of
from koho.clock import now as koho_now
from koho.i18n import tag
from koho.reader import read_corpus
from koho.site import load_site
from tests import epubcheck
from tests.channel_lists import WITHOUT_AUDIO
from tests.clock import TestClock
from tests.conftest import CONTENT
from tests.crawl import SITEMAP_NS, crawl, read_folder, sitemap_urls
from tests.e2e.editions import alternates, page, switcher
from translations.glossary import load_glossary
from translations.translator import LANGUAGES

BASE = "https://koho.example.city.lg.jp/"
#: `koho serve` answers there (the info-mail sign-up pages): not files of the site.
MAIL = BASE + "mail/"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.usefixtures("prefect_harness", "argos_home")

ALL = ("ja", *LANGUAGES)
#: A sample article of the 2026-11-01 issue whose title names 練馬区.
ARTICLE = "sogo-bousai-kunren-2026"
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


def first_publish(folder: Path, mp: pytest.MonkeyPatch, **env: str) -> str:
    """Run `koho publish` as the README does, in ``folder`` holding a copy of the sample content,
    on every default channel but audio (tests/channel_lists.py; tests/e2e/test_audio_e2e.py
    follows the audio edition's links)."""
    from koho.cli import app

    shutil.copytree(CONTENT, folder / "content")
    mp.chdir(folder)
    TestClock(mp)
    for name, value in {**prefect_env.DEFAULTS, "KOHO_CHANNELS": WITHOUT_AUDIO, **env}.items():
        mp.setenv(name, value)
    result = CliRunner().invoke(app, ["publish"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def public(tmp_path_factory, prefect_harness, argos_home) -> Path:
    """The public folder of the README's first `koho publish` in a fresh folder; the module keeps
    that folder as its working directory (the tests' second command runs there)."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("fresh-clone")
        first_publish(folder, mp)
        yield folder / "public"


def test_every_reference_in_the_first_publish_resolves(public):
    files = read_folder(public)
    report = crawl(files, BASE, outside=(MAIL,))
    assert report.broken == []
    # It looked everywhere: every language's pages, feeds and e-books, and the furniture.
    for language in LANGUAGES:
        assert f"{language}/index.html" in report.reached and f"feeds/{language}/atom.xml" in report.reached
        assert any(p.startswith("ebooks/") and p.endswith(f"-{language}.epub") for p in report.reached)
    for furniture in ("static/koho.css", "static/favicon.svg", "topics/index.html", "404.html", "sitemap.xml"):
        assert furniture in report.reached, furniture
    assert {"robots.txt", "favicon.ico"} <= set(files) and files["favicon.ico"][:4] == b"\0\0\1\0"
    assert report.checked > 10_000

    # Every image has its size (no layout shift); every page links the sign-up page in its language.
    for path in (p for p in files if p.endswith(".html")):
        doc = html.fromstring(files[path])
        for img in doc.xpath("//img"):
            assert img.get("width", "").isdigit() and img.get("height", "").isdigit(), path
        if path != "404.html":
            signup = doc.xpath("//a[@class='signup']/@href")
            language = path.split("/")[0] if path.split("/")[0] in LANGUAGES else "ja"
            assert signup == [MAIL if language == "ja" else f"{MAIL}?lang={language}"], path


def test_opened_from_disk_the_site_is_styled_and_navigable(public, tmp_path):
    """A real Chromium opens public/index.html as file://: the stylesheet applies (seen in a
    screenshot) and links lead to pages, not folder listings. Without Chromium this fails."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 700})
            page.goto((public / "index.html").as_uri())
            shot = page.screenshot(path=str(tmp_path / "home.png"), clip={"x": 0, "y": 0, "width": 64, "height": 8})
            # The header band's colour (#f3f6f9 in koho.css): an unstyled page is white there.
            assert (0xF3, 0xF6, 0xF9) in png_pixels(shot)
            assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "736px"

            page.click("header.site nav >> text=区報（号別）")
            assert page.url.endswith("/bulletin/index.html") and page.locator("h1").inner_text() == "区報（号別）"
            page.click("ul.issues a >> nth=0")
            page.click("ul.articles a >> nth=0")
            assert "/articles/" in page.url and page.locator("article h1").count() == 1
            page.click("nav.languages a[lang=en]")
            assert "/en/articles/" in page.url and page.evaluate("document.documentElement.lang") == "en"
            assert (
                page.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor")
                == "rgb(243, 246, 249)"
            )
        finally:
            browser.close()


def test_the_404_page_works_at_any_missing_path(public):
    """Served by a real HTTP server for a deep missing path, the 404 page's stylesheet and links
    (all from the site root) are found."""

    class Site(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(public), **kwargs)

        def send_error(self, code, message=None, explain=None):
            if code != 404:
                return super().send_error(code, message, explain)
            body = (public / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{root}/no/such/deep/page/")
        assert missing.value.code == 404
        doc = html.fromstring(missing.value.read())
        refs = doc.xpath("//a/@href | //link/@href")
        local = [r for r in refs if r.startswith("/")]
        assert "/static/koho.css" in local and "/" in local and len(local) >= 6
        assert not [r for r in refs if not r.startswith(("/", "https://", "#"))], refs
        for ref in local:
            with urllib.request.urlopen(root + ref) as answer:
                assert answer.status == 200, ref
    finally:
        server.shutdown()
        server.server_close()


#: What must pass through translation untouched: URLs, phone numbers, and amounts and counts
#: (the digits before 円, 人, 件, 歳; the tiny model copies the words, a real one translates them).
KEPT = re.compile(r"https?://[^\s)（）]+|0\d{1,4}-\d{1,4}-\d{4}|\d[\d,]*(?=円|人|件|歳)")


def test_every_language_edition_is_published_linked_and_valid_and_sent_once(public):
    """Last in this module: it runs the command a second time in the same folder."""
    content = public.parent / "content"
    corpus = read_corpus(content, load_site(content))
    now = koho_now()
    live = sorted((a for a in corpus.articles.values() if a.is_due(now)), key=lambda a: a.id)
    issues = issues_of(corpus.articles.values(), corpus.site, now)
    assert len(live) >= 10 and len(issues) >= 3, "the samples hold several issues that have appeared"
    tags = {tag(lang) for lang in ALL}
    glossary, errors = load_glossary(content, LANGUAGES)
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


def png_pixels(data: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours of an 8-bit RGB(A), non-interlaced PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * step
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        for i in range(stride):  # undo the PNG filter of this row
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    return {tuple(row[i : i + 3]) for row in rows for i in range(0, stride, step)}
