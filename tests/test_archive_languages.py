"""Translated editions of the archive: pages under a language prefix, a language switcher,
hreflang alternates, lang attributes, the machine-translation notice and the sitemap."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree, html

from channels.archive import ArchiveChannel
from channels.archive.pages import FURNITURE
from koho.channel import PlanContext
from koho.delivery import State
from koho.i18n import words
from koho.ledger import SITE_ID
from tests.conftest import CONTENT
from tests.crawl import SITEMAP_NS, crawl, read_folder, sitemap_text, sitemap_urls
from tests.translated import NOW, corpus, live_with, translate

ALL = ("en", "zh", "ko", "th", "pt", "es", "id", "vi")
IMAGE_ARTICLE = "sogo-bousai-kunren-2026"
BASE = "https://koho.example.city.lg.jp/"


def context(live, published=None) -> PlanContext:
    site = corpus().site
    return PlanContext(site=site, now=NOW, live=live, published=frozenset(published or {a.id for a in live.values()}))


def build(folder: Path, live, ebooks: bool = True) -> ArchiveChannel:
    channel = ArchiveChannel(f"file://{folder}", CONTENT, ebooks=ebooks)
    receipts = channel.deliver(channel.plan_all(context(live), "build-test"))
    assert {r.state for r in receipts} <= {State.SENT, State.SKIPPED}
    return channel


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The sample archive with every article in all eight translations."""
    folder = tmp_path_factory.mktemp("site")
    build(folder, live_with(ALL))
    return folder


def page(folder: Path, path: str) -> html.HtmlElement:
    return html.fromstring((folder / path).read_bytes())


def test_translated_article_page(site):
    doc = page(site, f"en/articles/{IMAGE_ARTICLE}/index.html")
    assert doc.get("lang") == "en" and doc.find(".//article").get("lang") == "en"
    assert doc.find(".//link[@rel='canonical']").get("href") == f"{BASE}en/articles/{IMAGE_ARTICLE}/"
    alternates = {link.get("hreflang"): link.get("href") for link in doc.findall(".//link[@hreflang]")}
    assert alternates["x-default"] == alternates["ja"] == f"{BASE}articles/{IMAGE_ARTICLE}/"
    assert alternates["zh-Hans"] == f"{BASE}zh/articles/{IMAGE_ARTICLE}/"
    assert set(alternates) == {"ja", "en", "zh-Hans", "ko", "th", "pt", "es", "id", "vi", "x-default"}
    # The notice, in English, links to the Japanese original.
    notice = doc.find_class("machine-translation")[0]
    assert notice.text.startswith("Machine-translated from Japanese")
    link = notice.find("a")
    assert link.get("hreflang") == "ja" and link.get("href") == f"../../../articles/{IMAGE_ARTICLE}/index.html"
    # Images are the original's files with translated alt text.
    img = doc.find(".//figure/img")
    assert img.get("alt").startswith("Notice: ") and img.get("src") == "../../../media/sogo-bousai-kunren-2026-map.png"
    assert (site / "media" / "sogo-bousai-kunren-2026-map.png").is_file()
    # Site furniture in English; links stay in the English edition.
    assert doc.find(".//a[@class='skip']").text == "Skip to main content"
    assert doc.find(".//p[@class='meta']/a").get("href") == "../../../en/bulletin/2026-11-01/index.html"
    assert "Nerima City News, 1 November 2026" in doc.text_content()
    assert doc.find(".//link[@type='application/atom+xml']").get("href") == "../../../feeds/en/atom.xml"


