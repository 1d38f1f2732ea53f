"""Press releases on the archive (ADR 0035): every edition's home leads to the press index
(報道発表一覧), which the sitemap index lists; a release's page is in its year's search bundle
and sitemap file once it is live, and nowhere on the site while its embargo runs. Every moment
here is a fixed one (``tests.translated.NOW`` or the release's own dates), never today."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import html

from channels.archive import ArchiveChannel
from channels.archive import channel as archive_channel
from koho.i18n import words
from tests.conftest import CONTENT
from tests.crawl import sitemap_text
from tests.test_archive_languages import build, context
from tests.translated import corpus, live_with

RELEASE = "bousai-kyotei-konbini"  # mailed 2026-12-08 14:00, embargoed until 2026-12-10 05:00
EDITIONS = ("en", "zh")


def home_links(folder, prefix: str = "") -> dict[str, str]:
    """The home page's press section: href -> link text."""
    doc = html.fromstring((folder / prefix / "index.html").read_bytes())
    return {a.get("href"): a.text_content() for a in doc.xpath("//section[@aria-labelledby='press']//a")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("press-site")
    build(folder, live_with(EDITIONS))  # at tests.translated.NOW (2027-01-05): both releases live
    return folder


def test_every_editions_home_leads_to_the_press_index_in_its_language(site):
    assert home_links(site) == {
        "press/index.html": "報道発表一覧",
        "press/departments/index.html": "部署別の報道発表",
    }
    for language in EDITIONS:
        t = words(language)
        assert t.press_index != "報道発表一覧", language  # the catalog has the words
        # The index is the original's (department names are not translated): linked in Japanese.
        assert home_links(site, language) == {
            "../press/index.html": t.press_index,
            "../press/departments/index.html": t.press_departments,
        }
        doc = html.fromstring((site / language / "index.html").read_bytes())
        assert set(doc.xpath("//section[@aria-labelledby='press']//a/@hreflang")) == {"ja"}
    assert RELEASE in (site / "press" / "index.html").read_text(encoding="utf-8")


def test_the_sitemap_index_lists_the_press_pages_and_the_releases(site):
    pages = (site / "sitemaps" / "pages.xml").read_text(encoding="utf-8")
    assert "/press/</loc>" in pages and "/press/departments/</loc>" in pages
    assert f"/articles/{RELEASE}/</loc>" in (site / "sitemaps" / "2026.xml").read_text(encoding="utf-8")
    assert "sitemaps/pages.xml" in sitemap_text(site)


def test_a_site_without_live_releases_has_no_press_link_and_no_press_pages(tmp_path):
    live = {k: a for k, a in live_with(EDITIONS).items() if a.press is None}
    build(tmp_path, live)
    assert home_links(tmp_path) == {} and home_links(tmp_path, "en") == {}
    assert not (tmp_path / "press").exists()
    assert "/press/" not in sitemap_text(tmp_path)


def test_an_embargoed_release_is_in_no_plan_of_the_site_and_in_the_search_once_live(tmp_path, monkeypatch):
    """The archive's context holds what is on the site (``Article.on_site``): before the embargo
    the release's page is in no sitemap file, no search bundle and no press index; after it,
    the run that publishes it indexes its page in its year's bundle."""
    release = corpus().articles[RELEASE]
    assert release.press is not None and release.press.embargo_until is not None
    embargoed = release.press.embargo_until - timedelta(minutes=1)
    assert release.is_due(embargoed) and not release.on_site(embargoed)
    assert release.on_site(release.press.embargo_until)

    indexed: list[set[str]] = []
    real = archive_channel.search_bundle

    def recorded(documents, language):
        indexed.append(set(documents))
        return real(documents, language)

    monkeypatch.setattr(archive_channel, "search_bundle", recorded)
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT)
    live = {a.id: a for a in corpus().articles.values() if a.on_site(embargoed)}
    assert RELEASE not in live
    other = live["sogo-bousai-kunren-2026"]
    before = channel.plan(other, context(live)) + channel.plan_finish([other], context(live))
    assert not [d for d in before if "press/" in d.target]
    assert all(f"articles/{RELEASE}/index.html" not in documents for documents in indexed)

    live[RELEASE] = release
    after = channel.plan(release, context(live)) + channel.plan_finish([release], context(live))
    targets = {d.target for d in after}
    assert {"press/index.html", "press/departments/index.html", "index.html", "sitemaps/pages.xml"} <= targets
    assert f"articles/{RELEASE}/index.html" in indexed[-1]
