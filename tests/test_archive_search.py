"""The archive's search (Pagefind, a bundle per edition and year, ADR 0026), used in Chromium.

The site is served from a loopback static server: Pagefind's script loads its WebAssembly and
index chunks with ``import()`` and ``fetch``, which Chromium refuses from ``file://``; opened
from disk, the search page says so in the reader's language instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from channels.archive import ArchiveChannel
from koho.delivery import State
from koho.i18n import words
from tests.conftest import CONTENT
from tests.test_archive_languages import build, context
from tests.translated import live_with
from tests.validators.tools import BROWSER_ARGS, CHROMIUM

DRILL = "sogo-bousai-kunren-2026"  # the disaster-drill article (総合防災訓練)
#: A copy of it a year earlier: its year's bundle is merged into 2026's by the search page.
EARLIER = "sogo-bousai-kunren-2025"


def english_live():
    live = live_with(("en",))
    live[f"{DRILL}@en"] = dataclasses.replace(live[f"{DRILL}@en"], title="Nerima disaster drill in Hikarigaoka Park")
    drill = live[DRILL]
    live[EARLIER] = dataclasses.replace(
        drill, id=EARLIER, title="令和7年度 総合防災訓練", publish_at=drill.publish_at.replace(year=2025)
    )
    return live


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    build(folder, english_live())
    return folder


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """A loopback static server of ``folder``, in a thread."""

    class Handler(SimpleHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(site):
    with serve(site) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def results(page) -> tuple[str, list[str]]:
    """The search page's status line and its results' links, once the search has answered."""
    page.wait_for_function("document.getElementById('search-status').dataset.done === '1'", timeout=20000)
    links = page.eval_on_selector_all("#search-results a", "links => links.map(a => a.href)")
    return page.inner_text("#search-status"), links


def test_every_edition_has_a_search_page_and_a_bundle_per_year(site):
    # The 2025 copy has no translation: the English edition has one year.
    for edition, language, years in (("", "ja", (2025, 2026)), ("en/", "en", (2026,))):
        assert (site / edition / "search" / "index.html").is_file()
        for year in years:
            bundle = site / edition / "pagefind" / str(year)
            assert (bundle / "pagefind.js").is_file()
            assert list(bundle.glob(f"pagefind.{language}_*.pf_meta"))
    assert not (site / "en" / "pagefind" / "2025").exists()


def test_a_japanese_query_finds_the_disaster_drill_in_every_year(served, browser):
    page = browser.new_page()
    page.goto(served + "search/index.html?q=" + quote("防災"))
    status, links = results(page)
    assert served + f"articles/{DRILL}/index.html" in links
    assert served + f"articles/{EARLIER}/index.html" in links  # from the merged 2025 bundle
    assert status == words("ja").search_results.format(query="防災", n=len(links))


def test_an_english_query_on_the_english_edition(served, browser):
    page = browser.new_page()
    page.goto(served + "en/search/index.html?q=drill")
    status, links = results(page)
    assert links == [served + f"en/articles/{DRILL}/index.html"]
    assert status.startswith("Results for")


def test_the_header_box_leads_to_results(served, browser):
    page = browser.new_page()
    page.goto(served + "en/index.html")
    page.fill("header.site input[name=q]", "drill")
    page.click("header.site form.search button")
    page.wait_for_url("**/en/search/index.html?q=drill")
    _status, links = results(page)
    assert links == [served + f"en/articles/{DRILL}/index.html"]
    assert page.input_value("header.site input[name=q]") == "drill"  # the box keeps the query


@pytest.mark.parametrize("edition,language", [("", "ja"), ("en/", "en")])
def test_opened_from_disk_the_search_page_says_why_in_its_language(site, browser, edition, language):
    page = browser.new_page()
    page.goto((site / edition / "search" / "index.html").as_uri() + "?q=drill")
    status, links = results(page)
    assert status == words(language).search_file and not links
    # ... and the lists it points to are there, as links that open from disk.
    page.click("#browse ~ ul a >> nth=0")
    assert page.url.endswith(f"{edition}2026/index.html")


def test_a_run_indexes_once_and_only_the_years_it_touched(tmp_path):
    live = english_live()
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT)
    plan = channel.plan(live[f"{DRILL}@en"], context(live))
    assert not [d for d in plan if "pagefind/" in d.target]  # no plan indexes: the run's end does
    finish = channel.plan_finish([live[f"{DRILL}@en"]], context(live))
    folders = {
        d.target.split("/pagefind/")[0] + "/" + d.target.split("/")[2] for d in finish if "/pagefind/" in d.target
    }
    assert folders == {"en/2026"}  # one year of one edition: the Japanese and 2025 bundles are left alone
    assert not [d for d in finish if d.target.startswith("pagefind/")]
    # Every edition's search page (it lists the years), keyed by its bytes.
    assert {d.target for d in finish if d.target.endswith("search/index.html")} == {
        "search/index.html",
        "en/search/index.html",
    }


def test_a_republish_with_no_change_writes_no_index_file(site):
    live = english_live()
    channel = ArchiveChannel(f"file://{site}", CONTENT, ebooks=True)
    deliveries = channel.plan_finish([live[f"{DRILL}@en"]], context(live))
    assert {r.state for r in channel.deliver(deliveries)} == {State.SKIPPED}


def test_a_withdrawn_article_leaves_the_index(tmp_path, browser):
    live = english_live()
    build(tmp_path, live)
    gone = dataclasses.replace(live.pop(DRILL), status="withdrawn")
    channel = ArchiveChannel(f"file://{tmp_path}", CONTENT, ebooks=True)
    ctx = dataclasses.replace(context(live), published=frozenset({DRILL}))
    channel.deliver(channel.plan(gone, ctx) + channel.plan_finish([gone], ctx))
    with serve(tmp_path) as base:
        page = browser.new_page()
        page.goto(base + "search/index.html?q=" + quote("防災"))
        _status, links = results(page)
        assert base + f"articles/{DRILL}/index.html" not in links
        assert base + f"articles/{EARLIER}/index.html" in links


def test_a_run_of_several_articles_indexes_their_edition_and_year_once(workspace, monkeypatch):
    from channels.archive import channel as archive_channel
    from flows import driver
    from flows.steps import Steps
    from koho.settings import Settings

    calls = []
    real = archive_channel.search_bundle

    def counted(documents, language):
        calls.append((language, len(documents)))
        return real(documents, language)

    monkeypatch.setattr(archive_channel, "search_bundle", counted)
    monkeypatch.setenv("KOHO_CHANNELS", "archive")
    articles = sorted(str(p.relative_to(workspace)) for p in (workspace / "content" / "articles").rglob("*.md"))[:3]
    driver.run(Settings(), driver.Work(paths=tuple(articles)), ["archive"], steps=Steps())

    assert [language for language, _ in calls] == ["ja"]  # three plans, one index: the run's end
    public = workspace / "public"
    assert (public / "search" / "index.html").is_file()
    assert (public / "pagefind" / "2026" / "pagefind.js").is_file()
    assert 'action="../search/index.html"' in (public / "2026" / "index.html").read_text(encoding="utf-8")