def test_switcher_lists_every_version_by_its_own_name(site):
    doc = page(site, f"th/articles/{IMAGE_ARTICLE}/index.html")
    switcher = doc.find(".//nav[@class='languages']")
    assert switcher.get("aria-label") == words("th").languages
    items = switcher.findall(".//li")
    assert [i.text_content() for i in items] == [words(lang).endonym for lang in ("ja", *ALL)]
    current = switcher.find(".//*[@aria-current='page']")
    assert current.text == "ไทย" and current.get("lang") == "th"
    links = {a.get("hreflang"): a.get("href") for a in switcher.findall(".//a")}
    assert (
        links["ja"] == f"../../../articles/{IMAGE_ARTICLE}/index.html"
        and links["zh-Hans"] == f"../../../zh/articles/{IMAGE_ARTICLE}/index.html"
    )
    # The Japanese page links to the translations too.
    ja = page(site, f"articles/{IMAGE_ARTICLE}/index.html")
    assert ja.get("lang") == "ja" and not ja.find_class("machine-translation")
    assert {a.get("hreflang") for a in ja.findall(".//nav[@class='languages']//a")} == {
        "en",
        "zh-Hans",
        "ko",
        "th",
        "pt",
        "es",
        "id",
        "vi",
    }


def test_every_relative_link_of_every_edition_resolves(site):
    """Switchers, notices, listings and navigation never point at a page that was not written."""
    files = read_folder(site)
    assert any(p.startswith("vi/") for p in files)
    # Feeds and e-books are written by their own channels (tests/e2e/test_first_publish.py crawls those).
    report = crawl(
        {p: b for p, b in files.items() if p.endswith(".html")}
        | {p: b for p, b in files.items() if not p.endswith(".html")},
        corpus().site.base_url,
        outside=(corpus().site.url("feeds/"), corpus().site.url("ebooks/")),
    )
    broken = [b for b in report.broken if "feeds/" not in b and "ebooks/" not in b]
    assert broken == [] and report.checked > 1000


def test_translated_issue_home_and_year_pages(site):
    issue = page(site, "ko/bulletin/2026-11-01/index.html")
    assert issue.get("lang") == "ko" and issue.find(".//h1").text == "네리마구 소식지 2026년 11월 1일"
    ebook = issue.find(".//p[@class='ebook']/a")
    assert ebook.get("href") == "../../../ebooks/2026-11-01/kuho-2026-11-01-ko.epub" and ebook.text == words("ko").ebook
    listed = issue.findall(".//ul[@class='articles']//a")
    assert listed and all(a.get("href").startswith("../../../ko/articles/") for a in listed)
    assert issue.find_class("machine-translation")[0].find("a").get("href") == "../../../bulletin/2026-11-01/index.html"
    home = page(site, "es/index.html")
    assert home.find(".//h1").text == "Archivo del Boletín de Nerima"
    assert not home.xpath("//a[contains(@href, 'topics/')]"), "topic names are not translated: no topic links"
    assert (site / "es" / "2026" / "index.html").is_file() and (site / "es" / "bulletin" / "index.html").is_file()
    assert not (site / "es" / "topics").exists()
    ja_issue = page(site, "bulletin/2026-11-01/index.html")
    assert ja_issue.find(".//p[@class='ebook']/a").get("href") == "../../ebooks/2026-11-01/kuho-2026-11-01-ja.epub"


def test_sitemap_lists_every_edition_with_alternates(site):
    ns = SITEMAP_NS
    urls = sitemap_urls(site)
    locs = [u.findtext("s:loc", namespaces=ns) for u in urls]
    assert f"{BASE}vi/articles/{IMAGE_ARTICLE}/" in locs and f"{BASE}th/bulletin/2026-11-01/" in locs
    assert len(locs) == len(set(locs))
    url = next(u for u in urls if u.findtext("s:loc", namespaces=ns) == f"{BASE}en/articles/{IMAGE_ARTICLE}/")
    links = {link.get("hreflang"): link.get("href") for link in url.findall("x:link", ns)}
    assert links["x-default"] == links["ja"] == f"{BASE}articles/{IMAGE_ARTICLE}/" and len(links) == 10
    topic = next(u for u in urls if u.findtext("s:loc", namespaces=ns) == f"{BASE}topics/bousai/")
    assert topic.findall("x:link", ns) == []


def test_reviewed_translation_has_no_machine_notice(tmp_path):
    live = live_with(())
    live["x@en"] = translate(live[IMAGE_ARTICLE], "en", machine=False)
    build(tmp_path, live)
    doc = page(tmp_path, f"en/articles/{IMAGE_ARTICLE}/index.html")
    assert not doc.find_class("machine-translation")
    assert doc.find(".//nav[@class='languages']//a").get("hreflang") == "ja"


def test_japanese_pages_without_translations_have_no_switcher(tmp_path):
    """Until a translation exists, the original's pages are exactly as before (no alternates)."""
    live = live_with(("en",), only={IMAGE_ARTICLE})
    build(tmp_path / "mixed", live, ebooks=False)
    build(tmp_path / "plain", live_with(()), ebooks=False)
    other = "tokushu-sagi-chuui"
    for path in (f"articles/{other}/index.html", "topics/bouhan/index.html", "bulletin/2026-11-11/index.html"):
        assert (tmp_path / "mixed" / path).read_bytes() == (tmp_path / "plain" / path).read_bytes(), path
    plain = (tmp_path / "plain" / f"articles/{IMAGE_ARTICLE}/index.html").read_text(encoding="utf-8")
    assert "hreflang" not in plain and 'class="languages"' not in plain and "ebooks/" not in plain
    assert 'hreflang="en"' in (tmp_path / "mixed" / f"articles/{IMAGE_ARTICLE}/index.html").read_text(encoding="utf-8")
    assert "xmlns:xhtml" not in sitemap_text(tmp_path / "plain")


def test_incremental_plan_of_a_translation_matches_the_full_build(tmp_path):
    """Publishing one translation writes the pages a full build would, byte for byte, and
    refreshes the other versions whose switcher gains it."""
    before = live_with(("en",), only={"conbini-kofu-service"})  # another issue
    build(tmp_path, before)
    after = dict(before, **{f"{IMAGE_ARTICLE}@en": translate(before[IMAGE_ARTICLE], "en")})
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)
    planned = channel.plan(after[f"{IMAGE_ARTICLE}@en"], context(after))
    targets = [d.target for d in planned]
    assert targets[0] == f"en/articles/{IMAGE_ARTICLE}/index.html"
    assert f"articles/{IMAGE_ARTICLE}/index.html" in targets, "the Japanese page's switcher gains English"
    assert "en/bulletin/2026-11-01/index.html" in targets and "bulletin/2026-11-01/index.html" in targets
    pages = [d for d in planned if d.target.endswith(".html") and d.article_id != SITE_ID]
    assert pages and all(d.language == "en" and d.article_id == IMAGE_ARTICLE for d in pages)
    full = {
        d.target: d.body()
        for d in ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True).plan_all(context(after), "b")
    }
    for delivery in planned:
        assert delivery.body() == full[delivery.target], delivery.target
    written = channel.deliver(planned)
    assert {r.state for r in written} <= {State.SENT, State.SKIPPED}
    # Re-planning the same translation writes nothing.
    again = channel.deliver(channel.plan(after[f"{IMAGE_ARTICLE}@en"], context(after)))
    assert {r.state for r in again} == {State.SKIPPED}


def test_withdrawn_translation_leaves_its_edition(tmp_path):
    live = live_with(("en",), only={IMAGE_ARTICLE})
    build(tmp_path, live)
    gone = dataclasses.replace(live.pop(f"{IMAGE_ARTICLE}@en"), status="withdrawn")
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)
    ctx = dataclasses.replace(
        context(live),
        previous_targets=frozenset({f"en/articles/{IMAGE_ARTICLE}/index.html", "en/index.html", "en/2026/index.html"}),
    )
    channel.deliver(channel.plan(gone, ctx))
    doc = page(tmp_path, f"en/articles/{IMAGE_ARTICLE}/index.html")
    assert doc.find_class("withdrawn")[0].text == words("en").withdrawn
    assert IMAGE_ARTICLE not in (tmp_path / "en" / "index.html").read_text(encoding="utf-8")
    assert 'hreflang="en"' not in (tmp_path / "articles" / IMAGE_ARTICLE / "index.html").read_text(encoding="utf-8")


def test_full_rebuild_is_a_no_op(site):
    channel = ArchiveChannel(f"file://{site}", CONTENT, ebooks=True)
    receipts = channel.deliver(channel.plan_all(context(live_with(ALL)), "again"))
    assert receipts and {r.state for r in receipts} == {State.SKIPPED}


def test_a_context_of_one_language_never_rewrites_another_edition(tmp_path):
    """Planned with only its own language live (and earlier targets of every language), a plan
    leaves the other editions and the sitemap alone instead of writing them empty."""
    live = live_with(("en",))
    build(tmp_path, live)
    english = {k: a for k, a in live.items() if a.language == "en"}
    japanese = {k: a for k, a in live.items() if a.language == "ja"}
    everything = frozenset(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html"))
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)

    en_plan = channel.plan(
        english[f"{IMAGE_ARTICLE}@en"], dataclasses.replace(context(english), previous_targets=everything)
    )
    # Furniture (keyed by its bytes, whatever the articles) is the only language-free part.
    assert {d.target.split("/")[0] for d in en_plan if d.article_id != SITE_ID} == {"en", "media"}
    assert {d.target for d in en_plan if d.article_id == SITE_ID} == set(FURNITURE)
    ja_plan = channel.plan(japanese[IMAGE_ARTICLE], dataclasses.replace(context(japanese), previous_targets=everything))
    assert not [d.target for d in ja_plan if d.target.startswith("en/")]


def test_publisher_line_of_translated_pages_is_marked_japanese(site):
    publisher = corpus().site.publisher
    for path, marked in [
        ("index.html", None),
        ("en/index.html", "ja"),
        (f"th/articles/{IMAGE_ARTICLE}/index.html", "ja"),
    ]:
        line = [p for p in page(site, path).iter("p") if p.text == publisher][0]
        assert line.get("lang") == marked, path


def test_correction_times_are_valid_html_and_move_the_sitemap(tmp_path):
    """A correction's time (from the ledger, with microseconds) is printed with at most three
    fractional digits, as HTML requires, and becomes its URLs' lastmod; every URL has one."""
    live = live_with(("en",))
    original = corpus().articles[IMAGE_ARTICLE]
    corrected = original.publish_at + timedelta(days=30, microseconds=123456)
    ctx = dataclasses.replace(context(live), updated={IMAGE_ARTICLE: corrected})
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT)
    channel.deliver(channel.plan_all(ctx, "build-test"))
    for path in (f"articles/{IMAGE_ARTICLE}/index.html", f"en/articles/{IMAGE_ARTICLE}/index.html"):
        stamps = [t.get("datetime") for t in page(tmp_path, path).iter("time")]
        assert corrected.isoformat(timespec="milliseconds") in stamps, path
        assert all(re.fullmatch(r"[\d-]+T[\d:]+(\.\d{1,3})?([+-]\d\d:\d\d|Z)", s) for s in stamps), stamps
    ns = SITEMAP_NS
    urls = sitemap_urls(tmp_path)
    index = etree.parse(str(tmp_path / "sitemap.xml")).xpath("//s:sitemap", namespaces=ns)
    assert index and all(s.findtext("s:lastmod", namespaces=ns) for s in index)
    lastmod = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns) for u in urls}
    assert all(lastmod.values()), [loc for loc, mod in lastmod.items() if not mod]
    moved = corrected.isoformat(timespec="milliseconds")
    for loc in (
        f"{BASE}articles/{IMAGE_ARTICLE}/",
        f"{BASE}en/articles/{IMAGE_ARTICLE}/",
        f"{BASE}bulletin/2026-11-01/",
    ):
        assert lastmod[loc] == moved, loc
